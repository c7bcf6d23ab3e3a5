"""RSS and Atom feeds (agencies, ministries, emergency services), read with feedparser.

Rules (issue 14):

* the item's link is its permalink, with tracking parameters (`utm_*`, BBC's `at_*`, `fbclid`, ...)
  removed (`canonical_link`);
* the guid identifies the item (the link when there is no guid); the store's integer id is
  `hash63(guid)`, the guid itself is kept as `Post.native_id`;
* the time is `published`, else `updated`, in UTC; an item with neither gets the feed's own date;
* the text is the title, a blank line, and the summary as plain text (HTML summaries through
  `html_to_text`); every field goes through the sanitising gate;
* an item whose content changes is an edit: the store keeps the earlier text as a revision; an
  item whose `updated` is later than its `published` is marked edited by the source itself.

A feed has no older pages: the cursor is always None. The body is handed to feedparser as a stream,
never as a string (a string that looks like a URL or a file name would be fetched or opened).
"""

from __future__ import annotations

import calendar
import io
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import feedparser

from deskapp.core.model import ChannelInfo, Page, PageKind, Post, SourceConfig
from deskapp.core.sanitize import clean_line, clean_text, safe_url
from deskapp.core.sources.base import Parsed, Request, Response, hash63
from deskapp.core.sources.html_text import html_to_text

__all__ = ["KIND", "canonical_link", "parse_feed"]

# Query parameters that only say where a click came from. Exact names, plus every `utm_*`.
_TRACKING = frozenset({
    "at_medium", "at_campaign", "at_custom1", "at_custom2", "at_custom3", "at_custom4", "at_link_id",
    "at_link_origin", "at_link_type", "at_format", "at_ptr_name", "at_bbc_team",  # BBC (AT Internet)
    "ns_campaign", "ns_mchannel", "ns_source", "ns_linkname", "ns_fee",  # older BBC (comScore)
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "igshid", "mc_cid",
    "mc_eid", "_hsenc", "_hsmi", "mkt_tok", "oly_anon_id", "oly_enc_id", "vero_id", "rb_clickid",
    "s_cid", "cmpid", "ito", "smid", "smtyp", "emc", "partner", "ref_src", "ref_url", "spm", "xtor",
})
_MEDIA = {"image": "photo", "video": "video", "audio": "audio"}
_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"


def canonical_link(url: str) -> str:
    """`url` without tracking parameters (order of the others kept); unparseable URLs unchanged."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url
    if not parts.query:
        return urlunsplit(parts)
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not (k.lower().startswith("utm_") or k.lower() in _TRACKING)]
    return urlunsplit(parts._replace(query=urlencode(kept, doseq=True)))


def feed_source_name(url: str) -> str:
    """ "rss:<url>" with scheme and host lower-case and no fragment (paths are case-sensitive)."""
    try:
        parts = urlsplit(url.strip())
        url = urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", parts.query, ""))
    except ValueError:
        pass
    return f"rss:{url}"


def parse_feed(body: bytes, *, url: str = "", source: str | None = None,
               headers: Mapping[str, str] | None = None) -> Page:
    """Read an RSS or Atom document into a Page (posts oldest first)."""
    # Content-Location is the base for relative links; the declared type/charset helps decoding.
    hdrs = {"content-location": url} if url else {}
    if headers and headers.get("content-type"):
        hdrs["content-type"] = headers["content-type"]
    try:
        d = feedparser.parse(io.BytesIO(body), response_headers=hdrs)
    except Exception as exc:  # feedparser is lenient, but a parser bug must not stop the poller
        return Page(kind=PageKind.SUSPICIOUS_EMPTY, reason=f"the feed could not be read ({type(exc).__name__})")
    feed = d.get("feed") or {}
    version = d.get("version") or ""
    if not version and not d.entries:
        problem = d.get("bozo_exception")
        why = f": {clean_line(str(problem))[:200]}" if problem else ""
        return Page(kind=PageKind.SUSPICIOUS_EMPTY, reason=f"not an RSS or Atom feed{why}")
    info = ChannelInfo(username=None, title=clean_line(feed.get("title")) or None,
                       description=clean_line(html_to_text(feed.get("subtitle"))) or None)
    name = source or feed_source_name(url or feed.get("link") or "")
    channel = name.split(":", 1)[1]
    fallback_time = _utc(dict.get(feed, "updated_parsed") or dict.get(feed, "published_parsed"))
    posts = [p for p in (_item(e, name, channel, info.title, fallback_time) for e in d.entries) if p]
    posts.sort(key=lambda p: (p.published, p.id))
    if not posts:
        return Page(kind=PageKind.NO_POSTS, channel=info, reason="the feed has no items")
    return Page(kind=PageKind.OK, posts=posts, channel=info)


def _item(e: Mapping, source: str, channel: str, title: str | None, fallback: datetime | None) -> Post | None:
    link = e.get("link") or ""
    guid = (e.get("id") or link or "").strip()
    if not guid:
        guid = f"{e.get('title', '')}\n{e.get('published', '')}"
        if not guid.strip():
            return None  # nothing to identify it by
    # dict.get: feedparser's own get() answers "updated" with "published" (with a warning).
    updated = _utc(dict.get(e, "updated_parsed"))
    published = _utc(dict.get(e, "published_parsed")) or updated or fallback
    if published is None:
        published = datetime.now(UTC).replace(microsecond=0)
    head = clean_line(e.get("title"))
    body = _summary(e)
    if head and body and (body == head or body.startswith(head + "\n")):
        head = ""  # Mastodon-style feeds repeat the text as the title
    text = "\n\n".join(t for t in (head, body) if t)
    return Post(
        source=source,
        channel=channel,
        id=hash63(guid),
        url=safe_url(canonical_link(link)) or canonical_link(link),
        published=published,
        text=clean_text(text),
        author=clean_line(e.get("author")) or None,
        edited=bool(updated and updated > published),
        media=_media(e),
        channel_title=title,
        native_id=clean_line(guid),
    )


def _summary(e: Mapping) -> str:
    detail = e.get("summary_detail") or {}
    raw = e.get("summary")
    if not raw and e.get("content"):
        detail = e["content"][0]
        raw = detail.get("value")
    if not raw:
        return ""
    if "html" in (detail.get("type") or "text/html"):
        return clean_text(html_to_text(raw))
    return clean_text(raw.strip())


def _media(e: Mapping) -> list[str]:
    kinds: list[str] = []
    for m in e.get("media_content") or []:
        medium = (m.get("medium") or (m.get("type") or "").split("/")[0]).lower()
        kinds.append(_MEDIA.get(medium, "document"))
    if not kinds:
        for enc in e.get("enclosures") or []:
            kinds.append(_MEDIA.get((enc.get("type") or "").split("/")[0].lower(), "document"))
    return kinds


def _utc(parsed: time.struct_time | None) -> datetime | None:
    """feedparser's struct_time (already normalised to UTC) as an aware datetime."""
    if not parsed:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
    except (OverflowError, ValueError, OSError):
        return None


class FeedKind:
    name = "rss"
    platform = "RSS"
    default_base = ""  # the feed URL's own origin

    def source_name(self, handle: str) -> str:
        return feed_source_name(handle)

    def first_request(self, entry: SourceConfig, cursor: str | None = None,
                      memo: Mapping[str, str] | None = None) -> Request:
        return Request(fetch_url(entry.handle, entry.base_url), accept=_ACCEPT, conditional=True)

    def parse(self, response: Response, request: Request | None = None) -> Parsed:
        url = response.url or (request.url if request else "")
        return Parsed(parse_feed(response.body, url=url, headers=response.headers))

    def fallback(self, entry: SourceConfig, request: Request, status: int) -> Request | None:
        return None

    def permalink(self, url: str) -> str:
        return canonical_link(url)

    def post_request(self, post: Post, base_url: str) -> Request:
        """The feed again: an item has no page of its own that this kind reads."""
        feed_url = post.source.split(":", 1)[1] if ":" in post.source else post.channel
        return Request(fetch_url(feed_url, base_url or None), step="posts", accept=_ACCEPT)

    def sniff(self, body: bytes) -> bool:
        head = body[:2048].lstrip().lower()
        return head.startswith((b"<?xml", b"<rss", b"<feed", b"<rdf")) and (
            b"<rss" in head or b"<feed" in head or b"<rdf" in head)


def fetch_url(feed_url: str, base_url: str | None) -> str:
    """The feed URL with its origin replaced by `base_url` (a mirror or a local server), if given."""
    if not base_url:
        return feed_url
    base = urlsplit(base_url)
    parts = urlsplit(feed_url)
    prefix = base.path.rstrip("/")
    return urlunsplit((base.scheme, base.netloc, prefix + (parts.path or "/"), parts.query, ""))


KIND = FeedKind()
