"""Re-checking 50 pins under the politeness rules: how many requests, how long.

`python -m benchmarks.bench_verify [--pins 50] [--channels 5] [--gap 2.0 --jitter 1.5] [--quick]`

A loopback wire (deskapp/demo/server.py) serves `--channels` channels of 200 posts; `--pins` pins are
spread over them (ids drawn from one stretch of 60 posts per channel, as a story's pins cluster in
time). Every pin is captured first, then the same store is re-checked twice in this run:

- grouped: the desk's way, one context page decides every pin it shows or brackets;
- one per pin: the same-run baseline, one request per pin.

Both run under the poller's politeness for a real host (default: 2.0 s gap + up to 1.5 s jitter,
one request at a time per host; every channel is on the one host, as on t.me), and once more with
no gap, which leaves the cost of fetching, parsing and recording. Requests are counted by the server.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from deskapp.core.evidence import FetchLimits
from deskapp.core.model import ChannelInfo, Post
from deskapp.core.store import Store
from deskapp.core.verify import Target, Verifier
from deskapp.demo.server import WireServer
from deskapp.demo.tme import FakeChannel, FakePost

T0 = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
POSTS = 200


def _wire(server: WireServer, channels: int) -> list[str]:
    handles = [f"bench_chan_{i}" for i in range(channels)]
    for h in handles:
        ch = FakeChannel(h, h.replace("_", " ").title())
        ch.posts = [FakePost(i, T0 + timedelta(minutes=i), f"{h} report {i}: figures and a place name")
                    for i in range(1, POSTS + 1)]
        server.add(ch)
    return handles


def _pins(handles: list[str], pins: int, rng: random.Random) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    per = [pins // len(handles) + (1 if i < pins % len(handles) else 0) for i in range(len(handles))]
    for h, n in zip(handles, per, strict=True):
        start = rng.randint(20, POSTS - 80)
        out += [(h, i) for i in sorted(rng.sample(range(start, start + 60), n))]
    return out


def _store(path: Path, server: WireServer, pins: list[tuple[str, int]]) -> list[Target]:
    targets = []
    with Store.open(path) as store:
        for h, i in pins:
            text = f"{h} report {i}: figures and a place name"
            post = Post(source=f"telegram:{h}", channel=h, id=i, url=f"https://t.me/{h}/{i}",
                        published=T0 + timedelta(minutes=i), text=text)
            store.ingest_page(post.source, [post], fetched_at=T0, channel=ChannelInfo(username=h))
            targets.append(Target(post.source, i, h, server.url, text))
    return targets


def _timed(server: WireServer, store_path: Path, targets: list[Target], limits: FetchLimits, *,
           kind: str, group: bool = True) -> dict[str, Any]:
    with Store.open(store_path) as store:
        verifier = Verifier(store, limits, group=group)
        before = len(server.hits)
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        go = verifier.capture if kind == "capture" else verifier.recheck
        checks = asyncio.run(go(targets))
        wall = time.perf_counter() - t0
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    results: dict[str, int] = {}
    for c in checks:
        results[c.result.value] = results.get(c.result.value, 0) + 1
    return {"requests": len(server.hits) - before, "seconds": wall,
            "cpu_seconds": (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime),
            "checks": len(checks), "results": results}


def run(pins: int = 50, channels: int = 5, gap: float = 2.0, jitter: float = 1.5, seed: int = 7) -> dict[str, Any]:
    rng = random.Random(seed)
    polite = FetchLimits(min_gap=gap, gap_jitter=jitter, timeout=10.0)
    free = replace(polite, min_gap=0.0, gap_jitter=0.0)
    with WireServer() as server, tempfile.TemporaryDirectory(prefix="bench-verify-") as tmp:
        handles = _wire(server, channels)
        chosen = _pins(handles, pins, rng)
        db = Path(tmp) / "verify.db"
        targets = _store(db, server, chosen)
        out: dict[str, Any] = {"pins": len(targets), "channels": channels, "gap": gap, "jitter": jitter}
        out["capture_nogap"] = _timed(server, db, targets, free, kind="capture")
        out["grouped_nogap"] = _timed(server, db, targets, free, kind="recheck")
        out["one_per_pin_nogap"] = _timed(server, db, targets, free, kind="recheck", group=False)
        out["grouped_polite"] = _timed(server, db, targets, polite, kind="recheck")
        out["one_per_pin_polite"] = _timed(server, db, targets, polite, kind="recheck", group=False)
    return out


def render(res: dict[str, Any]) -> str:
    lines = [f"Re-checking {res['pins']} pins over {res['channels']} channels on one host "
             f"(politeness: {res['gap']:g} s gap + up to {res['jitter']:g} s jitter)",
             f"{'run':<22}{'requests':>9}{'wall s':>9}{'CPU s':>8}{'s/pin':>8}  results"]
    for key, label in (("grouped_polite", "grouped, polite"), ("one_per_pin_polite", "one per pin, polite"),
                       ("grouped_nogap", "grouped, no gap"), ("one_per_pin_nogap", "one per pin, no gap"),
                       ("capture_nogap", "capture, no gap")):
        r = res[key]
        lines.append(f"{label:<22}{r['requests']:>9}{r['seconds']:>9.2f}{r['cpu_seconds']:>8.2f}"
                     f"{r['seconds'] / max(1, r['checks']):>8.3f}  {r['results']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_verify", description=__doc__.splitlines()[0])
    ap.add_argument("--pins", type=int, default=50)
    ap.add_argument("--channels", type=int, default=5)
    ap.add_argument("--gap", type=float, default=2.0, help="seconds between requests to one host")
    ap.add_argument("--jitter", type=float, default=1.5)
    ap.add_argument("--quick", action="store_true", help="a tiny gap (the smoke test)")
    args = ap.parse_args(argv)
    gap, jitter = (0.01, 0.0) if args.quick else (args.gap, args.jitter)
    print(render(run(args.pins, args.channels, gap, jitter)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
