"""Politeness per host for pollers sharing an address, through the PostgreSQL store
(core/pg/turns.py): one request out at a time, the gap counted from the last request of any of
them, a 429 pause for all, and a dead poller's turn freed by the server. Races are forced with the
clock's `on_locked` hook, never by sleeping and hoping."""

from __future__ import annotations

import time

import psycopg

from deskapp.core.backend import open_store
from deskapp.core.fetch import ChainedClock, HostClock
from deskapp.core.pg.turns import TURN_CLASS, PgHostClocks

HOST = "http://127.0.0.1:9"
GAP = 0.5


def _clocks(url: str, address: str = "desk-1", longest: float = 0.0) -> PgHostClocks:
    """`longest` 0: a request is over when its poller's connection ends (as with a SIGKILL)."""
    return PgHostClocks(url, address, longest=longest)


def test_a_turn_taken_in_between_is_seen(pg_url: str) -> None:
    open_store(pg_url).close()  # the schema
    a, b, other = _clocks(pg_url), _clocks(pg_url), _clocks(pg_url, "desk-2")
    try:
        seen: list[float] = []
        # B asks exactly while A holds the lock and has not yet read or written the row.
        a.on_locked = lambda host: seen.append(b.get(host).try_acquire(GAP))
        assert a.get(HOST).try_acquire(GAP) == 0.0
        assert seen and seen[0] > 0  # B was told to wait, not let through beside A
        a.on_locked = None
        assert b.get(HOST).try_acquire(GAP) > 0  # A's request is still out
        assert other.get(HOST).try_acquire(GAP) == 0.0  # another address is another client
        other.get(HOST).release()
        a.get(HOST).release()
        wait = b.get(HOST).try_acquire(GAP)
        assert 0 < wait <= GAP  # the gap counts from A's request, which was not B's own
        time.sleep(wait + 0.02)
        assert b.get(HOST).try_acquire(GAP) == 0.0
        b.get(HOST).release()
    finally:
        for c in (a, b, other):
            c.close()


def _turn_locks(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = %s",
                            (TURN_CLASS,)).fetchone()[0]


def test_a_dead_pollers_turn_is_freed_and_a_pause_holds_for_all(pg_url: str) -> None:
    open_store(pg_url).close()
    a, b = _clocks(pg_url), _clocks(pg_url)
    try:
        assert a.get(HOST).try_acquire(GAP) == 0.0
        assert b.get(HOST).try_acquire(GAP) > 0
        a.close()  # its connection ends mid-request, as at a SIGKILL: the server drops the lock
        deadline = time.monotonic() + 10  # once the server process of that connection has ended
        while _turn_locks(pg_url) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _turn_locks(pg_url) == 0
        # The dead one's request never ended: the gap counts from now, not from an earlier request.
        assert b.get(HOST).try_acquire(GAP) > 0.9 * GAP
        time.sleep(GAP)
        assert b.get(HOST).try_acquire(GAP) == 0.0
        b.get(HOST).release()
        b.get(HOST).pause(30)  # a 429 seen by B
        c = _clocks(pg_url)
        try:
            assert c.get(HOST).shared_pause() > 25
            assert c.get(HOST).try_acquire(0.0) > 25
            elsewhere = _clocks(pg_url, "elsewhere")
            assert elsewhere.get(HOST).try_acquire(0.0) == 0.0
            elsewhere.close()
        finally:
            c.close()
    finally:
        b.close()


def test_a_request_cut_off_from_its_turn_is_waited_for_until_its_deadline(pg_url: str) -> None:
    """A poller cut off from the server loses its turn with its connection, but its request to the
    host (which it still reaches) goes on until the deadline it wrote when it took the turn: the
    next holder keeps the gap after that deadline, not after the moment it found the turn free."""
    open_store(pg_url).close()
    longest = 3 * GAP
    a, b = _clocks(pg_url, longest=longest), _clocks(pg_url, longest=longest)
    try:
        taken = time.monotonic()
        assert a.get(HOST).try_acquire(GAP) == 0.0
        a.close()  # its connection ends; its request does not (a cut, not a death)
        deadline = time.monotonic() + 10
        while _turn_locks(pg_url) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _turn_locks(pg_url) == 0
        wait = b.get(HOST).try_acquire(GAP)
        # Its request may last until `longest` after it was taken, then the gap.
        assert wait >= taken + longest + GAP - time.monotonic() - 0.05, wait
        assert wait <= longest + GAP + 0.05, wait
        time.sleep(wait + 0.02)
        assert b.get(HOST).try_acquire(GAP) == 0.0
        b.get(HOST).release()
    finally:
        b.close()


def test_a_chained_turn_is_taken_on_both_or_neither() -> None:
    first, second = HostClock(), HostClock()
    chain = ChainedClock(first, second)
    assert second.try_acquire(0.0) == 0.0  # someone else holds the second
    assert chain.try_acquire(0.0) > 0
    assert not first.busy  # the first was given back, unused
    assert first.try_acquire(0.0) == 0.0 and first.last == 0.0  # no gap was started by it
    first.cancel()
    second.release()
    assert chain.try_acquire(0.0) == 0.0 and first.busy and second.busy
    chain.release()
    assert not first.busy and not second.busy
