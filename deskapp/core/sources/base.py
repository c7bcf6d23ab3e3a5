"""What every source kind provides: how to ask for posts, and how to read what comes back.

A kind (Telegram, RSS/Atom, Bluesky, Mastodon, ...) is one module in this package exposing one object
that satisfies `SourceKind`; `deskapp.core.sources.KINDS` lists them. The poller, `desk parse` and
`desk import` only talk to this interface, so a fifth kind is one new module and one line in
`sources._MODULES`.

A poll of one source is: `first_request(entry, cursor, memo)`, fetch, `parse(response, request)`;
while the result has a `follow` request (Mastodon resolves `@user@host` to an account id first) fetch
that and parse again; an HTTP error may be answered by `fallback(entry, request, status)` (Mastodon's
account RSS where the API wants a login). `Parsed.cursor` is the next older page (opaque text), and
`Parsed.memo` is what the kind wants remembered for the source (the resolved account id).

Identity: the store keys posts by (source, integer post id). Each kind maps its native id to a
non-negative 63-bit integer (see `hash63` and docs/DESIGN-NOTES.md) and keeps the native id as text
in `Post.native_id`, and the canonical permalink in `Post.url`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from deskapp.core.model import Page, Post, SourceConfig

MAX_ID = (1 << 63) - 1  # SQLite's INTEGER is signed 64-bit


@dataclass(frozen=True, slots=True)
class Request:
    """One GET a kind wants made. `step` tells `parse` what the answer is (kind-specific)."""

    url: str
    step: str = "posts"
    accept: str = "*/*"
    # Send the source's saved ETag / Last-Modified: only for the newest page, whose validators are kept.
    conditional: bool = False


@dataclass(slots=True)
class Response:
    """What came back. `headers` with lower-case names; `final_url` is where redirects ended."""

    body: bytes
    url: str = ""
    final_url: str | None = None
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Parsed:
    """What a kind makes of one response."""

    page: Page  # posts in ascending id order, source info (`page.channel`), kind and reason
    cursor: str | None = None  # the next older page, None at the end (or when the kind cannot page)
    follow: Request | None = None  # one more request this poll needs before posts can be read
    memo: dict[str, str] = field(default_factory=dict)  # facts to remember for the source


class SourceKind(Protocol):
    """One kind of public source. Implementations are stateless module-level objects."""

    name: str  # "rss": the prefix of source names ("rss:<handle>") and of settings tables
    platform: str  # "RSS", how a reader names the platform in a citation
    default_base: str  # where entries are fetched from unless `base_url` says otherwise

    def source_name(self, handle: str) -> str:
        """The store's name for a configured handle: "<kind>:<normalised handle>"."""
        ...

    def first_request(self, entry: SourceConfig, cursor: str | None = None,
                      memo: Mapping[str, str] | None = None) -> Request:
        """The request for the newest page (cursor None) or the page older than `cursor`."""
        ...

    def parse(self, response: Response, request: Request | None = None) -> Parsed:
        """Read one response into posts, cursor and source info. Never raises on bad input:
        a response that is not what the kind expects is a Page of kind SUSPICIOUS_EMPTY with a reason."""
        ...

    def fallback(self, entry: SourceConfig, request: Request, status: int) -> Request | None:
        """Another way to read the source when `request` failed with HTTP `status`, or None."""
        ...

    def permalink(self, url: str) -> str:
        """The canonical form of a post link of this kind (tracking parameters removed, ...)."""
        ...

    def post_request(self, post: Post, base_url: str) -> Request:
        """The request that shows one stored post again (pin capture and re-check). Step "post": the
        answer is about that post alone, so its absence means it is gone; any other step is a listing
        (a feed) that may simply have dropped it."""
        ...

    def sniff(self, body: bytes) -> bool:
        """Whether a saved response looks like this kind's (for `desk parse` without `--kind`)."""
        ...


def hash63(text: str) -> int:
    """A stable non-negative 63-bit integer for a native id that is not a number (an RSS guid).

    blake2b, not Python's `hash` (salted per process); a collision within one source needs about
    3 * 10^9 items for a one-in-a-million chance."""
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") & MAX_ID


def int_id(native: str) -> int | None:
    """A decimal native id (Mastodon's) as the store's integer, or None if it is not one that fits."""
    if native.isascii() and native.isdigit() and len(native) <= 19:
        value = int(native)
        if value <= MAX_ID:
            return value
    return None


def header_links(value: str | None) -> dict[str, str]:
    """RFC 8288 `Link` header -> {rel: url}: `<https://a?max_id=1>; rel="next", <...>; rel="prev"`."""
    links: dict[str, str] = {}
    if not value:
        return links
    for part in value.split(","):
        url, _, params = part.strip().partition(";")
        url = url.strip()
        if not (url.startswith("<") and url.endswith(">")):
            continue
        for param in params.split(";"):
            key, _, val = param.strip().partition("=")
            if key.strip().lower() == "rel":
                for rel in val.strip().strip('"').split():
                    links.setdefault(rel.lower(), url[1:-1])
    return links
