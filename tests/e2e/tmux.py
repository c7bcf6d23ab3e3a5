"""Driving the installed `desk` in a real terminal: tmux on a private socket, always cleaned up.

The one terminal helper module of the tests (e2e and hardening). `script` between tmux and the desk
can record every byte the desk writes, so a test can assert on the raw output a real terminal would
have interpreted. Nothing here reaches beyond 127.0.0.1.
"""

from __future__ import annotations

import base64
import os
import re
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from deskapp.demo.server import WireServer

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
        return wait_screen(self, predicate, timeout, what, poll=0.2, clean=False)


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


SCRIPT = shutil.which("script")

needs_script = pytest.mark.skipif(SCRIPT is None, reason="`script` (util-linux) is not installed")

# The feed pane's title: "Live feed · 1,234 posts" (deskapp/ui/app.py, DeskApp._update_titles).
FEED_TITLE = re.compile(r"Live feed · ([\d,]+) posts?")
PINBOARD_TITLE = re.compile(r"Pinboard \((\d+)\)")
STORED = re.compile(r"([\d,]+) stored · ")

# What must never reach a user's screen, whatever happens underneath.
NEVER_ON_SCREEN = ("database is locked", "Traceback", "sqlite3.", "OperationalError", "stayed locked",
                   "Could not ", "unexpected error")  # "Could not": the desk's store-failure notices


def desk_line(*args: str | Path, pidfile: Path | None = None, record: Path | None = None) -> str:
    """A shell line that runs the installed desk; `pidfile` gets the desk's own pid (a shell writes
    its pid and execs into the desk), `record` makes `script` log the desk's raw output there."""
    assert DESK is not None
    cmd = " ".join(shlex.quote(str(a)) for a in (DESK, *args))
    if pidfile is not None:
        cmd = f"sh -c {shlex.quote(f'echo $$ > {shlex.quote(str(pidfile))}; exec {cmd}')}"
    if record is not None:
        assert SCRIPT is not None
        # -f: flush after each write (the log is read while the desk runs); -e: the desk's exit status.
        cmd = f"{shlex.quote(SCRIPT)} -q -f -e -c {shlex.quote(cmd)} {shlex.quote(str(record))}"
    return cmd


@contextmanager
def desk_terminal(tmp: Path, *args: str | Path, record: Path | None = None, width: int = 120,
                  height: int = 36) -> Iterator[tuple[Term, Path]]:
    """The installed desk in its own tmux terminal (see tests/e2e/tmux.terminal); yields the terminal
    and the file that will hold the desk's pid. However the test ends, the desk is killed: under
    `script`, closing tmux does not reach it, and an orphan desk would load the machine."""
    tmp.mkdir(parents=True, exist_ok=True)
    pidfile = tmp / f"desk-{uuid.uuid4().hex[:8]}.pid"
    try:
        with terminal(tmp, desk_line(*args, pidfile=pidfile, record=record), width=width, height=height) as term:
            # tmux holds a lone ESC for 500 ms by default (to tell it from Alt+key): each Esc would cost that.
            term.tmux("set-option", "-s", "escape-time", "10", check=False)
            yield term, pidfile
    finally:
        try:
            pid = int(pidfile.read_text().strip())
        except (OSError, ValueError):
            pid = 0
        if pid and _is_our_desk(pid, pidfile):
            kill9(pid)


def _is_our_desk(pid: int, pidfile: Path) -> bool:
    """The pid still runs a desk (the pid file is ours and seconds old: not a recycled pid)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    return "desk" in cmdline


def wait_screen(term: Term, predicate: Callable[[str], bool], timeout: float, what: str,
                poll: float = 0.05, *, clean: bool = True) -> str:
    """The screen once `predicate` holds, polling every `poll` s (latencies are measured with it);
    with `clean`, fails at once when something that must never reach the user is on the screen."""
    end = time.monotonic() + timeout
    while True:
        text = term.screen()
        if clean:
            assert_clean_screen(text, f"while waiting for {what}")  # a toast may be gone a few s later
        if predicate(text):
            return text
        if time.monotonic() >= end:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}; screen:\n{text}")
        time.sleep(poll)


def key_latency(term: Term, key: str, predicate: Callable[[str], bool], timeout: float, what: str) -> float:
    """Seconds from sending `key` until the screen satisfies `predicate`."""
    started = time.monotonic()
    term.keys(key, pause=0)
    wait_screen(term, predicate, timeout, what, poll=0.02)
    return time.monotonic() - started


def click(term: Term, x: int, y: int, times: int = 1) -> None:
    """Mouse clicks at a 0-based cell, as xterm's SGR mouse reports (the desk enables them)."""
    for _ in range(times):
        for final in "Mm":  # press, release
            seq = f"\x1b[<0;{x + 1};{y + 1}{final}".encode()
            term.tmux("send-keys", "-t", term.session, "-H", *[f"{b:02x}" for b in seq])


def stable_screen(term: Term, timeout: float = 5.0) -> str:
    """The screen once two captures 0.1 s apart agree (keys sent just before have been drawn)."""
    end = time.monotonic() + timeout
    last = term.screen()
    while time.monotonic() < end:
        time.sleep(0.1)
        now = term.screen()
        if now == last:
            return now
        last = now
    return last


def click_on(term: Term, needle: str, times: int = 1, dx: int = 3) -> str:
    """Click on the first place the settled screen shows `needle`; returns that screen."""
    screen = stable_screen(term)
    at = find_text(screen, needle)
    if at is None:
        pytest.fail(f"{needle!r} is not on the screen:\n{screen}")
    click(term, at[0] + dx, at[1], times)
    return screen


def find_text(screen: str, needle: str) -> tuple[int, int] | None:
    """(x, y) of the first occurrence of `needle` on the screen."""
    for y, line in enumerate(screen.splitlines()):
        x = line.find(needle)
        if x >= 0:
            return x, y
    return None


def number(pattern: re.Pattern[str], screen: str) -> int | None:
    m = pattern.search(screen)
    return int(m.group(1).replace(",", "")) if m else None


def assert_clean_screen(screen: str, where: str) -> None:
    for bad in NEVER_ON_SCREEN:
        assert bad not in screen, f"{bad!r} reached the user ({where}):\n{screen}"


def read_pid(pidfile: Path, timeout: float = 10) -> int:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            text = pidfile.read_text().strip()
            if text:
                return int(text)
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    pytest.fail(f"the desk never wrote its pid to {pidfile}")


def kill9(pid: int) -> None:
    """SIGKILL one process we started (by its id), and wait until it is gone."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    end = time.monotonic() + 10
    while time.monotonic() < end:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        # A zombie (tmux's shell has not reaped it yet) counts as gone: it holds no file.
        try:
            if Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z"):
                return
        except (OSError, IndexError):
            return
        time.sleep(0.02)
    pytest.fail(f"pid {pid} survived SIGKILL")


# ---- the store, read as a bystander ---------------------------------------------------------------

def store_facts(db: Path) -> dict[str, object]:
    """integrity_check, post count per source and the pins, through a plain sqlite3 connection."""
    if not db.exists():  # connecting would create an empty file, which the desk then refuses
        return {"integrity": "ok", "per_source": {}, "posts": 0, "pins": set()}
    # Read-write, as the next desk would open it: after a SIGKILL the WAL may need recovering.
    con = sqlite3.connect(db, timeout=30)
    try:
        integrity = con.execute("PRAGMA integrity_check").fetchone()[0]
        per_source = dict(con.execute("SELECT source, count(*) FROM posts GROUP BY source").fetchall())
        pins = {(s, int(i)) for s, i in con.execute("SELECT source, post_id FROM pins").fetchall()}
        return {"integrity": integrity, "per_source": per_source, "posts": sum(per_source.values()),
                "pins": pins}
    finally:
        con.close()


# ---- the raw output of a terminal program ---------------------------------------------------------

_CSI = rb"\x1b\[[0-?]*[ -/]*[@-~]"
_OSC = rb"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"
_ESC_OTHER = rb"\x1b[ -/]*[0-~]"  # ESC 7, ESC 8, ESC =, ESC > ... (two-byte forms)
_SEQUENCE = re.compile(b"|".join((_CSI, _OSC, _ESC_OTHER)))
_OSC_BODY = re.compile(rb"\x1b\]([^\x07\x1b]*)(?:\x07|\x1b\\)")


def script_body(raw: bytes) -> bytes:
    """The desk's bytes without `script`'s own first and last lines."""
    if raw.startswith(b"Script started"):
        raw = raw.split(b"\n", 1)[1] if b"\n" in raw else b""
    tail = raw.rfind(b"\nScript done")
    return raw[:tail] if tail >= 0 else raw


def osc_sequences(raw: bytes) -> list[bytes]:
    """Bodies of every OSC sequence (between ESC ] and BEL/ST)."""
    return _OSC_BODY.findall(raw)


def stray_controls(raw: bytes) -> list[tuple[int, str]]:
    """Control characters outside well-formed escape sequences: a content sequence cut in half, a
    lone ESC, BEL, C1 controls (as UTF-8) or bidi overrides. [(offset, repr)]."""
    text = _SEQUENCE.sub(b"", raw).decode("utf-8", "replace")
    bad = []
    for i, c in enumerate(text):
        o = ord(c)
        if (o < 32 and c not in "\r\n\t") or 0x7F <= o <= 0x9F or 0x202A <= o <= 0x202E or 0x2066 <= o <= 0x2069:
            bad.append((i, repr(text[max(0, i - 20): i + 20])))
    return bad


def osc52_payloads(raw: bytes) -> list[str]:
    """Decoded texts of the OSC 52 clipboard writes in `raw`."""
    out = []
    for body in osc_sequences(raw):
        if body.startswith(b"52;"):
            _, _, data = body.split(b";", 2)
            out.append(base64.b64decode(data, validate=True).decode("utf-8"))
    return out


# ---- servers --------------------------------------------------------------------------------------

class CachedWireServer(WireServer):
    """A WireServer that renders each distinct page once: a 10^4-post page takes ~0.6 s to render,
    and the poller asks again every interval (the answer is a 304 anyway)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._rendered: dict[tuple[str, str, int], tuple[bytes, str]] = {}

    def _serve_channel(self, req, handle, query, around=None):  # type: ignore[no-untyped-def]
        from deskapp.demo.tme import page_window, render_page

        with self.lock:
            ch = self.channels.get(handle)
            if ch is None or handle in self.no_preview or around is not None:  # a pin's capture: as served
                return super()._serve_channel(req, handle, query, around=around)
            key = (handle, (query.get("before") or [""])[0], len(ch.posts))
            hit = self._rendered.get(key)
            if hit is None:
                before = key[1]
                posts = page_window(ch.posts, int(before) if before.isdigit() else None, self.page_size)
                body = render_page(ch, posts, rendered=None).encode()
                hit = self._rendered[key] = (body, f'"{hash(key) & 0xFFFFFFFF:x}-{len(body)}"')
        body, etag = hit
        if req.headers.get("If-None-Match") == etag:
            self._send(req, 304, b"", {"ETag": etag})
            return None
        self._send(req, 200, body, {"ETag": etag})
        return None
