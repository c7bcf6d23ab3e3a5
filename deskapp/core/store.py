"""The SQLite store: the file, its schema and locks, posts and their revisions. Mixed in: the feed and
full-text search (store_feed.py, SQLite's own); shared with the PostgreSQL store: sources and their
health (store_sources.py), pins and desk preferences (store_pins.py), post reads (store_rows.py),
attention (store_attention.py).

One ordinary SQLite file (sqlite-utils and Datasette open it; tests/test_store.py holds that), WAL mode,
`synchronous=NORMAL`, `busy_timeout=5000`, foreign keys off. Every write runs in an explicit
`BEGIN IMMEDIATE ... COMMIT` on an `isolation_level=None` connection, and is retried a few times
when SQLite still reports "database is locked" after its own busy wait, so a headless poller, two
desks and a `desk cite` can share the file without the user ever seeing a lock error.

Ordering key
------------
`posts.key` is the INTEGER PRIMARY KEY (the rowid) and encodes publication order:

    key = (published_unix_seconds << 20) | (crc32(f"{source}/{post_id}") & 0xFFFFF)

probing key + 1, + 2, ... when the slot already belongs to another post. Consequences:

* rowid order is published-time order, so the newest-first feed is `ORDER BY key DESC` on the
  table itself and keyset paging is `WHERE key < ?` -- no sort, no secondary index;
* FTS5 (external content, content_rowid = key) returns matches in the same order, so a
  newest-first search is `ORDER BY rowid DESC LIMIT n` on the FTS table: it stops after n hits
  even for a term that is in every post (relevance ranking would read every hit);
* the 20 low bits (about a million slots per second) make collisions rare, and the crc32 makes
  the order of posts published in the same second stable and independent of arrival order; a
  probe may spill into the next second's range, which only moves the post by less than a second.
* a post keeps its key forever: published never changes on an edit; (source, post_id) is UNIQUE
  and is how an upsert finds the existing row.

Ingest (the engine is deskapp/core/ingest.py)
------
`ingest_page` (the poller's unit) upserts one page in one transaction: existing posts are found
by (source, post_id), new ones get their keys and go in with ONE `INSERT ... SELECT` from a temp
table, because SQLite 3.40's FTS5 flushes its pending index at every statement savepoint (one
executemany step per row made one index segment per row). `ingest_many` (imports, benchmarks)
splits the work across two threads: a worker cleans, hashes and stages chunk i+1 in a private
in-memory database (serialize/deserialize) while the writer inserts chunk i; SQLite releases the
GIL while it indexes, so both cores work.

Schema versions live in `PRAGMA user_version`; `MIGRATIONS` (store_schema.py) are applied in order
at open inside one transaction. A file that is newer than this code, not SQLite, not a desk store
or fails `PRAGMA quick_check` is refused with `StoreError` and never written: it is checked over a
read-only (`mode=ro`) connection before the read-write one is opened. (Files over 64 MB get
quick_check of their small tables only, to keep start-up under a second; see `Store.open`.)

Threads: one Store per thread/worker. The connection is opened with `check_same_thread=False` and
every call holds the Store's lock, so handing a Store to another thread is safe but serialised.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from deskapp.core import grams, prefix_walk, store_schema
from deskapp.core.desks import default_desk, desk_name
from deskapp.core.ingest import (
    UNKNOWN_PROVENANCE,
    Batch,
    BulkChunk,
    IngestResult,
    IngestTx,
    Provenance,
    apply_bulk,
    ensure_source,
    staged_chunks,
)
from deskapp.core.model import (
    ChannelInfo,
    Post,
    utc_iso,
)
from deskapp.core.sanitize import (
    clean_post,
    post_problem,
)
from deskapp.core.store_attention import AttentionStore
from deskapp.core.store_feed import FeedReads
from deskapp.core.store_pins import PinStore
from deskapp.core.store_rows import PostReads, iso_or_none
from deskapp.core.store_schema import MIGRATIONS, Migration, split_sql
from deskapp.core.store_sources import SourceStore, channel_update
from deskapp.core.write_turns import turns_for

__all__ = ["MIGRATIONS", "NotSupported", "Store", "StoreError", "StoreUnreachable"]

T = TypeVar("T")

SQLITE_HEADER = b"SQLite format 3\x00"
# Files up to this size get a full PRAGMA quick_check at open (about 0.2 s at this size).
FULL_CHECK_MAX_BYTES = 64 * 2**20
_SMALL_TABLES = ("sources", "pins", "revisions", "desks")
BUSY_TIMEOUT_MS = 5000
LOCK_RETRIES = 6  # after SQLite's own busy wait; sleeps 0.05, 0.1, 0.2, ... s between tries
LOCK_GIVE_UP_S = 12.0  # ... but no new try after this long: two full busy waits mean a stuck writer
# Source filters up to this size run one index range per source; larger ones scan the key order.

class StoreError(Exception):
    """A readable one-line problem with the store file: "<what>: <path>: <problem>"."""

    def __init__(self, what: str, path: Path | str, problem: str) -> None:
        self.what = what
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{what}: {path}: {problem}")


class StoreUnreachable(StoreError):
    """The store's server cannot be reached now (PostgreSQL: down, or the network to it cut): the
    poller waits for it, and says so once, rather than failing each source in turn."""


class NotSupported(StoreError):
    """A feature this store's backend does not have yet (PostgreSQL: core/pg/store.py). Kept here,
    apart from psycopg, so the desk can tell it from a failure without importing the driver."""


def _is_locked(exc: BaseException) -> bool:
    msg = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in msg or "busy" in msg)


def _retry_locked(op: Callable[[], T]) -> T:
    """op(), tried again after lock errors: LOCK_RETRIES tries, none started after LOCK_GIVE_UP_S;
    sleeps 0.05, 0.1, 0.2, ... s between tries. The last lock error is raised as it is."""
    started = time.monotonic()
    attempt = 0
    while True:
        try:
            return op()
        except sqlite3.OperationalError as exc:
            if not (_is_locked(exc) and attempt < LOCK_RETRIES - 1
                    and time.monotonic() - started < LOCK_GIVE_UP_S):
                raise
            time.sleep(0.05 * 2**attempt)
            attempt += 1


_SET_EXTRAS = "UPDATE posts SET native_id = ?, reposted_by = ?, quote_of = ? WHERE source = ? AND post_id = ?"


def _set_extras(conn: sqlite3.Connection, source: str, posts: list[Post]) -> None:
    """The fields only other kinds than Telegram have (schema v6), in the page's transaction.

    A separate statement after the upsert rather than more columns in its staged rows: Telegram
    pages, the bulk of ingest, skip it entirely."""
    # Through the gate like every other field (ingest's rows already were).
    posts = [clean_post(p) for p in posts if post_problem(p) is None]
    rows = [(p.native_id, p.reposted_by, p.quote_of, source, p.id)
            for p in posts if p.native_id is not None or p.reposted_by is not None or p.quote_of is not None]
    if rows:
        conn.executemany(_SET_EXTRAS, rows)


class Store(FeedReads, PinStore, PostReads, SourceStore, AttentionStore):
    """One connection to the store file. Open with `Store.open(path)`; one Store per thread."""

    path: Path
    readonly: bool

    def __init__(self, path: Path, conn: sqlite3.Connection, *, readonly: bool, desk: str | None = None) -> None:
        self.path = path
        self.readonly = readonly
        self._conn = conn
        self._lock = threading.RLock()
        self.desk = desk if desk is not None else default_desk()
        self._file = _remember_open(path)  # under _OPEN_FILES_LOCK when made by open() or reader()
        self._turns = turns_for(self._file)  # this process's writers of the file, first come first served
        self._checker: prefix_walk.Checker | None = None

    # ------------------------------------------------------------------ open / close

    @classmethod
    def open(cls, path: Path | str, *, readonly: bool = False, full_check: bool | None = None,
             desk: str | None = None, progress: Callable[[str, int, int], None] | None = None) -> Store:
        """Open (creating file, parent dirs and schema if missing) after checking the file read-only.

        `full_check`: run `PRAGMA quick_check` over the whole file. None (default) = only when the
        file is at most FULL_CHECK_MAX_BYTES: quick_check reads every page (about 3 ms per MB, so
        3-4 s for 10^6 posts), which would blow the 1 s start-up budget. Larger files get the
        header, version and schema checks plus quick_check of the small tables (sources, pins,
        revisions); `Store.check()` runs the full check on demand (e.g. `desk check`).
        `desk`: whose pinboard (core/desks.py; default: the user's desk); DeskNameError if invalid.
        `progress`: told (what, done, total) during a long migration (default: a line on stderr when
        it is a terminal, so whoever started the desk sees it at work).
        """
        desk = desk_name(desk) if desk is not None else default_desk()
        path = Path(path).expanduser()
        with _OPEN_FILES_LOCK:  # see _OPEN_FILES: no header read while this process holds the file
            if path.exists():
                if not path.is_file():
                    raise StoreError("cannot open store", path, "not a regular file")
                if full_check is None:
                    full_check = path.stat().st_size <= FULL_CHECK_MAX_BYTES
                cls._check_existing(path, readonly=readonly, full_check=full_check,
                                    read_header=_file_id(path) not in _OPEN_FILES)
            elif readonly:
                raise StoreError("cannot open store", path, "no such file")
            if not readonly and on_read_only_fs(path):
                raise StoreError("cannot open store", path, "it is on a read-only file system "
                                 "(desk search and desk cite can still read it)")
            if not path.exists():
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise StoreError("cannot create store", path, exc.strerror or str(exc)) from None
            conn = cls._connect(path, readonly=readonly)
            store = cls(path, conn, readonly=readonly, desk=desk)
        if not readonly:
            try:
                store._migrate(progress if progress is not None else _stderr_progress if sys.stderr.isatty() else None)
            except BaseException:
                conn.close()
                raise
        return store

    @staticmethod
    def _ro_uri(path: Path) -> str:
        uri = path.resolve().as_uri() + "?mode=ro"
        # On a read-only file system SQLite cannot create the -shm file a WAL reader needs; with no
        # -wal left (a clean close) the file alone is the whole database and can be read immutable.
        wal = Path(str(path) + "-wal")
        if on_read_only_fs(path) and not (wal.exists() and wal.stat().st_size > 0):
            uri += "&immutable=1"
        return uri

    @classmethod
    def _check_existing(cls, path: Path, *, readonly: bool, full_check: bool = True,
                        read_header: bool = True) -> None:
        """Refuse, without writing anything, a file we must not touch. `read_header`: False when
        this process already has the file open (it was checked then; see _OPEN_FILES)."""
        what = "cannot open store"
        header = SQLITE_HEADER if path.stat().st_size else b""
        if read_header:
            try:
                with path.open("rb") as fh:
                    header = fh.read(len(SQLITE_HEADER))
            except OSError as exc:
                raise StoreError(what, path, exc.strerror or str(exc)) from None
        if not header:
            if readonly:
                raise StoreError(what, path, "empty file, not a desk store yet")
            return  # an empty file is an empty SQLite database: ours to initialise
        if header != SQLITE_HEADER:
            raise StoreError(what, path, "not a SQLite database")
        try:
            conn = sqlite3.connect(cls._ro_uri(path), uri=True, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(what, path, f"cannot read it ({exc})") from None
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            known = len(MIGRATIONS)
            if version > known:
                raise StoreError(
                    what, path,
                    f"schema version {version} is newer than this desk understands ({known}); upgrade desk",
                )
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            problems = _quick_check(conn, tables, full=full_check)
            if problems:
                raise StoreError(what, path, "damaged database (quick_check: " + "; ".join(problems) + ")")
            if version == 0 and tables:
                raise StoreError(what, path, "a SQLite database but not a desk store (tables: "
                                 + ", ".join(sorted(tables)[:5]) + ")")
            if readonly and version < known:
                raise StoreError(what, path, f"schema version {version} needs an upgrade to {known}; "
                                 "open it once read-write")
        except sqlite3.Error as exc:
            raise StoreError(what, path, _unreadable(path, exc)) from None
        finally:
            conn.close()

    @classmethod
    def _connect(cls, path: Path, *, readonly: bool) -> sqlite3.Connection:
        try:
            if readonly:
                conn = sqlite3.connect(cls._ro_uri(path), uri=True, isolation_level=None,
                                       check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
            else:
                conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False,
                                       timeout=BUSY_TIMEOUT_MS / 1000)
        except sqlite3.Error as exc:
            raise StoreError("cannot open store", path, str(exc)) from None
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA foreign_keys = OFF")
            conn.execute("PRAGMA temp_store = MEMORY")
            conn.execute("PRAGMA cache_size = -32000")  # 32 MB: the hot top of the feed and FTS pages
            if not readonly:
                mode = _retry_locked(lambda: conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
                if str(mode).lower() != "wal":
                    raise StoreError("cannot open store", path, f"cannot switch to WAL (journal_mode {mode})")
            conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.Error as exc:
            conn.close()
            raise StoreError("cannot open store", path, str(exc)) from None
        except BaseException:
            conn.close()
            raise
        return conn

    def _migrate(self, progress: Callable[[str, int, int], None] | None = None) -> None:
        migrations = MIGRATIONS  # read at call time so tests can substitute the list

        def run(conn: sqlite3.Connection) -> None:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > len(migrations):
                raise StoreError("cannot open store", self.path,
                                 f"schema version {version} is newer than this desk understands ({len(migrations)})")
            if version == 0:
                tables = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
                if tables:
                    raise StoreError("cannot open store", self.path, "a SQLite database but not a desk store")
            for migration in migrations[version:]:
                _apply(conn, migration)
            if version != len(migrations):
                conn.execute(f"PRAGMA user_version = {len(migrations)}")

        # Up to date (the usual case): no write lock, so opening never waits for a busy poller.
        if self._read(lambda c: c.execute("PRAGMA user_version").fetchone()[0]) == len(migrations):
            return
        token = store_schema.progress.set(progress)
        try:
            self._write(run)
        finally:
            store_schema.progress.reset(token)

    def close(self) -> None:
        with self._lock:
            self._conn.close()
            if self._checker is not None:
                self._checker.close()
            _forget_open(self._file)
            self._file = None

    def reader(self) -> Store:
        """A second, read-only connection to the same file for a reader thread, so long counts never
        wait on (or hold) this Store's lock. No open-time checks: this Store already ran them."""
        with _OPEN_FILES_LOCK:
            return type(self)(self.path, self._connect(self.path, readonly=True), readonly=True, desk=self.desk)

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Every read inside sees one state of the file (one read transaction), whatever other
        connections commit meanwhile. Re-entrant: an inner snapshot joins the outer one."""
        with self._lock:
            if self._conn.in_transaction:
                yield
                return
            self._read(lambda c: c.execute("BEGIN"))
            try:
                yield
            finally:
                if self._conn.in_transaction:
                    self._conn.execute("COMMIT")

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r}{', readonly' if self.readonly else ''})"

    def recount(self) -> None:
        """Recompute sources.post_count from the posts (after rows were inserted by another tool)."""

        def run(conn: sqlite3.Connection) -> None:
            for (name,) in conn.execute("SELECT DISTINCT source FROM posts INDEXED BY posts_source_key").fetchall():
                ensure_source(conn, name)
            conn.execute("UPDATE sources SET post_count = "
                         "(SELECT count(*) FROM posts INDEXED BY posts_source_key WHERE posts.source = sources.name)")

        self._write(run)

    def rebuild_search_index(self) -> int:
        """Rebuild the full-text indexes from the posts (after `desk check` found one damaged, or
        rows were written by another tool); returns how many posts have CJK/Thai text (core/grams.py)."""

        def run(conn: sqlite3.Connection) -> int:
            conn.execute("INSERT INTO posts_fts (posts_fts) VALUES ('rebuild')")
            conn.execute("INSERT INTO posts_grams (posts_grams) VALUES ('delete-all')")
            rows = conn.execute("SELECT key, text FROM posts WHERE text GLOB ?", (grams.GLOB,)).fetchall()
            grams.index(conn, rows)
            return len(rows)

        return self._write(run)

    def check(self, *, full: bool = True) -> list[str]:
        """`PRAGMA quick_check` of the open store (whole file, or only the small tables); [] = fine."""

        def run(conn: sqlite3.Connection) -> list[str]:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            return _quick_check(conn, tables, full=full)

        return self._read(run)

    @property
    def schema_version(self) -> int:
        return self._read(lambda c: c.execute("PRAGMA user_version").fetchone()[0])

    # ------------------------------------------------------------------ transactions

    def _retrying(self, what: str, op: Callable[[], T]) -> T:
        """Run op, retrying a bounded number of times on lock errors; "<what>: stayed locked" after.

        SQLite's busy handler already waited up to busy_timeout for most lock errors; the retry is
        for those it does not wait on (a stale WAL snapshot, a checkpoint in progress).
        """
        try:
            return _retry_locked(op)
        except sqlite3.OperationalError as exc:
            if _is_locked(exc):
                raise StoreError(what, self.path, f"database stayed locked by another process ({exc})") from exc
            fault = storage_fault(self.path, exc)
            if fault:
                raise StoreError(what, self.path, fault) from exc
            raise
        except sqlite3.DatabaseError as exc:  # "malformed", FTS5 "corrupt": a damaged file or index
            fault = storage_fault(self.path, exc)
            if fault:
                raise StoreError(what, self.path, fault) from exc
            raise

    def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run fn inside BEGIN IMMEDIATE ... COMMIT, retrying a bounded number of times on lock errors.

        fn may be replayed, so it must not keep state between attempts.
        """
        if self.readonly:
            raise StoreError("cannot write", self.path, "store opened read-only")

        def transaction() -> T:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn)
                conn.execute("COMMIT")
                return result
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

        with self._turns.turn(), self._lock:
            return self._retrying("cannot write", transaction)

    def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run a read; WAL readers rarely see SQLITE_BUSY, but when they do, retry as writes do."""
        with self._lock:
            return self._retrying("cannot read", lambda: fn(self._conn))

    def data_version(self) -> int:
        """PRAGMA data_version: changes when ANOTHER connection has committed since the last call."""
        return self._read(lambda c: c.execute("PRAGMA data_version").fetchone()[0])

    # ------------------------------------------------------------------ sources (store_sources.SourceStore)

    def _forgetting_posts(self, conn: sqlite3.Connection, name: str) -> None:
        grams.unindex(conn, conn.execute("SELECT key, text FROM posts WHERE source = ? AND text GLOB ?",
                                         (name, grams.GLOB)).fetchall())

    # ------------------------------------------------------------------ ingest

    def ingest_page(self, source: str, posts: list[Post], *, fetched_at: datetime,
                    channel: ChannelInfo | None = None, capture: Provenance = UNKNOWN_PROVENANCE) -> IngestResult:
        """Upsert one fetched page in ONE transaction and update the channel info on the source.

        New post -> inserted; same text (sha256 of the cleaned text) -> last_seen/views/metadata
        refreshed; changed text -> the old text goes to `revisions`, `revisions` += 1, row updated.
        A post listed twice keeps its last occurrence. `capture` says how the page was obtained
        (("fetched", url) or ("imported", path)); it is recorded with every new or changed text.
        Every post passes the sanitize gate; the ones it refuses are listed in `.refused`.
        """
        fetched = iso_or_none(fetched_at) or utc_iso(datetime.now(UTC))

        def run(conn: sqlite3.Connection) -> IngestResult:
            tx = IngestTx(conn, fetched, capture)
            tx.add(source, posts)
            tx.finish()
            _set_extras(conn, source, posts)
            channel_update(conn, source, channel)
            return tx.result

        return self._write(run)

    def set_extras(self, batches: Iterable[tuple[str, list[Post]]]) -> None:
        """Native id, reposter and quoted link of posts already stored (bulk import of other kinds)."""

        def run(conn: sqlite3.Connection) -> None:
            for source, posts in batches:
                _set_extras(conn, source, posts)

        self._write(run)

    def ingest_many(self, batches: Iterable[tuple[str, list[Post]] | Batch], *, fetched_at: datetime,
                    commit_every: int = 50_000,
                    on_commit: Callable[[int, IngestResult], None] | None = None,
                    capture: Provenance = UNKNOWN_PROVENANCE) -> IngestResult:
        """Bulk upsert (import, benchmarks): transactions growing from 2,500 to `commit_every` posts.

        Same rules as `ingest_page`; a post repeated within one transaction keeps its last text
        without a revision for the earlier one (it was never committed). The pure-Python half of
        chunk i+1 (cleaning, hashing, staging in a private in-memory database) runs in a worker
        thread while chunk i is written: SQLite releases the GIL while it indexes, so the two
        halves share the machine's cores. `on_commit(batches, result)` hears of each committed
        transaction: how many of the batches, in order, it held.
        """
        fetched = iso_or_none(fetched_at) or utc_iso(datetime.now(UTC))
        total = IngestResult()
        # A page may say how it was captured (source, posts, capture); else `capture` holds.
        pages: Iterator[Batch] = (b if len(b) == 3 else (b[0], b[1], capture) for b in batches)  # type: ignore[misc]
        chunks = staged_chunks(pages, fetched, commit_every)
        try:
            for chunk in chunks:
                res = self._write_chunk(chunk, fetched)
                total.add(res)
                if on_commit is not None:
                    on_commit(len(chunk.prepared), res)
        finally:
            chunks.close()  # a failed write returns only after the worker thread has stopped taking batches
        return total

    def _write_chunk(self, chunk: BulkChunk, fetched: str) -> IngestResult:
        if chunk.blob is None:
            def run(conn: sqlite3.Connection) -> IngestResult:
                tx = IngestTx(conn, fetched)
                tx.result.refused.extend(chunk.refused)
                for source, prepared in chunk.prepared:
                    tx.add_prepared(source, prepared)
                tx.finish()
                return tx.result

            return self._write(run)
        with self._turns.turn(), self._lock:  # turn first, as in _write: one order, no deadlock
            conn = self._conn
            conn.execute("ATTACH ':memory:' AS desk_bulk")
            try:
                conn.deserialize(chunk.blob, name="desk_bulk")
                return self._write(lambda c: apply_bulk(c, chunk, fetched))
            finally:
                conn.execute("DETACH desk_bulk")  # frees the staged rows

# POSIX advisory locks belong to the process, and closing ANY descriptor of a file drops every lock
# the process holds on it (SQLite's "How To Corrupt An SQLite Database File", 2.2). Reading the
# header with a descriptor of our own while another connection of this process held a lock let
# other processes write under it: "database disk image is malformed" with a desk poller and its
# attention thread on one store. So the header is read only while no connection of this process
# has the file open, and opening is serialised with that check. Keys: (st_dev, st_ino); values:
# how many Stores of this process hold the file.
_OPEN_FILES: dict[tuple[int, int], int] = {}
_OPEN_FILES_LOCK = threading.Lock()


def _file_id(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _remember_open(path: Path) -> tuple[int, int] | None:
    """Count a new connection to `path` (call with _OPEN_FILES_LOCK held)."""
    ident = _file_id(path)
    if ident is not None:
        _OPEN_FILES[ident] = _OPEN_FILES.get(ident, 0) + 1
    return ident


def _forget_open(ident: tuple[int, int] | None) -> None:
    if ident is None:
        return
    with _OPEN_FILES_LOCK:
        left = _OPEN_FILES.get(ident, 0) - 1
        if left > 0:
            _OPEN_FILES[ident] = left
        else:
            _OPEN_FILES.pop(ident, None)


def on_read_only_fs(path: Path) -> bool:
    """Whether the file (or the folder it would be created in) is on a file system mounted read-only."""
    probe = path if path.exists() else path.parent
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        return bool(os.statvfs(probe).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def storage_fault(path: Path, exc: BaseException) -> str | None:
    """What a SQLite error says about the disk or the file, in words an editor can act on; None if nothing."""
    msg = str(exc).lower()
    if "disk is full" in msg or "database or disk is full" in msg:
        return f"the disk is full ({exc}); nothing of this write was kept"
    if "readonly" in msg or "read-only" in msg:
        if on_read_only_fs(path):
            return "it is on a read-only file system"
        return f"the file cannot be written ({exc})"
    if "disk i/o error" in msg:
        return f"disk I/O error ({exc})"
    if "fts5" in msg or "malformed" in msg or "corrupt" in msg:
        return f"damaged ({exc}); `desk check` tells what, `desk check --repair` rebuilds the search index"
    return None


def _unreadable(path: Path, exc: BaseException) -> str:
    """Why an existing store could not be read: the file system, permissions, or the file itself."""
    if "unable to open" in str(exc).lower():
        if on_read_only_fs(path):
            return "it is on a read-only file system and was not closed cleanly (its -wal file cannot be read)"
        folder = path.resolve().parent
        if not os.access(folder, os.W_OK | os.X_OK):
            return f"no permission to create files in {folder} (SQLite keeps -wal and -shm files beside the store)"
        if not os.access(path, os.R_OK):
            return "no permission to read it"
    return f"damaged or not a database ({exc})"


def _quick_check(conn: sqlite3.Connection, tables: set[str], *, full: bool) -> list[str]:
    """Problems PRAGMA quick_check reports (at most 5), [] when it says ok."""
    targets: list[str | None] = [None] if full else [t for t in _SMALL_TABLES if t in tables]
    problems: list[str] = []
    for table in targets:
        sql = "PRAGMA quick_check(5)" if table is None else f"PRAGMA quick_check({table})"
        problems += [r[0] for r in conn.execute(sql).fetchall() if r[0] != "ok"]
    return problems[:5]


def _stderr_progress(what: str, done: int, total: int) -> None:
    print(f"\rdesk: {what}: {done:,} of {total:,} posts", end="\n" if done >= total else "", file=sys.stderr,
          flush=True)


def _apply(conn: sqlite3.Connection, migration: Migration) -> None:
    if callable(migration):
        migration(conn)
        return
    for statement in split_sql(migration):
        conn.execute(statement)
