"""Fixtures shared by every test folder."""

from __future__ import annotations

import pyperclip
import pytest


@pytest.fixture
def no_clipboard(monkeypatch: pytest.MonkeyPatch) -> None:
    """No system clipboard (as over SSH): pyperclip raises, the desk falls back to OSC 52."""

    def fail(text: str) -> None:
        raise pyperclip.PyperclipException("no clipboard mechanism")

    monkeypatch.setattr(pyperclip, "copy", fail)


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
