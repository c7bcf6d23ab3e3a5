"""Bluesky author feeds: permalinks, TID ids, reposts, replies, quotes, facets, cursor."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from deskapp.core.model import PageKind, SourceConfig
from deskapp.core.sources import bluesky
from deskapp.core.sources.base import Response
from tests.samples import OTHER

needs_other = pytest.mark.skipif(not OTHER.is_dir(), reason=f"real samples not found at {OTHER}")

ME = {"did": "did:plc:me", "handle": "alerts.example.org", "displayName": "City \x1b]0;x\x07Alerts"}
OTHER_AUTHOR = {"did": "did:plc:other", "handle": "reporter.example.com", "displayName": "A Reporter"}


def view(rkey, author, text, created, **extra):
    post = {"uri": f"at://{author['did']}/app.bsky.feed.post/{rkey}", "author": author,
            "record": {"$type": "app.bsky.feed.post", "text": text, "createdAt": created},
            "indexedAt": created}
    post["record"].update(extra.pop("record", {}))
    post.update(extra)
    return post


def feed_json(items, cursor="2026-12-01T08:00:00.000Z"):
    return json.dumps({"feed": items, "cursor": cursor}).encode()


LINK_TEXT = "Straße 🚧 closed, see alerts.example.org/road/12..."
LINK_START = len("Straße 🚧 closed, see ".encode())  # facet indices count UTF-8 bytes
ITEMS = [
    {"post": view("3lbbbbbbbbb22", ME, LINK_TEXT, "2026-12-01T10:00:00.500Z",
                  record={"facets": [{"index": {"byteStart": LINK_START, "byteEnd": len(LINK_TEXT.encode())},
                                      "features": [{"$type": "app.bsky.richtext.facet#link",
                                                    "uri": "https://alerts.example.org/road/12345"}]}]},
                  embed={"$type": "app.bsky.embed.images#view", "images": [{}, {}]})},
    {"post": view("3laaaaaaaaa22", OTHER_AUTHOR, "Original report", "2026-11-30T09:00:00Z"),
     "reason": {"$type": "app.bsky.feed.defs#reasonRepost", "by": ME, "indexedAt": "2026-12-01T09:30:00Z"}},
    {"post": view("3lccccccccc22", ME, "Update below", "2026-12-01T11:00:00Z",
                  record={"reply": {"parent": {"uri": "at://did:plc:gone/app.bsky.feed.post/3lzzzzzzzzz22"}}}),
     "reply": {"parent": {"$type": "app.bsky.feed.defs#postView",
                          "uri": "at://did:plc:me/app.bsky.feed.post/3lbbbbbbbbb22", "author": ME}}},
    {"post": view("3lddddddddd22", ME, "Quoting this", "2026-12-01T12:00:00Z",
                  embed={"$type": "app.bsky.embed.recordWithMedia#view",
                         "record": {"record": {"$type": "app.bsky.embed.record#viewRecord",
                                               "uri": "at://did:plc:other/app.bsky.feed.post/3laaaaaaaaa22",
                                               "author": OTHER_AUTHOR}},
                         "media": {"$type": "app.bsky.embed.video#view"}})},
    {"post": view("3leeeeeeeee22", ME, "Orphan reply", "2026-12-01T13:00:00Z",
                  record={"reply": {"parent": {"uri": "at://did:plc:gone/app.bsky.feed.post/3lzzzzzzzzz22"}}})},
]


def parse(items=ITEMS, **kw):
    return bluesky.parse_author_feed(feed_json(items, **kw), actor="alerts.example.org")


def by_rkey(parsed):
    return {p.native_id: p for p in parsed.page.posts}


def test_tid_roundtrip_and_order():
    for rkey in ("3lix6ufungs22", "2222222222222", "3laaaaaaaaa22"):
        assert bluesky.int_to_tid(bluesky.tid_to_int(rkey)) == rkey
    assert bluesky.tid_to_int("3laaaaaaaaa22") < bluesky.tid_to_int("3lbbbbbbbbb22")
    assert bluesky.tid_to_int("zzzzzzzzzzzzz") is None  # top bit set: not a TID
    assert bluesky.tid_to_int("self") is None
    assert 0 <= bluesky.post_id("self") < 2**63 and bluesky.post_id("self") == bluesky.post_id("self")


def test_post_fields_permalink_and_facets():
    parsed = parse()
    assert parsed.page.kind is PageKind.OK and parsed.cursor == "2026-12-01T08:00:00.000Z"
    post = by_rkey(parsed)["3lbbbbbbbbb22"]
    assert post.url == "https://bsky.app/profile/alerts.example.org/post/3lbbbbbbbbb22"
    assert post.id == bluesky.tid_to_int("3lbbbbbbbbb22")
    assert post.source == "bluesky:alerts.example.org" and post.channel == "alerts.example.org"
    assert post.channel_title == "City Alerts"  # the OSC sequence went through the gate
    assert post.published == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    assert post.text == "Straße 🚧 closed, see https://alerts.example.org/road/12345"
    assert post.media == ["photo", "photo"] and post.reposted_by is None
    assert parsed.page.channel.username == "alerts.example.org"
    assert [p.id for p in parsed.page.posts] == sorted(p.id for p in parsed.page.posts)


def test_repost_is_the_original_and_says_who_reposted():
    post = by_rkey(parse())["3laaaaaaaaa22"]
    assert post.url == "https://bsky.app/profile/reporter.example.com/post/3laaaaaaaaa22"
    assert post.channel == "reporter.example.com" and post.channel_title == "A Reporter"
    assert post.reposted_by == "alerts.example.org"
    assert post.source == "bluesky:alerts.example.org"  # shown under the account that reposted it
    assert post.published == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # the original's own time


def test_replies_and_quotes_keep_the_parent_permalink():
    posts = by_rkey(parse())
    assert posts["3lccccccccc22"].reply_to == "https://bsky.app/profile/alerts.example.org/post/3lbbbbbbbbb22"
    # No parent view (deleted, blocked): the record's reference, by DID.
    assert posts["3leeeeeeeee22"].reply_to == "https://bsky.app/profile/did:plc:gone/post/3lzzzzzzzzz22"
    quote = posts["3lddddddddd22"]
    assert quote.quote_of == "https://bsky.app/profile/reporter.example.com/post/3laaaaaaaaa22"
    assert quote.media == ["video"]


def test_own_post_reposted_is_kept_once_as_the_post():
    mine = {"post": view("3lfffffffff22", ME, "Mine", "2026-12-01T10:00:00Z")}
    again = dict(mine, reason={"$type": "app.bsky.feed.defs#reasonRepost", "by": ME})
    posts = parse([again, mine]).page.posts
    assert len(posts) == 1 and posts[0].reposted_by is None


def test_future_created_at_falls_back_to_indexing_time():
    item = {"post": view("3lggggggggg22", ME, "Time traveller", "2099-01-01T00:00:00Z")}
    item["post"]["indexedAt"] = "2026-12-01T10:00:00Z"
    assert parse([item]).page.posts[0].published == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def test_errors_and_odd_input():
    assert bluesky.parse_author_feed(b"<html>").page.kind is PageKind.SUSPICIOUS_EMPTY
    err = bluesky.parse_author_feed(b'{"error":"InvalidRequest","message":"Profile not found"}')
    assert err.page.kind is PageKind.SUSPICIOUS_EMPTY and "Profile not found" in err.page.reason
    empty = parse([], cursor=None)
    assert empty.page.kind is PageKind.NO_POSTS and empty.cursor is None
    junk = parse([{"post": {"uri": "not-at"}}, {"post": None}, 3, *ITEMS[:1]])
    assert [p.native_id for p in junk.page.posts] == ["3lbbbbbbbbb22"]


def test_kind_requests():
    entry = SourceConfig(name="bluesky:alerts.example.org", kind="bluesky", handle="@alerts.example.org",
                         base_url="http://127.0.0.1:9/")
    first = bluesky.KIND.first_request(entry)
    assert first.url == ("http://127.0.0.1:9/xrpc/app.bsky.feed.getAuthorFeed?"
                         "actor=alerts.example.org&limit=50") and first.conditional
    older = bluesky.KIND.first_request(entry, "2026-12-01T08:00:00.000Z")
    assert older.url.endswith("&cursor=2026-12-01T08%3A00%3A00.000Z") and not older.conditional
    parsed = bluesky.KIND.parse(Response(feed_json(ITEMS), url=first.url))
    assert parsed.page.posts[0].source == "bluesky:alerts.example.org"
    assert bluesky.KIND.source_name("@Alerts.Example.org") == "bluesky:alerts.example.org"
    assert bluesky.KIND.sniff(feed_json(ITEMS)) and not bluesky.KIND.sniff(b"[]")
    assert bluesky.KIND.permalink("https://bsky.app/profile/a.b/post/3lx?ref=x") == "https://bsky.app/profile/a.b/post/3lx"


@needs_other
@pytest.mark.samples
def test_real_feed_with_reply_and_images():
    parsed = bluesky.parse_author_feed((OTHER / "bluesky_getAuthorFeed_dril_blueskyprofiler.json").read_bytes(),
                                       actor="dril.bsky.social")
    assert parsed.page.kind is PageKind.OK and len(parsed.page.posts) == 5
    assert parsed.cursor == "2025-02-21T18:38:52.746Z"
    newest = by_rkey(parsed)["3lix6ufungs22"]
    assert newest.url == "https://bsky.app/profile/dril.bsky.social/post/3lix6ufungs22"
    assert newest.published == datetime(2025, 2, 24, 20, 30, 7, tzinfo=UTC)
    assert sum(1 for p in parsed.page.posts if p.reply_to) == 1
    assert sum(1 for p in parsed.page.posts if "photo" in p.media) == 1


@needs_other
@pytest.mark.samples
def test_real_feed_with_reposts_and_embeds():
    parsed = bluesky.parse_author_feed((OTHER / "bluesky_getAuthorFeed_spookyclick_telsky.json").read_bytes())
    posts = parsed.page.posts
    assert len(posts) == 30 and sum(1 for p in posts if p.reposted_by == "benoist.dev") == 28
    for p in posts:
        assert p.url.startswith("https://bsky.app/profile/") and p.url.endswith("/post/" + p.native_id)
        if p.reposted_by:
            assert p.channel != "benoist.dev"  # cited by the original author
    assert any(p.quote_of for p in posts)
    # Facets restore the links the text shortens.
    assert any("https://www.youtube.com/watch?v=e6Funs6yyEw" in p.text for p in posts)
    assert not any(p.text.endswith("...") and "youtube" in p.text for p in posts)
