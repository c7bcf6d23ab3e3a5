"""Two real `desk poll` processes on one PostgreSQL store; poller A reaches the server through a
loopback relay the test cuts for longer than a lease period, B directly. The wire (one host, so one
address's turns) keeps every request's span and who sent it (each poller has its own User-Agent).

What a user would meet: B takes A's sources over within about two lease periods; no source is
requested twice within a poll interval, and the host gets one request at a time (A's request that
was under way when the cut came included); A does not crash, says once, in one line, that the server
is unreachable, and when the relay is restored it rejoins; every post is stored exactly once.

The variant with a request under way is forced: the wire holds A's next request, the test cuts the
relay while it is held, and keeps holding it until B sends a request of its own (or a bound passes:
then B waited, as it must). Waits are bounds, not timing claims; nothing is left running.
"""

from __future__ import annotations

import re
import threading
import time
from http.server import BaseHTTPRequestHandler

import psycopg
import pytest

from deskapp.core.backend import open_store
from tests.e2e.tmux import DESK
from tests.pollers import CountingWire, Farm, wait_for
from tests.tcpproxy import Relay

CHANNELS = 6
POSTS = 3
INTERVAL = 2.0
LEASE = 3.0  # > 1.5 INTERVAL, as tests/test_pg_poll.py
MIN_GAP = 0.02
TIMEOUT = 2.0  # a request's deadline is twice this, from its turn at the host (core/poller.py _fetch)
HOLD_BOUND = 1.5 * INTERVAL  # B polls its own sources every interval: it would have sent by then

pytestmark = pytest.mark.skipif(DESK is None, reason="the `desk` console script is not installed (pip install -e .)")


class HoldingWire(CountingWire):
    """Also records who sent each request, and can hold A's next newest-page request (after adding a
    post to its channel, so the page A fetches while cut off has something new) until released."""

    def __init__(self, channels: int, posts: int) -> None:
        super().__init__(channels, posts)
        self.who: list[tuple[float, str, str]] = []  # (arrival, user agent, path)
        self.armed = False
        self.held_path = ""
        self.arrived = threading.Event()
        self.release = threading.Event()

    def _handle(self, req: BaseHTTPRequestHandler) -> None:
        ua = req.headers.get("User-Agent", "")
        hold = False
        with self.lock:
            self.who.append((time.monotonic(), ua, req.path))
            if self.armed and ua == "poller-A" and req.path.startswith("/s/") and "?" not in req.path:
                self.armed, hold, self.held_path = False, True, req.path
        if hold:
            self.add_post(req.path[3:])
        req.desk_hold = hold  # type: ignore[attr-defined]
        super()._handle(req)

    def _send(self, req: BaseHTTPRequestHandler, code: int, body: bytes,  # type: ignore[override]
              headers: dict[str, str] | None = None) -> None:
        if getattr(req, "desk_hold", False):
            self.arrived.set()
            self.release.wait(timeout=30)  # a bound: the test sets it
        super()._send(req, code, body, headers)

    def requests_by(self, ua: str, after: float = 0.0) -> list[tuple[float, str]]:
        with self.lock:
            return [(t, p) for t, u, p in self.who if u == ua and t > after]


def _leases(url: str) -> dict[str, str]:
    """Source handle -> 'A' or 'B' (by the pid in the poller's name), for live leases."""
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT poller, source FROM leases WHERE poller IS NOT NULL AND expires > now()").fetchall()
    return {s.split(":", 1)[1]: p.split(":")[-2] for p, s in rows}


@pytest.mark.parametrize("under_way", [False, True], ids=["idle", "request-under-way"])
def test_a_poller_cut_off_from_the_server_for_a_lease_period(pg_url: str, tmp_path, under_way: bool) -> None:
    wire = HoldingWire(CHANNELS, POSTS).start()
    port = int(pg_url.rsplit(":", 1)[1].split("/", 1)[0])
    relay = Relay(port)
    farm = Farm(pg_url, wire, tmp_path, interval=INTERVAL, lease=LEASE, min_gap=MIN_GAP)
    open_store(pg_url).close()  # the schema, before the pollers race to make it
    real_config = farm.config

    def config(name: str):  # each poller says who it is in its User-Agent
        path = real_config(name)
        text = path.read_text(encoding="utf-8").replace("timeout = 5.0", f"timeout = {TIMEOUT}")
        path.write_text(text.replace("[poller]\n", f'[poller]\nuser_agent = "poller-{name}"\n'), encoding="utf-8")
        return path

    farm.config = config  # type: ignore[method-assign]
    try:
        farm.url = pg_url.replace(f":{port}/", f":{relay.port}/")
        a = farm.start("A")
        farm.url = pg_url
        b = farm.start("B")
        pid = {str(a.pid): "A", str(b.pid): "B"}

        def shared() -> bool:
            held = _leases(pg_url)
            return (len(held) == CHANNELS and {pid.get(p) for p in held.values()} == {"A", "B"}
                    and farm.posts_per_channel() == dict.fromkeys(wire.handles, POSTS))

        assert wait_for(shared, 40), (_leases(pg_url), farm.posts_per_channel(), farm.output("A"), farm.output("B"))
        a_held = {h for h, p in _leases(pg_url).items() if pid[p] == "A"}

        if under_way:
            wire.armed = True
            assert wire.arrived.wait(timeout=2 * INTERVAL + 10), farm.output("A")
        cut = time.monotonic()
        relay.cut()
        if under_way:
            # Hold A's request until B sends one of its own (the bad order, if the turns allow it)
            # or the bound passes (B kept away while A's request was under way, as it must).
            wait_for(lambda: bool(wire.requests_by("poller-B", cut)), HOLD_BOUND)
            wire.release.set()

        # B takes A's sources over once their leases run out.
        def taken_over() -> bool:
            return all(any(p == f"/s/{h}" for _, p in wire.requests_by("poller-B", cut)) for h in a_held)

        assert wait_for(taken_over, 4 * LEASE + 10), (a_held, wire.requests_by("poller-B", cut), farm.output("B"))
        took = max(min(t for t, p in wire.requests_by("poller-B", cut) if p == f"/s/{h}") for h in a_held) - cut
        # A says so (its first store call after the cut may wait out the pool's 5 s), and is cut off
        # longer than a lease period in all.
        assert wait_for(lambda: "unreachable" in farm.output("A"), 20), farm.output("A")
        wait_for(lambda: time.monotonic() - cut > 1.5 * LEASE, 2 * LEASE)
        assert a.poll() is None, farm.output("A")
        said = [line for line in farm.output("A").splitlines() if "unreachable" in line]
        assert len(said) == 1, farm.output("A")
        # Cut off, A sent nothing (its request under way was sent before the cut).
        assert not wire.requests_by("poller-A", cut), wire.requests_by("poller-A", cut)
        restored = time.monotonic()
        relay.restore()

        # A rejoins: it takes its share again, and new posts everywhere arrive exactly once.
        assert wait_for(lambda: {pid.get(p) for p in _leases(pg_url).values()} == {"A", "B"}, 4 * LEASE + 15), (
            _leases(pg_url), farm.output("A"))
        for h in wire.handles:
            wire.add_post(h)
        expected = {h: len(wire.channels[h].posts) for h in wire.handles}
        assert wait_for(lambda: farm.posts_per_channel() == expected, 3 * INTERVAL + 15), (
            farm.posts_per_channel(), expected)
        # ... and polls its share again (none of it within an interval of B's polls: checked below).
        assert wait_for(lambda: bool(wire.requests_by("poller-A", restored)), 2 * INTERVAL + 10)
        assert a.poll() is None and b.poll() is None
    finally:
        wire.release.set()
        farm.stop_all()
        relay.close()
        wire.stop()
    out_a = farm.output("A")
    for name in farm.procs:
        assert "Traceback" not in farm.output(name), farm.output(name)
    assert a.returncode == 0 and b.returncode == 0, (out_a, farm.output("B"))
    assert len([line for line in out_a.splitlines() if "unreachable" in line]) == 1, out_a
    assert any("reachable again" in line for line in out_a.splitlines()), out_a

    # Each post once (the page A fetched while cut off was stored by nobody twice).
    with psycopg.connect(pg_url) as conn:
        dup = conn.execute("SELECT source, post_id, count(*) FROM posts GROUP BY 1, 2 HAVING count(*) > 1").fetchall()
    assert not dup, dup

    # No source requested twice within a poll interval (less its 10 % jitter), whoever sent them.
    # A poll that failed is retried after its backoff: such a pair is a retry, not a second poll.
    failed = {m.group(1) for name in farm.procs for m in
              re.finditer(r"^\d\d:\d\d:\d\d telegram:(ch\d+): (?!\d+ new)", farm.output(name), re.M)}
    short = []
    for h, times in wire.newest_page_requests().items():
        short += [(h, round(y - x, 2), round(x - cut, 2)) for x, y in zip(times, times[1:], strict=False)
                  if y - x < 0.85 * INTERVAL and h not in failed]
    assert not short, (short, failed)
    # One host, one address: one request at a time, A's request cut off from its turn included.
    assert wire.max_inflight == 1, [(round(t - cut, 2), u, p) for t, u, p in wire.who if abs(t - cut) < HOLD_BOUND + 1]
    assert min(wire.gaps_between_requests()) >= 0.9 * MIN_GAP
    print(f"\ncut {'with a request under way' if under_way else 'between requests'}: B polled all "
          f"{len(a_held)} of A's sources {took:.2f} s after the cut ({took / LEASE:.2f} lease periods); "
          f"A restored after {restored - cut:.2f} s; A said: "
          + " | ".join(line for line in out_a.splitlines() if "reachable" in line))
