"""Invented RSS feeds, Bluesky accounts and Mastodon accounts, served by the demo/test wire server.

Each answers in its platform's real format, so the desk reads it through the normal poller and the
kinds in core/sources/: an RSS 2.0 document (ETag and 304), Bluesky's getAuthorFeed JSON (cursor
paging, reposts, replies, quotes), Mastodon's account lookup and statuses JSON (Link-header paging,
boosts, edits) and the account RSS (the fallback when `login_required` makes the API answer 401).

Routes on the same loopback server as the Telegram pages:
  /feeds/<name>.xml                                RSS
  /xrpc/app.bsky.feed.getAuthorFeed?actor=&cursor=  Bluesky
  /xrpc/app.bsky.feed.getPosts?uris=               Bluesky, one post (pin capture and re-check)
  /api/v1/accounts/lookup?acct=, /api/v1/accounts/<id>/statuses?max_id=, /@<user>.rss,
  /api/v1/statuses/<id>                             Mastodon
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from deskapp.core.sources.bluesky import int_to_tid

PAGE = 20
_TID_BASE = 0x1800_0000_0000_0000 >> 1  # TIDs of 2026-ish, top bit 0


@dataclass(slots=True)
class Item:
    """One invented post. `id` is the native number (a Mastodon id, the TID's value, the guid's tail)."""

    id: int
    published: datetime
    text: str
    title: str = ""  # RSS only
    edited: bool = False
    repost_of: tuple[str, str, int] | None = None  # (author handle, display name, original id)
    reply_to: int | None = None  # the id of a post of the same account
    quote_of: tuple[str, int] | None = None  # (author handle, id)


@dataclass(slots=True)
class Account:
    kind: str  # "rss" | "bluesky" | "mastodon"
    handle: str  # rss: the feed's file name ("alerts"); bluesky: the handle; mastodon: user@instance
    title: str
    items: list[Item] = field(default_factory=list)  # oldest first
    account_id: int = 0  # Mastodon
    login_required: bool = False  # Mastodon: the API answers 401, the RSS works

    @property
    def user(self) -> str:
        return self.handle.split("@")[0]

    @property
    def instance(self) -> str:
        return self.handle.split("@")[1] if "@" in self.handle else ""


def tid(n: int) -> str:
    """An invented post's rkey: a valid TID for a small number."""
    return int_to_tid(_TID_BASE + n)


# ------------------------------------------------------------------------------ renderers


def render_rss(acc: Account, site: str) -> bytes:
    items = []
    for it in reversed(acc.items):
        link = f"{site}/news/{it.id}?utm_source=rss&utm_medium=feed"
        items.append(
            f"<item><title>{escape(it.title or it.text.split(chr(10))[0])}</title><link>{escape(link)}</link>"
            f'<guid isPermaLink="false">{escape(acc.handle)}-{it.id}</guid>'
            f"<pubDate>{format_datetime(it.published.astimezone(UTC), usegmt=True)}</pubDate>"
            f"<description>{escape('<p>' + escape(it.text) + '</p>')}</description></item>")
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{escape(acc.title)}</title>'
            f"<link>{escape(site)}/</link><description>Invented feed for the demo</description>"
            f"{''.join(items)}</channel></rss>").encode()


def _bsky_author(handle: str, title: str) -> dict[str, Any]:
    did = "did:plc:" + hashlib.sha1(handle.encode()).hexdigest()[:24]
    return {"did": did, "handle": handle, "displayName": title}


def _bsky_uri(author: dict[str, Any], n: int) -> str:
    return f"at://{author['did']}/app.bsky.feed.post/{tid(n)}"


def render_bluesky(acc: Account, cursor: str | None) -> bytes:
    me = _bsky_author(acc.handle, acc.title)
    items = sorted(acc.items, key=lambda i: i.id, reverse=True)
    if cursor and cursor.isdigit():
        items = [i for i in items if i.id < int(cursor)]
    page, rest = items[:PAGE], items[PAGE:]
    feed = []
    for it in page:
        author, n = me, it.id
        if it.repost_of:
            author, n = _bsky_author(it.repost_of[0], it.repost_of[1]), it.repost_of[2]
        created = it.published.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        record: dict[str, Any] = {"$type": "app.bsky.feed.post", "text": it.text, "createdAt": created}
        post: dict[str, Any] = {"uri": _bsky_uri(author, n), "author": author, "record": record,
                                "indexedAt": created}
        entry: dict[str, Any] = {"post": post}
        if it.repost_of:
            entry["reason"] = {"$type": "app.bsky.feed.defs#reasonRepost", "by": me, "indexedAt": created}
        if it.reply_to:
            parent = {"uri": _bsky_uri(me, it.reply_to)}
            record["reply"] = {"parent": parent, "root": parent}
            entry["reply"] = {"parent": {"$type": "app.bsky.feed.defs#postView", **parent, "author": me}}
        if it.quote_of:
            quoted = _bsky_author(it.quote_of[0], it.quote_of[0])
            post["embed"] = {"$type": "app.bsky.embed.record#view",
                             "record": {"$type": "app.bsky.embed.record#viewRecord",
                                        "uri": _bsky_uri(quoted, it.quote_of[1]), "author": quoted}}
        feed.append(entry)
    out: dict[str, Any] = {"feed": feed}
    if rest:
        out["cursor"] = str(page[-1].id)
    return json.dumps(out).encode()


def _masto_account(acc: Account) -> dict[str, Any]:
    return {"id": str(acc.account_id), "username": acc.user, "acct": acc.user, "display_name": acc.title,
            "url": f"https://{acc.instance}/@{acc.user}", "note": "<p>Invented account for the demo</p>",
            "followers_count": 1000 + acc.account_id % 1000}


def _status(acc: Account, it: Item) -> dict[str, Any]:
    account = _masto_account(acc)
    url = f"https://{acc.instance}/@{acc.user}/{it.id}"
    created = it.published.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    status: dict[str, Any] = {
        "id": str(it.id), "created_at": created, "url": url, "uri": url, "account": account,
        "content": "".join(f"<p>{escape(part)}</p>" for part in it.text.split("\n\n")),
        "spoiler_text": "", "edited_at": created if it.edited else None, "reblog": None,
        "in_reply_to_id": str(it.reply_to) if it.reply_to else None,
        "in_reply_to_account_id": account["id"] if it.reply_to else None,
        "media_attachments": [], "mentions": [], "poll": None}
    if it.repost_of:
        user, _, host = it.repost_of[0].partition("@")
        orig = {"id": str(it.repost_of[2]), "username": user, "acct": it.repost_of[0],
                "display_name": it.repost_of[1], "url": f"https://{host}/@{user}"}
        status["reblog"] = {**status, "id": str(it.repost_of[2]), "account": orig, "reblog": None,
                            "url": f"https://{host}/@{user}/{it.repost_of[2]}"}
        status["content"] = ""
    return status


def render_statuses(acc: Account, max_id: str | None, base: str) -> tuple[bytes, str | None]:
    items = sorted(acc.items, key=lambda i: i.id, reverse=True)
    if max_id and max_id.isdigit():
        items = [i for i in items if i.id < int(max_id)]
    page, rest = items[:PAGE], items[PAGE:]
    link = None
    if rest:
        link = f'<{base}/api/v1/accounts/{acc.account_id}/statuses?limit=40&max_id={page[-1].id}>; rel="next"'
    return json.dumps([_status(acc, it) for it in page]).encode(), link


def render_account_rss(acc: Account) -> bytes:
    items = "".join(
        f"<item><guid isPermaLink=\"true\">https://{acc.instance}/@{acc.user}/{it.id}</guid>"
        f"<link>https://{acc.instance}/@{acc.user}/{it.id}</link>"
        f"<pubDate>{format_datetime(it.published.astimezone(UTC), usegmt=True)}</pubDate>"
        f"<description>{escape('<p>' + escape(it.text) + '</p>')}</description></item>"
        for it in reversed(acc.items) if not it.repost_of)
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{escape(acc.title)}</title>'
            f"<description>Public posts from @{acc.handle}</description><generator>Mastodon v4.3.0</generator>"
            f"{items}</channel></rss>").encode()


# ------------------------------------------------------------------------------ serving


class Others:
    """The accounts of the three kinds on one WireServer; `handle` answers a request or says no."""

    def __init__(self) -> None:
        self.accounts: dict[tuple[str, str], Account] = {}

    def add(self, acc: Account) -> Account:
        if acc.kind == "mastodon" and not acc.account_id:
            acc.account_id = 100 + len(self.accounts)
        self.accounts[(acc.kind, acc.handle.lower())] = acc
        return acc

    def get(self, kind: str, handle: str) -> Account | None:
        return self.accounts.get((kind, handle.lower()))

    def answer(self, path: str, query: str, base: str) -> tuple[int, bytes, dict[str, str]] | None:
        """(status, body, headers) for a request this module serves, else None."""
        q = {k: v[0] for k, v in parse_qs(query).items()}
        json_type = {"Content-Type": "application/json; charset=utf-8"}
        if path.startswith("/feeds/") and path.endswith(".xml"):
            acc = self.get("rss", path[len("/feeds/"):-len(".xml")])
            if acc is None:
                return 404, b"not found", {}
            return 200, render_rss(acc, f"https://{acc.handle}.example.gov"), {
                "Content-Type": "application/rss+xml; charset=utf-8"}
        if path == "/xrpc/app.bsky.feed.getAuthorFeed":
            acc = self.get("bluesky", q.get("actor", ""))
            if acc is None:
                return 400, b'{"error":"InvalidRequest","message":"Profile not found"}', json_type
            return 200, render_bluesky(acc, q.get("cursor")), json_type
        if path == "/api/v1/accounts/lookup":
            acc = next((a for a in self.accounts.values()
                        if a.kind == "mastodon" and a.user.lower() == q.get("acct", "").lower()), None)
            if acc is None:
                return 404, b'{"error":"Record not found"}', json_type
            if acc.login_required:
                return 401, b'{"error":"This API requires an authenticated user"}', json_type
            return 200, json.dumps(_masto_account(acc)).encode(), json_type
        if path == "/xrpc/app.bsky.feed.getPosts":
            return 200, self._bluesky_posts(q.get("uris", "")), json_type
        segs = [s for s in path.split("/") if s]
        if segs[:3] == ["api", "v1", "statuses"] and len(segs) == 4:
            for acc in self.accounts.values():
                if acc.kind == "mastodon" and not acc.login_required:
                    for it in acc.items:
                        if str(it.id) == segs[3]:
                            return 200, json.dumps(_status(acc, it)).encode(), json_type
            return 404, b'{"error":"Record not found"}', json_type
        if segs[:3] == ["api", "v1", "accounts"] and len(segs) == 5 and segs[4] == "statuses":
            acc = next((a for a in self.accounts.values()
                        if a.kind == "mastodon" and str(a.account_id) == segs[3]), None)
            if acc is None:
                return 404, b'{"error":"Record not found"}', json_type
            body, link = render_statuses(acc, q.get("max_id"), base)
            return 200, body, {**json_type, **({"Link": link} if link else {})}
        if len(segs) == 1 and segs[0].startswith("@") and segs[0].endswith(".rss"):
            user = segs[0][1:-4].lower()
            acc = next((a for a in self.accounts.values() if a.kind == "mastodon" and a.user.lower() == user), None)
            if acc is None:
                return 404, b"not found", {}
            return 200, render_account_rss(acc), {"Content-Type": "application/rss+xml; charset=utf-8"}
        return None


    def _bluesky_posts(self, uri: str) -> bytes:
        """getPosts for one at:// URI naming the account by handle (as bluesky.py asks)."""
        parts = uri.removeprefix("at://").split("/")
        posts: list[dict[str, Any]] = []
        if len(parts) != 3:
            return json.dumps({"posts": posts}).encode()
        handle, rkey = parts[0].lower(), parts[2]
        for acc in self.accounts.values():
            if acc.kind != "bluesky":
                continue
            # The account's own post, or an original it reposted (the AppView serves every account).
            found = [i for i in acc.items if (acc.handle.lower() == handle and not i.repost_of and tid(i.id) == rkey)
                     or (i.repost_of and i.repost_of[0].lower() == handle and tid(i.repost_of[2]) == rkey)]
            if found:
                feed = json.loads(render_bluesky(Account(acc.kind, acc.handle, acc.title, found[:1]), None))
                posts = [entry["post"] for entry in feed["feed"]]
                break
        return json.dumps({"posts": posts}).encode()


def demo_accounts(now: datetime) -> list[Account]:
    """The demo's invented accounts: one of each kind, with a repost/boost, a reply, a quote, an edit."""
    t = now - timedelta(hours=3)
    rss = Account("rss", "civilprotection", "Civil Protection Agency: alerts", [
        Item(i, t + timedelta(minutes=25 * i), f"Update {i}: river levels and road closures in the north district.",
             title=f"Alert {i}: flood watch extended") for i in range(1, 7)])
    bsky = Account("bluesky", "citydesk.example.org", "City Desk (Bluesky)", [
        Item(1, t + timedelta(minutes=10), "Tram line 4 is running again after this morning's power cut."),
        Item(2, t + timedelta(minutes=40), "Reposting the weather service's storm warning.",
             repost_of=("weather.example.net", "Weather Service", 9)),
        Item(3, t + timedelta(minutes=70), "Correction: line 4 runs to the depot only.", reply_to=1),
        Item(4, t + timedelta(minutes=100), "Worth reading on the harbour works:", quote_of=("harbour.example.com", 5)),
    ])
    masto = Account("mastodon", "fire@social.example", "Fire Service", [
        Item(1000 + i, t + timedelta(minutes=30 * i), f"Crews attending a call in sector {i}.\n\nAvoid the area.")
        for i in range(1, 6)])
    masto.items[2].edited = True
    masto.items.append(Item(1010, t + timedelta(minutes=170), "Road closures tonight: see the city's map.",
                            repost_of=("mayor@town.example", "Mayor", 77)))
    return [rss, bsky, masto]
