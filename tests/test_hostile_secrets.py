"""Secrets (issue 13): no database password is ever printed, logged, raised, written or made a file name.

``compare``, ``validate`` and ``--snapshot`` printed the whole password of a
``postgresql://`` URL; ``map --out URL`` made a local folder named after it;
a ``/`` or ``#`` in the password defeated the masking. Here: the one masking
function (:func:`nbgeo.dsn.mask_dsn`) against passwords holding
``/ # @ : ?``, percent-encoding, quotes, spaces and CJK, in URLs, URL queries
and ``key=value`` strings, with and without psycopg; every error and problem;
every command that takes a dataset or ``--out`` refusing or accepting a URL
explicitly; and, end to end against a real PostgreSQL, a role whose password
holds all of those characters used by every command, checking stdout,
stderr, log records, exception text, every file written and every file name.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import logging
import os
import secrets
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from click.testing import CliRunner
from corpus.hostile_cache_secrets import AWKWARD_PASSWORDS, leaks, tree_leaks, url_with
from hypothesis import given
from hypothesis import strategies as st

from nbgeo import audit, compare, errors, io, postgis
from nbgeo.cli import main
from nbgeo.errors import InputError, NbgeoError, Problem
from nbgeo.layers import Layer

PORT = 5999  # nothing listens here: the URL is only parsed, shown and refused


def _kv_quoted(password: str) -> str:
    """libpq's key=value quoting: single quotes, with backslash before ' and \\."""
    return "'" + password.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _spellings(password: str) -> dict[str, tuple[str, str]]:
    """The ways a connection string carrying ``password`` reaches a message, each with its only right mask."""
    encoded = url_with(password, port=PORT, schema="ningbo")
    shown = f"postgresql://awkward:***@127.0.0.1:{PORT}/nbgeo_test"
    forms = {
        "url": (encoded, f"{shown}?schema=ningbo"),
        "url-in-sentence": (f"could not read {encoded}: timeout", f"could not read {shown}?schema=ningbo: timeout"),
        "url-repr": (repr(encoded), f"'{shown}?schema=ningbo'"),
        "url-collapsed-by-pathlib": (str(Path(encoded)), f"{shown}?schema=ningbo".replace("//", "/", 1)),
        "query": (f"postgresql://127.0.0.1:{PORT}/gis?user=u&password={quote(password, safe='')}&sslmode=require",
                  f"postgresql://127.0.0.1:{PORT}/gis?user=u&password=***&sslmode=require"),
        "kv-quoted": (f"host=127.0.0.1 user=u password={_kv_quoted(password)} dbname=gis",
                      "host=127.0.0.1 user=u password=*** dbname=gis"),
        "sslpassword": (f"host=h sslpassword={_kv_quoted(password)} dbname=gis", "host=h sslpassword=*** dbname=gis"),
        "url-raw": (url_with(password, port=PORT, encode=False), shown),
        "url-raw-in-sentence": (f"no manifest at '{url_with(password, port=PORT, encode=False)}' (hint: ...)",
                                f"no manifest at '{shown}' (hint: ...)"),
    }
    if not any(c.isspace() or c in "'\\" for c in password):
        forms["kv-unquoted"] = (f"host=127.0.0.1 password={password} dbname=gis", "host=127.0.0.1 password=*** dbname=gis")
    return forms


def _block_psycopg(monkeypatch) -> None:
    """Make ``import psycopg`` fail, as without the optional ``postgis`` extra."""
    for name in [m for m in sys.modules if m == "psycopg" or m.startswith("psycopg.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "psycopg", None)
    monkeypatch.setitem(sys.modules, "psycopg.conninfo", None)


# ---- the masking function ------------------------------------------------------------------------------------


@pytest.mark.parametrize("with_psycopg", [True, False], ids=["libpq", "conservative"])
@pytest.mark.parametrize("password", AWKWARD_PASSWORDS)
def test_mask_hides_every_spelling(password, with_psycopg, monkeypatch):
    if not with_psycopg:
        _block_psycopg(monkeypatch)
    for form, (text, right) in _spellings(password).items():
        masked = postgis.mask_dsn(text)
        assert not leaks(masked, password), (form, masked)
        # Not a piece of the password left, and what surrounds it survives: user, host, schema, the sentence.
        assert masked == right, (form, text, masked)


def test_mask_follows_libpq_where_the_password_ends():
    """libpq's reading, from psycopg: the mask always covers at least the password libpq would send."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    for password in AWKWARD_PASSWORDS:
        for text in (url_with(password, port=PORT), make_conninfo(host="h", user="u", password=password)):
            sent = conninfo_to_dict(text)["password"]
            assert sent == password  # libpq decodes the percent-encoded URL back to the password
            assert sent not in postgis.mask_dsn(text)
        if not any(c.isspace() for c in password):
            # Typed raw: libpq reads '#', '?' and ':' as part of the password (urllib would not), and a raw '@'
            # or '/' moves where the password ends. Whatever libpq would send stays hidden.
            raw = url_with(password, port=PORT, encode=False)
            sent = conninfo_to_dict(raw).get("password")
            if sent:
                assert sent not in postgis.mask_dsn(raw), (raw, sent)


@given(password=st.text(alphabet=st.characters(blacklist_categories=("Cs", "Zs", "Zl", "Zp", "Cc")), min_size=1,
                        max_size=24))
def test_mask_of_a_raw_password_keeps_only_user_and_host(password):
    """Any password typed raw into a URL (no percent-encoding), whatever it holds: masked up to the last '@'."""
    url = f"postgresql://planner:{password}@db.example:5432/gis?schema=x"
    assert postgis.mask_dsn(url) == "postgresql://planner:***@db.example:5432/gis?schema=x"


def test_one_masking_function_for_everything():
    from nbgeo import dsn

    assert postgis.mask_dsn is dsn.mask_dsn


@pytest.mark.parametrize("password", AWKWARD_PASSWORDS)
def test_every_error_and_problem_is_masked_whoever_builds_it(password):
    url = url_with(password, port=PORT, encode=False)
    for exc in (NbgeoError(f"x {url} y"), InputError(f"no manifest at {Path(url)}"), errors.OutputError(url)):
        assert not leaks(str(exc), password) and not leaks(exc.message, password)
    problem = Problem("E-X", f"cannot open {url}", file=str(Path(url)), hint=f"host=h password={_kv_quoted(password)}")
    assert not leaks(str(problem), password) and not leaks(json.dumps(problem.to_dict()), password)


@pytest.mark.parametrize("password", AWKWARD_PASSWORDS)
def test_the_api_never_raises_or_logs_a_password(password, caplog, tmp_path):
    encoded = url_with(password, port=PORT, schema="ningbo")
    raw = url_with(password, port=PORT, encode=False)
    shown = []
    with caplog.at_level(logging.DEBUG):
        for url in (encoded, raw):
            for call in (postgis.read_dataset, io.read_dataset):
                with pytest.raises(NbgeoError) as err:  # nothing listens on PORT; io reads no URL
                    call(url)
                shown += [str(err.value), *map(str, err.value.problems)]
            try:
                loc = postgis.parse_url(url)
            except InputError as exc:  # a raw '@', '/' or space: refused
                shown.append(str(exc))
            else:
                shown += [str(loc), repr(loc), loc.display]
    for text in shown:
        assert not leaks(text, password), text
    assert not leaks("\n".join(r.getMessage() for r in caplog.records), password)
    assert not tree_leaks(tmp_path, password)


@pytest.mark.parametrize("url", ["postgresql://u:Qz@at@h/db", "postgresql://u:Qz/slash@h/db",
                                 "postgresql://u:Qz sp ace@h/db"])
def test_a_url_libpq_would_misread_is_refused(url):
    """A raw '@', '/' or space makes libpq take part of the password as host or database (and resolve it)."""
    with pytest.raises(InputError) as err:
        postgis.parse_url(url)
    assert err.value.code == "E-DB-URL" and "percent-encode" in str(err.value) and "Qz" not in str(err.value)


def test_the_cli_log_handler_masks_records_of_any_logger(capsys):
    from nbgeo.cli import _configure_logging

    root = logging.getLogger()
    saved = list(root.handlers)
    try:
        for handler in saved:
            root.removeHandler(handler)
        _configure_logging(1, False)
        logging.getLogger("some.library").warning("connecting to %s", url_with("Qz/sl#ash", port=PORT))
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved:
            root.addHandler(handler)
    err = capsys.readouterr().err
    assert "connecting to postgresql://awkward:***@" in err and not leaks(err, "Qz/sl#ash")


# ---- the CLI: who takes a URL, who refuses it ---------------------------------------------------------------

SECRET = "Qz/#@:?%2F%40x"  # every character that broke masking, and percent-encoding
RAW_OK = "Qz#ha?sh:x"  # a password libpq takes unencoded in a URL ('#' and '?' are not special to it)


def _refusals(url: str, tmp_path: Path) -> dict[str, list[str]]:
    sample = str(tmp_path / "absent")  # never read: the URL is refused first
    return {
        "map --out": ["map", "--out", url],
        "map --png": ["map", "--out", str(tmp_path / "m.html"), "--png", url],
        "rules --out": ["rules", "--out", url],
        "coverage --out": ["coverage", "--out", url],
        "site --out": ["site", "--out", url],
        "compare --out": ["compare", sample, sample, "--out", url],
        "compare --plan": ["compare", sample, sample, "--plan", url, "--out", str(tmp_path / "c")],
        "validate --out": ["validate", sample, "--out", url],
        "audit --plan": ["audit", "--plan", url, "--out", str(tmp_path / "a")],
        "audit key=value dataset": ["audit", f"host=h password={_kv_quoted(SECRET)}", "--out", str(tmp_path / "a")],
        "audit --snapshot with a bad year": ["audit", "--snapshot", f"x={url}", "--out", str(tmp_path / "a")],
    }


@pytest.mark.parametrize("raw", [False, True], ids=["encoded", "raw"])
def test_cli_refuses_a_url_where_it_takes_a_local_path(raw, tmp_path, monkeypatch):
    url = url_with(SECRET, port=PORT, schema="x", encode=not raw)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    runner = CliRunner()
    for what, args in _refusals(url, work).items():
        result = runner.invoke(main, args)
        assert result.exit_code == 2, (what, result.output)
        assert not leaks(result.output, SECRET) and not leaks(result.stderr, SECRET), (what, result.output)
        assert "Traceback" not in result.output
    assert not list(work.iterdir()), "no file or folder may be made"


# ---- end to end, against a real PostgreSQL with a role whose password holds / # @ : ? and %2F %40 ---------------


@pytest.fixture(scope="module")
def awkward(postgis_url, sample):
    """A login role with the awkward password, owning a schema with a small copy of the sample, and one for audits."""
    psycopg = pytest.importorskip("psycopg")
    from psycopg import sql

    role = f"awkward_{secrets.token_hex(4)}"
    data, out = f"{role}_data", f"{role}_audits"
    host = postgis.parse_url(postgis_url).conninfo.split("@")[-1]  # 127.0.0.1:PORT/DB
    with psycopg.connect(postgis_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role), sql.Literal(SECRET)))
        conn.execute(sql.SQL("GRANT CREATE ON DATABASE {} TO {}").format(
            sql.Identifier(conn.info.dbname), sql.Identifier(role)))
        for schema in (data, out):
            conn.execute(sql.SQL("CREATE SCHEMA {} AUTHORIZATION {}").format(sql.Identifier(schema),
                                                                            sql.Identifier(role)))
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(f"{role}_raw"),
                                                                       sql.Literal(RAW_OK)))
    base = f"postgresql://{role}:{quote(SECRET, safe='')}@{host}"
    small = dataclasses.replace(sample, layers={n: Layer(layer.gdf.head(40), layer.meta)
                                                for n, layer in sample.layers.items()})
    postgis.write_dataset(small, f"{base}?schema={data}")  # as the awkward role itself
    with psycopg.connect(postgis_url, autocommit=True) as conn:
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {0} TO {1}; GRANT SELECT ON ALL TABLES IN SCHEMA {0} TO {1}").format(
            sql.Identifier(data), sql.Identifier(f"{role}_raw")))
    raw = f"postgresql://{role}_raw:{RAW_OK}@{host}?schema={data}"
    yield {"data": f"{base}?schema={data}", "out": f"{base}?schema={out}", "raw": raw, "role": role}
    with psycopg.connect(postgis_url, autocommit=True) as conn:
        for schema in (data, out):
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
        for name in (role, f"{role}_raw"):
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


def test_the_api_with_a_real_awkward_password(awkward, ningbo_plan, caplog):
    with caplog.at_level(logging.DEBUG):
        ds = postgis.read_dataset(awkward["data"])
        report = audit.run_audit(ds, ningbo_plan, progress=False)
        written = postgis.write_report(report, awkward["out"])
        result = compare.compare(ds, ds, ningbo_plan, ningbo_plan, progress=False)
        wrong = awkward["data"].replace(quote(SECRET, safe=""), quote(SECRET[::-1], safe=""))
        with pytest.raises(NbgeoError) as err:
            postgis.read_dataset(wrong)
        typed_raw = postgis.read_dataset(awkward["raw"])  # '#' and '?' unencoded: libpq's reading, not urllib's
    assert sum(written.values()) > 0 and ds.path.startswith(f"postgresql://{awkward['role']}:***@")
    assert typed_raw.path.startswith(f"postgresql://{awkward['role']}_raw:***@") and len(typed_raw.names) == len(ds.names)
    texts = [json.dumps(report.to_dict(), default=str), json.dumps(result.to_dict(), default=str), str(err.value),
             "\n".join(r.getMessage() for r in caplog.records), repr(ds), report.to_text(), repr(typed_raw)]
    for text in texts:
        assert not leaks(text, SECRET) and not leaks(text, SECRET[::-1]) and not leaks(text, RAW_OK)
    assert err.value.code == "E-DB-CONN"


def _nbgeo(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    return subprocess.run([sys.executable, "-m", "nbgeo.cli", "-vv", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600, check=False)


def test_every_command_with_a_real_awkward_password(awkward, tmp_path):
    """Every command that takes a dataset or --out, with a URL whose password is SECRET: used, never shown."""
    work = tmp_path / "work"
    work.mkdir()
    url, out_url = awkward["data"], awkward["out"]
    shown = f"postgresql://{awkward['role']}:***@"
    runs = {
        "audit": (["audit", url, "--out", "a", "--no-map"], {0, 1}),
        "audit --out URL": (["audit", url, "--out", out_url, "--no-map", "--no-progress"], {0, 1}),
        "audit --snapshot": (["audit", url, "--snapshot", f"2023={url}", "--out", "s", "--no-map"], {0, 1}),
        "map": (["map", url, "--out", "m.html"], {0}),
        "rules": (["rules", url, "--out", "r"], {0, 1}),
        "coverage": (["coverage", url, "--out", "c", "--no-map"], {0, 1}),
        "site": (["site", url, "--out", "st", "--no-map"], {0, 1, 2}),
        "compare": (["compare", url, url, "--out", "cmp", "--no-map"], {0, 1}),
        "validate": (["validate", url, "--out", "v"], {0, 2}),
        "rules, password typed raw": (["rules", awkward["raw"], "--out", "raw"], {0, 1}),
    }
    # Real processes, a few at a time: each one starts Python and imports the geo stack.
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        procs = dict(zip(runs, pool.map(lambda args: _nbgeo(args, work), [a for a, _ in runs.values()]),
                         strict=True))
    for what, proc in procs.items():
        assert proc.returncode in runs[what][1], (what, proc.returncode, proc.stderr[-2000:])
        for secret in (SECRET, RAW_OK):
            assert not leaks(proc.stdout, secret) and not leaks(proc.stderr, secret), what
        assert "Traceback" not in proc.stderr, (what, proc.stderr[-2000:])
    assert shown in procs["audit --out URL"].stdout  # "wrote N rows to ... in postgresql://ROLE:***@..."
    # Everything written: no file or folder name, no content holds the password; the reports name the URL masked.
    assert not tree_leaks(work, SECRET) and not tree_leaks(work, RAW_OK)
    names = {p.name for p in work.iterdir()}
    expected = {"a", "c", "cmp", "m.html", "r", "raw", "s", "v"}
    assert expected <= names <= expected | {"st"}
    assert json.loads((work / "a" / "audit.json").read_text(encoding="utf-8"))["dataset"]["path"].startswith(shown)
    assert json.loads((work / "v" / "validation.json").read_text(encoding="utf-8"))["path"].startswith(shown)
    assert shown in (work / "cmp" / "compare.json").read_text(encoding="utf-8")


def test_cli_wrong_raw_or_misplaced_awkward_password(awkward, tmp_path, monkeypatch, caplog):
    """A password the server refuses, one typed raw (libpq would misread it), a URL as --out: exit 2, masked."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    url = awkward["data"]
    runner = CliRunner()
    cases = {
        "wrong password": ["-vv", "audit", url.replace("%2F", "%2E"), "--out", "w"],
        "raw password": ["-vv", "audit", url.replace(quote(SECRET, safe=""), SECRET), "--out", "w"],
        "map --out URL": ["map", url, "--out", url],
        "validate --out URL": ["validate", url, "--out", url],
    }
    with caplog.at_level(logging.DEBUG):
        for what, args in cases.items():
            result = runner.invoke(main, args)
            assert result.exit_code == 2, (what, result.output)
            assert not leaks(result.output, SECRET), (what, result.output)
    assert "E-DB-CONN" in runner.invoke(main, cases["wrong password"]).output
    assert not leaks("\n".join(r.getMessage() for r in caplog.records), SECRET)
    assert not list(work.iterdir())
