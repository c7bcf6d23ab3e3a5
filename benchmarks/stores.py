"""Stores of generated posts for the benchmarks: one builder, cached by what built them.

A store is cached under benchmarks/.data/ as `store-<n>-g<generator fingerprint>-s<schema
fingerprint>.db`: the generator fingerprint hashes the first posts benchmarks/gen.py generates, the
schema fingerprint hashes a fresh store's `sqlite_master`, so a change to either builds a new store
instead of measuring a stale one. A JSON file beside each store keeps how fast it was built.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / ".data"
FETCHED = datetime(2025, 1, 1, tzinfo=UTC)
CHANNELS = 500


# ------------------------------------------------------------------------------ fingerprints


def gen_fingerprint() -> str:
    """Hash of what the generator produces (its first 300 posts): changes when its output does."""
    from benchmarks.gen import generate_posts

    h = hashlib.sha1()
    for p in generate_posts(300, channels=CHANNELS):
        h.update(repr((p.source, p.id, p.published.isoformat(), p.text, p.views, p.media, p.album_ids,
                       p.forwarded_from, p.reply_to, p.service, p.edited, p.author)).encode())
    return h.hexdigest()[:8]


def schema_fingerprint() -> str:
    """Hash of a fresh store's schema (tables, indexes, triggers, FTS options, user_version)."""
    from deskapp.core.store import Store

    with tempfile.TemporaryDirectory() as tmp, Store.open(Path(tmp) / "s.db") as store:
        conn = store._conn
        rows = conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY type, name").fetchall()
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    return hashlib.sha1(repr((rows, version)).encode()).hexdigest()[:8]


def store_file(n: int, data: Path = DATA) -> Path:
    return data / f"store-{n}-g{gen_fingerprint()}-s{schema_fingerprint()}.db"


# ------------------------------------------------------------------------------ store building


def build_store(n: int, path: Path) -> dict[str, Any]:
    """Build a store of n generated posts (in THIS process; the suite calls it in a child).
    Time inside `ingest_many` only (generation excluded) gives the ingest rate at this size."""
    from benchmarks.gen import generate_posts
    from deskapp.core.model import SourceConfig
    from deskapp.core.store import Store

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".building")
    for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        p.unlink(missing_ok=True)
    spent = 0.0
    t_all = time.perf_counter()
    with Store.open(tmp) as store:
        it = generate_posts(n, channels=CHANNELS)
        seen: set[str] = set()
        while True:
            chunk = list(islice(it, 50_000))
            if not chunk:
                break
            pages: dict[str, list[Any]] = defaultdict(list)
            for post in chunk:
                pages[post.source].append(post)
            new = [s for s in pages if s not in seen]
            if new:
                store.sync_sources([SourceConfig(name=s, kind="telegram", handle=pages[s][0].channel) for s in new])
                seen.update(new)
            batches = [(s, ps[i:i + 20]) for s, ps in pages.items() for i in range(0, len(ps), 20)]
            t0 = time.perf_counter()
            store.ingest_many(batches, fetched_at=FETCHED)
            spent += time.perf_counter() - t0
        store._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        count = store.count_posts()
    tmp.rename(path)
    meta = {"posts": count, "built": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "load": _load(),
            "ingest_s": round(spent, 1), "ingest_posts_per_s": round(n / spent) if spent else None,
            "build_s": round(time.perf_counter() - t_all, 1), "mb": round(path.stat().st_size / 1e6, 1)}
    path.with_suffix(".json").write_text(json.dumps(meta))
    return meta


def _load() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None
