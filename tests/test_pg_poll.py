"""Three real `desk poll` processes (the installed console script) share one PostgreSQL store and a
loopback wire of 33 channels: every channel's posts arrive; no channel is fetched twice in one
round; the three keep one host's politeness together (one request at a time, the gap between
requests); a SIGKILLed poller's sources are polled by the others once its leases run out; a
SIGTERMed one gives its leases back at once. Bounded in time; no process is left behind.

Each poller has its own state folder, so only the store joins them (core/pg/turns.py), as it
joins pollers on machines behind one address. Times are printed, not asserted (the handover in
lease periods is benchmarks/bench_pg_poll.py's figure): the waits below are bounds on how long the
test looks, generous for a loaded machine.
"""

from __future__ import annotations

import re
import signal
import subprocess
import threading
import time

import pytest

from deskapp.core.backend import open_store
from tests.e2e.tmux import DESK
from tests.pollers import CountingWire, Farm, takeover, wait_for

CHANNELS = 33
POSTS = 5
INTERVAL = 2.0  # seconds between two polls of one channel (fixed, jittered by +-10 %)
LEASE = 3.0  # > 1.5 INTERVAL: a poll cut short by a SIGKILL is redone no sooner than a round later
MIN_GAP = 0.02

pytestmark = pytest.mark.skipif(DESK is None, reason="the `desk` console script is not installed (pip install -e .)")


def _round_gaps(wire: CountingWire, exempt: dict[str, float]) -> list[tuple[str, float]]:
    """(channel, seconds) between its consecutive newest-page requests; the pair ending in the
    channel's first request after `exempt[channel]` is left out (a handover after a poll cut short)."""
    out = []
    for h, times in wire.newest_page_requests().items():
        for a, b in zip(times, times[1:], strict=False):
            if h in exempt and a <= exempt[h] < b:
                continue
            out.append((h, b - a))
    return out


def _failed_channels(farm: Farm) -> dict[str, list[str]]:
    """Channel -> the failure lines the pollers printed for it."""
    out: dict[str, list[str]] = {}
    for name in farm.procs:
        for line in farm.output(name).splitlines():
            m = re.match(r"\d\d:\d\d:\d\d telegram:(ch\d+): (.*)", line)
            if m and not re.fullmatch(r"\d+ new, \d+ edited", m.group(2)):
                out.setdefault(m.group(1), []).append(f"{name}: {m.group(2)}")
    return out


def test_three_desk_polls_share_a_wire_on_postgresql(pg_url: str, tmp_path) -> None:
    wire = CountingWire(CHANNELS, POSTS).start()
    farm = Farm(pg_url, wire, tmp_path, interval=INTERVAL, lease=LEASE, min_gap=MIN_GAP)
    open_store(pg_url).close()  # the schema, before the pollers race to make it
    try:
        for name in ("p1", "p2", "p3"):
            farm.start(name)
        pids = {name: p.pid for name, p in farm.procs.items()}

        # Everything arrives, and the work is shared by all three.
        def settled() -> bool:
            held = farm.held()
            return (set(held) == set(pids.values()) and sum(map(len, held.values())) == CHANNELS
                    and farm.posts_per_channel() == dict.fromkeys(wire.handles, POSTS))

        assert wait_for(settled, 60), (farm.held(), farm.posts_per_channel(), farm.output("p1"))
        steady = time.monotonic()
        time.sleep(2 * INTERVAL)
        per_round = sum(len([t for t in ts if t >= steady]) for ts in wire.newest_page_requests().values()) \
            / CHANNELS / (2 * INTERVAL / INTERVAL)

        # SIGKILL p2: its leases run out and the others take its sources.
        held = farm.held()
        theirs = held[pids["p2"]]
        assert theirs and all(theirs.isdisjoint(s) for pid, s in held.items() if pid != pids["p2"])
        killed = farm.kill("p2")
        farm.procs["p2"].wait(timeout=10)
        assert wait_for(lambda: len(takeover(wire, theirs, killed)) == len(theirs), 4 * LEASE + 10), \
            "the killed poller's sources were not polled again"
        kill_takeover = max(takeover(wire, theirs, killed).values())
        assert wait_for(lambda: set(farm.held()) == {pids["p1"], pids["p3"]}
                        and sum(map(len, farm.held().values())) == CHANNELS, 2 * LEASE)

        # SIGTERM p3: it ends cleanly and gives its leases back at once (no waiting for them to run out).
        theirs3 = farm.held()[pids["p3"]]
        termed = farm.kill("p3", signal.SIGTERM)
        assert farm.procs["p3"].wait(timeout=20) == 0
        gone = time.monotonic()
        assert pids["p3"] not in farm.held()
        assert "stopped" in farm.output("p3")
        assert wait_for(lambda: farm.held() == {pids["p1"]: set(wire.handles)}, LEASE)
        term_taken = time.monotonic() - termed
        assert wait_for(lambda: len(takeover(wire, theirs3, termed)) == len(theirs3), 2 * INTERVAL + 10)

        # New posts on every channel still arrive, through the one poller left.
        for h in wire.handles:
            wire.add_post(h)
        assert wait_for(lambda: farm.posts_per_channel() == dict.fromkeys(wire.handles, POSTS + 1), 3 * INTERVAL + 10)

        # No channel fetched twice in one round: consecutive polls of a channel are an interval
        # apart (less 10 % jitter), through every handover. A poll the SIGTERM cut short stored
        # nothing, so its source is polled again at once by the next holder: that pair is left out.
        gaps = _round_gaps(wire, dict.fromkeys(theirs3, termed))
        # A poll that failed (a timeout on a loaded machine, say) is retried after its backoff
        # (0.5-2 s here): a retry, not a second poll in the round. A channel whose poll a poller
        # reported as failed ("HH:MM:SS telegram:chNNN: reason") may show that one short pair.
        failed = _failed_channels(farm)
        short = [(h, round(g, 3)) for h, g in gaps if g < 0.85 * INTERVAL and h not in failed]
        assert not short, (short, {h: failed.get(h) for h, _ in short},
                           {h: [round(t - killed, 2) for t in wire.newest_page_requests()[h]] for h, _ in short},
                           "killed at 0; termed at", round(termed - killed, 2), "steady at", round(steady - killed, 2),
                           {h: h in theirs for h, _ in short}, {h: h in theirs3 for h, _ in short})
        # One host, one address: one request at a time across the three, the gap kept between them.
        assert wire.max_inflight == 1
        between = wire.gaps_between_requests()
        assert min(between) >= 0.9 * MIN_GAP, min(between)
        print(f"\n{CHANNELS} channels, 3 desk polls, interval {INTERVAL:g} s, lease {LEASE:g} s: "
              f"{per_round:.2f} requests per channel per round; SIGKILL handover {kill_takeover:.2f} s "
              f"({kill_takeover / LEASE:.2f} lease periods) for {len(theirs)} sources; after the SIGTERM its leases "
              f"were free in {gone - termed:.2f} s and all taken in {term_taken:.2f} s; "
              f"at most {wire.max_inflight} request under way, smallest gap {min(between) * 1000:.0f} ms")
    finally:
        farm.stop_all()
        wire.stop()
    assert farm.procs["p1"].returncode == 0, farm.output("p1")
    for name in farm.procs:
        assert "Traceback" not in farm.output(name), farm.output(name)


def test_poll_once_and_ctrl_c_on_postgresql(pg_url: str, tmp_path) -> None:
    """`desk poll --once` polls what it can lease and gives it back; Ctrl-C (SIGINT) ends a running
    `desk poll` cleanly, its leases given back before it exits."""
    wire = CountingWire(4, POSTS).start()
    farm = Farm(pg_url, wire, tmp_path, interval=INTERVAL, lease=LEASE, min_gap=MIN_GAP)
    open_store(pg_url).close()
    try:
        once = subprocess.run([DESK, "--db", pg_url, "poll", "--once", "--config", str(farm.config("once"))],
                              capture_output=True, text=True, timeout=60, env=farm.env())
        assert once.returncode == 0, once.stdout + once.stderr
        assert once.stdout.count(": ok, 5 new") == 4
        assert farm.held() == {} and farm.posts_per_channel() == dict.fromkeys(wire.handles, POSTS)
        proc = farm.start("p1")
        assert wait_for(lambda: farm.held() == {proc.pid: set(wire.handles)}, 30)
        beside = subprocess.run([DESK, "--db", pg_url, "poll", "--once", "--config", str(farm.config("once"))],
                                capture_output=True, text=True, timeout=60, env=farm.env())
        assert beside.returncode == 0 and beside.stdout.count("left to another poller") == 4, beside.stdout
        farm.kill("p1", signal.SIGINT)
        assert proc.wait(timeout=20) == 0
        assert farm.held() == {}
        assert "stopped" in farm.output("p1")
    finally:
        farm.stop_all()
        wire.stop()


def test_a_source_being_polled_is_not_handed_over_mid_poll(pg_url: str) -> None:
    """Forced: the wire holds a poll of `zslow` open while a second poller joins. At its next round
    the first poller is over its share and gives a source back, never the one it is polling (by
    name it would give `zslow` back first), so the newcomer cannot poll it meanwhile."""
    from deskapp.core.pg.leases import LeaseKeeper
    from deskapp.core.poller import Poller, run_in_thread
    from deskapp.demo.server import Fault, WireServer
    from tests.wire import make_channel, settings_for

    open_store(pg_url).close()
    with WireServer() as wire, open_store(pg_url) as store:
        for handle in ("afast", "zslow"):
            wire.add(make_channel(handle, 3))
        wire.fault("zslow", Fault("slow", seconds=30.0))  # answered only when the test is done
        poller = Poller(pg_url, settings_for(wire, ["afast", "zslow"], lease_seconds=1.0, timeout=40.0))
        thread = threading.Thread(target=run_in_thread, args=(poller,), daemon=True)
        thread.start()
        try:
            assert wait_for(lambda: bool(wire.hits_for("zslow")), 30)  # its poll of zslow is under way
            newcomer = LeaseKeeper(store, "newcomer", lease_s=60)
            assert newcomer.round() == []  # alive; the first holds both until its next round

            def mine() -> set[str]:
                return set(store._pg_read(lambda cur: [r[0] for r in cur.execute(
                    "SELECT source FROM leases WHERE poller = %s", (poller.name,))]))

            assert wait_for(lambda: mine() == {"telegram:zslow"}, 10), mine()
            assert newcomer.round() == ["telegram:afast"]
            assert len(wire.hits_for("zslow")) == 1  # still the one request, still unanswered
        finally:
            poller.stop()
            thread.join(40)
        assert not thread.is_alive()
        assert mine() == set()  # given back at the stop
