"""UI benchmark: start-up to first painted feed, key-to-repaint latency while scrolling, memory.

    python -m benchmarks.bench_ui [--posts N ...] [--keys K] [--muted M] [--json]

For each N (default 10^5 and 10^6) a store of N generated posts (benchmarks/gen.py, 500 channels) is
built once in a child process and cached under benchmarks/.data/ (so the generator's memory never
counts against the desk). Then, in a fresh child process per N (so imports and RSS are the desk's
own), the desk runs headless (`App.run_test`, 120x40, poll=False):

* start-up: from `DeskApp(...)` construction to the first render of a feed line with a post
  (the store's open-time checks are included; module imports -- textual, sqlite-utils -- are
  reported separately and added up in "with the imports");
* key-to-repaint: for each key, the time from just before the key is sent to the feed's next
  `render_line` (perf_counter hooks in FeedView). Keys: `j` x K at the top, `pagedown` x K/2, then
  `G` (jump to the oldest post, an offset query) and `k` x K near the bottom, `g`, and `/` filter;
* memory: peak RSS of the process (VmHWM) and RSS at the end (VmRSS), from /proc/self/status.
  Not getrusage's ru_maxrss: on Linux it survives fork+exec, so a child started by a big parent
  (the suite) would report the parent's peak.

`--muted M`: the same store again with M posts muted (spread evenly, as a mute rule over a flood
leaves them), the desk hiding them: each key walks the newest-first index with a seek in `muted`
per row; the unmuted run of the same N is its same-run baseline.

`run(n) -> dict` is the entry point for a suite runner. Budgets (DESIGN.md): start-up 1 s,
key-to-repaint 30 ms at p95, 250 MB RSS, at 10^6 posts.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / ".data"
SIZE = (120, 40)
BUDGET = {"startup_s": 1.0, "key_p95_ms": 30.0, "rss_mb": 250.0}


def store_path(n: int) -> Path:
    return DATA / f"ui-{n}.db"


def build(n: int, path: Path | None = None) -> Path:
    """Build (once) a store of n generated posts at `path` (default: the cache, keyed by n)."""
    from deskapp.core.store import Store

    path = path or store_path(n)
    if path.exists():
        try:  # a cache built by an older schema that cannot be upgraded is rebuilt
            Store.open(path).close()
            return path
        except Exception as exc:
            print(f"rebuilding {path.name}: {exc}", file=sys.stderr)
            for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                p.unlink(missing_ok=True)

    from benchmarks.stores import build_store  # one store builder for every benchmark

    build_store(n, path)
    return path


def muted_copy(n: int, muted: int) -> Path:
    """A copy of the n-post store with `muted` posts muted, every (n // muted)-th key (cached)."""
    import sqlite3

    path = DATA / f"ui-{n}-muted{muted}.db"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        src = sqlite3.connect(store_path(n))
        dst = sqlite3.connect(tmp)
        src.backup(dst)
        src.close()
        step = max(1, n // muted)
        dst.execute("INSERT OR IGNORE INTO muted (key, rule) SELECT key, 'bench' FROM posts WHERE key % ? = 0 LIMIT ?",
                    (step, muted))
        dst.commit()
        dst.close()
        tmp.rename(path)
    return path


def _rss_now_mb(field: str = "VmRSS") -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _rss_peak_mb() -> float:
    """This process image's peak RSS (VmHWM); ru_maxrss where /proc is missing."""
    peak = _rss_now_mb("VmHWM")
    return peak if peak == peak else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _pct(samples: list[float]) -> dict[str, float]:
    if not samples:
        return {}
    s = sorted(samples)
    return {
        "n": len(s),
        "p50_ms": round(statistics.median(s) * 1000, 2),
        "p95_ms": round(s[min(len(s) - 1, int(len(s) * 0.95))] * 1000, 2),
        "max_ms": round(s[-1] * 1000, 2),
    }


async def _measure(path: Path, keys: int) -> dict[str, Any]:
    t_import = time.perf_counter()
    from deskapp.config import Settings
    from deskapp.paths import Paths
    from deskapp.ui.app import DeskApp

    import_s = time.perf_counter() - t_import
    state = Path(tempfile.mkdtemp(prefix="bench-ui-"))
    atexit.register(shutil.rmtree, state, ignore_errors=True)  # the desk's state (log, citation) is throwaway
    paths = Paths(config=state / "none.toml", store=path, state=state)
    t0 = time.perf_counter()
    app = DeskApp(settings=Settings(), paths=paths, poll=False)
    out: dict[str, Any] = {"import_s": round(import_s, 3)}
    async with app.run_test(size=SIZE) as pilot:
        feed = app.feed
        deadline = time.perf_counter() + 30
        while not feed.first_paint and time.perf_counter() < deadline:
            await asyncio.sleep(0.001)
        out["startup_s"] = round(feed.first_paint - t0, 3)
        out["store_open_s"] = round(app.timings.get("store_open", float("nan")), 3)
        out["posts"] = feed.windows.total
        await pilot.pause()

        async def press(key: str, samples: list[float]) -> None:
            before = feed.last_paint
            t = time.perf_counter()
            await pilot.press(key)
            end = time.perf_counter() + 5
            while feed.last_paint == before and time.perf_counter() < end:
                await asyncio.sleep(0.0005)
            samples.append(feed.last_paint - t)

        lat: dict[str, list[float]] = defaultdict(list)
        for _ in range(keys):
            await press("j", lat["j"])
        for _ in range(keys // 2):
            await press("pagedown", lat["pagedown"])
        await press("G", lat["G"])
        for _ in range(keys):
            await press("k", lat["k_bottom"])
        await press("g", lat["g"])
        for _ in range(keys // 2):
            await press("pagedown", lat["pagedown"])
        queries = feed.windows.queries
        allkeys = [x for v in lat.values() for x in v]
        out["keys"] = {k: _pct(v) for k, v in lat.items()}
        out["key_all"] = _pct(allkeys)
        out["store_queries"] = queries
        out["feed_cursor"] = feed.cursor
    out["rss_peak_mb"] = round(_rss_peak_mb(), 1)
    out["rss_end_mb"] = round(_rss_now_mb(), 1)
    return out


def _child(n: int, keys: int, path: Path | None = None) -> dict[str, Any]:
    """Measure in a fresh interpreter: cold imports, RSS of the desk alone."""
    env = dict(os.environ)
    root = Path(__file__).resolve().parents[1]
    env["PYTHONPATH"] = f"{root}{os.pathsep}{env.get('PYTHONPATH', '')}"
    proc = subprocess.run([sys.executable, "-m", "benchmarks.bench_ui", "--measure", str(path or store_path(n)),
                           "--keys", str(keys)], capture_output=True, text=True, cwd=root, env=env,
                          timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"measuring child failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _build_child(n: int) -> None:
    """Build or check the store in a child process (the generator's memory is not the desk's)."""
    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-m", "benchmarks.bench_ui", "--build", str(n), "--path", str(store_path(n))],
                   check=True, cwd=root, timeout=3600)


def run(n: int, *, keys: int = 200, muted: int = 0) -> dict[str, Any]:
    """Build (cached) and measure the desk over n posts; returns the figures and the budgets.
    `muted`: also measure the same store with that many posts muted (res["muted"])."""
    t = time.perf_counter()
    _build_child(n)
    built_s = time.perf_counter() - t
    res = _child(n, keys)
    if muted:
        res["muted"] = _child(n, keys, muted_copy(n, muted))
        res["muted"]["count"] = muted
    res["n"] = n
    res["store_mb"] = round(store_path(n).stat().st_size / 1e6, 1)
    res["build_s"] = round(built_s, 1)
    res["budget"] = BUDGET
    res["within_budget"] = {
        "startup": res["startup_s"] <= BUDGET["startup_s"],
        "key_p95": res["key_all"]["p95_ms"] <= BUDGET["key_p95_ms"],
        "rss": res["rss_peak_mb"] <= BUDGET["rss_mb"],
    }
    return res


def _print(res: dict[str, Any]) -> None:
    b = res["budget"]
    print(f"== desk UI, {res['n']:,} posts stored ({res['store_mb']} MB store)")
    print(f"  imports (deskapp.ui.app)      {res['import_s'] * 1000:8.0f} ms  (not in start-up)")
    print(f"  start-up to first painted feed {res['startup_s'] * 1000:7.0f} ms  budget {b['startup_s'] * 1000:.0f} ms"
          f"  ratio {res['startup_s'] / b['startup_s']:.2f}")
    print(f"    of which Store.open (its integrity check) {res['store_open_s'] * 1000:.0f} ms; the rest "
          f"{(res['startup_s'] - res['store_open_s']) * 1000:.0f} ms; with the imports "
          f"{(res['startup_s'] + res['import_s']) * 1000:.0f} ms")
    for name, p in res["keys"].items():
        print(f"  key {name:<10} n={p['n']:<4} p50 {p['p50_ms']:6.2f} ms  p95 {p['p95_ms']:6.2f} ms  max {p['max_ms']:7.2f} ms")
    k = res["key_all"]
    print(f"  key-to-repaint, all keys      p50 {k['p50_ms']:.2f} ms  p95 {k['p95_ms']:.2f} ms  budget "
          f"{b['key_p95_ms']:.0f} ms  ratio {k['p95_ms'] / b['key_p95_ms']:.2f}")
    print(f"  peak RSS {res['rss_peak_mb']:.1f} MB (end {res['rss_end_mb']:.1f} MB)  budget {b['rss_mb']:.0f} MB"
          f"  ratio {res['rss_peak_mb'] / b['rss_mb']:.2f}")
    print(f"  store window queries during the run: {res['store_queries']}")
    if "muted" in res:
        m, k = res["muted"], res["key_all"]
        print(f"  with {m['count']:,} posts muted (hidden, {m['posts']:,} shown): key-to-repaint p50 "
              f"{m['key_all']['p50_ms']:.2f} ms p95 {m['key_all']['p95_ms']:.2f} ms (none muted, same run: p50 "
              f"{k['p50_ms']:.2f} ms p95 {k['p95_ms']:.2f} ms); G {m['keys']['G']['p50_ms']:.1f} ms "
              f"(none muted {res['keys']['G']['p50_ms']:.1f} ms)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--posts", type=int, nargs="*", default=[100_000, 1_000_000])
    ap.add_argument("--keys", type=int, default=200, help="key presses per scrolling phase")
    ap.add_argument("--muted", type=int, default=0, help="also measure with this many posts muted")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--build", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.build:
        build(args.build, args.path)
        return 0
    if args.measure:
        print(json.dumps(asyncio.run(_measure(args.measure, args.keys))))
        return 0
    results = [run(n, keys=args.keys, muted=args.muted) for n in args.posts]
    for res in results:
        print(json.dumps(res) if args.json else "", end="\n" if args.json else "")
        if not args.json:
            _print(res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
