"""The desk's small PostgreSQL calls, one version of the code beside another in the same run: the
post reads it makes per key and repaint (get, get_by_key, the feed's read_state), the pinboard,
desk preferences and sources it reads, a pin and unpin, and the poller's per-poll source writes
(record_success, record_failure). Written to see what running the shared `?`-placeholder code
(core/pg/shared_sql.py) costs against PostgreSQL's own copies it replaced.

    python -m benchmarks.bench_pg_shared [--posts N] [--rounds R] [--calls C] [--ops a,b] [VERSION ...]

A VERSION is a git revision (its deskapp/ is exported to a temporary folder) or `.` for this working
tree; default: the parent of 27ec404 (before the sharing) and `.`. The oldest goes first: its code
fills a database of N of benchmarks/gen.py's posts on one throwaway server (tests/pgserver.py), and
each version gets a copy of it (CREATE DATABASE ... TEMPLATE; it migrates its own up) and a child
process of its own; the parent asks the children in turn, one operation at a time (C calls
each, R rounds, the order of the versions shuffled each round), so load from other work falls on
all of them alike. Figures: median and p95 per call in ms over all rounds but the first (warm-up),
the client's CPU per call (median over the batches of C), and the load average before and after.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import time

OPS = ("get", "get_by_key", "read_state", "feed_page", "pins", "desk_prefs", "sources", "pin_unpin",
       "record_success", "record_failure")


# ------------------------------------------------------------------------------ child (one version)


def _child(url: str) -> None:
    """Serve `OP CALLS` lines on stdin with [per-call ms, this process's CPU ms per call] as JSON on
    stdout (the CPU time is the client's own work, which waits on neither the server nor the load). Imports deskapp
    from PYTHONPATH (the version under test), nothing from benchmarks/."""
    from datetime import UTC, datetime, timedelta

    import deskapp
    from deskapp.core.pg.store import PgStore
    from deskapp.ui.widgets.feed import read_state

    desk = f"bench{os.getpid()}"
    store = PgStore.open(url, desk=desk)
    rng = random.Random(os.getpid())
    with store._pool.connection() as conn:
        keys = [r[0] for r in conn.execute("SELECT key FROM posts TABLESAMPLE SYSTEM (5) LIMIT 2000")]
        ids = [tuple(r) for r in conn.execute("SELECT source, post_id FROM posts TABLESAMPLE SYSTEM (5) LIMIT 2000")]
        names = [r[0] for r in conn.execute("SELECT name FROM sources")]
    for source, post_id in ids[:10]:  # a board of 10 pins, as an editor's
        store.pin(source, post_id, note="bench")
    store.set_desk_prefs(citation="markdown", heading="Sources")
    spare = ids[10:]
    now = datetime.now(UTC)
    newest = store.feed(1)[0].key

    def pin_unpin() -> None:
        source, post_id = rng.choice(spare)
        store.pin(source, post_id)
        store.unpin(source, post_id)

    ops = {
        "get": lambda: store.get(*rng.choice(ids)),
        "get_by_key": lambda: store.get_by_key(rng.choice(keys)),
        # The desk's repaint: count, anchor and windows in one snapshot, mute rules applied.
        "read_state": lambda: read_state(store, query=None, sources=None, anchor_key=rng.choice(keys),
                                         screen_row=10, height=40, seen_key=newest, hide_muted=True),
        "feed_page": lambda: store.feed(100, before_key=rng.choice(keys), hide_muted=True),
        "pins": store.pins,
        "desk_prefs": store.desk_prefs,
        "sources": store.sources,
        "pin_unpin": pin_unpin,
        "record_success": lambda: store.record_success(rng.choice(names), at=now, next_poll=now + timedelta(minutes=5),
                                                       etag='"e1"', last_modified=None),
        "record_failure": lambda: store.record_failure(rng.choice(names), at=now, reason="HTTP 502",
                                                       next_poll=now + timedelta(minutes=5)),
    }
    print(json.dumps({"ready": deskapp.__file__}), flush=True)
    for line in sys.stdin:
        op, calls = line.split()
        times = []
        cpu = time.process_time()
        for _ in range(int(calls)):
            t = time.perf_counter()
            ops[op]()
            times.append((time.perf_counter() - t) * 1000)
        print(json.dumps([times, (time.process_time() - cpu) * 1000 / int(calls)]), flush=True)
    store.clear_pins()
    store.close()


# ------------------------------------------------------------------------------ parent


def _p95(times: list[float]) -> float:
    return statistics.quantiles(times, n=20)[18]


def _export(rev: str, into: str) -> str:
    """deskapp/ as it was at `rev`, in a folder of its own (the import root for that version)."""
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    if rev == ".":
        return str(root)
    folder = Path(into) / rev.replace("/", "_")
    folder.mkdir()
    archive = subprocess.run(["git", "-C", str(root), "archive", rev, "deskapp"], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return str(folder)


def _fill(url: str, n: int) -> None:
    """Child process: n generated posts into the database at `url`, by the deskapp on PYTHONPATH
    (the first version's, so that every version can open the store and migrate it up)."""
    import psycopg

    from benchmarks.bench_pg_attention import FETCHED, _pages
    from benchmarks.gen import generate_posts
    from deskapp.core.pg.store import PgStore

    with PgStore.open(url) as store:
        store.ingest_many(_pages(generate_posts(n)), fetched_at=FETCHED, commit_every=10_000)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DELETE FROM attention_queue")  # stored posts are not news
        conn.execute("VACUUM ANALYZE")


def _wrapper_cost(url: str, blocks: int = 30, per_block: int = 200) -> dict[str, float]:
    """What the `?` face itself costs one statement, in this process (this tree's QmarkConnection):
    the conversion and a cursor's constructor alone, then a one-row read by key (the columns of a
    post) on one open connection three ways, alternated in blocks: on a psycopg cursor already used,
    on a new psycopg cursor per statement (how the face ran every statement until 2026-12-02 19:00),
    and through the face. Medians of the blocks' per-call CPU and wall time, in microseconds."""
    import timeit

    import psycopg

    from deskapp.core.pg.shared_sql import QmarkConnection, qmark_to_pg
    from deskapp.core.store_rows import POST_COLS, post_from_pins

    sql = f"SELECT {POST_COLS} FROM posts p {post_from_pins('default')} WHERE p.key = ?"
    out = {"qmark_to_pg_us": round(timeit.timeit(lambda: qmark_to_pg(sql), number=20_000) / 20_000 * 1e6, 2)}
    with psycopg.connect(url) as conn:
        key = conn.execute("SELECT max(key) FROM posts").fetchone()[0]
        out["cursor_constructor_us"] = round(timeit.timeit(conn.cursor, number=20_000) / 20_000 * 1e6, 2)
        cur, face, pg_sql = conn.cursor(), QmarkConnection(conn.cursor()), qmark_to_pg(sql)
        ways = {"used_cursor": lambda: cur.execute(pg_sql, (key,)).fetchone(),
                "new_cursor": lambda: conn.cursor().execute(pg_sql, (key,)).fetchone(),
                "face": lambda: face.execute(sql, (key,)).fetchone()}
        cpu: dict[str, list[float]] = {w: [] for w in ways}
        wall: dict[str, list[float]] = {w: [] for w in ways}
        for b in range(blocks + 1):
            for w, fn in ways.items():
                c, t = time.process_time(), time.perf_counter()
                for _ in range(per_block):
                    fn()
                if b:  # block 0 warms up (and lets psycopg prepare the statement)
                    cpu[w].append((time.process_time() - c) / per_block * 1e6)
                    wall[w].append((time.perf_counter() - t) / per_block * 1e6)
        for w in ways:
            out[f"read_{w}_cpu_us"] = round(statistics.median(cpu[w]), 1)
            out[f"read_{w}_wall_us"] = round(statistics.median(wall[w]), 1)
    return out


def run(versions: list[str], n: int, rounds: int, calls: int, log, ops: tuple[str, ...] = OPS) -> dict:  # type: ignore[no-untyped-def]
    import subprocess
    import tempfile
    from pathlib import Path

    import psycopg

    from benchmarks.bench_pg import _db_url, _server

    out: dict = {"posts": n, "rounds": rounds, "calls": calls, "load_before": os.getloadavg()}
    repo = str(Path(__file__).resolve().parents[1])
    with tempfile.TemporaryDirectory(prefix="desk-bench-shared-") as tmp, _server(None) as server:
        roots = {v: _export(v, tmp) for v in versions}
        t = time.perf_counter()
        filled = _db_url(server, "bench_filled")
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute("CREATE DATABASE bench_filled")
        subprocess.run([sys.executable, __file__, "--fill", filled, str(n)], check=True, cwd=repo,
                       env={**os.environ, "PYTHONPATH": f"{roots[versions[0]]}{os.pathsep}{repo}"})
        # A copy of the same rows for each version: each migrates its own up, and writes to its own tables.
        urls = {}
        with psycopg.connect(server, autocommit=True) as conn:
            for i, v in enumerate(versions):
                conn.execute(f"CREATE DATABASE bench_v{i} TEMPLATE bench_filled")
                urls[v] = _db_url(server, f"bench_v{i}")
        log(f"{n:,} posts filled and copied in {time.perf_counter() - t:.0f} s")
        out["wrapper"] = _wrapper_cost(urls[versions[-1]])
        children = {}
        try:
            for v, root in roots.items():
                env = {**os.environ, "PYTHONPATH": root}
                children[v] = subprocess.Popen([sys.executable, __file__, "--child", urls[v]], stdin=subprocess.PIPE,
                                               stdout=subprocess.PIPE, text=True, cwd=root, env=env)
                ready = json.loads(children[v].stdout.readline())["ready"]  # type: ignore[union-attr]
                assert ready.startswith(root), (v, ready)  # that version's code, not the installed one
                log(f"{v}: {ready}")
            times: dict[str, dict[str, list[float]]] = {v: {op: [] for op in ops} for v in versions}
            cpu: dict[str, dict[str, list[float]]] = {v: {op: [] for op in ops} for v in versions}
            order = list(versions)
            rng = random.Random(1)
            for r in range(rounds + 1):
                for op in ops:
                    rng.shuffle(order)
                    for v in order:
                        child = children[v]
                        child.stdin.write(f"{op} {calls}\n")  # type: ignore[union-attr]
                        child.stdin.flush()  # type: ignore[union-attr]
                        got, cpu_ms = json.loads(child.stdout.readline())  # type: ignore[union-attr]
                        if r:  # round 0 warms connections, caches and prepared statements
                            times[v][op] += got
                            cpu[v][op].append(cpu_ms)
                log(f"round {r}/{rounds}, load {os.getloadavg()[0]:.2f}")
        finally:
            for child in children.values():
                child.stdin.close()  # type: ignore[union-attr]
                child.wait(timeout=60)
    for op in ops:
        out[op] = {v: {"median_ms": round(statistics.median(times[v][op]), 3), "p95_ms": round(_p95(times[v][op]), 3),
                       "cpu_ms": round(statistics.median(cpu[v][op]), 3), "calls": len(times[v][op])} for v in versions}
    out["load_after"] = os.getloadavg()
    return out


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        _child(sys.argv[2])
        return
    if len(sys.argv) == 4 and sys.argv[1] == "--fill":
        _fill(sys.argv[2], int(sys.argv[3]))
        return
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("versions", nargs="*", default=["27ec404^", "."])
    ap.add_argument("--posts", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--calls", type=int, default=20)
    ap.add_argument("--ops", default=",".join(OPS), help=f"some of {','.join(OPS)}")
    args = ap.parse_args()
    ops = tuple(args.ops.split(","))
    res = run(args.versions, args.posts, args.rounds, args.calls, lambda m: print(m, file=sys.stderr, flush=True), ops)
    print(json.dumps(res, indent=1))
    print(f"\nthe ? face per statement (us): {res['wrapper']}")
    print(f"load average before {res['load_before']}, after {res['load_after']}")
    print(f"{'operation':16}" + "".join(f"{v:>30}" for v in args.versions) + "   (median / p95 / client CPU, ms)")
    for op in ops:
        print(f"{op:16}" + "".join(f"{res[op][v]['median_ms']:>10.3f} /{res[op][v]['p95_ms']:>7.3f} /{res[op][v]['cpu_ms']:>7.3f}"
                                   for v in args.versions))


if __name__ == "__main__":
    main()
