"""Plain data the core passes around: posts, channel info, parsed pages, sources, pins.

No I/O here. Times are timezone-aware UTC datetimes; the JSON form of a post is a stable
contract read by other tools (see `Post.to_json`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from enum import StrEnum
from operator import attrgetter
from typing import Any

# The one place each time form is written and read: `utc_iso` (stored, exchanged), `fmt_utc` (shown
# to a person outside the desk's own columns) and `parse_utc_iso` (read back, and read from pages).


def as_utc(ts: datetime) -> datetime:
    """`ts` in UTC; a naive datetime is taken as UTC already (the model keeps UTC), never as local."""
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def utc_iso(ts: datetime) -> str:
    """'YYYY-MM-DDTHH:MM:SSZ' (converted to UTC; naive taken as UTC)."""
    return as_utc(ts).strftime("%Y-%m-%dT%H:%M:%SZ")


def fmt_utc(ts: datetime) -> str:
    """'2026-06-30 18:02 UTC' (converted to UTC; naive taken as UTC)."""
    return as_utc(ts).strftime("%Y-%m-%d %H:%M UTC")


def parse_utc_iso(text: str) -> datetime:
    """An ISO 8601 time as aware UTC: the inverse of `utc_iso`, and any offset ('+00:00', '+03:00');
    a time without one is taken as UTC. ValueError when unreadable."""
    ts = datetime.fromisoformat(text)  # 3.11 reads a trailing Z as UTC
    if ts.tzinfo is UTC:
        return ts  # 'Z' or '+00:00' (the stored form, Telegram's): already UTC, a hot path
    return as_utc(ts)


def age_text(then: datetime, now: datetime | None = None, *, short: bool = False) -> str:
    """How long ago, coarsely: 'just now', '4 min ago', '3 h ago', '2 d ago' (short: 'now', '4m', '3h', '2d')."""
    secs = max(0, int(((now or datetime.now(UTC)) - then).total_seconds()))
    if secs < 60:
        return "now" if short else "just now"
    for size, unit, tiny in ((86400, "d", "d"), (3600, "h", "h"), (60, "min", "m")):
        if secs >= size:
            return f"{secs // size}{tiny}" if short else f"{secs // size} {unit} ago"
    return ""


@dataclass(slots=True, frozen=True)
class ForwardedFrom:
    name: str
    url: str | None = None  # None for hidden/private origins (span without href)


@dataclass(slots=True)
class Post:
    """One post as a source published it. `source` is "<kind>:<handle lower-case>"."""

    source: str
    channel: str  # as written by the source (for Telegram: the data-post capitalisation)
    id: int
    url: str  # canonical permalink, e.g. https://t.me/durov/519
    published: datetime  # aware, UTC
    text: str = ""
    author: str | None = None  # signature, when the channel signs posts
    views: str | None = None  # raw rounded string as shown ("11.4M")
    views_count: int | None = None  # approximate integer of `views`
    edited: bool = False
    forwarded_from: ForwardedFrom | None = None
    reply_to: str | None = None  # permalink of the replied-to post
    album_ids: list[int] = field(default_factory=list)
    media: list[str] = field(default_factory=list)  # kinds: photo, video, voice, ...
    service: bool = False
    channel_title: str | None = None  # display name of the channel, when the page shows it
    # Kinds other than Telegram (see deskapp/core/sources/base.py): the id as the platform writes it
    # (Bluesky rkey, Mastodon status id, RSS guid); `id` is the store's integer made from it.
    native_id: str | None = None
    reposted_by: str | None = None  # a repost/boost: who reposted it (the post itself is the original)
    quote_of: str | None = None  # permalink of the quoted post

    def __reduce__(self) -> tuple[type[Post], tuple[Any, ...]]:
        # Pickled by the parse pool's workers (20,000 posts an import): every field, positionally,
        # instead of dataclass's per-field __getstate__/__setstate__ (half the time both ways).
        return Post, _post_fields(self)

    def to_json(self) -> dict[str, Any]:
        """The stable JSON-lines shape of `desk parse` / `desk search --json`. Do not change keys."""
        return {
            "source": self.source,
            "channel": self.channel,
            "id": self.id,
            "url": self.url,
            "published": utc_iso(self.published),
            "text": self.text,
            "author": self.author,
            "views": self.views,
            "edited": self.edited,
            "forwarded_from": (
                {"name": self.forwarded_from.name, "url": self.forwarded_from.url}
                if self.forwarded_from
                else None
            ),
            "reply_to": self.reply_to,
            "album_ids": list(self.album_ids),
            "media": list(self.media),
            "service": self.service,
            **self._other_kind_json(),
        }

    def _other_kind_json(self) -> dict[str, Any]:
        """Keys only posts of other kinds than Telegram carry (Telegram's lines stay as they were)."""
        kind = self.source.split(":", 1)[0] if ":" in self.source else "telegram"
        if kind == "telegram":
            return {}
        return {"kind": kind, "native_id": self.native_id, "reposted_by": self.reposted_by,
                "quote_of": self.quote_of}


_post_fields = attrgetter(*(f.name for f in fields(Post)))  # every field of a Post, in order


@dataclass(slots=True)
class ChannelInfo:
    username: str | None = None
    title: str | None = None
    description: str | None = None
    subscribers: str | None = None  # raw ("11.3M")
    subscribers_count: int | None = None


class CheckKind(StrEnum):
    """A pin's capture (when it is pinned) or a re-check (later, on request); see core/verify.py."""

    CAPTURE = "capture"
    RECHECK = "recheck"


class PageKind(StrEnum):
    OK = "ok"  # a real preview page with posts
    NO_PREVIEW = "no_preview"  # landing card, telegram.org, or no channel info: nothing public to read
    NO_POSTS = "no_posts"  # a real page that says it has no posts
    SUSPICIOUS_EMPTY = "suspicious_empty"  # a channel page with neither posts nor a no-posts notice
    REFUSED = "refused"  # every post on the page was refused (another channel's, duplicated, unreadable)


@dataclass(slots=True)
class Page:
    """What a parser makes of one fetched page."""

    kind: PageKind
    posts: list[Post] = field(default_factory=list)  # ascending id
    channel: ChannelInfo | None = None
    before: int | None = None  # cursor for the next older page (?before=N), None at the end
    reason: str = ""  # human-readable when kind is not OK
    # Posts or values the parser would not accept, one readable reason each (another channel's post,
    # an id twice with different content, a time out of range); the rest of the page stands.
    refused: list[str] = field(default_factory=list)


@dataclass(slots=True, frozen=True)
class Capture:
    """How the stored text of a post was captured: fetched from a URL, or imported from a file."""

    how: str  # "fetched" | "imported"
    where: str  # the URL fetched, or the file's absolute path
    at: datetime  # when (aware UTC)

    def to_json(self) -> dict[str, str]:
        return {"how": self.how, "from": self.where, "at": utc_iso(self.at)}


@dataclass(slots=True)
class SourceConfig:
    """A source as the settings describe it."""

    name: str  # "telegram:<handle lower>"
    kind: str  # "telegram"
    handle: str  # as configured
    label: str | None = None
    interval: float | None = None  # seconds; None = the kind's default / adaptive
    enabled: bool = True
    base_url: str = "https://t.me"

    @property
    def url(self) -> str:
        """Telegram: the preview page polled. Other kinds: where a reader finds the source (the feed
        URL, the profile page); what is polled is the kind's business (core/sources/)."""
        if self.kind == "rss":
            return self.handle
        if self.kind == "bluesky":
            return f"https://bsky.app/profile/{self.handle.lstrip('@')}"
        if self.kind == "mastodon":
            user, _, host = self.handle.lstrip("@").partition("@")
            return f"https://{host}/@{user}" if host else self.handle
        return f"{self.base_url.rstrip('/')}/s/{self.handle}"


@dataclass(slots=True)
class SourceHealth:
    """A source row from the store, with its health."""

    name: str
    kind: str
    handle: str
    label: str | None
    enabled: bool
    title: str | None
    last_success: datetime | None
    last_error: datetime | None
    error_text: str | None
    error_count: int
    next_poll: datetime | None
    cursor: int | None
    backfill_done: bool
    warning: str | None = None  # the last page's refused posts (another channel's, duplicated ids, ...)
    warning_at: datetime | None = None
    posts: int = 0

    @property
    def state(self) -> str:
        """ok | failing | backing off | new | disabled (for status bars and `desk sources`)."""
        if not self.enabled:
            return "disabled"
        if self.error_count == 0:
            return "ok" if self.last_success else "new"
        return "failing" if self.error_count >= 3 else "backing off"

    @property
    def reason(self) -> str | None:
        """Why the source is not healthy: its last error while it is failing; None once a poll
        succeeded again (the old error stays in error_text and last_error, as history)."""
        return self.error_text if self.error_count else None


@dataclass(slots=True)
class Pin:
    source: str
    post_id: int
    position: int
    note: str
    pinned_at: datetime


@dataclass(slots=True)
class StoredPost:
    """A post as the store holds it: the post plus what we observed about it."""

    post: Post
    key: int  # the store's ordering key (rowid): published time first, see store.py
    first_seen: datetime
    last_seen: datetime
    text_sha256: str
    views_seen: datetime | None = None  # when `post.views` was read
    revisions: int = 0  # how many earlier texts are kept (0 = never changed since first capture)
    pinned: bool = False
    pin_note: str = ""
    capture: Capture | None = None  # None for posts stored before desk recorded provenance


@dataclass(slots=True, frozen=True)
class Copies:
    """How many later posts repeat a post (the feed's "+N"), and their channels by name, earliest first."""

    count: int
    channels: tuple[str, ...] = ()


@dataclass(slots=True, frozen=True)
class FeedRow:
    """One light row of the live feed (what a line of the virtual view needs)."""

    key: int
    source: str
    post_id: int
    channel: str
    channel_title: str | None
    url: str
    published: datetime
    snippet: str  # the start of the text, cut by the store
    pinned: bool
    service: bool = False
    edited: bool = False  # edited at the source, or its text changed since it was first captured
    forwarded: str | None = None  # forwarded (or reposted) from: a name, possibly empty
    reply: bool = False
    media: tuple[str, ...] = ()  # kinds, one per item: photo, video, document, poll, ...
