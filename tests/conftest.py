"""Fixtures shared by every test folder."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
from pathlib import Path

import pyperclip
import pytest


@pytest.fixture
def no_clipboard(monkeypatch: pytest.MonkeyPatch) -> None:
    """No system clipboard (as over SSH): pyperclip raises, the desk falls back to OSC 52."""

    def fail(text: str) -> None:
        raise pyperclip.PyperclipException("no clipboard mechanism")

    monkeypatch.setattr(pyperclip, "copy", fail)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep every default path (settings, store, state) inside the test's folder."""
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    monkeypatch.delenv("DESK_CONFIG", raising=False)
    return tmp_path


@pytest.fixture(scope="session")
def pg_server():
    """A throwaway PostgreSQL server for the session (tests/pgserver.py).

    Skips with the reason outside CI when no server can be started; in CI (CI=true) that fails,
    because .ci/run installs the server binaries.
    """
    import os

    from tests.pgserver import PgUnavailable, running_server

    try:
        ctx = running_server()
        server = ctx.__enter__()
    except PgUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL needed in CI: {exc}")
        pytest.skip(f"PostgreSQL tests skipped: {exc}")
    try:
        yield server
    finally:
        ctx.__exit__(None, None, None)


def _live_children() -> list[tuple[int, str]]:
    """Processes whose parent is this test run, still running (zombies are not), from /proc."""
    me = str(os.getpid())
    out: list[tuple[int, str]] = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, ppid = stat.read_text().rsplit(")", 1)[1].split()[:2]
            cmd = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except (OSError, IndexError, ValueError):
            continue  # ended meanwhile
        # multiprocessing's helper processes live as long as this process, by design.
        if ppid == me and state != "Z" and "multiprocessing" not in cmd:
            out.append((int(stat.parent.name), cmd))
    return out


_PRIVATE_TMP: Path | None = None


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Every temporary file the tests make (theirs, the desk's, its child processes') goes to a
    folder of the run's own, so what a test leaves behind is seen at the end. Set after the plugins
    started: their own temporary files (the snapshot report's) stay theirs."""
    global _PRIVATE_TMP
    if _PRIVATE_TMP is not None or os.environ.get("DESK_TESTS_TMP"):
        return  # a pytest run inside a test
    _PRIVATE_TMP = Path(tempfile.mkdtemp(prefix="desk-tests-"))
    os.environ["TMPDIR"] = os.environ["DESK_TESTS_TMP"] = str(_PRIVATE_TMP)
    tempfile.tempdir = str(_PRIVATE_TMP)


def _leftover_temp() -> list[str]:
    """Entries a test left in the run's temporary folder (pytest's own tmp_path tree aside)."""
    if _PRIVATE_TMP is None or not _PRIVATE_TMP.is_dir():
        return []
    return sorted(p.name for p in _PRIVATE_TMP.iterdir() if not p.name.startswith("pytest-of-"))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Tests leave no processes and no temporary folders behind: a child still running now (a
    `desk poll` a test failed to stop, say) is killed; both are named and fail the run."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    temp = _leftover_temp()
    if _PRIVATE_TMP is not None:
        shutil.rmtree(_PRIVATE_TMP, ignore_errors=True)
    if temp:
        if reporter is not None:
            reporter.write_line(f"tests left temporary files or folders: {', '.join(temp[:20])}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if not Path("/proc").is_dir():
        return
    left = _live_children()
    for pid, _ in left:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    if left:
        if reporter is not None:
            reporter.write_line("tests left processes running (now killed): "
                                + "; ".join(f"{pid} {cmd[:120]}" for pid, cmd in left), red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_PG_DBS = iter(range(1, 10**9))


def new_pg_database(server) -> str:
    """The URL of a new empty database on the throwaway server (one per test: nothing shared)."""
    import psycopg

    name = f"desk_test_{os.getpid()}_{next(_PG_DBS)}"
    with psycopg.connect(server.url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return server.url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture
def pg_url(pg_server) -> str:
    return new_pg_database(pg_server)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request, tmp_path):
    """A fresh empty store on each backend: a SQLite file, and a new database on the session's
    throwaway PostgreSQL server (skipped with a reason where there is none)."""
    from deskapp.core.backend import open_store

    if request.param == "sqlite":
        store = open_store(tmp_path / "desk.db")
    else:
        store = open_store(new_pg_database(request.getfixturevalue("pg_server")))
    yield store
    store.close()
