"""Three `desk poll` processes on one PostgreSQL store over a local wire of 300 channels, beside one
`desk poll` on a SQLite file (the same-run baseline): requests per channel per round, the closest
two polls of one channel, politeness at the host (requests under way at once, the gap between
them), and the takeover after a SIGKILL (in lease periods; SQLite: a second `desk poll` watching).

    python -m benchmarks.bench_pg_poll [--channels 300] [--interval 15] [--lease 6] [--rounds 3]
                                       [--kills 3] [--url postgresql://...]

The pollers are the installed console script, each with its own settings file and state folder
(tests/pollers.py). Without --url a throwaway server is started (tests/pgserver.py).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_pg import _server  # noqa: E402
from deskapp.core.backend import open_store  # noqa: E402
from deskapp.core.model import parse_utc_iso  # noqa: E402
from tests.pollers import CountingWire, Farm, takeover, wait_for  # noqa: E402

POSTS = 5


def _window(wire: CountingWire, start: float, end: float, interval: float) -> dict:
    """Requests per channel per round in [start, end), and the closest two polls of one channel."""
    reqs = wire.newest_page_requests()
    inside = [[t for t in ts if start <= t < end] for ts in reqs.values()]
    rounds = (end - start) / interval
    gaps = [b - a for ts in inside for a, b in zip(ts, ts[1:], strict=False)]
    per_channel = [len(ts) / rounds for ts in inside]
    return {"requests_per_channel_per_round": round(statistics.mean(per_channel), 3),
            "most_requests_of_a_channel_per_round": round(max(per_channel), 3),
            "closest_two_polls_of_a_channel_in_rounds": round(min(gaps) / interval, 3) if gaps else None,
            "polls_closer_than_0.85_round": sum(1 for g in gaps if g < 0.85 * interval)}


def _politeness(wire: CountingWire) -> dict:
    between = wire.gaps_between_requests()
    return {"requests": len(wire.spans), "most_under_way_at_once": wire.max_inflight,
            "smallest_gap_between_requests_ms": round(min(between) * 1000, 1),
            "median_gap_between_requests_ms": round(statistics.median(between) * 1000, 1)}


def _due(url: str, sources: set[str]) -> dict[str, float]:
    """Each source's next poll as recorded, as a monotonic time (the store keeps whole seconds)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT name, next_poll FROM sources WHERE name = ANY(%s)",
                            ([f"telegram:{h}" for h in sources],)).fetchall()
    now_wall, now = datetime.now(UTC), time.monotonic()
    return {n.split(":", 1)[1]: now + (parse_utc_iso(w) - now_wall).total_seconds() + 1.0 for n, w in rows if w}


def _kill_one(farm: Farm, url: str, victim: str, lease: float, interval: float) -> tuple[int, float, float]:
    """SIGKILL one poller: (its sources, seconds until others held them all, how late the last of
    them was polled against its own schedule: a source not yet due is not late)."""
    pid = farm.procs[victim].pid
    theirs = farm.held()[pid]
    due = _due(url, theirs)
    killed = farm.kill(victim)
    farm.procs[victim].wait(timeout=10)

    def taken() -> bool:
        held = farm.held()
        return pid not in held and theirs <= set().union(*held.values())

    assert wait_for(taken, 6 * lease, 0.02)
    taken_s = time.monotonic() - killed
    assert wait_for(lambda: len(takeover(farm.wire, theirs, killed)) == len(theirs), 3 * lease + 2 * interval, 0.1)
    firsts = takeover(farm.wire, theirs, killed)
    late = max(killed + firsts[h] - max(killed, due.get(h, killed)) for h in theirs)
    return len(theirs), taken_s, late


def run_sqlite(folder: Path, channels: int, interval: float, rounds: int) -> dict:
    folder.mkdir(parents=True)
    wire = CountingWire(channels, POSTS).start()
    farm = Farm(f"sqlite:{folder / 'desk.db'}", wire, folder, interval=interval, lease=6.0)
    out: dict = {}
    try:
        t0 = time.monotonic()
        farm.start("s1")
        assert wait_for(lambda: farm.posts_per_channel() == dict.fromkeys(wire.handles, POSTS), 600, 0.5), \
            farm.output("s1")
        out["first_pass_s"] = round(time.monotonic() - t0, 1)
        farm.start("s2")  # watches: the file has its poller
        assert wait_for(lambda: "watching" in farm.output("s2"), 60, 0.2), farm.output("s2")
        start = time.monotonic()
        time.sleep(rounds * interval)
        out.update(_window(wire, start, time.monotonic(), interval))
        killed = farm.kill("s1")
        farm.procs["s1"].wait(timeout=10)
        assert wait_for(lambda: any(t > killed for ts in wire.newest_page_requests().values() for t in ts), 60)
        out["sigkill_takeover_s"] = round(min(t for ts in wire.newest_page_requests().values() for t in ts
                                              if t > killed) - killed, 2)
        out.update(_politeness(wire))
    finally:
        farm.stop_all()
        wire.stop()
    return out


def run_pg(url: str, folder: Path, channels: int, interval: float, lease: float, rounds: int, kills: int) -> dict:
    open_store(url).close()
    folder.mkdir(parents=True)
    wire = CountingWire(channels, POSTS).start()
    farm = Farm(url, wire, folder, interval=interval, lease=lease)
    out: dict = {}
    try:
        t0 = time.monotonic()
        for name in ("p1", "p2", "p3"):
            farm.start(name)

        def settled() -> bool:
            held = farm.held()
            live = {p.pid for p in farm.procs.values() if p.poll() is None}
            return set(held) == live and sum(map(len, held.values())) == channels

        assert wait_for(lambda: farm.posts_per_channel() == dict.fromkeys(wire.handles, POSTS), 600, 0.5), \
            farm.output("p1")
        out["first_pass_s"] = round(time.monotonic() - t0, 1)
        assert wait_for(settled, 120, 0.2)
        start = time.monotonic()
        time.sleep(rounds * interval)
        out.update(_window(wire, start, time.monotonic(), interval))
        handover, late, moved = [], [], []
        for k in range(kills):
            victim = sorted((n for n, p in farm.procs.items() if p.poll() is None), key=lambda n: int(n[1:]))[0]
            n, taken_s, late_s = _kill_one(farm, url, victim, lease, interval)
            moved.append(n)
            handover.append(taken_s)
            late.append(late_s)
            farm.start(f"p{4 + k}")  # back to three
            assert wait_for(settled, 6 * lease, 0.2)
        out["sigkill_sources_moved"] = moved
        out["sigkill_leases_taken_s"] = [round(x, 2) for x in handover]
        out["sigkill_leases_taken_lease_periods_median"] = round(statistics.median(handover) / lease, 2)
        out["sigkill_polled_late_vs_schedule_s"] = [round(x, 2) for x in late]
        out["sigkill_polled_late_lease_periods_median"] = round(statistics.median(late) / lease, 2)
        out.update(_politeness(wire))
    finally:
        farm.stop_all()
        wire.stop()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--channels", type=int, default=300)
    ap.add_argument("--interval", type=float, default=15.0, help="seconds between two polls of one channel")
    ap.add_argument("--lease", type=float, default=6.0, help="[poller] lease_seconds")
    ap.add_argument("--rounds", type=int, default=3, help="rounds in the steady window")
    ap.add_argument("--kills", type=int, default=3, help="SIGKILLs, one poller each time (then a new one)")
    ap.add_argument("--url", help="a PostgreSQL server to use (default: a throwaway one)")
    args = ap.parse_args()
    result: dict = {"channels": args.channels, "interval_s": args.interval, "lease_s": args.lease,
                    "load_before": [round(x, 2) for x in os.getloadavg()]}
    with tempfile.TemporaryDirectory(prefix="desk-bench-poll-") as tmp:
        result["sqlite_one_poller"] = run_sqlite(Path(tmp) / "sqlite", args.channels, args.interval, args.rounds)
        with _server(args.url) as base:
            db = f"bench_poll_{int(time.time())}"
            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute(f"CREATE DATABASE {db}")
            url = base.rsplit("/", 1)[0] + "/" + db
            result["postgresql_three_pollers"] = run_pg(url, Path(tmp) / "pg", args.channels, args.interval,
                                                        args.lease, args.rounds, args.kills)
    result["load_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # the temp folder and pollers are cleaned up
    main()
