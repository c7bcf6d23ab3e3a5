"""Bluesky accounts through the public AppView, no login: `app.bsky.feed.getAuthorFeed`.

Rules (issue 14):

* the permalink is `https://bsky.app/profile/<handle>/post/<rkey>` (the DID stands in for a handle
  the AppView marks invalid);
* a repost is the ORIGINAL post (its author, permalink and time) with `Post.reposted_by` naming
  who reposted it; the feed shows it under the reposting account's source;
* a reply keeps its parent's permalink in `reply_to`, a quote post the quoted post's in `quote_of`;
* the next older page is the response's `cursor` (opaque text).

Identity: an rkey is a TID, 13 characters of base32-sortable text encoding a 64-bit integer whose
top bit is 0 (microseconds since 1970 and a clock id), so `tid_to_int` is the store's id, it sorts
by time and it maps back (`int_to_tid`). An rkey that is not a TID is hashed (`hash63`). The rkey is
kept as `Post.native_id`.

Link facets are written out: the post's text shows a shortened "example.com/abc..." while the facet
holds the whole URL, which is what a citation needs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from deskapp.core.model import ChannelInfo, Page, PageKind, Post, SourceConfig, parse_utc_iso
from deskapp.core.sanitize import clean_line, clean_text, safe_url
from deskapp.core.sources.base import MAX_ID, Parsed, Request, Response, hash63

__all__ = ["KIND", "int_to_tid", "parse_author_feed", "permalink", "tid_to_int"]

BASE = "https://public.api.bsky.app"
WEB = "https://bsky.app"
PAGE_SIZE = 50
_B32 = "234567abcdefghijklmnopqrstuvwxyz"
_B32_VALUE = {c: i for i, c in enumerate(_B32)}
_MEDIA = {
    "app.bsky.embed.images#view": "photo",
    "app.bsky.embed.video#view": "video",
}


def tid_to_int(rkey: str) -> int | None:
    """A TID rkey as its 63-bit integer, or None when `rkey` is not a TID."""
    if len(rkey) != 13:
        return None
    value = 0
    for ch in rkey:
        digit = _B32_VALUE.get(ch)
        if digit is None:
            return None
        value = value * 32 + digit
    return value if value <= MAX_ID else None


def int_to_tid(value: int) -> str:
    """Inverse of `tid_to_int`."""
    chars = []
    for _ in range(13):
        chars.append(_B32[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def post_id(rkey: str) -> int:
    """The store's integer for a post's rkey: the TID's value, else a stable hash."""
    value = tid_to_int(rkey)
    return value if value is not None else hash63(f"bluesky:{rkey}")


def split_uri(uri: str | None) -> tuple[str, str] | None:
    """`at://<did>/app.bsky.feed.post/<rkey>` -> (did, rkey); None for anything else."""
    if not uri or not uri.startswith("at://"):
        return None
    parts = uri[5:].split("/")
    if len(parts) != 3 or parts[1] != "app.bsky.feed.post" or not parts[0] or not parts[2]:
        return None
    return parts[0], parts[2]


def permalink(handle_or_did: str, rkey: str) -> str:
    return f"{WEB}/profile/{quote(handle_or_did, safe=':.')}/post/{quote(rkey, safe='')}"


def _profile(author: Mapping[str, Any] | None, did: str) -> str:
    handle = (author or {}).get("handle") or ""
    if not handle or handle == "handle.invalid":
        return did
    return handle


def _uri_link(uri: str | None, author: Mapping[str, Any] | None = None) -> str | None:
    parts = split_uri(uri)
    if parts is None:
        return None
    did, rkey = parts
    return permalink(_profile(author, did), rkey)


def parse_author_feed(body: bytes | str, *, actor: str | None = None, source: str | None = None) -> Parsed:
    """Read a getAuthorFeed response. `actor` is the handle or DID asked for."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: JSON nested too deep
        return Parsed(Page(kind=PageKind.SUSPICIOUS_EMPTY, reason=f"not JSON ({type(exc).__name__})"))
    if not isinstance(data, dict) or not isinstance(data.get("feed"), list):
        why = ""
        if isinstance(data, dict) and data.get("error"):
            why = f": {clean_line(str(data.get('error')))} {clean_line(str(data.get('message') or ''))}".rstrip()
        return Parsed(Page(kind=PageKind.SUSPICIOUS_EMPTY, reason=f"not a Bluesky author feed{why}"))
    items = [it for it in data["feed"] if isinstance(it, dict) and isinstance(it.get("post"), dict)]
    owner = _owner(items, actor)
    name = source or f"bluesky:{(actor or (owner.username if owner else '') or 'unknown').lower()}"
    by_id: dict[int, Post] = {}
    for item in items:
        try:
            post = _post(item, name)
        except (TypeError, ValueError, AttributeError, KeyError):
            continue  # one malformed item must not cost the page
        if post is None:
            continue
        # An account reposting its own post shows it twice: keep the post itself.
        if post.id not in by_id or by_id[post.id].reposted_by is not None:
            by_id[post.id] = post
    cursor = data.get("cursor")
    cursor = cursor if isinstance(cursor, str) and cursor else None
    posts = sorted(by_id.values(), key=lambda p: p.id)
    if not posts:
        return Parsed(Page(kind=PageKind.NO_POSTS, channel=owner, reason="the account has no posts"))
    return Parsed(Page(kind=PageKind.OK, posts=posts, channel=owner), cursor=cursor)


def parse_posts(body: bytes | str) -> Parsed:
    """A getPosts response ({"posts": [postView, ...]}) read like an author feed's items."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: JSON nested too deep
        return Parsed(Page(kind=PageKind.SUSPICIOUS_EMPTY, reason=f"not JSON ({type(exc).__name__})"))
    if not isinstance(data, dict) or not isinstance(data.get("posts"), list):
        return Parsed(Page(kind=PageKind.SUSPICIOUS_EMPTY, reason="not a Bluesky getPosts answer"))
    wrapped = {"feed": [{"post": p} for p in data["posts"] if isinstance(p, dict)]}
    parsed = parse_author_feed(json.dumps(wrapped).encode())
    parsed.cursor = None
    return parsed


def _owner(items: list[dict], actor: str | None) -> ChannelInfo | None:
    """The account whose feed this is: the reposter of reposts, the author of the rest."""
    want = (actor or "").lower()
    for item in items:
        reason = item.get("reason")
        who = reason.get("by") if isinstance(reason, dict) and "reasonRepost" in str(reason.get("$type")) \
            else item["post"].get("author")
        if not isinstance(who, dict):
            continue
        handle, did = str(who.get("handle") or ""), str(who.get("did") or "")
        if not want or want in (handle.lower(), did.lower()):
            return ChannelInfo(username=clean_line(handle or did) or None,
                               title=clean_line(who.get("displayName")) or None)
    return None


def _post(item: Mapping[str, Any], source: str) -> Post | None:
    view = item["post"]
    parts = split_uri(view.get("uri"))
    if parts is None:
        return None
    did, rkey = parts
    author = view.get("author") or {}
    record = view.get("record") or {}
    handle = _profile(author, did)
    published = _time(record.get("createdAt"), view.get("indexedAt"))
    if published is None:
        return None
    text = _facet_text(str(record.get("text") or ""), record.get("facets"))
    reason = item.get("reason")
    reposted_by = None
    if isinstance(reason, dict) and "reasonRepost" in str(reason.get("$type")):
        by = reason.get("by") or {}
        reposted_by = clean_line(_profile(by, str(by.get("did") or ""))) or None
    embed = view.get("embed") if isinstance(view.get("embed"), dict) else {}
    media, quoted = _embed(embed)
    url = permalink(handle, rkey)
    return Post(
        source=source,
        channel=clean_line(handle),
        id=post_id(rkey),
        url=safe_url(url) or url,
        published=published,
        text=clean_text(text),
        media=media,
        reply_to=_reply_link(item, record),
        channel_title=clean_line(author.get("displayName")) or None,
        native_id=clean_line(rkey),
        reposted_by=reposted_by,
        quote_of=quoted,
    )


def _time(created: Any, indexed: Any) -> datetime | None:
    """The post's createdAt (set by the poster's client) unless it is unreadable or claims a time
    more than a day after the AppView saw it; then the indexing time."""
    seen = _iso(indexed)
    made = _iso(created)
    if made is None or (seen is not None and made > seen + timedelta(days=1)):
        made = seen
    return made.replace(microsecond=0) if made else None


def _iso(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_utc_iso(value)
    except ValueError:
        return None


def _reply_link(item: Mapping[str, Any], record: Mapping[str, Any]) -> str | None:
    reply = item.get("reply")
    if isinstance(reply, dict) and isinstance(reply.get("parent"), dict):
        parent = reply["parent"]
        link = _uri_link(parent.get("uri"), parent.get("author"))
        if link:
            return link
    ref = record.get("reply")
    if isinstance(ref, dict) and isinstance(ref.get("parent"), dict):
        return _uri_link(ref["parent"].get("uri"))  # a deleted or blocked parent: by DID
    return None


def _embed(embed: Mapping[str, Any]) -> tuple[list[str], str | None]:
    """(media kinds, quoted post's permalink) of a post's embed view."""
    kind = str(embed.get("$type") or "")
    if kind == "app.bsky.embed.recordWithMedia#view":
        media, _ = _embed(embed.get("media") or {})
        _, quoted = _embed({"$type": "app.bsky.embed.record#view", "record": (embed.get("record") or {}).get("record")})
        return media, quoted
    if kind == "app.bsky.embed.record#view":
        rec = embed.get("record") if isinstance(embed.get("record"), dict) else {}
        return [], _uri_link(rec.get("uri"), rec.get("author"))
    if kind == "app.bsky.embed.images#view":
        return ["photo"] * max(1, len(embed.get("images") or [])), None
    if kind in _MEDIA:
        return [_MEDIA[kind]], None
    return [], None  # external link cards: the link is in the text


def _facet_text(text: str, facets: Any) -> str:
    """`text` with each link facet's shortened label replaced by its URL (indices are UTF-8 bytes)."""
    if not facets or not isinstance(facets, list):
        return text
    raw = text.encode("utf-8")
    spans: list[tuple[int, int, str]] = []
    for facet in facets:
        try:
            start, end = int(facet["index"]["byteStart"]), int(facet["index"]["byteEnd"])
            uri = next(f["uri"] for f in facet["features"] if str(f.get("$type", "")).endswith("#link"))
        except (KeyError, TypeError, ValueError, StopIteration):
            continue
        if 0 <= start < end <= len(raw) and isinstance(uri, str):
            spans.append((start, end, uri))
    out, at = [], 0
    for start, end, uri in sorted(spans):
        if start < at:
            continue  # overlapping facets: keep the first
        label = raw[start:end].decode("utf-8", "replace")
        out.append(raw[at:start])
        out.append(_link_label(label, uri).encode("utf-8"))
        at = end
    out.append(raw[at:])
    return b"".join(out).decode("utf-8", "replace")


def _link_label(label: str, uri: str) -> str:
    bare = uri.split("://", 1)[-1]
    shown = label.removesuffix("...").removesuffix("\u2026").split("://", 1)[-1]
    if label == uri or bare.startswith(shown):
        return uri  # the label is the URL, shortened
    return f"{label} ({uri})"


class BlueskyKind:
    name = "bluesky"
    platform = "Bluesky"
    default_base = BASE

    def source_name(self, handle: str) -> str:
        return f"bluesky:{handle.strip().lstrip('@').lower()}"

    def first_request(self, entry: SourceConfig, cursor: str | None = None,
                      memo: Mapping[str, str] | None = None) -> Request:
        actor = entry.handle.strip().lstrip("@")
        base = (entry.base_url or BASE).rstrip("/")
        url = f"{base}/xrpc/app.bsky.feed.getAuthorFeed?actor={quote(actor, safe=':')}&limit={PAGE_SIZE}"
        if cursor:
            url += f"&cursor={quote(cursor, safe='')}"
        return Request(url, accept="application/json", conditional=cursor is None)

    def parse(self, response: Response, request: Request | None = None) -> Parsed:
        url = response.url or (request.url if request else "")
        if request is not None and request.step == "post":
            return parse_posts(response.body)
        actor = (parse_qs(urlsplit(url).query).get("actor") or [None])[0] if url else None
        return parse_author_feed(response.body, actor=actor)

    def post_request(self, post: Post, base_url: str) -> Request:
        """`app.bsky.feed.getPosts` for the post's own record (the permalink names author and rkey)."""
        parts = [seg for seg in urlsplit(post.url).path.split("/") if seg]
        author, rkey = (parts[1], parts[3]) if len(parts) == 4 else (post.channel, post.native_id or "")
        uri = f"at://{author}/app.bsky.feed.post/{rkey}"
        base = (base_url or BASE).rstrip("/")
        return Request(f"{base}/xrpc/app.bsky.feed.getPosts?uris={quote(uri, safe='')}", step="post",
                       accept="application/json")

    def fallback(self, entry: SourceConfig, request: Request, status: int) -> Request | None:
        return None

    def permalink(self, url: str) -> str:
        """bsky.app post links with the query and fragment dropped."""
        parts = urlsplit(url)
        return f"{WEB}{parts.path}" if parts.netloc.lower() in ("bsky.app", "www.bsky.app") else url

    def sniff(self, body: bytes) -> bool:
        head = body[:4096]
        return head.lstrip().startswith(b"{") and b'"feed"' in body[:64] + head and b"at://" in head


KIND = BlueskyKind()
