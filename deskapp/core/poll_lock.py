"""One poller per store: an OS lock on a file beside the store, naming who holds it.

`flock` on `<store>.poller`: the kernel drops the lock when the holder's process ends, however it
ends (SIGKILL included), so a dead poller never blocks the next one. The file's text says who holds
it (pid, host, since when), for the poller that finds it taken and watches instead. The file is
never deleted: deleting it while another process has it open would let two pollers lock two inodes.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from deskapp.core.model import fmt_utc, parse_utc_iso, utc_iso


@dataclass(frozen=True, slots=True)
class Holder:
    pid: int
    host: str
    since: str  # UTC ISO time the lock was taken

    def describe(self) -> str:
        try:
            when = fmt_utc(parse_utc_iso(self.since))
        except ValueError:  # a lock file written by hand or by another version
            when = self.since
        return f"pid {self.pid} on {self.host} since {when}"


class PollLock:
    def __init__(self, store_path: Path | str) -> None:
        self.path = Path(str(store_path) + ".poller")
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def try_acquire(self) -> bool:
        """Take the lock if free (never waits). True also when it cannot be made at all (a folder
        we cannot write): then the store cannot be written either, and opening it says why."""
        if self._fd is not None:
            return True
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError:
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        me = {"pid": os.getpid(), "host": socket.gethostname(), "since": utc_iso(datetime.now(UTC))}
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(me).encode(), 0)
        return True

    def holder(self) -> Holder | None:
        """Who holds the lock, as its holder wrote it (None if unreadable)."""
        try:
            raw = json.loads(self.path.read_bytes()[:4096] or b"null")
            return Holder(int(raw["pid"]), str(raw["host"])[:100], str(raw["since"])[:40])
        except (OSError, ValueError, TypeError, KeyError):
            return None

    def describe_holder(self) -> str:
        who = self.holder()
        return f"another poller ({who.describe()})" if who else "another poller"

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            os.close(fd)  # closing the last descriptor releases the flock
