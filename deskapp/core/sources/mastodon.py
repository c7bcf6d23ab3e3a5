"""Mastodon accounts through their instance's public API, with the account's RSS as a fallback.

A poll resolves `@user@instance` once (`/api/v1/accounts/lookup?acct=user`, remembered as the
source's `account_id`), then reads `/api/v1/accounts/<id>/statuses`. Where the API wants a login
(HTTP 401/403: "authorized fetch", limited mode), the account's `https://<instance>/@user.rss` is
read instead; its links end in the same status ids, so both ways give the same posts the same ids.

Rules (issue 14):

* the status `url` is the permalink (`uri` when a status has no `url`);
* `edited_at` marks the post edited (the store keeps the earlier text as a revision);
* a boost is the ORIGINAL status (author, permalink, time) with `Post.reposted_by` naming the
  booster, stored under the boost's own id (the id the account's timeline pages by);
* HTML content becomes text (`html_to_text`); a content warning comes first as "CW: ...";
* a reply keeps its parent's link, a quote (Mastodon 4.4+) the quoted status's permalink;
* the next older page is the `Link` header's rel="next" `max_id`.

Identity: Mastodon ids are decimal integers below 2^63 (a millisecond time in the high bits), used
as they are; the decimal text is kept as `Post.native_id`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from deskapp.core.model import ChannelInfo, Page, PageKind, Post, SourceConfig, parse_utc_iso
from deskapp.core.sanitize import clean_line, clean_text, safe_url
from deskapp.core.sources import feed
from deskapp.core.sources.base import Parsed, Request, Response, header_links, int_id
from deskapp.core.sources.html_text import html_to_text

__all__ = ["KIND", "parse_statuses", "split_handle"]

PAGE_SIZE = 40  # the API's maximum
_MEDIA = {"image": "photo", "gifv": "gif", "video": "video", "audio": "audio"}
_LOGIN_NEEDED = (401, 403)


def split_handle(handle: str) -> tuple[str, str]:
    """"@user@instance" (or "user@instance", or a profile URL https://instance/@user) -> (user, instance)."""
    text = handle.strip()
    if "://" in text:
        parts = urlsplit(text)
        return parts.path.strip("/").lstrip("@").split("/")[0], parts.netloc.lower()
    user, _, host = text.lstrip("@").partition("@")
    return user, host.lower()


def _full_acct(account: Mapping[str, Any], host: str) -> str:
    """user@instance for an account object (`acct` omits the instance for local accounts)."""
    acct = str(account.get("acct") or account.get("username") or "")
    if "@" in acct:
        return acct
    own = urlsplit(str(account.get("url") or "")).netloc.lower() or host
    return f"{acct}@{own}" if own else acct


def _host_of(url: str) -> str:
    return urlsplit(url).netloc.lower()


def parse_statuses(body: bytes | str, *, url: str = "", headers: Mapping[str, str] | None = None,
                   source: str | None = None) -> Parsed:
    """Read an API response: a list of statuses, one status, or an account (lookup)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: JSON nested too deep
        return Parsed(Page(kind=PageKind.SUSPICIOUS_EMPTY, reason=f"not JSON ({type(exc).__name__})"))
    host = _host_of(url)
    if isinstance(data, dict) and "content" in data and "id" in data:
        data = [data]  # one status (a re-check of a single post)
    if isinstance(data, dict) and "acct" in data:
        info = _account_info(data, host)
        return Parsed(Page(kind=PageKind.NO_POSTS, channel=info, reason="an account, not its statuses"),
                      memo={"account_id": str(data.get("id") or "")})
    if not isinstance(data, list):
        why = f": {clean_line(str(data.get('error')))}" if isinstance(data, dict) and data.get("error") else ""
        return Parsed(Page(kind=PageKind.SUSPICIOUS_EMPTY, reason=f"not a list of Mastodon statuses{why}"))
    statuses = [s for s in data if isinstance(s, dict)]
    owner = _account_info(statuses[0]["account"], host) if statuses and isinstance(
        statuses[0].get("account"), dict) else None
    name = source or (f"mastodon:{owner.username.lower()}" if owner and owner.username else "mastodon:unknown")
    posts: dict[int, Post] = {}
    for status in statuses:
        try:
            post = _post(status, name, host)
        except (TypeError, ValueError, AttributeError, KeyError):
            continue  # one malformed status must not cost the page
        if post is not None:
            posts[post.id] = post
    cursor = _next_max_id((headers or {}).get("link"))
    if not posts:
        return Parsed(Page(kind=PageKind.NO_POSTS, channel=owner, reason="the account has no public posts"))
    return Parsed(Page(kind=PageKind.OK, posts=sorted(posts.values(), key=lambda p: p.id), channel=owner),
                  cursor=cursor)


def _next_max_id(link: str | None) -> str | None:
    nxt = header_links(link).get("next")
    if not nxt:
        return None
    value = (parse_qs(urlsplit(nxt).query).get("max_id") or [None])[0]
    return value if value and int_id(value) is not None else None


def _account_info(account: Mapping[str, Any], host: str) -> ChannelInfo:
    followers = account.get("followers_count")
    return ChannelInfo(
        username=clean_line(_full_acct(account, host)) or None,
        title=clean_line(account.get("display_name")) or None,
        description=clean_line(html_to_text(account.get("note"))) or None,
        subscribers=str(followers) if isinstance(followers, int) else None,
        subscribers_count=followers if isinstance(followers, int) else None,
    )


def _post(status: Mapping[str, Any], source: str, host: str) -> Post | None:
    native = str(status.get("id") or "")
    ident = int_id(native)
    if ident is None:
        return None
    booster = status.get("account") or {}
    original = status.get("reblog") if isinstance(status.get("reblog"), dict) else None
    shown = original or status
    account = shown.get("account") or {}
    link = str(shown.get("url") or shown.get("uri") or "")
    published = parse_utc_iso(str(shown.get("created_at")))
    text = html_to_text(shown.get("content"))
    spoiler = clean_line(shown.get("spoiler_text"))
    if spoiler:
        text = f"CW: {spoiler}\n\n{text}"
    poll = shown.get("poll") if isinstance(shown.get("poll"), dict) else None
    if poll:
        options = [clean_line(o.get("title")) for o in poll.get("options") or [] if isinstance(o, dict)]
        text = "\n".join([text, "", *(f"( ) {o}" for o in options)]) if options else text
    media = [_MEDIA.get(str(m.get("type")), "document") for m in shown.get("media_attachments") or []
             if isinstance(m, dict)]
    if poll:
        media.append("poll")
    return Post(
        source=source,
        channel=clean_line(_full_acct(account, host)),
        id=ident,
        url=safe_url(link) or link,
        published=published.replace(microsecond=0),
        text=clean_text(text),
        edited=bool(shown.get("edited_at")),
        reply_to=_reply_link(shown, host),
        media=media,
        channel_title=clean_line(account.get("display_name")) or None,
        native_id=native,
        reposted_by=clean_line(_full_acct(booster, host)) or None if original else None,
        quote_of=_quote_link(shown),
    )


def _reply_link(status: Mapping[str, Any], host: str) -> str | None:
    """A link to the parent that opens on this instance: /@<acct>/<id> with the parent's local id.

    The API gives only the parent's local id and account id; the account's acct comes from the
    status itself (a self-thread) or its mentions. Unknown account: None rather than a wrong link."""
    parent = status.get("in_reply_to_id")
    who = status.get("in_reply_to_account_id")
    if not parent or int_id(str(parent)) is None or not host:
        return None
    accounts = [status.get("account") or {}, *(status.get("mentions") or [])]
    for acc in accounts:
        if isinstance(acc, dict) and str(acc.get("id")) == str(who):
            acct = str(acc.get("acct") or "")
            if acct:
                return f"https://{host}/@{quote(acct, safe='@.')}/{parent}"
    return None


def _quote_link(status: Mapping[str, Any]) -> str | None:
    quoted = status.get("quote")
    if isinstance(quoted, dict):
        inner = quoted.get("quoted_status") if isinstance(quoted.get("quoted_status"), dict) else quoted
        link = inner.get("url") or inner.get("uri")
        return safe_url(str(link)) if link else None
    return None


def parse_rss(body: bytes, *, url: str = "", source: str | None = None) -> Parsed:
    """The account's RSS (the fallback): ids and native ids from the status links."""
    user, host = split_handle(url.removesuffix(".rss")) if url else ("", "")
    acct = f"{user}@{host}".lower() if user and host else ""
    page = feed.parse_feed(body, url=url, source=source or f"mastodon:{acct or 'unknown'}")
    if not acct and page.posts:  # a saved feed without its URL: the status links name the account
        user, host = split_handle(page.posts[0].url.rsplit("/", 1)[0])
        acct = f"{user}@{host}".lower() if user and host else ""
        for post in page.posts:
            post.source = source or f"mastodon:{acct or 'unknown'}"
    kept: list[Post] = []
    for post in page.posts:
        tail = post.url.rstrip("/").rsplit("/", 1)[-1]
        ident = int_id(tail)
        if ident is None:
            continue
        post.id, post.native_id = ident, tail
        post.channel = acct or post.channel
        kept.append(post)
    page.posts = sorted(kept, key=lambda p: p.id)
    if page.channel is not None and acct:
        page.channel.username = acct
    if page.kind is PageKind.OK and not page.posts:
        page.kind, page.reason = PageKind.NO_POSTS, "the feed has no status links"
    return Parsed(page)


class MastodonKind:
    name = "mastodon"
    platform = "Mastodon"
    default_base = ""  # https://<the account's instance>

    def source_name(self, handle: str) -> str:
        user, host = split_handle(handle)
        return f"mastodon:{user.lower()}@{host}" if host else f"mastodon:{user.lower()}"

    def _base(self, entry: SourceConfig) -> str:
        return (entry.base_url or f"https://{split_handle(entry.handle)[1]}").rstrip("/")

    def first_request(self, entry: SourceConfig, cursor: str | None = None,
                      memo: Mapping[str, str] | None = None) -> Request:
        base = self._base(entry)
        account = (memo or {}).get("account_id")
        if not account:
            user = split_handle(entry.handle)[0]
            return Request(f"{base}/api/v1/accounts/lookup?acct={quote(user, safe='')}", step="lookup",
                           accept="application/json")
        url = f"{base}/api/v1/accounts/{quote(account, safe='')}/statuses?limit={PAGE_SIZE}"
        if cursor:
            url += f"&max_id={quote(cursor, safe='')}"
        return Request(url, accept="application/json", conditional=cursor is None)

    def parse(self, response: Response, request: Request | None = None) -> Parsed:
        url = response.url or (request.url if request else "")
        step = request.step if request else ("rss" if feed.KIND.sniff(response.body) else "posts")
        if step == "rss":
            return parse_rss(response.body, url=url)
        parsed = parse_statuses(response.body, url=url, headers=response.headers)
        account = parsed.memo.get("account_id")
        if step == "lookup" and account and int_id(account) is not None:
            base = url.split("/api/v1/", 1)[0]
            parsed.follow = Request(f"{base}/api/v1/accounts/{account}/statuses?limit={PAGE_SIZE}",
                                    accept="application/json", conditional=True)
        return parsed

    def fallback(self, entry: SourceConfig, request: Request, status: int) -> Request | None:
        if status not in _LOGIN_NEEDED or request.step == "rss":
            return None
        user = split_handle(entry.handle)[0]
        return Request(f"{self._base(entry)}/@{quote(user, safe='')}.rss", step="rss",
                       accept="application/rss+xml, application/xml;q=0.9, */*;q=0.5", conditional=True)

    def post_request(self, post: Post, base_url: str) -> Request:
        """`/api/v1/statuses/<id>` on the account's instance (a boost: the boost's own status)."""
        user_host = post.source.split(":", 1)[1] if ":" in post.source else post.channel
        base = (base_url or f"https://{split_handle(user_host)[1]}").rstrip("/")
        return Request(f"{base}/api/v1/statuses/{quote(post.native_id or str(post.id), safe='')}", step="post",
                       accept="application/json")

    def permalink(self, url: str) -> str:
        """Status links as the instance gives them, without query or fragment."""
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.scheme and parts.netloc else url

    def sniff(self, body: bytes) -> bool:
        head = body[:8192]
        return head.lstrip()[:1] in (b"[", b"{") and b'"acct"' in head and (
            b'"content"' in head or b'"username"' in head) or (
            feed.KIND.sniff(body) and b"<generator>Mastodon" in head)


KIND = MastodonKind()
