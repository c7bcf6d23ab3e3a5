"""Attention on PostgreSQL beside SQLite: what queuing new posts costs ingest, and how fast the
queue drains (grouping near-copies, 100 alert rules), by one drainer and by two at once.

    python -m benchmarks.bench_pg_attention [--posts N] [--runs R] [--url postgresql://...]

Without --url a throwaway server is started from the Debian binaries (tests/pgserver.py). Posts are
benchmarks/gen.py's multilingual ones. Baselines of the same run: ingest into a PostgreSQL database
where writing the queue does nothing (a rewrite rule drops the rows), and the SQLite store for the drain. Medians over R runs; the
load average is printed, since the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path

import psycopg

from benchmarks.bench_pg import _server
from benchmarks.gen import generate_posts
from deskapp.core.alerts import Rule
from deskapp.core.attention import Attention
from deskapp.core.backend import open_store
from deskapp.core.model import Post
from deskapp.core.settings import AttentionSettings

FETCHED = datetime(2024, 6, 1, tzinfo=UTC)


def _pages(posts: Iterator[Post], size: int = 20) -> Iterator[tuple[str, list[Post]]]:
    """Posts as a poller stores them: pages of `size`, split by channel."""
    while page := list(islice(posts, size)):
        by: dict[str, list[Post]] = {}
        for p in page:
            by.setdefault(p.source, []).append(p)
        yield from by.items()


# The baseline database: queue rows are dropped (the statement still goes to the server).
NO_QUEUE = "CREATE RULE desk_bench_no_queue AS ON INSERT TO attention_queue DO INSTEAD NOTHING"


def _rules(n: int = 100) -> list[Rule]:
    from benchmarks.gen import rare_term

    return [Rule(f"r{i}", words=(rare_term(i % 40), rare_term(40 + i % 30, "cyrillic"))) for i in range(n)]


def _new_db(base: str, name: str) -> str:
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    return base.rsplit("/", 1)[0] + "/" + name


def _ingest_s(target: str, posts: list, *, queue: bool = True) -> float:
    with open_store(target) as store:
        if not queue:
            store._pg_write(lambda c: c.execute(NO_QUEUE))
        t = time.perf_counter()
        store.ingest_many(_pages(iter(posts)), fetched_at=FETCHED, commit_every=10_000)
        return time.perf_counter() - t


def _drain_s(target: str, drainers: int) -> tuple[float, int, int]:
    """(seconds, alerts raised, alerts raised twice for one post and rule) for `drainers` at once."""
    settings = AttentionSettings(rules=_rules(), notify=False)
    stores = [open_store(target) for _ in range(drainers)]
    raised = [0] * drainers
    t = time.perf_counter()

    def drain(i: int) -> None:
        raised[i] = Attention(stores[i], settings).drain_all()

    threads = [threading.Thread(target=drain, args=(i,)) for i in range(drainers)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    took = time.perf_counter() - t
    rows = [(a.key, a.rule) for a in stores[0].alerts(limit=100_000)]
    for s in stores:
        s.close()
    return took, sum(raised), len(rows) - len(set(rows))


def run(n: int, runs: int = 3, url: str | None = None) -> dict:
    out: dict = {"posts": n, "load_avg_1m": round(os.getloadavg()[0], 2)}
    posts = list(generate_posts(n))
    with _server(url) as base, tempfile.TemporaryDirectory(prefix="desk-bench-attn-") as tmp:
        with_t, without_t, drains = [], [], {"sqlite": [], "pg_1": [], "pg_2": []}
        dup = 0
        for r in range(runs):
            on, off = _new_db(base, f"attn_on_{r}"), _new_db(base, f"attn_off_{r}")
            # Alternate which goes first, so neither always meets a warmer server.
            for target, queue in ((on, True), (off, False))[:: 1 if r % 2 == 0 else -1]:
                (with_t if queue else without_t).append(_ingest_s(target, posts, queue=queue))
            lite = str(Path(tmp) / f"lite_{r}.db")
            _ingest_s(lite, posts)
            secs, alerts, twice = _drain_s(lite, 1)
            drains["sqlite"].append(secs)
            secs, alerts_pg, twice_pg = _drain_s(on, 1)
            drains["pg_1"].append(secs)
            two = _new_db(base, f"attn_two_{r}")
            _ingest_s(two, posts)
            secs, alerts_two, twice_two = _drain_s(two, 2)
            drains["pg_2"].append(secs)
            dup += twice + twice_pg + twice_two
            out["alerts_sqlite_pg1_pg2"] = [alerts, alerts_pg, alerts_two]
        med = statistics.median
        out["ingest_pg_queuing_posts_per_s"] = round(n / med(with_t))
        out["ingest_pg_queue_dropped_posts_per_s (baseline)"] = round(n / med(without_t))
        out["ingest_pg_queuing_cost_pct"] = round(100 * (med(with_t) / med(without_t) - 1), 1)
        for name, times in drains.items():
            out[f"drain_{name}_posts_per_s"] = round(n / med(times))
        out["alerts_raised_twice"] = dup
    out["load_avg_1m_after"] = round(os.getloadavg()[0], 2)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--posts", type=int, default=20_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--url", help="a PostgreSQL server to use (default: a throwaway one)")
    args = ap.parse_args()
    print(json.dumps(run(args.posts, args.runs, args.url), indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
