"""pytest plugin: a throwaway PostgreSQL + PostGIS cluster for the database tests.

Registered from ``tests/conftest.py``. It gives two fixtures:

``postgis_url`` (session)
    A ``postgresql://`` URL, with a password, to a database that has the
    ``postgis`` extension.
``pg_url`` (function)
    The same URL with ``?schema=NAME`` for a fresh schema that only this test
    uses; the schema is dropped afterwards.

Where the server comes from, in order:

1. ``NBGEO_TEST_POSTGRES_URL``: an existing server (the tests only create and
   drop their own schemas in it; it must have PostGIS available).
2. The PostgreSQL binaries on this machine (``initdb`` on the PATH, or Debian's
   ``/usr/lib/postgresql/<version>/bin``, or ``NBGEO_PG_BINDIR``): a new cluster
   in a temporary folder on a free loopback port. ``initdb`` refuses to run as
   root, so as root every server command runs as the ``postgres`` user. The
   cluster is made when a test first asks for it and is stopped and deleted at
   the end of the session. Under pytest-xdist each worker gets its own cluster
   (own folder, own port), so workers never share state or wait on each other.
3. Neither: the tests that need a database are skipped, saying why, except in
   CI (``CI`` set), where a missing server is an error: ``.ci/run`` installs
   PostgreSQL and PostGIS, so a skip there would hide a broken setup.
"""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

_DB = "nbgeo_test"
_SUPERUSER = "nbgeo"


def _bindir() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres, or None."""
    if os.environ.get("NBGEO_PG_BINDIR"):
        return Path(os.environ["NBGEO_PG_BINDIR"])
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb")
    return Path(found).resolve().parent if found else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class _Cluster:
    """One throwaway cluster: its folder, port, password and the user its processes run as."""

    bindir: Path
    root: Path
    port: int = 0
    password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    run_as: str | None = None

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        return f"postgresql://{_SUPERUSER}:{self.password}@127.0.0.1:{self.port}/{_DB}"

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        kwargs: dict[str, object] = {}
        if self.run_as:
            kwargs.update(user=self.run_as, group=self.run_as, extra_groups=[])
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "LANG": "C"}
        return subprocess.run([str(self.bindir / args[0]), *args[1:]], cwd=self.root, env=env, check=False,
                              capture_output=True, text=True, timeout=timeout, **kwargs)  # type: ignore[call-overload]

    def _check(self, proc: subprocess.CompletedProcess[str], what: str) -> None:
        if proc.returncode != 0:
            log = (self.root / "server.log").read_text(errors="replace")[-2000:] if (self.root / "server.log").exists() else ""
            msg = f"{what} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}\n{log}"
            raise RuntimeError(msg)

    def start(self) -> None:
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self.run_as:
            shutil.chown(pwfile, self.run_as, self.run_as)
        self._check(self._run("initdb", "-D", str(self.data), "-U", _SUPERUSER, f"--pwfile={pwfile}",
                              "--auth-host=scram-sha-256", "--auth-local=trust", "--no-locale", "-E", "UTF8",
                              "--no-sync"), "initdb")
        pwfile.unlink()
        options = (f"-c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=40 -c shared_buffers=32MB")
        for attempt in range(5):  # a free port can be taken between the probe and the bind: retry on another
            self.port = _free_port()
            proc = self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-w", "-t", "60",
                             "-o", f"-p {self.port} {options}", "start")
            if proc.returncode == 0:
                break
            if attempt == 4:
                self._check(proc, "pg_ctl start")
        self._check(self._run("psql", "-h", str(self.root), "-p", str(self.port), "-U", _SUPERUSER, "-d", "postgres",
                              "-v", "ON_ERROR_STOP=1", "-q", "-c", f"CREATE DATABASE {_DB}"), "CREATE DATABASE")
        self._check(self._run("psql", "-h", str(self.root), "-p", str(self.port), "-U", _SUPERUSER, "-d", _DB,
                              "-v", "ON_ERROR_STOP=1", "-q", "-c", "CREATE EXTENSION postgis"), "CREATE EXTENSION postgis")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


def _make_cluster() -> _Cluster:
    bindir = _bindir()
    if bindir is None or not (bindir / "pg_ctl").exists():
        msg = "PostgreSQL server binaries not found (apt-get install postgresql postgis)"
        raise LookupError(msg)
    run_as = None
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            msg = "running as root and there is no 'postgres' user to run initdb as"
            raise LookupError(msg) from None
        run_as = "postgres"
    root = Path(tempfile.mkdtemp(prefix="nbgeo-pg-"))
    if run_as:
        shutil.chown(root, run_as, run_as)
    cluster = _Cluster(bindir=bindir, root=root, run_as=run_as)
    try:
        cluster.start()
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"PostGIS tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(f"no PostgreSQL/PostGIS: {reason}")


@pytest.fixture(scope="session")
def postgis_url() -> Iterator[str]:
    """URL (with password) of a database with PostGIS: an external one, or a throwaway cluster."""
    external = os.environ.get("NBGEO_TEST_POSTGRES_URL")
    if external:
        yield external
        return
    try:
        cluster = _make_cluster()
    except LookupError as exc:
        _unavailable(str(exc))
        return
    except RuntimeError as exc:
        if "postgis" in str(exc).lower() and "CREATE EXTENSION" in str(exc):
            _unavailable(f"PostGIS is not installed for this server ({str(exc).splitlines()[0]})")
            return
        raise
    try:
        yield cluster.url
    finally:
        cluster.stop()


@pytest.fixture
def pg_url(postgis_url: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """``postgis_url`` with ``?schema=`` set to a fresh schema of this test; dropped afterwards."""
    psycopg = pytest.importorskip("psycopg")
    from psycopg import sql

    name = f"t_{int(time.time() * 1000) % 10**8}_{secrets.token_hex(4)}"
    with psycopg.connect(postgis_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    try:
        yield f"{postgis_url}{'&' if '?' in postgis_url else '?'}schema={name}"
    finally:
        with contextlib.suppress(psycopg.Error), psycopg.connect(postgis_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))
