"""Connection strings: recognise them, split them as libpq does, and hide their passwords.

nbgeo reads and writes PostGIS through libpq connection strings, in either of
libpq's two forms:

* a URI, ``postgresql://USER:PASSWORD@HOST:PORT/DBNAME?KEY=VALUE&...``;
* ``key=value`` pairs, ``host=HOST user=USER password='a b' dbname=DBNAME``.

A password must never reach a terminal, a log, an exception, a report or a
file name. Everything that may show a connection string goes through one
function, :func:`mask_dsn`, which works on any text (a message, a log line,
a path) and on every connection string inside it:

* **URIs.** libpq ends the user information at the first ``@`` that comes
  before any ``/`` and takes the password from after the first ``:``. A
  password with a raw ``/``, ``@``, ``#``, ``?`` or space can make that
  disagree with what a person (or Python's ``urllib``) reads, so the mask is
  conservative: everything between ``://`` and the **last** ``@`` of the URI
  after the user name's ``:`` becomes ``***``. Query parameters whose name,
  percent-decoded, ends in ``password`` (``password``, ``sslpassword``) are
  masked too. A URI whose ``//`` was collapsed by a path library
  (``postgresql:/user:pw@host``) is still recognised.
* **key=value pairs.** The value of every keyword ending in ``password`` is
  masked, read with libpq's quoting rules (single quotes, backslash escapes).
* **A known connection string** (``dsn=``): its password as libpq parses it
  (``psycopg.conninfo.conninfo_to_dict``, when psycopg is installed) and as
  the conservative rule reads it are also removed wherever they appear
  literally, raw or percent-decoded, e.g. inside a driver's error message.

psycopg is the optional ``postgis`` extra; without it only the conservative
rules apply, which never show less than libpq's would hide.

This module imports nothing from nbgeo: every other module may import it.

Examples
--------
>>> mask_dsn("could not connect to postgresql://planner:s3cr/t#x@db:5432/gis?schema=ningbo")
'could not connect to postgresql://planner:***@db:5432/gis?schema=ningbo'
>>> mask_dsn("host=db user=planner password='a b' dbname=gis")
'host=db user=planner password=*** dbname=gis'
>>> mask_dsn("postgresql://db/gis?pass%77ord=x&sslmode=require")
'postgresql://db/gis?pass%77ord=***&sslmode=require'
>>> mask_dsn("reason: password authentication failed for s3cr/t#x", dsn="postgresql://u:s3cr%2Ft%23x@db/gis")
'reason: password authentication failed for ***'
"""

from __future__ import annotations

import logging
import re
from typing import Any, NamedTuple
from urllib.parse import unquote

__all__ = ["MaskingFilter", "UrlParts", "is_url", "looks_like_conninfo", "mask_dsn", "split_url"]

_MASK = "***"
# The URI schemes libpq knows; a path library may have collapsed "//" to "/".
_SCHEME = re.compile(r"(?i)postgres(?:ql)?:/+")
# A URI runs to the next whitespace: a raw quote or bracket may be part of a password, so the mask may take
# some text after the URI too, never leave part of a password out.
_URI_END = re.compile(r"\s")
# key=value pairs: libpq reads a quoted value up to the closing quote (backslash escapes the next character)
# and an unquoted one up to whitespace (backslash escapes here too). An unclosed quote runs to the end.
# The start of a URI cut short by whitespace after "user:" and before any "@": not "host:port".
_UNFINISHED_USERINFO = re.compile(r"[^\s/?@:]*:(?!\d+(?:[/?,]|\s|$))[^\s@]*(?:\s|$)")
_KV_PASSWORD = re.compile(r"(?i)(?<![\w%])(\w*password)(\s*=\s*)('(?:[^'\\]|\\.)*'?|(?:\\.|[^\s\\])*)", re.DOTALL)
_QUERY_PARAM = re.compile(r"([?&])([^=&?]*)=([^&]*)")


def is_url(text: object) -> bool:
    """Whether ``text`` is a ``postgresql://`` (or ``postgres://``) URI.

    Examples
    --------
    >>> is_url("postgres://u@h/db"), is_url("POSTGRESQL://h/db"), is_url("data/zones"), is_url(None)
    (True, True, False, False)
    """
    return isinstance(text, str) and text.split("://", 1)[0].lower() in ("postgresql", "postgres") and "://" in text


def looks_like_conninfo(text: object) -> bool:
    """Whether ``text`` is, or contains, a connection string rather than a plain path.

    True for URIs (also with ``//`` collapsed to ``/``) and for text holding a
    ``password=`` pair. A command that takes only local paths refuses these,
    so that no file or folder is ever named after a connection string.

    Examples
    --------
    >>> looks_like_conninfo("postgresql:/u:pw@h/db"), looks_like_conninfo("host=h password=x")
    (True, True)
    >>> looks_like_conninfo("out/audit"), looks_like_conninfo("postgresql_exports/2025")
    (False, False)
    """
    return isinstance(text, str) and bool(_SCHEME.search(text) or _KV_PASSWORD.search(text))


class UrlParts(NamedTuple):
    """A URI cut where libpq cuts it; each part raw (still percent-encoded)."""

    scheme: str
    userinfo: str | None
    hosts: str
    query: str


def split_url(url: str) -> UrlParts:
    """Split a ``postgresql://`` URI as libpq does.

    libpq ends the user information at the first ``@`` before any ``/`` (so
    ``#`` and ``?`` may appear raw in a password, but ``/`` and ``@`` may not),
    and the query at the first ``?`` after it.

    Examples
    --------
    >>> split_url("postgresql://u:p#?w@h:5432/db?sslmode=require")
    UrlParts(scheme='postgresql', userinfo='u:p#?w', hosts='h:5432/db', query='sslmode=require')
    >>> split_url("postgresql://u:p/w@h/db").hosts  # libpq reads host 'u', port 'p'
    'u:p/w@h/db'
    """
    scheme, _, rest = url.partition("://")
    stop = re.search(r"[@/]", rest)
    userinfo = None
    if stop is not None and stop.group() == "@":
        userinfo, rest = rest[: stop.start()], rest[stop.end():]
    hosts, _, query = rest.partition("?")
    return UrlParts(scheme=scheme, userinfo=userinfo, hosts=hosts, query=query)


def _libpq_params(conninfo: str) -> dict[str, Any] | None:
    """How libpq reads a connection string, or None (no psycopg, or libpq rejects it)."""
    try:
        from psycopg import ProgrammingError  # noqa: PLC0415  (optional extra: nbgeo[postgis])
        from psycopg.conninfo import conninfo_to_dict  # noqa: PLC0415  (optional extra: nbgeo[postgis])
    except ImportError:
        return None
    try:
        return conninfo_to_dict(conninfo)
    except ProgrammingError:
        return None


def _mask_uri(body: str) -> str:
    """The part of a URI after ``://`` with its user's password and query passwords masked."""
    at = body.rfind("@")
    head, rest = "", body
    if at >= 0:
        userinfo, rest = body[:at], body[at + 1:]
        colon = userinfo.find(":")
        head = (userinfo if colon < 0 else userinfo[: colon + 1] + _MASK) + "@"
    query_at = rest.find("?")
    if query_at >= 0:

        def param(match: re.Match[str]) -> str:
            if unquote(match.group(2)).strip().lower().endswith("password"):
                return f"{match.group(1)}{match.group(2)}={_MASK}"
            return match.group(0)

        rest = rest[:query_at] + _QUERY_PARAM.sub(param, rest[query_at:])
    return head + rest


def _secrets(dsn: str) -> set[str]:
    """Every form of the passwords in a connection string: libpq's reading and the conservative one."""
    found: set[str] = set()
    scheme = _SCHEME.match(dsn.strip())
    if scheme is not None:
        body = dsn.strip()[scheme.end():]
        at = body.rfind("@")
        if at >= 0 and ":" in body[:at]:
            found.add(body[:at].split(":", 1)[1])
        for match in _QUERY_PARAM.finditer(body[body.find("?"):] if "?" in body else ""):
            if unquote(match.group(2)).strip().lower().endswith("password"):
                found.add(match.group(3))
        # libpq refuses the schema parameter nbgeo adds: read the rest.
        parts = split_url("postgresql://" + body)
        query = "&".join(p for p in parts.query.split("&") if unquote(p.partition("=")[0]) != "schema")
        conninfo = "postgresql://" + (f"{parts.userinfo}@" if parts.userinfo is not None else "") + parts.hosts
        params = _libpq_params(conninfo + (f"?{query}" if query else ""))
    else:
        for match in _KV_PASSWORD.finditer(dsn):
            value = match.group(3)
            found.add(value)
            found.add(value.strip("'"))
        params = _libpq_params(dsn)
    for key, value in (params or {}).items():
        if key.endswith("password") and value:
            found.add(str(value))
    found |= {unquote(s) for s in found}
    found |= {s.replace("\\", "") for s in found}
    return {s for s in found if s and s != _MASK}


def mask_dsn(text: object, *, dsn: str | None = None) -> str:
    """Hide every password of every connection string in ``text``.

    Parameters
    ----------
    text
        Anything shown to people: a message, a log line, a path, a report
        field (converted with ``str``).
    dsn
        A connection string known to be involved (e.g. the one a driver
        error is about): its passwords are also removed wherever they
        appear literally, raw or percent-decoded.

    Returns
    -------
    str
        The text with ``***`` in place of each password; text without a
        connection string comes back unchanged.

    Examples
    --------
    >>> mask_dsn("postgresql://planner:s3cret@db.example:5432/gis?schema=ningbo")
    'postgresql://planner:***@db.example:5432/gis?schema=ningbo'
    >>> mask_dsn("postgresql://planner:p@ss/w0rd@db/gis")  # raw '@' and '/': up to the last '@'
    'postgresql://planner:***@db/gis'
    >>> mask_dsn("no manifest at 'postgresql:/planner:s3cret@db/gis'")  # '//' collapsed by pathlib
    "no manifest at 'postgresql:/planner:***@db/gis'"
    >>> mask_dsn(r"host=db password='it\\'s secret' user=planner")
    'host=db password=*** user=planner'
    >>> mask_dsn("postgresql://planner@db/gis")
    'postgresql://planner@db/gis'
    """
    out = str(text)
    secrets = _secrets(dsn) if dsn else set()
    # Longest first, so that a password that contains another is removed whole.
    for secret in sorted(secrets, key=len, reverse=True):
        out = out.replace(secret, _MASK)
    lowered = out.lower()
    if "postgres" not in lowered and "password" not in lowered:
        return out
    pieces: list[str] = []
    pos = 0
    for match in _SCHEME.finditer(out):
        if match.start() < pos:
            continue
        end = _URI_END.search(out, match.end())
        stop = end.start() if end is not None else len(out)
        if _UNFINISHED_USERINFO.match(out, match.end(), stop):
            # "user:pass word@host": a raw space split the URI. Take it up to the last '@' of the line.
            line_end = out.find("\n", match.end())
            line_end = len(out) if line_end < 0 else line_end
            at = out.rfind("@", stop, line_end)
            if at >= 0:
                end = _URI_END.search(out, at, line_end)
                stop = end.start() if end is not None else line_end
        pieces.append(_KV_PASSWORD.sub(rf"\1\2{_MASK}", out[pos: match.start()]))
        pieces.append(match.group(0) + _mask_uri(out[match.end(): stop]))
        pos = stop
    pieces.append(_KV_PASSWORD.sub(rf"\1\2{_MASK}", out[pos:]))
    return "".join(pieces)


class MaskingFilter(logging.Filter):
    """A logging filter that passes every record through :func:`mask_dsn`.

    An application attaches it to its handlers (the nbgeo CLI does), so that
    no log line, from nbgeo or from a library it calls, shows a password.

    Examples
    --------
    >>> record = logging.LogRecord("x", logging.INFO, __file__, 1, "connect to %s", ("postgresql://u:pw@h/db",), None)
    >>> MaskingFilter().filter(record), record.getMessage()
    (True, 'connect to postgresql://u:***@h/db')
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the record's message (and its formatted exception) in place; never drop it."""
        message = record.getMessage()
        masked = mask_dsn(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and record.exc_text is None:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_dsn(record.exc_text)
        return True
