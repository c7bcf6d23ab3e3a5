"""`desk db copy SRC DST`: every row of a store into an empty one, SQLite <-> PostgreSQL.

Both schemas have the same tables, columns and text times, so rows go across as they are, in
batches (PostgreSQL: COPY; SQLite: one transaction, its full-text and CJK/Thai indexes written
as the posts go in). Every table of the newsroom's data goes: posts and their revisions, pins and
desks (with their read marks), alerts, mutes, desk rules, the duplicate index and groups, the
attention queue (posts not attended to yet stay queued), and the evidence (HTTP exchanges, checks,
archive snapshots). Afterwards each table is read back on both sides in key order and hashed
(sha256 over the rows as JSON, bytes as hex; text keys in byte order on both servers): the report
names the rows and the checksum of each table, and a mismatch is an error. The destination must
hold no posts: copying never merges. Only the PostgreSQL store's own poller leases stay behind.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from deskapp.core import grams
from deskapp.core.pg.store import PgStore
from deskapp.core.store import Store, StoreError

# table -> (columns, ORDER BY): the tables that hold the newsroom's data (the search indexes are
# rebuilt from the posts). Ids are copied as they are, so checks keep naming their exchanges.
TABLES: dict[str, tuple[str, str]] = {
    "sources": ("name, kind, handle, label, enabled, title, description, subscribers, subscribers_count, "
                "last_success, last_error, error_text, error_count, next_poll, cursor, backfill_done, etag, "
                "last_modified, interval, created, base_url, post_count, warning, warning_at", "name"),
    "posts": ("key, source, post_id, channel, channel_title, url, published, text, author, views, views_count, "
              "views_seen, edited, fwd_name, fwd_url, reply_to, album_ids, media, service, text_sha256, "
              "first_seen, last_seen, text_seen, revisions, native_id, reposted_by, quote_of, capture_how, "
              "capture_from", "key"),
    "revisions": ("id, source, post_id, text, text_sha256, captured, replaced, capture_how, capture_from", "id"),
    "pins": ("desk, source, post_id, position, note, pinned_at", "desk, source, post_id"),
    "desks": ("name, prefs, last_used", "name"),
    "attention_queue": ("key, edited", "key"),
    "alerts": ("id, key, source, post_id, rule, what, kind, at", "id"),
    "muted": ("key, rule", "key"),
    "rules": ("id, desk, spec, created", "id"),
    "dup_bands": ("band, key", "band, key"),
    "dup_groups": ("key, first_key, similarity", "key"),
    "fetches": ("id, url, requested, request_headers, status, reason, http_version, headers, body, sha256, error, "
                "redirected_from", "id"),
    "checks": ("id, source, post_id, kind, result, checked, detail, text, text_sha256, url, fetch_id", "id"),
    "snapshots": ("id, source, post_id, url, requested, snapshot, error, fetch_id", "id"),
}
# Text columns some ORDER BY names: sorted by their bytes on PostgreSQL too (COLLATE "C", SQLite's
# BINARY order), or a server with a language collation would hash the same rows in another order.
_TEXT_KEYS = {"name", "desk", "source"}
BATCH = 5_000


@dataclass(frozen=True)
class TableCopy:
    table: str
    rows: int
    checksum: str  # sha256 of the rows, the same on both sides


def _sqlite_rows(store: Store, table: str) -> Iterator[list[tuple[Any, ...]]]:
    cols, order = TABLES[table]
    cur = store._conn.execute(f"SELECT {cols} FROM {table} ORDER BY {order}")
    while batch := cur.fetchmany(BATCH):
        yield batch


def _pg_order(order: str) -> str:
    return ", ".join(f'{c} COLLATE "C"' if c in _TEXT_KEYS else c for c in (c.strip() for c in order.split(",")))


def _pg_rows(store: PgStore, table: str) -> Iterator[list[tuple[Any, ...]]]:
    cols, order = TABLES[table]
    with store._pool.connection() as conn, conn.transaction(), conn.cursor(name=f"desk_copy_{table}") as cur:
        cur.execute(f"SELECT {cols} FROM {table} ORDER BY {_pg_order(order)}")
        while batch := cur.fetchmany(BATCH):
            yield batch


def _rows(store: Store | PgStore, table: str) -> Iterator[list[tuple[Any, ...]]]:
    return _pg_rows(store, table) if isinstance(store, PgStore) else _sqlite_rows(store, table)


def checksum(store: Store | PgStore, table: str) -> tuple[int, str]:
    """(rows, sha256) of a table in its key order."""
    digest = hashlib.sha256()
    n = 0
    for batch in _rows(store, table):
        for row in batch:
            values = [v.hex() if isinstance(v, bytes | memoryview) else v for v in row]
            digest.update(json.dumps(values, ensure_ascii=False).encode())
            digest.update(b"\n")
        n += len(batch)
    return n, digest.hexdigest()


def _write_pg(dst: PgStore, table: str, batches: Iterator[list[tuple[Any, ...]]],
              progress: Callable[[str, int], None]) -> None:
    cols = TABLES[table][0]
    done = 0
    with dst._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
        with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
            for batch in batches:
                for row in batch:
                    copy.write_row(row)
                done += len(batch)
                progress(table, done)
        if table == "posts":  # copied posts are not news: the queue is the source's (next table), not the trigger's
            cur.execute("DELETE FROM attention_queue")
        if cols.startswith("id,"):  # the next row after the copied ones
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce(max(id), 0) + 1, false) "
                        f"FROM {table}")


def _write_sqlite(dst: Store, table: str, batches: Iterator[list[tuple[Any, ...]]],
                  progress: Callable[[str, int], None]) -> None:
    cols = TABLES[table][0]
    sql = f"INSERT INTO {table} ({cols}) VALUES ({','.join('?' * (cols.count(',') + 1))})"
    done = 0

    def run(conn: sqlite3.Connection) -> None:
        nonlocal done
        for batch in batches:
            conn.executemany(sql, batch)
            if table == "posts":  # the FTS5 index follows by trigger; the CJK/Thai one is ours to write
                grams.index(conn, [(r[0], r[7]) for r in batch])
            done += len(batch)
            progress(table, done)
        if table == "posts":  # copied posts are not news: the queue is the source's (next table), not the trigger's
            conn.execute("DELETE FROM attention_queue")

    dst._write(run)


def _empty(store: Store | PgStore) -> bool:
    return store.count_posts() == 0 and not store.sources()


def copy_store(src: Store | PgStore, dst: Store | PgStore,
               progress: Callable[[str, int], None] = lambda table, rows: None) -> list[TableCopy]:
    """Copy every table of TABLES from src into the empty dst; the counts and checksums, checked."""
    if not _empty(dst):
        raise StoreError("cannot copy into", dst.path, "it already holds sources or posts; copy into an empty store")
    out: list[TableCopy] = []
    for table in TABLES:
        if isinstance(dst, PgStore):
            _write_pg(dst, table, _rows(src, table), progress)
        else:
            _write_sqlite(dst, table, _rows(src, table), progress)
        n_src, sum_src = checksum(src, table)
        n_dst, sum_dst = checksum(dst, table)
        if (n_src, sum_src) != (n_dst, sum_dst):
            raise StoreError("copy differs", dst.path,
                             f"{table}: {n_src} rows {sum_src[:12]} in the source, {n_dst} rows {sum_dst[:12]} copied")
        out.append(TableCopy(table, n_src, sum_src))
    return out
