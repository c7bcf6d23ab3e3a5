"""End to end: the installed `desk` in a real terminal (tmux), pinning posts and copying a citation.

Runs `desk --no-poll --db <store> --config <toml>` in a detached tmux session of a fixed size on its
own tmux socket (so it never touches the user's tmux server), with HOME pointing into tmp_path and no
DISPLAY (so no real clipboard is touched: the desk falls back to OSC 52 and the last-citation file).
The session is always killed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.ui.conftest import build_store

pytestmark = pytest.mark.e2e

TMUX = shutil.which("tmux")
DESK = shutil.which("desk") or (str(Path(sys.executable).parent / "desk")
                                if (Path(sys.executable).parent / "desk").exists() else None)


def _tmux(sock: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    assert TMUX is not None
    return subprocess.run([TMUX, "-L", sock, *args], capture_output=True, text=True, timeout=10, check=check)


def _capture(sock: str, session: str) -> str:
    return _tmux(sock, "capture-pane", "-p", "-t", session, check=False).stdout


def _wait_for(predicate, timeout: float, what: str, screen=lambda: "") -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout:g} s waiting for {what}; screen:\n{screen()}")


@pytest.mark.skipif(TMUX is None, reason="tmux is not installed")
@pytest.mark.skipif(DESK is None, reason="the `desk` console script is not installed (pip install -e .)")
def test_desk_in_tmux_pins_and_copies(tmp_path: Path) -> None:
    store = build_store(tmp_path / "desk.db", 30)
    state = tmp_path / "state"
    config = tmp_path / "config.toml"
    config.write_text(f'[store]\npath = "{store}"\nstate = "{state}"\n', encoding="utf-8")
    home = tmp_path / "home"
    home.mkdir()

    sock = f"desk-e2e-{uuid.uuid4().hex[:8]}"
    session = "desk"
    # COLUMNS/LINES from the test runner's environment would override the pane's size in Textual.
    command = (f"env -u DISPLAY -u WAYLAND_DISPLAY -u COLUMNS -u LINES HOME={home} TERM=xterm-256color "
               f"{DESK} --no-poll --db {store} --config {config}; echo DESK-EXITED $?; sleep 30")
    # Our own config (never the user's ~/.tmux.conf), the same size for any later window.
    conf = tmp_path / "tmux.conf"
    conf.write_text("set -g default-size 120x40\nset -g status off\n", encoding="utf-8")
    try:
        _tmux(sock, "-f", str(conf), "new-session", "-d", "-s", session, "-x", "120", "-y", "40", command)
        screen = lambda: _capture(sock, session)  # noqa: E731
        _wait_for(lambda: "Post number 29 " in screen() and "Pinboard (0)" in screen(), 30,
                  "the feed to show", screen)
        # Pin the newest three posts (cursor starts on the newest), then copy.
        for key in ("p", "j", "p", "j", "p"):
            _tmux(sock, "send-keys", "-t", session, key)
            time.sleep(0.15)
        _wait_for(lambda: "Pinboard (3)" in screen(), 10, "three pins", screen)
        _tmux(sock, "send-keys", "-t", session, "c")
        last = state / "last-citation.txt"
        _wait_for(last.exists, 10, "the last-citation file", screen)
        text = last.read_text(encoding="utf-8")
        lines = [line for line in text.splitlines() if line.startswith("- ")]
        assert lines == [
            "- Gamma Osint (@gamma_osint), https://t.me/gamma_osint/1029, 2026-03-01 12:29 UTC",
            "- Beta Wire (@beta_wire), https://t.me/beta_wire/1028, 2026-03-01 12:28 UTC",
            "- Alpha News (@alpha_news), https://t.me/alpha_news/1027, 2026-03-01 12:27 UTC",
        ], text
        _wait_for(lambda: "Sent to the terminal clipboard" in screen(), 5, "the notification", screen)
        # q quits cleanly.
        _tmux(sock, "send-keys", "-t", session, "q")
        _wait_for(lambda: "DESK-EXITED" in screen(), 10, "desk to exit", screen)
        assert "DESK-EXITED 0" in screen()
    finally:
        _tmux(sock, "kill-server", check=False)
