"""The store on PostgreSQL beside SQLite at 10^6 posts: ingest with the full-text indexes, newest-first
search per query kind (the store's, and the 'simple' tsvector vs pg_trgm substrings), and
commit-to-desk latency across processes through the desk's own path (its LISTEN worker on
PostgreSQL, its data_version timer on SQLite).

    python -m benchmarks.bench_pg [--posts N] [--runs R] [--samples S] [--url postgresql://...]

The stores of N of benchmarks/gen.py's multilingual posts are cached: the SQLite one by
benchmarks/stores.py, the PostgreSQL one as a database named after it in a cluster kept in
benchmarks/.data/pg-cluster (filled from the SQLite store by COPY, the GIN indexes built after).
Without --url that cluster is started for the run and stopped afterwards. Ingest and latency run on
throwaway copies (a file copy; CREATE DATABASE ... TEMPLATE), so the cached stores stay as built.
Figures are medians (latency: p50 and p95) beside the same run's SQLite, with the load average.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import queue
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from benchmarks.gen import COMMON_TERMS, generate_posts, rare_term
from benchmarks.stores import DATA
from deskapp.core.model import Post
from deskapp.core.pg.schema import MIGRATIONS
from deskapp.core.pg.store import PgStore
from deskapp.core.store import Store

ROOT = Path(__file__).resolve().parents[1]
CLUSTER = DATA / "pg-cluster"

FETCHED = datetime(2024, 6, 1, tzinfo=UTC)


def _times_ms(fn: Callable[[], object], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return times


def _median_ms(fn: Callable[[], object], runs: int) -> float:
    return statistics.median(_times_ms(fn, runs))


def _p95(times: list[float]) -> float:
    return statistics.quantiles(times, n=20)[18] if len(times) >= 2 else times[0]


@contextlib.contextmanager
def _server(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.pgserver import running_server

    with running_server() as server:
        yield server.url


@contextlib.contextmanager
def _kept_server() -> Iterator[str]:
    """The benchmark's own cluster (benchmarks/.data/pg-cluster, made once), started for this run."""
    sys.path.insert(0, str(ROOT))
    from tests.pgserver import PgUnavailable, _as_server_user, _free_port, _wait_ready, bindir

    bins = bindir()
    if bins is None:
        raise PgUnavailable("PostgreSQL server binaries not found")
    data = CLUSTER / "data"
    if not (data / "PG_VERSION").exists():
        shutil.rmtree(CLUSTER, ignore_errors=True)
        CLUSTER.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(CLUSTER, "postgres", "postgres")
        CLUSTER.chmod(0o700)
        subprocess.run(_as_server_user([str(bins / "initdb"), "-D", str(data), "-U", "desk", "-A", "trust",
                                        "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]),
                       check=True, capture_output=True, timeout=300)
    port = _free_port()
    # As the tests' server (durability off: benchmark data only), with room to build GIN indexes.
    opts = (f"-p {port} -k {CLUSTER} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c max_connections=100 -c maintenance_work_mem=512MB")
    subprocess.run(_as_server_user([str(bins / "pg_ctl"), "-D", str(data), "-l", str(CLUSTER / "server.log"),
                                    "-o", opts, "-w", "-t", "120", "start"]), check=True, capture_output=True,
                   timeout=180)
    try:
        _wait_ready(port)
        yield f"postgresql://desk@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_server_user([str(bins / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
                       capture_output=True, timeout=180)


def _db_url(base: str, db: str) -> str:
    return base.rsplit("/", 1)[0] + "/" + db


def _cached_pg(base: str, lite_path: Path, n: int, log: Callable[[str], None]) -> str:
    """The URL of a database holding the SQLite store's posts (made by COPY when missing)."""
    from deskapp.core.pg.copy import _rows, _write_pg

    name = f"bench_{lite_path.stem.replace('store-', '').replace('-', '_')}_v{len(MIGRATIONS)}"
    url = _db_url(base, name)
    with psycopg.connect(base, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    if exists:
        with PgStore.open(url, readonly=True) as pg:
            if pg.count_posts() == n:
                log(f"postgresql: cached database {name}")
                return url
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {name}")
    log(f"postgresql: filling {name} from {lite_path.name} by COPY (once; cached)")
    t = time.perf_counter()
    with psycopg.connect(base, autocommit=True) as conn:
        # Databases of the same size built from older stores or schemas are stale: gigabytes each.
        for (stale,) in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s",
                                     (f"bench_{n}_%",)).fetchall():
            conn.execute(f"DROP DATABASE {stale} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    with PgStore.open(url) as pg, Store.open(lite_path, readonly=True) as lite:
        # GIN indexes built once after the rows, not row by row (minutes apart at 10^6).
        with psycopg.connect(url, autocommit=True) as conn:
            gins = [r[0] for r in conn.execute(
                "SELECT indexdef FROM pg_indexes WHERE tablename = 'posts' AND indexdef LIKE '%USING gin%'")]
            conn.execute("DROP INDEX posts_tsv, posts_trgm")
        for table in ("sources", "posts"):
            _write_pg(pg, table, _rows(lite, table), lambda table, done: None)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DELETE FROM attention_queue")  # copied posts are not news
            conn.execute("SET maintenance_work_mem = '512MB'")
            for sql in gins:
                conn.execute(sql)
            conn.execute("VACUUM ANALYZE posts")
        assert pg.count_posts() == n, (pg.count_posts(), n)
    log(f"postgresql: filled in {time.perf_counter() - t:.0f} s")
    return url


def _fresh_posts(n: int, seed: int) -> list[Post]:
    """n generated posts newer than any stored one, under ids no stored post has."""
    out = []
    for p in generate_posts(n, seed=seed):
        pid = p.id + 10_000_000 * seed
        out.append(dataclasses.replace(p, id=pid, url=f"https://t.me/{p.channel}/{pid}",
                                       published=p.published + timedelta(days=3650)))
    return out


def _channel_pages(posts: list[Post], size: int = 20) -> list[tuple[str, list[Post]]]:
    """Pages as the poller fetches them: up to `size` posts of one channel."""
    by: dict[str, list[Post]] = {}
    for p in posts:
        by.setdefault(p.source, []).append(p)
    return [(source, ps[i : i + size]) for source, ps in by.items() for i in range(0, len(ps), size)]


def _ingest(store: Store | PgStore, posts: list[Post]) -> dict[str, float]:
    """posts/s of the bulk path (ingest_many, 10^4 a transaction) and of the poller's page path
    (one transaction per page of up to 20 posts of a channel), into a store that holds the 10^6."""
    bulk, pages = posts[: len(posts) * 4 // 5], posts[len(posts) * 4 // 5 :]
    t = time.perf_counter()
    store.ingest_many(_channel_pages(bulk), fetched_at=FETCHED, commit_every=10_000)
    out = {"bulk_posts_per_s": round(len(bulk) / (time.perf_counter() - t))}
    t = time.perf_counter()
    for source, page in _channel_pages(pages):
        store.ingest_page(source, page, fetched_at=FETCHED)
    out["page_posts_per_s"] = round(len(pages) / (time.perf_counter() - t))
    return out


def _queries() -> dict[str, tuple[str, bool]]:
    """label -> (search text, prefix)."""
    common = COMMON_TERMS[0]
    return {"common": (common, False), "rare": (rare_term(3), False), "cyrillic": (COMMON_TERMS[1], False),
            "two_words": (f"{common} report", False), "phrase": ('"news report"', False),
            "prefix": ("repo", True), "cjk": ("新闻", False), "thai": ("ข่าว", False)}


def _search(lite: Store, pg: PgStore, pg_url: str, runs: int) -> dict[str, float | int]:
    out: dict[str, float | int] = {}
    with psycopg.connect(pg_url, autocommit=True) as conn:
        for label, (q, prefix) in _queries().items():
            for name, store in (("sqlite", lite), ("pg_store", pg)):
                times = _times_ms(lambda q=q, prefix=prefix, store=store: store.search(q, limit=20, prefix=prefix),
                                  runs)
                out[f"search_{label}_{name}_ms"] = round(statistics.median(times), 2)
                out[f"search_{label}_{name}_p95_ms"] = round(_p95(times), 2)
            out[f"hits_{label}"] = len(pg.search(q, limit=20, prefix=prefix))
            if label in ("two_words", "phrase", "prefix"):
                continue
            # The two PostgreSQL indexes side by side, newest first, 20 rows.
            out[f"search_{label}_pg_tsvector_ms"] = round(_median_ms(lambda q=q: conn.execute(
                "SELECT key FROM posts WHERE tsv @@ plainto_tsquery('simple', %s) ORDER BY key DESC LIMIT 20",
                (q,)).fetchall(), runs), 2)
            out[f"search_{label}_pg_trgm_ms"] = round(_median_ms(lambda q=q: conn.execute(
                "SELECT key FROM posts WHERE text ILIKE %s ORDER BY key DESC LIMIT 20",
                (f"%{q}%",)).fetchall(), runs), 2)
        out["pg_index_mb_tsvector"] = round(conn.execute("SELECT pg_relation_size('posts_tsv')").fetchone()[0] / 2**20)
        out["pg_index_mb_trgm"] = round(conn.execute("SELECT pg_relation_size('posts_trgm')").fetchone()[0] / 2**20)
    return out


def run(n: int, runs: int = 7, url: str | None = None, samples: int = 30, fresh: int = 20_000,
        log: Callable[[str], None] = lambda m: print(m, file=sys.stderr, flush=True)) -> dict:
    from benchmarks.stores import store_file
    from benchmarks.suite import cached_store

    out: dict = {"posts": n, "load_before": os.getloadavg()[0]}
    lite_path, _, _ = cached_store(n, DATA, log)
    assert lite_path == store_file(n)
    server = contextlib.nullcontext(url) if url else _kept_server()
    with server as base, tempfile.TemporaryDirectory(prefix="desk-bench-pg-", dir=DATA) as tmp:
        pg_url = _cached_pg(base, lite_path, n, log)
        log("search, newest first")
        with Store.open(lite_path, readonly=True) as lite, PgStore.open(pg_url, readonly=True) as pg:
            out.update(_search(lite, pg, pg_url, runs))
        # Ingest and latency change the store: on throwaway copies of both.
        log("copies for ingest and latency")
        lite_copy = Path(tmp) / "desk.db"
        shutil.copyfile(lite_path, lite_copy)
        clone = f"bench_clone_{os.getpid()}"
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {clone} TEMPLATE {pg_url.rsplit('/', 1)[1]}")
        clone_url = _db_url(base, clone)
        try:
            posts = _fresh_posts(fresh, seed=1)
            log(f"ingest of {fresh:,} new posts into each store of {n:,}")
            for name, opener in (("sqlite", lambda: Store.open(lite_copy)), ("postgresql", lambda: PgStore.open(clone_url))):
                with opener() as store:
                    for k, v in _ingest(store, posts).items():
                        out[f"ingest_{name}_{k}"] = v
            log(f"commit-to-desk latency, {samples} commits each, the desk in another process")
            for name, target in (("sqlite", str(lite_copy)), ("postgresql", clone_url)):
                lags = _desk_latency(target, samples)
                out[f"desk_{name}_p50_ms"] = round(statistics.median(lags), 1)
                out[f"desk_{name}_p95_ms"] = round(_p95(lags), 1)
                out[f"desk_{name}_samples"] = len(lags)
        finally:
            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {clone} WITH (FORCE)")
    out["load_after"] = os.getloadavg()[0]
    return out


# ------------------------------------------------------------------------------ the desk's own path


def _probe(target: str, samples: int, folder: str) -> None:
    """Child process: the real desk, headless, on `target` (--no-poll). Writes 'ready' once it
    watches the store (PostgreSQL: its LISTEN is in force), then 'KEY TIME' each time a read of
    the feed installs a newer newest post, and quits after `samples` of them."""
    from deskapp.config import Settings
    from deskapp.core.backend import is_pg_url
    from deskapp.paths import Paths
    from deskapp.ui.app import DeskApp
    from deskapp.ui.messages import StoreLink
    from deskapp.ui.widgets.feed import FeedView

    trace_to = os.environ.get("DESK_PROBE_TRACE")

    def _trace(line: str) -> None:
        if trace_to:
            with open(trace_to, "a") as f:
                f.write(f"{time.time():.4f} {line}\n")

    def say(line: str) -> None:
        _trace(line)
        os.write(1, (line + "\n").encode())  # Textual captures print() while the app runs

    class Probe(DeskApp):
        CSS_PATH = str(Path(sys.modules[DeskApp.__module__].__file__).parent / DeskApp.CSS_PATH)
        seen_newest = 0
        told = 0
        ready = False

        def on_mount(self) -> None:
            if not self.on_pg:
                self.call_after_refresh(self._say_ready)

        def on_store_link(self, message: StoreLink) -> None:
            if message.up:
                self.call_after_refresh(self._say_ready)

        def _say_ready(self) -> None:
            basis = self.feed.windows.basis
            self.seen_newest = max(self.seen_newest, basis[1] if basis else 0)
            if not self.ready:
                self.ready = True
                say("ready")

        def on_store_notified(self, message) -> None:
            _trace(f"notified {message.channel} {message.payload}")

        def on_feed_view_state_read(self, message) -> None:
            _trace(f"state_read cost={message.cost * 1000:.1f}ms")

        def on_feed_view_reloaded(self, message: FeedView.Reloaded) -> None:
            basis = self.feed.windows.basis
            newest = basis[1] if basis else 0
            if not self.ready:  # a read of the desk's own start-up (its attention work, say): not a sample
                self.seen_newest = max(self.seen_newest, newest)
            elif newest > self.seen_newest:
                self.seen_newest = newest
                say(f"{newest} {time.time()}")
                self.told += 1
                if self.told >= samples:
                    self.exit()

    store = None if is_pg_url(target) else Path(target)
    paths = Paths(config=Path(folder) / "config.toml", store=store or Path(folder) / "unused.db",
                  state=Path(folder) / "state", store_url=target if store is None else None)
    Probe(settings=Settings(path=None, sources=[]), paths=paths, poll=False).run(headless=True, size=(120, 40))


def _desk_latency(target: str, samples: int) -> list[float]:
    """ms from the start of each ingest_page call (its transaction and commit included) to the desk
    in another process having read the post into its feed."""
    lines: queue.Queue[str] = queue.Queue()
    with tempfile.TemporaryDirectory(prefix="desk-probe-") as folder:
        env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
        proc = subprocess.Popen([sys.executable, "-m", "benchmarks.bench_pg", "--probe", target, str(samples), folder],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT, env=env)
        assert proc.stdout is not None
        reader = threading.Thread(target=lambda: [lines.put(line.strip()) for line in proc.stdout], daemon=True)
        reader.start()
        lags = []
        rng = random.Random(7)
        try:
            while lines.get(timeout=300) != "ready":
                pass
            opener = PgStore.open if target.startswith("postgresql") else Store.open
            with opener(target) as store:
                for i, post in enumerate(_fresh_posts(samples, seed=5)):
                    # Each one the newest of the store, so the desk's newest post tells it arrived.
                    post = dataclasses.replace(post, published=post.published + timedelta(days=3650, minutes=i))
                    time.sleep(0.3 + rng.random() * 0.4)  # apart, so no refresh waits on the one before
                    started = time.time()
                    key = store.ingest_page(post.source, [post], fetched_at=FETCHED).max_key
                    if os.environ.get("DESK_PROBE_TRACE"):
                        with open(os.environ["DESK_PROBE_TRACE"], "a") as f:
                            f.write(f"{started:.4f} commit-start {key}\n{time.time():.4f} committed\n")
                    while True:
                        got, at = lines.get(timeout=30).split()
                        if int(got) >= key:
                            break
                    lags.append((float(at) - started) * 1000)
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return lags


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--probe":
        _probe(sys.argv[2], int(sys.argv[3]), sys.argv[4])
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--posts", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--samples", type=int, default=30, help="commits per store for the commit-to-desk latency")
    ap.add_argument("--url", help="a PostgreSQL server to use (default: the benchmark's own cluster)")
    args = ap.parse_args()
    print(json.dumps(run(args.posts, args.runs, args.url, args.samples), indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
