"""Shared by trust-b's adversary tests: the installed `desk` as a real process, bounded in time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.e2e.tmux import DESK

needs_desk = pytest.mark.skipif(DESK is None, reason="the `desk` console script is not installed (pip install -e .)")


def desk_config(tmp_path: Path, base_url: str, handles: list[str], *, interval: float = 0.5,
                name: str = "desk.toml", **poller: float) -> Path:
    """A settings file for the installed desk polling `handles` on the loopback server at `base_url`."""
    lines = ["[telegram]", f'base_url = "{base_url}"', f"interval = {interval}",
             "channels = [" + ", ".join(f'"{h}"' for h in handles) + "]",
             "[store]", f'path = "{tmp_path / "s.db"}"', f'state = "{tmp_path / "state"}"',
             "[poller]"]
    settings = {"min_interval": 0.05, "max_interval": 5.0, "min_gap": 0.0, "gap_jitter": 0.0, "timeout": 2.0,
                "backoff_base": 0.5, "backoff_max": 2.0, "backfill_pages": 0, **poller}
    lines += [f"{k} = {v}" for k, v in settings.items()]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@contextmanager
def desk_process(*args: str, env: dict[str, str] | None = None, **popen: object) -> Iterator[subprocess.Popen]:
    """The installed desk running `args`, killed (with its process group) however the test ends."""
    assert DESK is not None
    proc = subprocess.Popen([DESK, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True, env={**os.environ, **(env or {})}, **popen)  # type: ignore[arg-type]
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        if proc.stdout:
            proc.stdout.close()


class Lines:
    """Lines a process prints, collected on a thread, so a test can wait for one with a deadline."""

    def __init__(self, proc: subprocess.Popen) -> None:
        import threading

        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()

    def _read(self, proc: subprocess.Popen) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()

    def wait_for(self, needle: str, timeout: float = 15.0) -> str:
        import time

        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines:
                    if needle in line:
                        return line
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no line with {needle!r} within {timeout} s; got {self.lines[-20:]}")
                self._cond.wait(left)


# The desk is started through this small launcher, which reports the desk's own peak RSS. wait4's
# ru_maxrss of a child this process started would not do: on Linux exec keeps the high-water mark of
# the memory it replaces, which for a vfork/fork child is this pytest process's (~130 MB in the full
# suite, ~70 MB for tests/adversary alone), so every figure read the test runner's size, not the desk's.
_LAUNCHER = """
import os, signal, sys
fd = int(sys.argv[1])
os.set_inheritable(fd, False)
pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
os.write(fd, str(usage.ru_maxrss).encode())
code = os.waitstatus_to_exitcode(status)
if code < 0:
    signal.signal(-code, signal.SIG_DFL)
    os.kill(os.getpid(), -code)
sys.exit(code)
"""


def run_measured(args: list[str], timeout: float = 60.0) -> tuple[int, str, int]:
    """Run the installed desk to the end: (exit status, output, the desk's own peak RSS in KB).

    The peak counts the desk and its reaped children (parse workers), each at its largest, and has
    the launcher's size (~10 MB) as its floor."""
    assert DESK is not None
    read_end, write_end = os.pipe()
    try:
        # -I -S: the launcher starts without site-packages, so the floor it gives the desk stays small.
        proc = subprocess.Popen([sys.executable, "-I", "-S", "-c", _LAUNCHER, str(write_end), DESK, *args],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True, pass_fds=(write_end,))
    finally:
        os.close(write_end)
    with os.fdopen(read_end, "rb") as report:
        lines = Lines(proc)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"desk {' '.join(args)} still running after {timeout} s: {lines.lines[-10:]}") from None
        finally:
            if proc.returncode is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        peak = report.read()
    lines._thread.join(timeout=5)
    if proc.stdout:
        proc.stdout.close()
    assert peak, f"the launcher did not report the desk's peak RSS: {lines.lines[-10:]}"
    return proc.returncode, "\n".join(lines.lines), int(peak)
