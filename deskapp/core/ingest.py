"""The ingest engine: posts in, rows out, one transaction at a time.

`IngestTx` upserts pages inside a write transaction the Store opens; `Prepare` is its pure-Python
half (clean, hash, format, wanted keys), kept apart so bulk ingest can run it in a worker thread;
`stage_bulk` / `apply_bulk` are the bulk path of `Store.ingest_many` (a chunk staged in a private
in-memory database, then written with one INSERT ... SELECT). Keys are described in store.py.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import zlib
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from deskapp.core import grams
from deskapp.core.model import Post, utc_iso
from deskapp.core.sanitize import clean_line, clean_post, clean_url, post_problem

T = TypeVar("T")

KEY_SHIFT = 20
KEY_MASK = (1 << KEY_SHIFT) - 1
IN_CHUNK = 500  # host parameters per IN (...) list


@dataclass
class IngestResult:
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    max_key: int = 0  # the largest key among the posts of this call (new or not); 0 when none
    refused: list[str] = field(default_factory=list)  # posts the gate would not store, one reason each

    def add(self, other: IngestResult) -> None:
        self.new += other.new
        self.changed += other.changed
        self.unchanged += other.unchanged
        self.max_key = max(self.max_key, other.max_key)
        self.refused.extend(other.refused)


# How the text of a post was captured: ("fetched", URL) or ("imported", file path). Stored with the
# row (posts.capture_how / capture_from; the time is text_seen) and moved to `revisions` with the text.
# Each page carries its own (an import writes many files in one transaction).
# A caller that does not say (benchmarks, tools) stores NULLs: "not recorded", never a guess.
Provenance = tuple[str | None, str | None]
UNKNOWN_PROVENANCE: Provenance = (None, None)
# One page for bulk ingest: (source, posts, how they were captured).
Batch = tuple[str, list[Post], Provenance]


def clean_provenance(capture: Provenance) -> Provenance:
    """The URL or file name is ours to record but not ours to trust (a file may be named with escape
    sequences; a redirect chooses the final path): through the gate like any field."""
    how, where = capture
    if how is None:
        return None, None
    return how, (clean_url(where) if how == "fetched" else (clean_line(where) or None))


def make_key(source: str, post_id: int, published: datetime) -> int:
    """The un-probed ordering key of a post (the ordering key: see the docstring of store.py)."""
    return (unix_seconds(published) << KEY_SHIFT) | (zlib.crc32(f"{source}/{post_id}".encode()) & KEY_MASK)


def key_time(key: int) -> datetime:
    """The publication second a key encodes (approximate by < 1 s when the key was probed)."""
    return datetime.fromtimestamp(key >> KEY_SHIFT, UTC)


def unix_seconds(ts: datetime) -> int:
    if ts.tzinfo is None:  # the model says aware UTC; a naive value is taken as UTC, not local
        ts = ts.replace(tzinfo=UTC)
    return int(ts.timestamp())


_DAYS: dict[int, str] = {}


def _iso_of_unix(unix: int) -> str:
    """utc_iso of a unix second, with the date part cached per day (a hot path of bulk ingest)."""
    day, secs = divmod(unix, 86400)
    date = _DAYS.get(day)
    if date is None:
        if len(_DAYS) > 100_000:
            _DAYS.clear()
        date = _DAYS[day] = datetime.fromtimestamp(day * 86400, UTC).strftime("%Y-%m-%dT")
    hours, secs = divmod(secs, 3600)
    minutes, secs = divmod(secs, 60)
    return f"{date}{hours:02d}:{minutes:02d}:{secs:02d}Z"


def chunked(items: list[T], size: int = IN_CHUNK) -> Iterator[list[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def placeholders(n: int) -> str:
    return ",".join("?" * n)


# An unchanged text: refresh what a re-poll may legitimately change; never touch `text` (the FTS
# trigger fires only on UPDATE OF text).
_UPDATE_SEEN = (
    "UPDATE posts SET channel = ?, channel_title = coalesce(?, channel_title), url = ?, author = ?, "
    "views = coalesce(?, views), views_count = coalesce(?, views_count), views_seen = coalesce(?, views_seen), "
    "edited = ?, fwd_name = ?, fwd_url = ?, reply_to = ?, album_ids = ?, media = ?, service = ?, last_seen = ? "
    "WHERE key = ?"
)
_KEEP_REVISION = (
    "INSERT INTO revisions (source, post_id, text, text_sha256, captured, replaced, capture_how, capture_from) "
    "SELECT source, post_id, text, text_sha256, coalesce(text_seen, first_seen), ?, capture_how, capture_from "
    "FROM posts WHERE key = ?"
)
_UPDATE_CHANGED = (
    "UPDATE posts SET channel = ?, channel_title = coalesce(?, channel_title), url = ?, author = ?, "
    "views = coalesce(?, views), views_count = coalesce(?, views_count), views_seen = coalesce(?, views_seen), "
    "edited = ?, fwd_name = ?, fwd_url = ?, reply_to = ?, album_ids = ?, media = ?, service = ?, last_seen = ?, "
    "text = ?, text_sha256 = ?, text_seen = ?, capture_how = ?, capture_from = ?, revisions = revisions + 1 "
    "WHERE key = ?"
)


# A prepared row (Prepare.page) is already in the column order of _BULK_COLS, key first (the
# un-probed key until a key is settled); the page path's temp table adds the four time columns.
_BULK_COLS = (
    "key, source, post_id, channel, channel_title, url, published, text, author, views, views_count, "
    "edited, fwd_name, fwd_url, reply_to, album_ids, media, service, text_sha256, capture_how, capture_from"
)
(_P_KEY, _P_SOURCE, _P_ID, _P_CHANNEL, _P_TITLE, _P_URL, _P_PUBLISHED, _P_TEXT, _P_AUTHOR, _P_VIEWS,
 _P_VIEWS_COUNT, _P_EDITED, _P_FWD_NAME, _P_FWD_URL, _P_REPLY_TO, _P_ALBUM, _P_MEDIA, _P_SERVICE,
 _P_SHA, _P_CAPTURE_HOW, _P_CAPTURE_FROM) = range(21)  # fmt: skip
_STAGE_COLS = _BULK_COLS + ", views_seen, first_seen, last_seen, text_seen"
_R_VIEWS_SEEN, _R_FIRST_SEEN, _R_LAST_SEEN, _R_TEXT_SEEN = range(21, 25)
_CREATE_STAGE = f"CREATE TEMP TABLE IF NOT EXISTS desk_stage ({_STAGE_COLS})"
_FILL_STAGE = f"INSERT INTO temp.desk_stage VALUES ({placeholders(25)})"
_FROM_STAGE = f"INSERT INTO posts ({_STAGE_COLS}) SELECT {_STAGE_COLS} FROM temp.desk_stage ORDER BY key"


def _ids_json(ids: list[int]) -> str:
    if all(type(i) is int for i in ids):
        return "[" + ",".join(map(str, ids)) + "]"  # json.dumps costs ~5 us; this is the common case
    return json.dumps(list(ids))


class Prepare:
    """The pure-Python half of an upsert (no database): clean, hash, format, compute wanted keys.

    Kept apart so that bulk ingest can run it in a worker thread while SQLite (which releases
    the GIL while it steps) indexes the previous chunk on the other core.
    """

    def __init__(self, fetched: str) -> None:
        self.fetched = fetched
        self._media_json: dict[tuple[str, ...], str] = {}
        self.refused: list[str] = []  # posts `post_problem` refused since the last `take_refused`

    def _media(self, media: list[str]) -> str:
        key = tuple(media)
        out = self._media_json.get(key)
        if out is None:
            if len(self._media_json) > 10_000:
                self._media_json.clear()
            out = self._media_json[key] = json.dumps(media)
        return out

    def take_refused(self) -> list[str]:
        out, self.refused = self.refused, []
        return out

    def page(self, source: str, posts: list[Post],
             capture: Provenance = UNKNOWN_PROVENANCE) -> dict[int, tuple[Any, ...]]:
        """post id -> prepared row (the _P_* fields); a repeated id keeps its last occurrence.

        Every post passes the sanitize gate here, whoever built it (parser, import, another tool):
        a post it refuses is left out with its reason in `refused`; every other field is stored
        clean (so the sha256 and the change test are over the text as stored)."""
        crc = zlib.crc32
        prefix = f"{source}/"
        how, where = clean_provenance(capture)
        prepared: dict[int, tuple[Any, ...]] = {}
        for p in posts:
            problem = post_problem(p)
            if problem is not None:
                self.refused.append(f"{source} post {str(p.id)[:40]}: {problem}")
                continue
            p = clean_post(p)
            text = p.text
            fwd = p.forwarded_from
            unix = unix_seconds(p.published)
            pid = p.id
            prepared[pid] = (
                (unix << KEY_SHIFT) | (crc(f"{prefix}{pid}".encode()) & KEY_MASK),
                source,
                pid,
                p.channel,
                p.channel_title,
                p.url,
                _iso_of_unix(unix),
                text,
                p.author,
                p.views,
                p.views_count,
                int(p.edited),
                fwd.name if fwd is not None else None,
                fwd.url if fwd is not None else None,
                p.reply_to,
                _ids_json(p.album_ids) if p.album_ids else None,
                self._media(p.media) if p.media else None,
                int(p.service),
                hashlib.sha256(text.encode()).hexdigest(),
                how,
                where,
            )
        return prepared


class IngestTx:
    """The upserts of one write transaction.

    New rows are collected and inserted at `finish` with ONE `INSERT ... SELECT` from a temp
    table, in key order. Why: the FTS5 insert trigger runs inside each statement, and SQLite 3.40's
    FTS5 flushes its pending index data at every statement savepoint; one executemany step per
    row meant one tiny FTS segment per row and a merge storm (about 3x slower bulk ingest).
    """

    def __init__(self, conn: sqlite3.Connection, fetched: str, capture: Provenance = UNKNOWN_PROVENANCE) -> None:
        self.conn = conn
        self.fetched = fetched
        self.capture = capture  # for `add` without one
        self.result = IngestResult()
        self.pending: dict[tuple[str, int], tuple[Any, ...]] = {}
        self.pending_keys: set[int] = set()
        self.sources: set[str] = set()
        self.new_by_source: dict[str, int] = {}  # added to sources.post_count at finish
        self.prep = Prepare(fetched)

    def add(self, source: str, posts: list[Post], capture: Provenance | None = None) -> None:
        if posts:
            self.add_prepared(source, self.prep.page(source, posts, capture or self.capture))
            self.result.refused.extend(self.prep.take_refused())

    def add_prepared(self, source: str, prepared: dict[int, tuple[Any, ...]]) -> None:
        if not prepared:
            return
        conn, fetched, result = self.conn, self.fetched, self.result
        self.ensure_source(source)
        pending = self.pending
        lookup = [i for i in prepared if (source, i) not in pending]
        existing: dict[int, tuple[int, str]] = {}
        for chunk in chunked(lookup):
            for post_id, key, sha in conn.execute(
                f"SELECT post_id, key, text_sha256 FROM posts WHERE source = ? AND post_id IN ({placeholders(len(chunk))})",
                [source, *chunk],
            ):
                existing[post_id] = (key, sha)
        new_ids = [i for i in lookup if i not in existing]
        if new_ids:
            self._insert_new(source, new_ids, prepared)
        new_set = set(new_ids)

        updates: list[tuple[str, int, tuple[Any, ...], int, str]] = []
        for post_id, r in prepared.items():
            staged = pending.get((source, post_id))
            if staged is not None and post_id not in new_set:
                # Repeated within this transaction: the later copy replaces the staged row (key,
                # published and first_seen stay; views and title as coalesce() would keep them).
                same = staged[_P_SHA] == r[_P_SHA]
                if r[_P_VIEWS] is not None:
                    views = (r[_P_VIEWS], r[_P_VIEWS_COUNT], fetched)
                else:
                    views = (staged[_P_VIEWS], staged[_P_VIEWS_COUNT], staged[_R_VIEWS_SEEN])
                title = r[_P_TITLE] if r[_P_TITLE] is not None else staged[_P_TITLE]
                pending[(source, post_id)] = (
                    staged[_P_KEY], source, post_id, r[_P_CHANNEL], title, r[_P_URL], staged[_P_PUBLISHED],
                    r[_P_TEXT], r[_P_AUTHOR], views[0], views[1], *r[_P_EDITED:], views[2],
                    staged[_R_FIRST_SEEN], fetched, staged[_R_TEXT_SEEN] if same else fetched,
                )
                result.max_key = max(result.max_key, staged[_P_KEY])
                if same:
                    result.unchanged += 1
                else:
                    result.changed += 1
            elif post_id in existing:
                key, sha = existing[post_id]
                updates.append((source, post_id, r, key, sha))
        self.update_existing(updates)

    def ensure_source(self, source: str) -> None:
        if source not in self.sources:
            ensure_source(self.conn, source)
            self.sources.add(source)

    def update_existing(self, items: list[tuple[str, int, tuple[Any, ...], int, str]]) -> None:
        """Stored posts seen again: (source, post_id, prepared row, key, stored sha256).

        Same text -> refresh last_seen, views and metadata; new text -> keep the old one as a
        revision, then update.
        """
        if not items:
            return
        fetched, result = self.fetched, self.result
        seen_rows: list[tuple[Any, ...]] = []
        changed_rows: list[tuple[Any, ...]] = []
        changed_texts: list[tuple[int, str]] = []  # (key, new text) for the CJK/Thai word index
        revision_rows: list[tuple[Any, ...]] = []
        for _source, _post_id, r, key, sha in items:
            result.max_key = max(result.max_key, key)
            meta = (r[_P_CHANNEL], r[_P_TITLE], r[_P_URL], r[_P_AUTHOR], r[_P_VIEWS], r[_P_VIEWS_COUNT],
                    fetched if r[_P_VIEWS] is not None else None, *r[_P_EDITED:_P_SHA], fetched)
            if r[_P_SHA] == sha:
                seen_rows.append((*meta, key))
            else:
                revision_rows.append((fetched, key))
                changed_rows.append((*meta, r[_P_TEXT], r[_P_SHA], fetched, r[_P_CAPTURE_HOW], r[_P_CAPTURE_FROM], key))
                changed_texts.append((key, r[_P_TEXT]))
        conn = self.conn
        if seen_rows:
            conn.executemany(_UPDATE_SEEN, seen_rows)
            result.unchanged += len(seen_rows)
        if changed_rows:
            conn.executemany(_KEEP_REVISION, revision_rows)
            for chunk in chunked([key for key, _ in changed_texts]):
                grams.unindex(conn, conn.execute(
                    f"SELECT key, text FROM posts WHERE key IN ({placeholders(len(chunk))})", chunk).fetchall())
            conn.executemany(_UPDATE_CHANGED, changed_rows)
            grams.index(conn, changed_texts)
            result.changed += len(changed_rows)

    def _insert_new(self, source: str, new_ids: list[int], prepared: dict[int, tuple[Any, ...]]) -> None:
        """Give each new post its key (probing past keys held by other posts) and stage its row."""
        conn, fetched, result = self.conn, self.fetched, self.result
        wanted = {i: prepared[i][_P_KEY] for i in new_ids}
        taken = self.pending_keys
        in_db: set[int] = set()
        cands = list(set(wanted.values()))
        for chunk in chunked(cands):
            in_db.update(r[0] for r in conn.execute(f"SELECT key FROM posts WHERE key IN ({placeholders(len(chunk))})", chunk))
        for post_id in new_ids:
            key = wanted[post_id]
            while key in taken or key in in_db or (
                key != wanted[post_id] and conn.execute("SELECT 1 FROM posts WHERE key = ?", (key,)).fetchone()
            ):
                key += 1
            taken.add(key)
            r = prepared[post_id]
            views_seen = fetched if r[_P_VIEWS] is not None else None
            self.pending[(source, post_id)] = (key, *r[1:], views_seen, fetched, fetched, fetched)
            result.max_key = max(result.max_key, key)
        result.new += len(new_ids)
        self.new_by_source[source] = self.new_by_source.get(source, 0) + len(new_ids)

    def count_new(self) -> None:
        if self.new_by_source:
            self.conn.executemany("UPDATE sources SET post_count = post_count + ? WHERE name = ?",
                                  [(n, source) for source, n in self.new_by_source.items()])
            self.new_by_source.clear()

    def finish(self) -> None:
        self.count_new()
        if not self.pending:
            return
        conn = self.conn
        conn.execute(_CREATE_STAGE)
        conn.execute("DELETE FROM temp.desk_stage")
        rows = sorted(self.pending.values())
        conn.executemany(_FILL_STAGE, rows)
        conn.execute(_FROM_STAGE)
        grams.index(conn, [(r[_P_KEY], r[_P_TEXT]) for r in rows])
        conn.execute("DELETE FROM temp.desk_stage")
        self.pending.clear()
        self.pending_keys.clear()


# Bulk ingest stages each chunk in a private in-memory database built by the worker thread
# (binding 20 columns a row is Python work) and handed to the writer as bytes
# (serialize/deserialize): the writer's thread is then left with SQL that runs without the GIL.
CAN_DESERIALIZE = hasattr(sqlite3.Connection, "deserialize")
# The staged row ends with its CJK/Thai bigrams (grams.grams, NULL when none), computed by the worker
# thread: a `text GLOB` over the chunk in the writer cost SQLite 40 us a post (its character-class
# match is interpreted per character), three quarters of a bulk write.
_BULK_CREATE = "CREATE TABLE stage (key INTEGER PRIMARY KEY, " + _BULK_COLS.split(", ", 1)[1] + ", grams TEXT)"
_BULK_FILL = f"INSERT INTO stage VALUES ({placeholders(22)})"
_BULK_GRAMS = "INSERT INTO posts_grams (rowid, grams) SELECT key, grams FROM desk_bulk.stage WHERE grams IS NOT NULL"
_BULK_INSERT = (
    f"INSERT INTO posts ({_BULK_COLS}, views_seen, first_seen, last_seen, text_seen) "
    f"SELECT {_BULK_COLS}, CASE WHEN views IS NULL THEN NULL ELSE ?1 END, ?1, ?1, ?1 "
    "FROM desk_bulk.stage ORDER BY key"
)


@dataclass
class BulkChunk:
    prepared: list[tuple[str, dict[int, tuple[Any, ...]]]]
    blob: bytes | None  # the staged rows; None when the chunk repeats a post (it takes the page path)
    refused: list[str] = field(default_factory=list)  # posts the gate left out of the chunk


BULK_FIRST_CHUNK = 2_500


def bulk_chunk_targets(commit_every: int) -> Iterator[int]:
    """Transaction sizes of ingest_many: 2,500 posts, doubling up to commit_every.

    The worker prepares chunk i+1 while the writer writes chunk i, and preparing a post costs
    about half of writing it: doubling sizes keep both threads busy from the start instead of
    leaving the writer idle while the first full-size chunk is prepared.
    """
    size = max(1, min(BULK_FIRST_CHUNK, commit_every))
    while True:
        yield size
        size = min(size * 2, max(commit_every, 1))


def stage_bulk(prep: Prepare, chunk: list[Batch]) -> BulkChunk:
    """Worker thread: prepare a chunk and stage its rows, keys unique within the chunk."""
    prepared = [(source, prep.page(source, posts, capture)) for source, posts, capture in chunk]
    refused = prep.take_refused()
    if not CAN_DESERIALIZE:
        return BulkChunk(prepared, None, refused)
    seen: set[tuple[str, int]] = set()
    taken: set[int] = set()
    rows = []
    for source, page in prepared:
        for post_id, r in page.items():
            if (source, post_id) in seen:
                return BulkChunk(prepared, None, refused)
            seen.add((source, post_id))
            key = r[_P_KEY]
            while key in taken:
                key += 1
            taken.add(key)
            rows.append((key, *r[1:], grams.grams(r[_P_TEXT]) or None))
    rows.sort()
    mem = sqlite3.connect(":memory:", isolation_level=None)
    try:
        mem.execute(_BULK_CREATE)
        mem.execute("BEGIN")
        mem.executemany(_BULK_FILL, rows)
        mem.execute("COMMIT")
        blob = mem.serialize()
    finally:
        mem.close()
    return BulkChunk(prepared, blob, refused)


def apply_bulk(conn: sqlite3.Connection, chunk: BulkChunk, fetched: str) -> IngestResult:
    """Writer, inside the transaction, with the chunk deserialized as `desk_bulk`.

    Stored posts become updates; keys held by other stored posts are probed upwards; the rest
    goes in with one INSERT ... SELECT in key order (one FTS flush, see IngestTx).
    """
    tx = IngestTx(conn, fetched)
    tx.result.refused.extend(chunk.refused)
    for source, _ in chunk.prepared:
        tx.ensure_source(source)
    existing = conn.execute(
        "SELECT s.key, s.source, s.post_id, p.key, p.text_sha256 FROM desk_bulk.stage s "
        "JOIN posts p INDEXED BY posts_source_post ON p.source = s.source AND p.post_id = s.post_id"
    ).fetchall()
    for source, page in chunk.prepared:
        tx.new_by_source[source] = tx.new_by_source.get(source, 0) + len(page)
    for _, src, _, _, _ in existing:
        tx.new_by_source[src] -= 1
    tx.count_new()
    if existing:
        index = {(source, pid): r for source, page in chunk.prepared for pid, r in page.items()}
        tx.update_existing([(src, pid, index[(src, pid)], key, sha) for _, src, pid, key, sha in existing])
        conn.executemany("DELETE FROM desk_bulk.stage WHERE key = ?", [(e[0],) for e in existing])
    clashes = conn.execute("SELECT s.key FROM desk_bulk.stage s JOIN posts p ON p.key = s.key").fetchall()
    for (key,) in clashes:
        new = key + 1
        while conn.execute("SELECT 1 FROM posts WHERE key = ?1 UNION ALL SELECT 1 FROM desk_bulk.stage WHERE key = ?1",
                           (new,)).fetchone():
            new += 1
        conn.execute("UPDATE desk_bulk.stage SET key = ? WHERE key = ?", (new, key))
    count, top = conn.execute("SELECT count(*), max(key) FROM desk_bulk.stage").fetchone()
    if count:
        conn.execute(_BULK_INSERT, (fetched,))
        conn.execute(_BULK_GRAMS)
        tx.result.new += count
        tx.result.max_key = max(tx.result.max_key, top)
    return tx.result


def bulk_chunks(batches: Iterable[Batch], commit_every: int) -> Iterator[list[Batch]]:
    """Pages grouped into transactions of about bulk_chunk_targets(commit_every) posts."""
    targets = bulk_chunk_targets(commit_every)
    target = next(targets)
    pending: list[Batch] = []
    size = 0
    for batch in batches:
        pending.append(batch)
        size += len(batch[1])
        if size >= target:
            yield pending
            pending = []
            size = 0
            target = next(targets)
    if pending:
        yield pending


def staged_chunks(batches: Iterable[Batch], fetched: str,
                  commit_every: int) -> Iterator[BulkChunk]:
    """Staged chunks, each gathered from `batches` and prepared in a worker thread while the caller
    writes the one before. The worker thread also takes the batches from the iterator: when they
    come from parser processes (`desk import`), waiting for them never holds up the writer."""
    prep = Prepare(fetched)  # used by the worker thread only
    it = bulk_chunks(batches, commit_every)

    def stage_next() -> BulkChunk | None:
        chunk = next(it, None)
        return None if chunk is None else stage_bulk(prep, chunk)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="desk-ingest") as pool:
        job = pool.submit(stage_next)
        while (ready := job.result()) is not None:
            job = pool.submit(stage_next)
            yield ready


def ensure_source(conn: Any, name: str) -> None:
    """Give a source that posts arrive for a row (disabled, until the settings name it). SQL both
    stores run (a sqlite3 connection, or PostgreSQL's `?` face: core/pg/shared_sql.py)."""
    kind, sep, handle = name.partition(":")
    conn.execute(
        "INSERT INTO sources (name, kind, handle, enabled, created) VALUES (?, ?, ?, 0, ?) "
        "ON CONFLICT (name) DO NOTHING",
        (name, kind if sep else "", handle if sep else name, utc_iso(datetime.now(UTC))),
    )
