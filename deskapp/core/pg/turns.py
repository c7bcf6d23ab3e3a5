"""Politeness per host for many pollers that share one outgoing address, kept in the PostgreSQL store.

Pollers on one machine (or on machines behind one NAT that say so with the same `[poller] address`)
are one client to a host: together they keep its gap, take turns one request at a time, and all
stay away while it asked for a pause (429). Per (host, address):

- who has a request out is a session advisory lock, taken with `pg_try_advisory_lock` on the
  poller's own turns connection for the length of one request. The server drops it when that
  connection ends, however the poller ended (SIGKILL included): a dead poller blocks nobody.
- when the last request began and ended, and until when the host asked for a pause, are a
  `host_turns` row, written by the lock holder (a pause by anyone, as a maximum), in the server's
  clock, since pollers on different machines may not agree on the time. A request that began and
  never ended lost its turn mid-request: its poller died, or was cut off from the server while its
  request (to a host it can still reach) went on. So the holder writes, as it takes the turn, when
  its request is over at the latest (`ends_by`, its own deadline), and the next holder of an
  unended turn counts the gap from then (or from when it found the turn free, if later).

`PgHostClocks.get(host)` is a fetch.HostClock, so HostGate uses it as it uses the in-process and the
state-folder clocks (and can chain it with the latter, fetch.ChainedClock).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable

import psycopg

from deskapp.core.fetch import HostClock
from deskapp.core.pg.urls import shown_url
from deskapp.core.store import StoreError, StoreUnreachable

log = logging.getLogger("desk.poller")

TURN_CLASS = 0x6465736B  # 'desk': the advisory key class of host turns, apart from other locks
BUSY_RETRY = 0.01  # seconds, at least, before asking again while another poller has a request out


class PgHostClocks:
    """The host clocks of one poller: one connection of its own (its advisory locks are its turns)."""

    def __init__(self, url: str, address: str, *, longest: float) -> None:
        """`longest`: seconds a request may take from the moment its turn is taken, at most (the
        poller ends it by then, core/poller.py _fetch)."""
        self.url = url
        self.address = address
        self.longest = longest
        self._lock = threading.Lock()
        self._conn: psycopg.Connection | None = None
        self._clocks: dict[str, PgHostClock] = {}
        # Tests: called with the host while its turn is locked, before the wait is decided.
        self.on_locked: Callable[[str], None] | None = None

    def get(self, host: str) -> PgHostClock:
        with self._lock:
            clock = self._clocks.get(host)
            if clock is None:
                clock = self._clocks[host] = PgHostClock(self, host)
            return clock

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                conn.close()  # frees any turn still held

    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed or self._conn.broken:
            # Keepalives: a poller cut off from the server loses its turn within ~25 s, not hours.
            self._conn = psycopg.connect(self.url, autocommit=True, connect_timeout=10, keepalives=1,
                                         keepalives_idle=10, keepalives_interval=5, keepalives_count=3)
        return self._conn

    def _run(self, fn: Callable[[psycopg.Connection], float]) -> float:
        with self._lock:
            for retry in (True, False):
                idle = self._conn is not None and not self._conn.closed and not self._conn.broken
                try:
                    return fn(self._connection())
                except psycopg.Error as exc:
                    broken = self._conn is not None and self._conn.broken
                    if broken:
                        self._conn = None
                    if broken and idle and retry:
                        # It died while idle (the network was cut, the server restarted), and with it
                        # any turn it held: once more on a new one, so a server back is not "away".
                        continue
                    kind = StoreUnreachable if isinstance(exc, psycopg.OperationalError) else StoreError
                    raise kind("cannot take a turn at the host", shown_url(self.url), " ".join(str(exc).split())) \
                        from None
            raise AssertionError("not reached")

    def claim(self, host: str, gap: float) -> float:
        """0.0 when this poller may send to `host` now (it holds the turn until `done`), else seconds to wait."""
        key = (TURN_CLASS, f"{host} {self.address}")

        def run(conn: psycopg.Connection) -> float:
            # One round trip: the lock, and (read under it) the last request's end and any pause.
            got, since, paused, unended = conn.execute(
                "WITH turn AS (SELECT pg_try_advisory_lock(%s, hashtext(%s)) AS got) "
                "SELECT turn.got, extract(epoch FROM clock_timestamp() - t.last), "
                "extract(epoch FROM t.paused_until - clock_timestamp()), t.started > coalesce(t.last, '-infinity') "
                "FROM turn LEFT JOIN host_turns t ON turn.got AND t.host = %s AND t.address = %s",
                (*key, host, self.address)).fetchone()
            if not got:
                return max(gap, BUSY_RETRY)  # its request, then the gap after it: no sooner than that
            try:
                if self.on_locked is not None:
                    self.on_locked(host)
                if unended:  # its holder lost the turn mid-request: that request is over by its deadline
                    since = conn.execute(
                        "UPDATE host_turns SET last = greatest(clock_timestamp(), ends_by) "
                        "WHERE host = %s AND address = %s RETURNING extract(epoch FROM clock_timestamp() - last)",
                        (host, self.address)).fetchone()[0]
                wait = max(float(paused or 0.0), gap - float(since) if since is not None else 0.0)
                if wait <= 0:
                    conn.execute("INSERT INTO host_turns (host, address, started, ends_by) "
                                 "VALUES (%s, %s, clock_timestamp(), clock_timestamp() + make_interval(secs => %s)) "
                                 "ON CONFLICT (host, address) DO UPDATE SET started = excluded.started, "
                                 "ends_by = excluded.ends_by", (host, self.address, self.longest))
            except BaseException:
                conn.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", key)
                raise
            if wait > 0:
                conn.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", key)
            return max(wait, 0.0)

        return self._run(run)

    def done(self, host: str, *, requested: bool) -> None:
        """End this poller's turn; `requested`: a request was made (the gap counts from now)."""
        key = (TURN_CLASS, f"{host} {self.address}")

        def run(conn: psycopg.Connection) -> float:
            if requested:  # committed before the unlock: the next holder reads this end
                conn.execute("INSERT INTO host_turns (host, address, last) VALUES (%s, %s, clock_timestamp()) "
                             "ON CONFLICT (host, address) DO UPDATE SET last = excluded.last", (host, self.address))
            conn.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", key)
            return 0.0

        try:
            self._run(run)
        except StoreError as exc:  # the connection is gone, and with it the turn
            log.warning("%s: %s", host, exc)

    def pause(self, host: str, seconds: float) -> None:
        def run(conn: psycopg.Connection) -> float:
            conn.execute("INSERT INTO host_turns (host, address, paused_until) "
                         "VALUES (%s, %s, clock_timestamp() + make_interval(secs => %s)) "
                         "ON CONFLICT (host, address) DO UPDATE SET paused_until = "
                         "greatest(host_turns.paused_until, excluded.paused_until)", (host, self.address, seconds))
            return 0.0

        try:
            self._run(run)
        except StoreError as exc:
            log.warning("%s: %s", host, exc)

    def paused(self, host: str) -> float:
        def run(conn: psycopg.Connection) -> float:
            row = conn.execute("SELECT extract(epoch FROM paused_until - clock_timestamp()) FROM host_turns "
                               "WHERE host = %s AND address = %s", (host, self.address)).fetchone()
            return max(0.0, float(row[0])) if row and row[0] is not None else 0.0

        try:
            return self._run(run)
        except StoreError:
            return 0.0


class PgHostClock(HostClock):
    """One host's turn, gap and pause, shared with every poller of the same address on the store."""

    def __init__(self, clocks: PgHostClocks, host: str) -> None:
        super().__init__()
        self._clocks = clocks
        self.host = host

    def try_acquire(self, gap: float) -> float:
        with self._lock:
            if self.busy:
                return 0.02
            wait = self._clocks.claim(self.host, gap)
            if wait <= 0:
                self.busy = True
            return wait

    def release(self) -> None:
        with self._lock:
            self._clocks.done(self.host, requested=True)
            self.busy = False
            self.last = time.monotonic()

    def cancel(self) -> None:
        with self._lock:
            if self.busy:
                self._clocks.done(self.host, requested=False)
            self.busy = False

    def pause(self, seconds: float) -> None:
        super().pause(seconds)
        self._clocks.pause(self.host, seconds)

    def shared_pause(self) -> float:
        return max(super().shared_pause(), self._clocks.paused(self.host))
