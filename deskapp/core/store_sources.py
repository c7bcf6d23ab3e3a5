"""The store's side of sources: the configured sources, what pages showed about their channels, and
each source's health (last success or error, next poll, backfill cursor).

A mixin of both stores (core/store.py and core/pg/store.py), written against a sqlite3-like
connection with `?` placeholders (PostgreSQL runs it through core/pg/shared_sql.py). Every method
goes through the store's own `_read`/`_write`, so locking, transactions and retries are each
store's. What differs is a hook: `_source_changed` (last in a poll's record: PostgreSQL tells the
desks listening at commit) and `_forgetting_posts` (SQLite takes CJK/Thai posts out of its bigram index).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from deskapp.core.ingest import ensure_source
from deskapp.core.model import ChannelInfo, SourceConfig, SourceHealth, utc_iso
from deskapp.core.query import QueryError
from deskapp.core.query import parse as parse_query
from deskapp.core.sanitize import clean_channel, clean_header, clean_line
from deskapp.core.store_rows import dt_or_none, iso_or_none

T = TypeVar("T")

_SOURCE_COLS = (
    "name, kind, handle, label, enabled, title, last_success, last_error, error_text, error_count, "
    "next_poll, cursor, backfill_done, warning, warning_at, post_count"
)


def channel_update(conn: Any, name: str, channel: ChannelInfo | None) -> None:
    """What a page showed about its channel, in the page's transaction."""
    if channel is None:
        return
    channel = clean_channel(channel)
    # Only fields the page showed overwrite what we know.
    conn.execute(
        "UPDATE sources SET title = coalesce(?, title), description = coalesce(?, description), "
        "subscribers = coalesce(?, subscribers), subscribers_count = coalesce(?, subscribers_count) "
        "WHERE name = ?",
        (channel.title, channel.description, channel.subscribers, channel.subscribers_count, name),
    )


class SourceStore:
    if TYPE_CHECKING:  # provided by each store (never defined here: a mixin's stub would shadow them)
        def _read(self, fn: Callable[[Any], T]) -> T: ...
        def _write(self, fn: Callable[[Any], T]) -> T: ...

    def _source_changed(self, conn: Any, name: str) -> None:
        """Last in the transaction that records a poll's outcome (PostgreSQL: desks show the health at once)."""

    def _forgetting_posts(self, conn: Any, name: str) -> None:
        """Before a forgotten source's posts are deleted, in the same transaction."""

    def sync_sources(self, configs: list[SourceConfig]) -> None:
        """Add sources that are new; update label/enabled/interval/handle of known ones. Never deletes."""
        now = utc_iso(datetime.now(UTC))
        rows = [
            (c.name, c.kind, clean_line(c.handle), clean_line(c.label) or None, int(bool(c.enabled)), c.interval, now, c.base_url)
            for c in configs
        ]

        def run(conn: Any) -> None:
            conn.executemany(
                "INSERT INTO sources (name, kind, handle, label, enabled, interval, created, base_url) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, "
                "handle = excluded.handle, label = excluded.label, enabled = excluded.enabled, "
                "interval = excluded.interval, base_url = excluded.base_url, "
                "created = coalesce(sources.created, excluded.created)",
                rows,
            )

        self._write(run)

    def forget_source(self, name: str) -> int:
        """Remove a source and its stored posts (with their revisions) from the store; returns how
        many posts went. Refused (ValueError) while any desk has one of its posts pinned: pins are
        the editors' evidence. The settings file is the caller's: a configured source comes back."""

        def run(conn: Any) -> int:
            pinned = conn.execute("SELECT count(*) FROM pins WHERE source = ?", (name,)).fetchone()[0]
            if pinned:
                raise ValueError(f"{name}: {pinned} of its posts are pinned; unpin them first")
            self._forgetting_posts(conn, name)
            gone = conn.execute("DELETE FROM posts WHERE source = ?", (name,)).rowcount
            conn.execute("DELETE FROM revisions WHERE source = ?", (name,))
            conn.execute("DELETE FROM sources WHERE name = ?", (name,))
            return gone

        return self._write(run)

    def sources(self) -> list[SourceHealth]:
        """Every known source, by name, with `.posts` = stored posts (the post_count counter)."""
        rows = self._read(lambda c: c.execute(f"SELECT {_SOURCE_COLS} FROM sources ORDER BY name").fetchall())
        return [
            SourceHealth(
                name=r[0], kind=r[1], handle=r[2], label=r[3], enabled=bool(r[4]), title=r[5],
                last_success=dt_or_none(r[6]), last_error=dt_or_none(r[7]), error_text=r[8], error_count=r[9] or 0,
                next_poll=dt_or_none(r[10]), cursor=r[11], backfill_done=bool(r[12]), warning=r[13],
                warning_at=dt_or_none(r[14]), posts=r[15] or 0,
            )
            for r in rows
        ]

    def source_row(self, name: str) -> dict[str, Any] | None:
        """The raw sources row (cursor, etag, last_modified, ...) or None."""

        def run(conn: Any) -> dict[str, Any] | None:
            cur = conn.execute("SELECT * FROM sources WHERE name = ?", (name,))
            row = cur.fetchone()
            return dict(zip([d[0] for d in cur.description], row, strict=True)) if row else None

        return self._read(run)

    def update_channels(self, channels: dict[str, ChannelInfo]) -> None:
        """What pages showed about their channels (title, description, subscribers), one transaction."""
        if not channels:
            return

        def run(conn: Any) -> None:
            for name, info in channels.items():
                ensure_source(conn, name)
                channel_update(conn, name, info)

        self._write(run)

    def record_success(self, name: str, *, at: datetime, next_poll: datetime, etag: str | None = None,
                       last_modified: str | None = None, channel: ChannelInfo | None = None,
                       warning: str | None = None) -> None:
        """A fetch worked: error_count = 0; etag/last_modified are stored as given (None clears them;
        a value that could not be sent back, not printable ASCII, is not kept). `warning` (posts the
        page had that were refused) is kept on the source with its time until the next one."""

        def run(conn: Any) -> None:
            ensure_source(conn, name)
            conn.execute(
                "UPDATE sources SET last_success = ?, next_poll = ?, error_count = 0, etag = ?, "
                "last_modified = ? WHERE name = ?",
                (iso_or_none(at), iso_or_none(next_poll), clean_header(etag), clean_header(last_modified), name),
            )
            if warning:
                conn.execute("UPDATE sources SET warning = ?, warning_at = ? WHERE name = ?",
                             (clean_line(warning)[:2000], iso_or_none(at), name))
            channel_update(conn, name, channel)
            self._source_changed(conn, name)

        self._write(run)

    def record_failure(self, name: str, *, at: datetime, reason: str, next_poll: datetime) -> None:
        """A fetch failed: error_count += 1, the reason kept as one clean line."""

        def run(conn: Any) -> None:
            ensure_source(conn, name)
            conn.execute(
                "UPDATE sources SET last_error = ?, error_text = ?, error_count = error_count + 1, "
                "next_poll = ? WHERE name = ?",
                (iso_or_none(at), clean_line(reason), iso_or_none(next_poll), name),
            )
            self._source_changed(conn, name)

        self._write(run)

    def set_backfill(self, name: str, *, cursor: int | None, done: bool) -> None:
        def run(conn: Any) -> None:
            ensure_source(conn, name)
            conn.execute("UPDATE sources SET cursor = ?, backfill_done = ? WHERE name = ?",
                         (cursor, int(done), name))

        self._write(run)

    # ------------------------------------------------------------------ sources named in a search

    def resolve_sources(self, typed: list[str]) -> list[str]:
        """Source names for `source:` filters: a name, a handle or a label (any case). QueryError
        names the ones that match no source."""
        out: list[str] = []
        for value in typed:
            v = value.casefold().lstrip("@")
            hits = self._read(lambda c, v=v: [r[0] for r in c.execute(
                "SELECT name FROM sources WHERE lower(name) = ? OR lower(handle) = ? OR lower(label) = ? "
                "ORDER BY name", (v, v, v)).fetchall()])
            if not hits:
                some = self._read(lambda c: [r[0] for r in c.execute(
                    "SELECT handle FROM sources ORDER BY name LIMIT 6").fetchall()])
                listed = ", ".join(some[:5]) + (", ..." if len(some) > 5 else "") if some else "none yet"
                raise QueryError(f"source:{value}: no such source (sources: {listed})")
            out.extend(hits)
        return list(dict.fromkeys(out))

    def check_query(self, query: str) -> None:
        """Raise QueryError when the search text has a filter the store cannot apply (a date it
        cannot read, a source it does not know), before anything is shown for it."""
        self.resolve_sources(parse_query(query).sources)
