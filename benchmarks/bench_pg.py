"""The store on PostgreSQL beside SQLite: ingest with the full-text indexes, newest-first search
with the 'simple' tsvector vs pg_trgm substrings, and commit-to-desk latency (LISTEN/NOTIFY).

    python -m benchmarks.bench_pg [--posts N] [--runs R] [--url postgresql://...]

Without --url a throwaway server is started from the Debian binaries (tests/pgserver.py) and
removed afterwards. Posts are benchmarks/gen.py's multilingual ones; the SQLite store in a temp
folder is the same-run baseline. Figures are medians over R runs (search: per query).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path

import psycopg

from benchmarks.gen import COMMON_TERMS, generate_posts, rare_term
from deskapp.core.model import Post
from deskapp.core.pg.store import PgStore
from deskapp.core.store import Store

FETCHED = datetime(2024, 6, 1, tzinfo=UTC)


def _pages(posts: Iterator[Post], size: int = 20) -> Iterator[tuple[str, list[Post]]]:
    while page := list(islice(posts, size)):
        by: dict[str, list[Post]] = {}
        for p in page:
            by.setdefault(p.source, []).append(p)
        yield from by.items()


def _median_ms(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


@contextlib.contextmanager
def _server(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.pgserver import running_server

    with running_server() as server:
        yield server.url


def run(n: int, runs: int = 7, url: str | None = None) -> dict:
    out: dict = {"posts": n}
    with _server(url) as base, tempfile.TemporaryDirectory(prefix="desk-bench-pg-") as tmp:
        db = f"bench_{int(time.time())}"
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {db}")
        pg_url = base.rsplit("/", 1)[0] + "/" + db
        lite = Store.open(Path(tmp) / "desk.db")
        pg = PgStore.open(pg_url)
        posts = list(generate_posts(n))
        for name, store in (("sqlite", lite), ("postgresql", pg)):
            t = time.perf_counter()
            store.ingest_many(_pages(iter(posts)), fetched_at=FETCHED, commit_every=10_000)
            out[f"ingest_{name}_posts_per_s"] = round(n / (time.perf_counter() - t))
        del posts
        queries = {"common": COMMON_TERMS[0], "rare": rare_term(3), "cyrillic": COMMON_TERMS[1], "cjk": "新闻",
                   "thai": "ข่าว"}
        with psycopg.connect(pg_url, autocommit=True) as conn:
            for label, q in queries.items():
                out[f"search_{label}_sqlite_ms"] = round(_median_ms(lambda q=q: lite.search(q, limit=20), runs), 2)
                out[f"search_{label}_pg_store_ms"] = round(_median_ms(lambda q=q: pg.search(q, limit=20), runs), 2)
                # The two PostgreSQL indexes side by side, newest first, 20 rows.
                out[f"search_{label}_pg_tsvector_ms"] = round(_median_ms(lambda q=q: conn.execute(
                    "SELECT key FROM posts WHERE tsv @@ plainto_tsquery('simple', %s) ORDER BY key DESC LIMIT 20",
                    (q,)).fetchall(), runs), 2)
                out[f"search_{label}_pg_trgm_ms"] = round(_median_ms(lambda q=q: conn.execute(
                    "SELECT key FROM posts WHERE text ILIKE %s ORDER BY key DESC LIMIT 20",
                    (f"%{q}%",)).fetchall(), runs), 2)
                out[f"count_{label}_pg_tsvector"] = conn.execute(
                    "SELECT count(*) FROM posts WHERE tsv @@ plainto_tsquery('simple', %s)", (q,)).fetchone()[0]
                out[f"count_{label}_pg_trgm"] = conn.execute(
                    "SELECT count(*) FROM posts WHERE text ILIKE %s", (f"%{q}%",)).fetchone()[0]
            out["pg_index_mb_tsvector"] = round(conn.execute("SELECT pg_relation_size('posts_tsv')").fetchone()[0] / 2**20, 1)
            out["pg_index_mb_trgm"] = round(conn.execute("SELECT pg_relation_size('posts_trgm')").fetchone()[0] / 2**20, 1)
        out["notify_commit_to_desk_ms_median"], out["notify_samples"] = _notify_latency(pg, runs * 3)
        out["sqlite_data_version_poll_ms"] = "n/a: the SQLite desk polls data_version on a timer"
        lite.close()
        pg.close()
    return out


_LISTENER = """
import sys, time
from deskapp.core.pg.store import PgStore
with PgStore.open(sys.argv[1]) as s, s.listening() as wait:
    print("ready", flush=True)
    for _ in range(int(sys.argv[2])):
        key = wait(30)
        print(key, time.time(), flush=True)
"""


def _notify_latency(pg: PgStore, samples: int) -> tuple[float, int]:
    """Median ms from the ingest_page call (its transaction and commit included) to a desk in
    another process hearing it, over `samples` pages."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen([sys.executable, "-c", _LISTENER, pg.url, str(samples)], stdout=subprocess.PIPE,
                            text=True, cwd=root)
    lags = []
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        for i in range(samples):
            post = dataclasses.replace(next(generate_posts(1, seed=1000 + i)), id=10**9 + i)
            committed = time.time()  # before the call: the figure includes the page's own transaction
            pg.ingest_page(post.source, [post], fetched_at=FETCHED)
            _, heard = proc.stdout.readline().split()
            lags.append((float(heard) - committed) * 1000)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return round(statistics.median(lags), 2), len(lags)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--posts", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--url", help="a PostgreSQL server to use (default: a throwaway one)")
    args = ap.parse_args()
    print(json.dumps(run(args.posts, args.runs, args.url), indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
