"""Writers of one store file in this process take turns in the order they asked.

SQLite gives a waiting writer no place in line: its busy handler sleeps and tries again (1, 2, 5,
... up to 100 ms apart), so a thread that commits back to back (the attention thread draining a
backlog) takes the lock again before the sleeper wakes. The desk's poller then waited seconds for
one small page: 4-8 s at p95 "after the fetch", benchmarks/RESULTS.md. Every Store of this process
on the same file shares one `WriteTurns` (see store.py), so a writer waits for at most the
transactions that asked before it. Other processes still meet SQLite's own locking.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["WriteTurns", "turns_for"]


class WriteTurns:
    """A ticket lock: turns are served first asked, first served; re-entrant within one thread."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._next = 0  # the next ticket handed out
        self._serving = 0  # the ticket that may write now
        self._owner: int | None = None
        self._depth = 0
        self._abandoned: set[int] = set()  # tickets whose thread stopped waiting (an exception)

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Wait for this thread's turn to write, and hold it for the `with` block."""
        me = threading.get_ident()
        with self._cond:
            if self._owner == me:
                self._depth += 1
            else:
                ticket = self._next
                self._next += 1
                try:
                    while self._serving != ticket:
                        self._cond.wait()
                except BaseException:
                    self._give_up(ticket)
                    raise
                self._owner, self._depth = me, 1
        try:
            yield
        finally:
            with self._cond:
                self._depth -= 1
                if self._depth == 0:
                    self._owner = None
                    self._advance()

    def waiting(self) -> int:
        """How many threads wait for a turn (for tests that force an order)."""
        with self._cond:
            held = 1 if self._owner is not None else 0
            return self._next - self._serving - held - len(self._abandoned)

    def _give_up(self, ticket: int) -> None:
        if ticket == self._serving:
            self._advance()
        else:
            self._abandoned.add(ticket)

    def _advance(self) -> None:
        self._serving += 1
        while self._serving in self._abandoned:
            self._abandoned.discard(self._serving)
            self._serving += 1
        self._cond.notify_all()


_TURNS: weakref.WeakValueDictionary[object, WriteTurns] = weakref.WeakValueDictionary()
_TURNS_LOCK = threading.Lock()


def turns_for(file_id: object | None) -> WriteTurns:
    """The turns of the file known by `file_id` ((st_dev, st_ino)); a private one when None. Kept
    while any Store holds it."""
    if file_id is None:
        return WriteTurns()
    with _TURNS_LOCK:
        turns = _TURNS.get(file_id)
        if turns is None:
            turns = _TURNS[file_id] = WriteTurns()
        return turns
