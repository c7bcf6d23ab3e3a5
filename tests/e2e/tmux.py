"""Driving the installed `desk` in a real terminal: tmux on a private socket, always cleaned up."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

TMUX = shutil.which("tmux")
_BIN = Path(sys.executable).parent / "desk"
DESK = str(_BIN) if _BIN.exists() else shutil.which("desk")

needs_tmux = [
    pytest.mark.e2e,
    pytest.mark.skipif(TMUX is None, reason="tmux is not installed"),
    pytest.mark.skipif(DESK is None, reason="the `desk` console script is not installed (pip install -e .)"),
]


class Term:
    """One tmux session running a command; `screen()` is what a person would see."""

    def __init__(self, sock: str, session: str):
        self.sock, self.session = sock, session

    def tmux(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        assert TMUX is not None
        return subprocess.run([TMUX, "-L", self.sock, *args], capture_output=True, text=True, timeout=10,
                              check=check)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.session, check=False).stdout

    def keys(self, *keys: str, pause: float = 0.15) -> None:
        for key in keys:
            self.tmux("send-keys", "-t", self.session, key)
            time.sleep(pause)

    def wait_for(self, predicate: Callable[[str], bool], timeout: float, what: str) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            text = self.screen()
            if predicate(text):
                return text
            time.sleep(0.2)
        pytest.fail(f"timed out after {timeout:g} s waiting for {what}; screen:\n{self.screen()}")


@contextmanager
def terminal(tmp_path: Path, command: str, *, width: int = 140, height: int = 40) -> Iterator[Term]:
    """Run `command` (a shell line) in a detached tmux session of a fixed size, HOME in tmp_path and no
    DISPLAY, so no real clipboard or user file is touched. The tmux server is always killed."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    conf = tmp_path / "tmux.conf"
    conf.write_text(f"set -g default-size {width}x{height}\nset -g status off\n", encoding="utf-8")
    term = Term(f"desk-e2e-{uuid.uuid4().hex[:8]}", "desk")
    # COLUMNS/LINES from the test runner would override the pane's size in Textual.
    line = (f"env -u DISPLAY -u WAYLAND_DISPLAY -u COLUMNS -u LINES HOME={home} XDG_CONFIG_HOME={home}/.config "
            f"XDG_DATA_HOME={home}/.local/share XDG_STATE_HOME={home}/.local/state TERM=xterm-256color "
            f"{command}; echo DESK-EXITED $?; sleep 30")
    try:
        term.tmux("-f", str(conf), "new-session", "-d", "-s", term.session, "-x", str(width), "-y", str(height),
                  line)
        yield term
    finally:
        term.tmux("kill-server", check=False)
