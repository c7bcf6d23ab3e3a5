"""The desk store on PostgreSQL: what the poller, the desk and the CLI need most.

Same public methods and results as the SQLite `Store` (deskapp/core/store.py) for what it
implements: schema and migrations, ingest with revisions and post counts, the newest-first feed
and search. Sources and their health, pins per desk, desk preferences and post reads are the
SQLite store's own code (core/store_sources.py, store_pins.py, store_rows.py) run through the
`?`-placeholder face (core/pg/shared_sql.py), with this store's hooks. Everything else raises
`NotSupported` ("... not supported on PostgreSQL yet"), a StoreError the CLI prints as one line.

Connections come from a psycopg_pool pool; each call is one transaction. Writes that collide
with another writer (two pollers probing the same new key) are retried a few times.
Keys are the SQLite store's (ingest.make_key, probed upwards), so rows copy across unchanged.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from datetime import UTC, datetime
from typing import Any, TypeVar

import psycopg
from psycopg import errors as pgerrors
from psycopg_pool import ConnectionPool, PoolTimeout

from deskapp.core.desks import default_desk, desk_name
from deskapp.core.ingest import (
    _P_CAPTURE_FROM,
    _P_CAPTURE_HOW,
    _P_EDITED,
    _P_KEY,
    _P_SHA,
    _P_TEXT,
    _P_TITLE,
    _P_URL,
    _P_VIEWS,
    _P_VIEWS_COUNT,
    KEY_SHIFT,
    UNKNOWN_PROVENANCE,
    Batch,
    IngestResult,
    Prepare,
    Provenance,
    ensure_source,
    unix_seconds,
)
from deskapp.core.model import (
    ChannelInfo,
    FeedRow,
    Post,
    StoredPost,
    utc_iso,
)
from deskapp.core.pg.attention import PgAttention, muted_cond
from deskapp.core.pg.schema import MIGRATIONS
from deskapp.core.pg.shared_sql import QmarkConnection
from deskapp.core.pg.upkeep import PgUpkeep
from deskapp.core.pg.urls import shown_url
from deskapp.core.query import Term
from deskapp.core.query import parse as parse_query
from deskapp.core.store import NotSupported, StoreError, StoreUnreachable, _set_extras
from deskapp.core.store_pins import PinStore
from deskapp.core.store_rows import POST_COLS, PostReads, feed_row, iso_or_none, stored_post
from deskapp.core.store_sources import SourceStore, channel_update

T = TypeVar("T")

WRITE_RETRIES = 5
READ_RETRIES = 4  # a read on a connection the server dropped runs again (each pooled one may be stale)
POOL_WAIT = 5.0  # seconds a call waits for a connection before "cannot reach store" (server down)
ANALYZE_AFTER = 10_000  # new posts in one bulk ingest after which the table's statistics are renewed
_RETRYABLE = (pgerrors.UniqueViolation, pgerrors.SerializationFailure, pgerrors.DeadlockDetected)


# Text in scripts written without spaces: searched as substrings (pg_trgm), not as words.
_CJK = re.compile(r"[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")

_UPDATE_SEEN = (
    "UPDATE posts SET channel = %s, channel_title = coalesce(%s, channel_title), url = %s, author = %s, "
    "views = coalesce(%s, views), views_count = coalesce(%s, views_count), views_seen = coalesce(%s, views_seen), "
    "edited = %s, fwd_name = %s, fwd_url = %s, reply_to = %s, album_ids = %s, media = %s, service = %s, "
    "last_seen = %s WHERE key = %s"
)
_KEEP_REVISION = (
    "INSERT INTO revisions (source, post_id, text, text_sha256, captured, replaced, capture_how, capture_from) "
    "SELECT source, post_id, text, text_sha256, coalesce(text_seen, first_seen), %s, capture_how, capture_from "
    "FROM posts WHERE key = %s"
)
_UPDATE_CHANGED = (
    "UPDATE posts SET channel = %s, channel_title = coalesce(%s, channel_title), url = %s, author = %s, "
    "views = coalesce(%s, views), views_count = coalesce(%s, views_count), views_seen = coalesce(%s, views_seen), "
    "edited = %s, fwd_name = %s, fwd_url = %s, reply_to = %s, album_ids = %s, media = %s, service = %s, "
    "last_seen = %s, text = %s, text_sha256 = %s, text_seen = %s, capture_how = %s, capture_from = %s, "
    "revisions = revisions + %s WHERE key = %s"
)
_INSERT_COLS = (
    "key, source, post_id, channel, channel_title, url, published, text, author, views, views_count, "
    "edited, fwd_name, fwd_url, reply_to, album_ids, media, service, text_sha256, capture_how, capture_from, "
    "views_seen, first_seen, last_seen, text_seen"
)
_INSERT = f"INSERT INTO posts ({_INSERT_COLS}) VALUES ({', '.join(['%s'] * 25)})"
_QUEUE_NEW = "INSERT INTO attention_queue (key) SELECT unnest(%s::bigint[]) ON CONFLICT (key) DO NOTHING"


class PgStore(PinStore, PostReads, SourceStore, PgAttention, PgUpkeep):
    """The store on a PostgreSQL server. Open with `PgStore.open(url)`; safe to share between threads
    (each call takes a pooled connection)."""

    _PIN_SEQ = "seq"  # the pins table's insertion order (SQLite's is the rowid)
    # Two desks of one name writing preferences at once: the second merges into the first's.
    _PREFS_LOCK = " FOR UPDATE"

    def _source_changed(self, conn: Any, name: str) -> None:
        """Desks show a source's health at once (a poll's outcome, announced at commit)."""
        conn.execute("SELECT pg_notify(?, ?)", (SOURCES_CHANNEL, name))

    def _pins_begin(self, conn: Any, desk: str) -> None:
        """One pinboard writer at a time per desk, so two editors' positions never collide; the
        desks listening hear of the change at commit (core/pg/listen.py)."""
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('desk-pins:' || ?))", (desk,))
        conn.execute("SELECT pg_notify(?, ?)", (PINS_CHANNEL, desk))

    def __init__(self, url: str, pool: ConnectionPool, *, readonly: bool, desk: str | None = None,
                 owns_pool: bool = True) -> None:
        self.url = url
        self.path = shown_url(url)  # what messages name, as the SQLite store names its file
        self.readonly = readonly
        self._pool = pool
        self._owns_pool = owns_pool  # False: a reader() sharing another store's pool (close leaves it open)
        self.desk = desk if desk is not None else default_desk()
        self._closed = False
        self._lock = threading.Lock()
        self._snap = threading.local()  # .cur: this thread's snapshot transaction (snapshot())

    # ------------------------------------------------------------------ open / close

    @classmethod
    def open(cls, url: str, *, readonly: bool = False, desk: str | None = None, max_size: int = 4) -> PgStore:
        """Connect (the pool's first connection within 10 s) and bring the schema up to date."""
        desk = desk_name(desk) if desk is not None else default_desk()
        pool = ConnectionPool(url, min_size=1, max_size=max_size, open=False, name="desk-store",
                              kwargs={"connect_timeout": 10}, timeout=POOL_WAIT)
        try:
            pool.open(wait=True, timeout=15)
        except Exception as exc:
            pool.close()
            raise StoreError("cannot open store", shown_url(url), f"cannot connect ({_one_line(exc)})") from None
        store = cls(url, pool, readonly=readonly, desk=desk)
        try:
            store._migrate()
        except BaseException:
            pool.close()
            raise
        return store

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            if self._owns_pool:
                self._pool.close()

    def __enter__(self) -> PgStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"PgStore({self.path!r})"

    def reader(self) -> PgStore:
        """A read-only store for a worker thread (the SQLite store's read connection): it shares
        this store's pool, since each call takes a pooled connection of its own, so nothing is
        opened (a new pool cost the desk's first read after a commit seconds on a loaded machine)."""
        return PgStore(self.url, self._pool, readonly=True, desk=self.desk, owns_pool=False)

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads on this thread inside the block see one state of the tables (one REPEATABLE READ
        transaction), as the SQLite store's read transaction: the feed's count, anchor and rows agree."""
        if getattr(self._snap, "cur", None) is not None:
            yield
            return
        with ExitStack() as stack:
            for attempt in range(READ_RETRIES + 1):
                try:
                    conn = stack.enter_context(self._pool.connection())
                    stack.enter_context(conn.transaction())
                    cur = stack.enter_context(conn.cursor())
                    cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    break
                except psycopg.OperationalError as exc:
                    with suppress(psycopg.Error):  # a dropped connection goes back to the pool, which discards it
                        stack.close()
                    if attempt == READ_RETRIES or isinstance(exc, PoolTimeout):
                        raise StoreUnreachable("cannot reach store", self.path, _one_line(exc)) from None
            self._snap.cur = cur
            try:
                yield
            except psycopg.OperationalError as exc:
                raise StoreUnreachable("cannot reach store", self.path, _one_line(exc)) from None
            finally:
                self._snap.cur = None

    def _migrate(self) -> None:
        def run(cur: psycopg.Cursor) -> None:
            # One migrator at a time: two processes opening a fresh server must not both create.
            cur.execute("SELECT pg_advisory_xact_lock(hashtext('desk_schema'))")
            cur.execute("CREATE TABLE IF NOT EXISTS desk_schema (version INTEGER NOT NULL)")
            cur.execute("SELECT version FROM desk_schema")
            row = cur.fetchone()
            version = row[0] if row else 0
            if row is None:
                cur.execute("INSERT INTO desk_schema VALUES (0)")
            if version > len(MIGRATIONS):
                raise StoreError("cannot open store", self.path,
                                 f"schema version {version} is newer than this desk ({len(MIGRATIONS)}); upgrade desk")
            if self.readonly:
                return
            for sql in MIGRATIONS[version:]:
                cur.execute(sql)
            cur.execute("UPDATE desk_schema SET version = %s", (len(MIGRATIONS),))

        self._tx(run, write=False)

    @property
    def schema_version(self) -> int:
        return self._tx(lambda cur: cur.execute("SELECT version FROM desk_schema").fetchone()[0])

    # ------------------------------------------------------------------ transactions

    def _tx(self, fn: Callable[[psycopg.Cursor], T], *, write: bool = False) -> T:
        """fn(cursor) in one transaction; writes are replayed after a collision (fn keeps no state)."""
        if write and self.readonly:
            raise StoreError("cannot write", self.path, "store opened read-only")
        snap = getattr(self._snap, "cur", None)
        if snap is not None and not write:
            return fn(snap)
        attempt = 0
        while True:
            try:
                with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
                    if write:
                        cur.execute("SELECT nextval('desk_changes')")
                    return fn(cur)
            except _RETRYABLE:
                attempt += 1
                if not write or attempt >= WRITE_RETRIES:
                    raise
                time.sleep(0.02 * 2**attempt)
            except psycopg.OperationalError as exc:
                attempt += 1
                if write or attempt > READ_RETRIES or isinstance(exc, PoolTimeout):
                    raise StoreUnreachable("cannot reach store", self.path, _one_line(exc)) from None
                # A pooled connection the server dropped (it restarted): the pool discards it, the
                # read runs again on another (a read changes nothing, so it is safe to repeat).

    def _pg_write(self, fn: Callable[[psycopg.Cursor], T]) -> T:
        return self._tx(fn, write=True)

    def _pg_read(self, fn: Callable[[psycopg.Cursor], T]) -> T:
        return self._tx(fn)

    def _write(self, fn: Callable[[Any], T]) -> T:
        """fn(connection) in one write transaction, for the modules written in the SQL both stores
        share (attention, dedup): a sqlite3-like connection over this server (core/pg/shared_sql.py)."""
        return self._shared(fn, write=True)

    def _read(self, fn: Callable[[Any], T]) -> T:
        return self._shared(fn, write=False)

    def _shared(self, fn: Callable[[Any], T], *, write: bool) -> T:
        def run(cur: psycopg.Cursor) -> T:
            face = QmarkConnection(cur)  # the transaction's own cursor, as PgStore's copies used it
            out = fn(face)
            face.release()
            return out

        try:
            return self._tx(run, write=write)
        except pgerrors.UndefinedTable:  # a module whose tables this schema does not have yet
            raise NotSupported("this feature", self.path, "not supported on PostgreSQL yet") from None

    def data_version(self) -> int:
        """Changes when any connection has committed a write since (a server-wide counter)."""
        return self._pg_read(lambda c: c.execute(
            "SELECT last_value + is_called::int FROM desk_changes").fetchone()[0])

    # ------------------------------------------------------------------ sources (beyond store_sources.SourceStore)

    def mark_polling(self, name: str, *, next_poll: datetime) -> None:
        """A poller is sending a source's request now: until it records the outcome, a poller that
        takes the source over (its lease ran out meanwhile) schedules it from this, not from the
        poll before (which would poll it twice in one round)."""
        def run(cur: psycopg.Cursor) -> None:
            cur.execute("UPDATE sources SET next_poll = %s WHERE name = %s", (iso_or_none(next_poll), name))

        self._pg_write(run)

    # ------------------------------------------------------------------ ingest

    def ingest_page(self, source: str, posts: list[Post], *, fetched_at: datetime,
                    channel: ChannelInfo | None = None, capture: Provenance = UNKNOWN_PROVENANCE) -> IngestResult:
        """One fetched page in one transaction; the rules of the SQLite store's ingest_page."""
        fetched = iso_or_none(fetched_at) or utc_iso(datetime.now(UTC))

        def run(cur: psycopg.Cursor) -> IngestResult:
            tx = _PgIngest(cur, fetched)
            tx.add(source, posts, capture)
            result = tx.done
            face = QmarkConnection(cur)
            _set_extras(face, source, posts)
            channel_update(face, source, channel)
            _announce(cur, result)
            return result

        return self._pg_write(run)

    def ingest_many(self, batches: Iterable[tuple[str, list[Post]] | Batch], *, fetched_at: datetime,
                    commit_every: int = 50_000,
                    on_commit: Callable[[int, IngestResult], None] | None = None,
                    capture: Provenance = UNKNOWN_PROVENANCE) -> IngestResult:
        """Bulk upsert: pages grouped into transactions of about `commit_every` posts."""
        fetched = iso_or_none(fetched_at) or utc_iso(datetime.now(UTC))
        total = IngestResult()
        group: list[Batch] = []
        size = 0

        def flush() -> None:
            nonlocal group, size
            pages = group

            def run(cur: psycopg.Cursor) -> IngestResult:
                tx = _PgIngest(cur, fetched)
                for source, prepared in tx.prepare(pages):
                    tx.add_prepared(source, prepared)
                result = tx.done
                _announce(cur, result)
                return result

            res = self._pg_write(run)
            total.add(res)
            if on_commit is not None:
                on_commit(len(pages), res)
            group, size = [], 0

        for b in batches:
            page: Batch = b if len(b) == 3 else (b[0], b[1], capture)  # type: ignore[assignment]
            group.append(page)
            size += len(page[1])
            if size >= commit_every:
                flush()
        if group:
            flush()
        if total.new >= ANALYZE_AFTER:
            # Fresh statistics, or the planner may walk the key order for a rare word (a full scan).
            self._pg_write(lambda c: c.execute("ANALYZE posts"))
        return total

    # ------------------------------------------------------------------ feed and search

    def _where(self, query: str | None, prefix: bool, sources: list[str] | None, muted: str = ""
               ) -> tuple[list[str], dict[str, Any], bool] | None:
        """(conditions over p, params, matches nothing) for a search text and a source filter;
        None when there is no filter at all. `muted`: "hide" leaves out the posts a mute rule hid,
        "only" keeps only those (pg/attention.py)."""
        conds: list[str] = [muted_cond(muted)] if muted else []
        params: dict[str, Any] = {}
        if sources is not None:
            conds.append("p.source = ANY(%(sources)s)")
            params["sources"] = list(sources)
        q = parse_query(query, prefix=prefix) if query and query.strip() else None
        if q is not None and not q.empty:
            if q.sources:
                named = self.resolve_sources(q.sources)
                conds.append("p.source = ANY(%(qsources)s)")
                params["qsources"] = named
            if q.since is not None:
                conds.append("p.key >= %(low)s")
                params["low"] = unix_seconds(q.since) << KEY_SHIFT
            if q.until is not None:
                conds.append("p.key < %(high)s")
                params["high"] = unix_seconds(q.until) << KEY_SHIFT
            for clause in q.clauses:
                conds.append("(" + " OR ".join(_term_sql(t, params) for t in clause) + ")")
            for term in q.excluded:
                conds.append(f"NOT {_term_sql(term, params)}")
        elif query and query.strip() and q is not None and q.empty:
            return conds, params, True  # typed, but nothing searchable: matches nothing
        if not conds:
            return None
        return conds, params, sources is not None and not sources

    def feed(self, limit: int, *, before_key: int | None = None, after_key: int | None = None,
             query: str | None = None, sources: list[str] | None = None, prefix: bool = False,
             hide_muted: bool = False) -> list[FeedRow]:
        """Feed rows, newest first (the SQLite store's `feed`: keyset windows by key)."""
        where = self._where(query, prefix, sources, "hide" if hide_muted else "")
        if limit <= 0 or (where is not None and where[2]):
            return []
        conds, params = (where[0], where[1]) if where is not None else ([], {})
        conds = list(conds)
        ascending = after_key is not None and before_key is None
        if before_key is not None:
            conds.append("p.key < %(before)s")
            params["before"] = before_key
        if after_key is not None:
            conds.append("p.key > %(after)s")
            params["after"] = after_key
        sql = (f"SELECT {self._feed_cols} FROM posts p {'WHERE ' + ' AND '.join(conds) if conds else ''} "
               f"ORDER BY p.key {'ASC' if ascending else 'DESC'} LIMIT %(limit)s")
        rows = self._pg_read(lambda c: c.execute(sql, {**params, "limit": limit}).fetchall())
        if ascending:
            rows.reverse()
        return [feed_row(r) for r in rows]

    def search(self, query: str, *, limit: int = 20, sources: list[str] | None = None,
               prefix: bool = False) -> list[StoredPost]:
        """Full posts matching the search text, newest first. Blank text finds nothing."""
        if not query or not query.strip():
            return []
        where = self._where(query, prefix, sources)
        if where is None or where[2] or limit <= 0:
            return []
        conds, params, _ = where
        sql = f"SELECT {POST_COLS} FROM posts p {self._post_from_pins} WHERE {' AND '.join(conds)} ORDER BY p.key DESC LIMIT %(limit)s"
        rows = self._pg_read(lambda c: c.execute(sql, {**params, "limit": limit}).fetchall())
        return [stored_post(r) for r in rows]

    def feed_count(self, *, query: str | None = None, sources: list[str] | None = None,
                   after_key: int | None = None, prefix: bool = False, hide_muted: bool = False) -> int:
        if hide_muted:
            # As the SQLite store: the count less the muted ones (thousands), never an anti-join
            # counted over every post (114 ms at 10^6 on each of the desk's reads).
            total = self.feed_count(query=query, sources=sources, after_key=after_key, prefix=prefix)
            return total - self.muted_in(query=query, sources=sources, after_key=after_key, prefix=prefix) if total else 0
        where = self._where(query, prefix, sources)
        if where is not None and where[2]:
            return 0
        if where is None and after_key is None:
            return self.count_posts()
        conds, params = (list(where[0]), where[1]) if where is not None else ([], {})
        if after_key is not None:
            conds.append("p.key > %(after)s")
            params["after"] = after_key
        sql = f"SELECT count(*) FROM posts p WHERE {' AND '.join(conds)}"
        return self._pg_read(lambda c: c.execute(sql, params).fetchone()[0])

    def feed_at(self, offset: int, limit: int, *, query: str | None = None,
                sources: list[str] | None = None, prefix: bool = False, hide_muted: bool = False) -> list[FeedRow]:
        where = self._where(query, prefix, sources, "hide" if hide_muted else "")
        if limit <= 0 or offset < 0 or (where is not None and where[2]):
            return []
        conds, params = (where[0], where[1]) if where is not None else ([], {})
        sql = (f"SELECT {self._feed_cols} FROM posts p {'WHERE ' + ' AND '.join(conds) if conds else ''} "
               "ORDER BY p.key DESC LIMIT %(limit)s OFFSET %(offset)s")
        rows = self._pg_read(lambda c: c.execute(
            sql, {**params, "limit": limit, "offset": offset}).fetchall())
        return [feed_row(r) for r in rows]

    # ------------------------------------------------------------------ many desks

    @contextmanager
    def listening(self) -> Iterator[Callable[[float], int | None]]:
        """A wait for the next committed page: `wait(timeout)` -> the newest key it announced, or
        None after `timeout` seconds. One connection of its own, LISTENing (NOTIFY is delivered at
        commit, so nothing polls the tables)."""
        conn = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
        try:
            conn.execute(f"LISTEN {CHANNEL}")

            def wait(timeout: float) -> int | None:
                for note in conn.notifies(timeout=timeout, stop_after=1):
                    return int(note.payload or 0)
                return None

            yield wait
        finally:
            conn.close()

    # ------------------------------------------------------------------ the rest

    def __getattr__(self, name: str) -> Any:
        # Only for names the SQLite store has: a typo elsewhere stays an AttributeError.
        from deskapp.core.store import Store

        if not name.startswith("_") and hasattr(Store, name):
            def unsupported(*_args: Any, **_kwargs: Any) -> Any:
                raise NotSupported(f"{name.replace('_', ' ')}", self.path, "not supported on PostgreSQL yet")

            return unsupported
        raise AttributeError(name)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _term_sql(term: Term, params: dict[str, Any]) -> str:
    """One typed word or phrase as a condition over p: the tsvector for words, a substring
    (pg_trgm index) for text in scripts written without spaces."""
    n = len(params)
    text = term.text
    if _CJK.search(text):
        params[f"t{n}"] = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        return f"p.text ILIKE %(t{n})s"
    words = [w for w in re.split(r"\W+", text) if w]
    if not words:
        return "TRUE"
    is_prefix = any(p.match.endswith("*") for p in term.parts)
    lexemes = ["'" + w.lower().replace("'", "''") + "'" for w in words]
    if is_prefix:
        lexemes[-1] += ":*"
    params[f"t{n}"] = " <-> ".join(lexemes)
    return f"p.tsv @@ to_tsquery('simple', %(t{n})s)"


# NOTIFY channel for committed pages; the payload is the newest key the page touched.
CHANNEL = "desk_posts"
# NOTIFY channel for a changed pinboard; the payload is the desk's name (core/pg/listen.py).
PINS_CHANNEL = "desk_pins"
# NOTIFY channel for a source's health (a poll succeeded or failed); the payload is its name.
SOURCES_CHANNEL = "desk_sources"


def _announce(cur: psycopg.Cursor, result: IngestResult) -> None:
    """Tell listening desks at commit (PostgreSQL holds a NOTIFY until the transaction commits)."""
    if result.new or result.changed:
        cur.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(result.max_key)))


class _PgIngest:
    """The upserts of one write transaction (the rules of ingest.IngestTx, on PostgreSQL).

    Round trips are what cost on a server: `prefetch` looks up every post of the transaction and
    every key it wants in two queries, and writes are buffered and sent as pipelined executemany
    batches (`flush`), in order: a key touched again goes out only after the earlier write."""

    def __init__(self, cur: psycopg.Cursor, fetched: str) -> None:
        self.cur = cur
        self.fetched = fetched
        self.result = IngestResult()
        self.prep = Prepare(fetched)
        self.fresh: set[int] = set()  # keys inserted in this transaction: a repeat keeps no revision
        self.sources: set[str] = set()
        self.known: dict[tuple[str, int], tuple[int, str]] = {}  # (source, id) -> (key, sha), looked up
        self.looked: set[tuple[str, int]] = set()
        self.taken: set[int] = set()  # keys in use (stored or given in this transaction)
        self.counts: dict[str, int] = {}
        self.inserts: list[tuple[Any, ...]] = []
        self.seen: list[tuple[Any, ...]] = []
        self.changed: list[tuple[Any, ...]] = []
        self.revs: list[tuple[Any, ...]] = []
        self.touched: set[int] = set()  # keys with a write in the buffer

    def prepare(self, pages: list[Batch]) -> list[tuple[str, dict[int, tuple[Any, ...]]]]:
        """Clean and hash every page, then look up what is stored of them (two queries in all)."""
        out = []
        for source, posts, capture in pages:
            prepared = self.prep.page(source, posts, capture) if posts else {}
            self.result.refused.extend(self.prep.take_refused())
            out.append((source, prepared))
        pairs = {(src, pid) for src, prepared in out for pid in prepared} - self.looked
        if pairs:
            srcs, ids = zip(*pairs, strict=True)
            for src, pid, key, sha in self.cur.execute(
                    "SELECT p.source, p.post_id, p.key, p.text_sha256 FROM posts p "
                    "JOIN unnest(%s::text[], %s::bigint[]) AS w(source, post_id) "
                    "ON p.source = w.source AND p.post_id = w.post_id", (list(srcs), list(ids))).fetchall():
                self.known[(src, pid)] = (key, sha)
            self.looked |= pairs
            wanted = list({prepared[pid][_P_KEY] for src, prepared in out for pid in prepared
                           if (src, pid) not in self.known})
            if wanted:
                self.taken.update(r[0] for r in self.cur.execute(
                    "SELECT key FROM posts WHERE key = ANY(%s)", (wanted,)).fetchall())
        return out

    def add(self, source: str, posts: list[Post], capture: Provenance) -> None:
        for src, prepared in self.prepare([(source, posts, capture)]):
            self.add_prepared(src, prepared)

    def add_prepared(self, source: str, prepared: dict[int, tuple[Any, ...]]) -> None:
        if not prepared:
            return
        if source not in self.sources:
            ensure_source(QmarkConnection(self.cur.connection.cursor()), source)  # beside self.cur's rows
            self.sources.add(source)
        fetched, result = self.fetched, self.result
        if any(self.known[(source, pid)][0] in self.touched for pid in prepared if (source, pid) in self.known):
            self.flush()  # the earlier write of that post goes first
        for post_id, r in prepared.items():
            stored = self.known.get((source, post_id))
            if stored is None:
                key = self._new_key(r[_P_KEY])
                self.inserts.append((key, *r[1:], fetched if r[_P_VIEWS] is not None else None,
                                     fetched, fetched, fetched))
                self.known[(source, post_id)] = (key, r[_P_SHA])
                self.fresh.add(key)
                self.touched.add(key)
                self.counts[source] = self.counts.get(source, 0) + 1
                result.new += 1
                result.max_key = max(result.max_key, key)
                continue
            key, sha = stored
            result.max_key = max(result.max_key, key)
            meta = (r[3], r[_P_TITLE], r[_P_URL], r[8], r[_P_VIEWS], r[_P_VIEWS_COUNT],
                    fetched if r[_P_VIEWS] is not None else None, *r[_P_EDITED:_P_SHA], fetched)
            self.touched.add(key)
            if r[_P_SHA] == sha:
                self.seen.append((*meta, key))
                result.unchanged += 1
                continue
            kept = key not in self.fresh  # a text never committed leaves no revision
            if kept:
                self.revs.append((fetched, key))
            self.changed.append((*meta, r[_P_TEXT], r[_P_SHA], fetched, r[_P_CAPTURE_HOW], r[_P_CAPTURE_FROM],
                                 int(kept), key))
            self.known[(source, post_id)] = (key, r[_P_SHA])
            result.changed += 1

    def _new_key(self, wanted: int) -> int:
        key = wanted
        while key in self.taken or (key != wanted and self.cur.execute(
                "SELECT 1 FROM posts WHERE key = %s", (key,)).fetchone()):
            key += 1
        self.taken.add(key)
        return key

    def flush(self) -> None:
        cur = self.cur
        if self.inserts:
            cur.executemany(_INSERT, sorted(self.inserts))
            # New posts wait for attention (core/pg/attention.py), queued in their own transaction.
            cur.execute(_QUEUE_NEW, ([r[0] for r in self.inserts],))
        if self.revs:
            cur.executemany(_KEEP_REVISION, self.revs)
        if self.changed:
            cur.executemany(_UPDATE_CHANGED, self.changed)
        if self.seen:
            cur.executemany(_UPDATE_SEEN, self.seen)
        if self.counts:
            cur.executemany("UPDATE sources SET post_count = post_count + %s WHERE name = %s",
                            [(n, src) for src, n in self.counts.items()])
        self.inserts, self.revs, self.changed, self.seen, self.counts = [], [], [], [], {}
        self.touched.clear()

    @property
    def done(self) -> IngestResult:
        """The result, after the last buffered write went out."""
        self.flush()
        return self.result
