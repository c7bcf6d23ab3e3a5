"""How both stores read a post back: the column lists of a stored post and of a feed line, the join
that marks a post pinned on a desk, and the readers that turn those rows into model objects.

One copy for SQLite (core/store.py) and PostgreSQL (core/pg/store.py): the SQL here is what both
servers understand, and the readers accept SQLite's 0/1 integers or PostgreSQL's booleans alike.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from deskapp.core.model import Capture, FeedRow, ForwardedFrom, Post, StoredPost, parse_utc_iso, utc_iso

T = TypeVar("T")

SNIPPET_CHARS = 300

# Columns read back into a StoredPost, in this order (see stored_post); `pins` is the pin of the
# store's desk, joined by `post_from_pins` (or the pins table itself, for a pinboard).
POST_COLS = (
    "p.key, p.source, p.post_id, p.channel, p.channel_title, p.url, p.published, p.text, p.author, "
    "p.views, p.views_count, p.views_seen, p.edited, p.fwd_name, p.fwd_url, p.reply_to, p.album_ids, "
    "p.media, p.service, p.text_sha256, p.first_seen, p.last_seen, p.revisions, "
    "pins.post_id IS NOT NULL, coalesce(pins.note, ''), p.native_id, p.reposted_by, p.quote_of, "
    "p.capture_how, p.capture_from, p.text_seen"
)


def iso_or_none(ts: datetime | None) -> str | None:
    return None if ts is None else utc_iso(ts)


def dt_or_none(text: str | None) -> datetime | None:
    return parse_utc_iso(text) if text else None


def sql_text(value: str) -> str:
    """A SQL string literal (quotes doubled): desk names go into column lists built once per desk."""
    return "'" + value.replace("'", "''") + "'"


def post_from_pins(desk: str) -> str:
    """The join that marks a post pinned on `desk` (a validated name, see core/desks.py)."""
    return f"LEFT JOIN pins ON pins.desk = {sql_text(desk)} AND pins.source = p.source AND pins.post_id = p.post_id"


def feed_cols(desk: str) -> str:
    """Columns of a FeedRow, in this order (see feed_row); `pinned` means pinned on `desk`."""
    return (
        "p.key, p.source, p.post_id, p.channel, p.channel_title, p.url, p.published, "
        f"substr(p.text, 1, {SNIPPET_CHARS}), EXISTS (SELECT 1 FROM pins WHERE pins.desk = {sql_text(desk)} "
        "AND pins.source = p.source AND pins.post_id = p.post_id), p.service, "
        # What the line marks: edited (at source or since capture), forwarded or reposted, a reply, media.
        # `<> 0`: PostgreSQL keeps `edited` as an integer, and has no OR of an integer.
        "p.edited <> 0 OR p.revisions > 0, coalesce(p.fwd_name, p.reposted_by), p.reply_to IS NOT NULL, p.media"
    )


def stored_post(row: tuple[Any, ...]) -> StoredPost:
    (key, source, post_id, channel, channel_title, url, published, text, author, views, views_count,
     views_seen, edited, fwd_name, fwd_url, reply_to, album_ids, media, service, sha, first_seen,
     last_seen, revisions, pinned, pin_note, native_id, reposted_by, quote_of, capture_how, capture_from,
     text_seen) = row  # fmt: skip
    post = Post(
        source=source,
        channel=channel or "",
        id=post_id,
        url=url or "",
        published=parse_utc_iso(published),
        text=text or "",
        author=author,
        views=views,
        views_count=views_count,
        edited=bool(edited),
        forwarded_from=ForwardedFrom(fwd_name, fwd_url) if fwd_name is not None else None,
        reply_to=reply_to,
        album_ids=json.loads(album_ids) if album_ids else [],
        media=json.loads(media) if media else [],
        service=bool(service),
        channel_title=channel_title,
        native_id=native_id,
        reposted_by=reposted_by,
        quote_of=quote_of,
    )
    return StoredPost(
        post=post,
        key=key,
        first_seen=parse_utc_iso(first_seen),
        last_seen=parse_utc_iso(last_seen),
        text_sha256=sha or "",
        views_seen=dt_or_none(views_seen),
        revisions=revisions or 0,
        pinned=bool(pinned),
        pin_note=pin_note or "",
        capture=(Capture(capture_how, capture_from or "", parse_utc_iso(text_seen or first_seen))
                 if capture_how else None),
    )


def feed_row(row: tuple[Any, ...]) -> FeedRow:
    (key, source, post_id, channel, channel_title, url, published, snippet, pinned, service, edited,
     forwarded, reply, media) = row  # fmt: skip
    # Positional: a frozen dataclass built with keywords costs a third more, 100 times a page.
    return FeedRow(key, source, post_id, channel or "", channel_title, url or "", parse_utc_iso(published),
                   snippet or "", bool(pinned), bool(service), bool(edited), forwarded, bool(reply),
                   tuple(json.loads(media)) if media and media != "[]" else ())


class PostReads:
    """Mixed into both stores: a post by its id, key or link, its earlier texts, and the counts the
    poller asks for. `_post_from_pins` is the desk's join (store_pins.PinStore sets it)."""

    _post_from_pins: str

    if TYPE_CHECKING:  # provided by each store
        def _read(self, fn: Callable[[Any], T]) -> T: ...

    def get(self, source: str, post_id: int) -> StoredPost | None:
        row = self._read(lambda c: c.execute(
            f"SELECT {POST_COLS} FROM posts p {self._post_from_pins} WHERE p.source = ? AND p.post_id = ?",
            (source, post_id)).fetchone())
        return stored_post(row) if row else None

    def get_by_url(self, url: str) -> StoredPost | None:
        """The newest post whose permalink is `url` (a post of another kind named by its link on the
        command line). A scan of the posts table: for commands, not for the desk."""
        row = self._read(lambda c: c.execute(
            f"SELECT {POST_COLS} FROM posts p {self._post_from_pins} WHERE p.url = ? ORDER BY p.key DESC LIMIT 1",
            (url,)).fetchone())
        return stored_post(row) if row else None

    def get_by_key(self, key: int) -> StoredPost | None:
        row = self._read(lambda c: c.execute(
            f"SELECT {POST_COLS} FROM posts p {self._post_from_pins} WHERE p.key = ?", (key,)).fetchone())
        return stored_post(row) if row else None

    def revisions_of(self, source: str, post_id: int) -> list[tuple[str, datetime, datetime]]:
        """Earlier texts, oldest first: (text, captured = first seen, replaced = when it changed)."""
        rows = self._read(lambda c: c.execute(
            "SELECT text, captured, replaced FROM revisions WHERE source = ? AND post_id = ? ORDER BY id",
            (source, post_id)).fetchall())
        return [(t, parse_utc_iso(c), parse_utc_iso(r)) for t, c, r in rows]

    def revision_captures(self, source: str, post_id: int) -> list[Capture | None]:
        """How each earlier text was captured, in the order of `revisions_of` (None: not recorded)."""
        rows = self._read(lambda c: c.execute(
            "SELECT capture_how, capture_from, captured FROM revisions WHERE source = ? AND post_id = ? "
            "ORDER BY id", (source, post_id)).fetchall())
        return [Capture(how, where or "", parse_utc_iso(at)) if how else None for how, where, at in rows]

    def count_posts(self) -> int:
        """Stored posts, from the per-source counters (0.3 ms at 10^6 on SQLite, where count(*) takes
        31 ms while another connection writes). Ingest keeps them and a trigger handles deletes; rows
        written by other tools are counted after `recount()`. The cast: PostgreSQL sums a BIGINT
        column as NUMERIC."""
        return self._read(lambda c: c.execute(
            "SELECT CAST(coalesce(sum(post_count), 0) AS BIGINT) FROM sources").fetchone()[0])

    def max_post_id(self, source: str) -> int | None:
        """The highest post id stored for a source (one probe of the UNIQUE (source, post_id)
        index), None when it has none: the poller's first-sight and gap test."""
        return self._read(lambda c: c.execute(
            "SELECT max(post_id) FROM posts WHERE source = ?", (source,)).fetchone()[0])

    def max_key(self) -> int:
        """The newest key, 0 when empty."""
        return self._read(lambda c: c.execute("SELECT coalesce(max(key), 0) FROM posts").fetchone()[0])
