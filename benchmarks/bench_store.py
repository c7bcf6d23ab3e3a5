"""Store benchmark: bulk ingest with FTS, newest-first search, feed paging, random access, counts.

    python -m benchmarks.bench_store [--posts N] [--runs R] [--keep DIR]

Builds a store of N generated posts (benchmarks/gen.py: 500 channels, Latin/Cyrillic/Arabic/CJK
text with emoji) and prints each figure with a baseline measured in the same run:
ingest through Store.ingest_many with FTS vs the same store without the FTS trigger and vs a bare
executemany; newest-first search vs relevance order; feed_at through the narrow key index vs a
plain OFFSET over the table. Generation time is excluded from ingest rates. `run(n) -> dict`
is the entry point for a suite runner.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

from benchmarks.gen import COMMON_TERMS, generate_posts, rare_term
from deskapp.core.ingest import bulk_chunk_targets
from deskapp.core.model import Post
from deskapp.core.store import Store

CHUNK = 200_000  # posts generated (untimed), then handed to one ingest_many call (timed)
COMMIT_EVERY = 50_000  # ingest_many's transaction size (its default)
PAGE = 20  # posts per (source, posts) batch, like one fetched preview page
FETCHED = datetime(2025, 1, 1, tzinfo=UTC)


def _pages(posts: list[Post]) -> list[tuple[str, list[Post]]]:
    """Group a chunk into per-source pages of up to PAGE posts, as a poller would deliver them."""
    by_source: dict[str, list[Post]] = defaultdict(list)
    for p in posts:
        by_source[p.source].append(p)
    out = []
    for source, ps in by_source.items():
        for i in range(0, len(ps), PAGE):
            out.append((source, ps[i : i + PAGE]))
    return out


def _chunks(n: int, seed: int = 0) -> Iterator[list[Post]]:
    it = generate_posts(n, seed=seed)
    while True:
        chunk = list(islice(it, CHUNK))
        if not chunk:
            return
        yield chunk


@dataclasses.dataclass
class _Spent:
    wall: float = 0.0
    cpu: float = 0.0  # both threads of the process (writer + ingest_many's worker)
    writer_cpu: float = 0.0  # the calling thread, which runs SQLite's writes
    idle_wall: float = 0.0  # what the calls would take with a core per thread (see _idle_wall)
    rates: list[float] = dataclasses.field(default_factory=list)

    def idle_estimate(self, n: int) -> float:
        return n / max(self.idle_wall, 1e-9)


def _idle_wall(writer: float, worker: float, posts: int) -> float:
    """Wall time of one ingest_many call if each of its two threads had a core of its own.

    The worker prepares transaction i+1 while the writer writes transaction i (sizes from
    bulk_chunk_targets); per-post costs are the call's measured CPU split evenly over its posts.
    """
    sizes = []
    targets = bulk_chunk_targets(COMMIT_EVERY)
    left = posts
    while left > 0:
        sizes.append(min(next(targets), left))
        left -= sizes[-1]
    p = [worker * x / posts for x in sizes]
    w = [writer * x / posts for x in sizes]
    return p[0] + sum(max(p[i], w[i - 1]) for i in range(1, len(sizes))) + w[-1]


def _ingest(store: Store, n: int) -> _Spent:
    """Ingest n generated posts; generation is not timed."""
    spent = _Spent()
    for chunk in _chunks(n):
        pages = _pages(chunk)
        t0, c0, w0 = time.perf_counter(), time.process_time(), time.thread_time()
        store.ingest_many(pages, fetched_at=FETCHED, commit_every=COMMIT_EVERY)
        dt = time.perf_counter() - t0
        cpu, writer = time.process_time() - c0, time.thread_time() - w0
        spent.wall += dt
        spent.cpu += cpu
        spent.writer_cpu += writer
        spent.idle_wall += _idle_wall(writer, cpu - writer, len(chunk))
        spent.rates.append(len(chunk) / dt)
    return spent


def _loadavg() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def _drop_fts_trigger(store: Store) -> None:
    """Baseline: the same store and code path, but inserts no longer feed the FTS index."""
    store._write(lambda c: c.execute("DROP TRIGGER posts_ai"))


def bare_executemany(path: Path, n: int) -> float:
    """Floor: pre-built tuples into a bare posts table (no indexes, no FTS, no cleaning). Returns posts/s."""
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("CREATE TABLE posts (key INTEGER PRIMARY KEY, source TEXT, post_id INTEGER, url TEXT, "
                 "published TEXT, text TEXT)")
    spent = 0.0
    k = 0
    for chunk in _chunks(n):
        rows = []
        for p in chunk:
            k += 1
            rows.append((k, p.source, p.id, p.url, p.published.isoformat(), p.text))
        t0 = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT INTO posts VALUES (?, ?, ?, ?, ?, ?)", rows)
        conn.execute("COMMIT")
        spent += time.perf_counter() - t0
    conn.close()
    return n / spent


def _timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def _pct(samples: list[float]) -> dict[str, float]:
    s = sorted(samples)
    p95 = s[min(len(s) - 1, int(round(0.95 * (len(s) - 1))))]
    return {"p50_ms": round(statistics.median(s), 3), "p95_ms": round(p95, 3), "n": len(s)}


def _db_size(path: Path) -> int:
    return sum(os.path.getsize(p) for p in (path, Path(f"{path}-wal")) if p.exists())


def run(n: int, *, runs: int | None = None, keep: Path | None = None, log: Callable[[str], None] = print) -> dict:
    """Build a store of n posts and measure it. Returns every figure as a dict (also printed via log)."""
    runs = runs if runs is not None else (3 if n <= 200_000 else 1)
    base_dir = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="bench_store_"))
    base_dir.mkdir(parents=True, exist_ok=True)
    try:
        return _measure(n, runs, base_dir, log)
    finally:
        if not keep:
            shutil.rmtree(base_dir, ignore_errors=True)


def _measure(n: int, runs: int, base_dir: Path, log: Callable[[str], None]) -> dict:
    res: dict[str, Any] = {"posts": n}
    rng = random.Random(1)

    # --- ingest with FTS (median over fresh stores); the last store is kept for the queries
    rates = []
    idle = []
    loads = []
    path = base_dir / "store.db"
    for r in range(runs):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        store = Store.open(path)
        gc.collect()
        load0 = _loadavg()
        spent = _ingest(store, n)
        loads.append(round(max(load0, _loadavg()), 2))
        rates.append(n / spent.wall)
        idle.append(spent.idle_estimate(n))
        log(f"ingest run {r + 1}/{runs}: {n / spent.wall:,.0f} posts/s wall ({spent.wall:.1f} s), "
            f"cpu {spent.cpu:.1f} s (writer thread {spent.writer_cpu:.1f} s), load average {loads[-1]}")
        if r < runs - 1:
            store.close()
    res["ingest_posts_per_s"] = round(statistics.median(rates))
    res["ingest_runs"] = [round(x) for x in rates]
    res["ingest_chunk_rate_median"] = round(statistics.median(spent.rates))
    res["ingest_idle_estimate_posts_per_s"] = round(statistics.median(idle))
    res["ingest_cpu_s_per_10k_posts"] = round(spent.cpu / n * 10_000, 3)
    res["load_average_during_ingest"] = loads
    res["count"] = store.count_posts()

    # --- baselines, at up to 10^5 posts (enough for a rate)
    nb = min(n, 100_000)
    bpath = base_dir / "baseline_nofts.db"
    bstore = Store.open(bpath)
    _drop_fts_trigger(bstore)
    bspent = _ingest(bstore, nb)
    res["baseline_ingest_no_fts_posts_per_s"] = round(nb / bspent.wall)
    res["baseline_ingest_no_fts_idle_estimate"] = round(bspent.idle_estimate(nb))
    bstore.close()
    res["baseline_bare_executemany_posts_per_s"] = round(bare_executemany(base_dir / "baseline_bare.db", nb))
    for p in base_dir.glob("baseline_*"):
        p.unlink()

    # --- re-poll: the same pages again (all unchanged), as the poller does every minute
    sample = next(_chunks(min(n, COMMIT_EVERY)))
    pages = _pages(sample)
    t0 = time.perf_counter()
    r2 = store.ingest_many(pages, fetched_at=FETCHED, commit_every=COMMIT_EVERY)
    res["repoll_unchanged_posts_per_s"] = round(len(sample) / (time.perf_counter() - t0))
    assert r2.unchanged == len(sample), r2
    # one fetched page per transaction (the poller's unit of work): a re-polled page, and new posts
    repoll = iter(pages)
    res["ingest_page_repoll_20"] = _pct(_timed(lambda: store.ingest_page(*next(repoll), fetched_at=FETCHED), 100))
    # new posts published among the stored ones (backfill: random places in the key order) ...
    fresh = iter(_pages([dataclasses.replace(p, id=p.id + 10_000_000) for p in sample[:20_000]]))
    res["ingest_page_backfill_20"] = _pct(_timed(lambda: store.ingest_page(*next(fresh), fetched_at=FETCHED), 100))
    # ... and newer than everything stored (live polling: the top of the key order)
    later = store.feed(1)[0].published - sample[0].published + timedelta(hours=1)
    top_pages = iter(_pages([dataclasses.replace(p, id=p.id + 20_000_000, published=p.published + later)
                             for p in sample[:20_000]]))
    res["ingest_page_live_20"] = _pct(_timed(lambda: store.ingest_page(*next(top_pages), fetched_at=FETCHED), 100))

    store._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    res["db_bytes"] = _db_size(path)
    res["db_mb"] = round(res["db_bytes"] / 1e6, 1)

    # --- open: the default checks (full quick_check only up to 64 MB), then a forced full check
    store.close()
    t0 = time.perf_counter()
    Store.open(path, full_check=True).close()
    res["open_ms_full_quick_check"] = round((time.perf_counter() - t0) * 1000, 1)
    t0 = time.perf_counter()
    store = Store.open(path)
    res["open_ms_default"] = round((time.perf_counter() - t0) * 1000, 1)

    one_source = [next(p.source for p in sample if p.source.endswith("_lat"))]  # a Latin channel: "news" is common
    # --- search, newest first
    rare = [rare_term(i) for i in range(10)] + [rare_term(i, "cyrillic") for i in range(10)]
    common_counts = {t: store.feed_count(query=t) for t in COMMON_TERMS}
    rare_counts = {t: store.feed_count(query=t) for t in rare[:3]}
    res["common_term_matches"] = common_counts
    res["rare_term_matches_sample"] = rare_counts
    res["search_common_20"] = _pct(_timed(lambda: store.search(rng.choice(COMMON_TERMS), limit=20), 200))
    res["search_rare_20"] = _pct(_timed(lambda: store.search(rng.choice(rare), limit=20), 200))
    res["search_two_terms_20"] = _pct(_timed(lambda: store.search("news " + rng.choice(["report", "city", "the"]),
                                                                  limit=20), 100))
    res["search_prefix_ne_20"] = _pct(_timed(lambda: store.search("ne", limit=20, prefix=True), 50))
    res["search_common_in_one_source_20"] = _pct(_timed(lambda: store.search("news", limit=20, sources=one_source), 20))
    res["feed_query_common_100"] = _pct(_timed(lambda: store.feed(100, query=rng.choice(COMMON_TERMS)), 200))
    # baseline: relevance order (bm25) over every hit of a common term
    res["baseline_search_common_rank_20"] = _pct(_timed(lambda: store._conn.execute(
        "SELECT p.key FROM posts_fts JOIN posts p ON p.key = posts_fts.rowid WHERE posts_fts MATCH ? "
        "ORDER BY rank LIMIT 20", ('"news"',)).fetchall(), 3))

    # --- feed pages
    top = store.feed(1)[0].key
    low = store.feed_at(store.count_posts() - 1, 1)[0].key
    anchors = [rng.randint(low, top) for _ in range(300)]
    res["feed_first_page_100"] = _pct(_timed(lambda: store.feed(100), 200))
    res["feed_keyset_page_100"] = _pct(_timed(lambda: store.feed(100, before_key=anchors.pop()), 200))
    res["feed_after_key_page_100"] = _pct(_timed(lambda: store.feed(100, after_key=anchors.pop()), 100))
    five = list(dict.fromkeys(p.source for p in sample))[:5]
    res["feed_one_source_100"] = _pct(_timed(lambda: store.feed(100, sources=one_source), 100))
    res["feed_five_sources_100"] = _pct(_timed(lambda: store.feed(100, sources=five), 100))

    # --- random access
    count = store.count_posts()
    res["feed_at_deep_100"] = _pct(_timed(lambda: store.feed_at(rng.randint(count // 2, count - 100), 100), 30))
    res["feed_at_shallow_100"] = _pct(_timed(lambda: store.feed_at(rng.randint(0, 1000), 100), 100))
    res["baseline_offset_table_deep_100"] = _pct(_timed(lambda: store._conn.execute(
        "SELECT key, substr(text, 1, 300) FROM posts ORDER BY key DESC LIMIT 100 OFFSET ?",
        (rng.randint(count // 2, count - 100),)).fetchall(), 5))
    res["feed_at_query_deep_100"] = _pct(_timed(lambda: store.feed_at(common_counts["news"] // 2, 100, query="news"),
                                                10))

    # --- counts
    res["feed_count_all"] = _pct(_timed(store.feed_count, 200))
    res["baseline_count_star"] = _pct(_timed(lambda: store._conn.execute("SELECT count(*) FROM posts").fetchone(),
                                             5))
    near_top = store.feed_at(100, 1)[0].key
    res["feed_count_after_key_100_new"] = _pct(_timed(lambda: store.feed_count(after_key=near_top), 200))
    res["feed_count_sources_5"] = _pct(_timed(lambda: store.feed_count(sources=five), 200))
    res["feed_count_query_common"] = _pct(_timed(lambda: store.feed_count(query="news"), 10))
    res["feed_count_query_rare"] = _pct(_timed(lambda: store.feed_count(query=rare[0]), 50))
    store.close()
    return res


def _print(res: dict) -> None:
    n = res["posts"]
    print(f"\n=== store benchmark, {n:,} posts, {res['db_mb']} MB ===")
    print(f"ingest with FTS     {res['ingest_posts_per_s']:>10,} posts/s (median of {len(res['ingest_runs'])}: "
          f"{res['ingest_runs']}; median chunk {res['ingest_chunk_rate_median']:,})  budget 20,000")
    print(f"  idle-core estimate {res['ingest_idle_estimate_posts_per_s']:>9,} posts/s  (per-thread CPU, pipeline modelled; "
          f"load average during ingest {res['load_average_during_ingest']} on {os.cpu_count()} cores)")
    print(f"  baseline no FTS   {res['baseline_ingest_no_fts_posts_per_s']:>10,} posts/s  "
          f"(FTS costs x{res['baseline_ingest_no_fts_posts_per_s'] / res['ingest_posts_per_s']:.2f}; "
          f"idle-core estimate {res['baseline_ingest_no_fts_idle_estimate']:,})")
    print(f"  bare executemany  {res['baseline_bare_executemany_posts_per_s']:>10,} posts/s")
    print(f"re-poll unchanged   {res['repoll_unchanged_posts_per_s']:>10,} posts/s")
    for k, v in res.items():
        if isinstance(v, dict) and "p50_ms" in v:
            print(f"{k:<34} p50 {v['p50_ms']:>9.3f} ms   p95 {v['p95_ms']:>9.3f} ms   (n={v['n']})")
    print(f"open, default check {res['open_ms_default']} ms; with full quick_check {res['open_ms_full_quick_check']} ms")
    print(f"matches: common {res['common_term_matches']}, rare {res['rare_term_matches_sample']}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_store", description=__doc__.splitlines()[0])
    ap.add_argument("--posts", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=None, help="ingest runs (default 3 up to 2*10^5 posts, else 1)")
    ap.add_argument("--keep", type=Path, default=None, help="build the store in this directory and keep it")
    ap.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = ap.parse_args(argv)
    res = run(args.posts, runs=args.runs, keep=args.keep)
    _print(res)
    if args.json:
        json.dump(res, sys.stdout, indent=1)
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
