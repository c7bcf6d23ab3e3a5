"""Hostile responses of every other kind: escape sequences, bidi overrides and control characters never
reach a field; hostile links are kept as published and refused by the citation; garbage is refused."""

from __future__ import annotations

import json

import pytest

from deskapp.core.cite import render
from deskapp.core.model import PageKind, StoredPost
from deskapp.core.sources import bluesky, feed, mastodon

EVIL = "\x1b]52;c;ZXZpbA==\x07\x1b[31mred\x1b[0m \u202eevil\u202c \x9b2J\x07bell"


def fields(post) -> list[str]:
    return [str(v) for v in (post.text, post.channel, post.channel_title, post.author, post.reposted_by,
                             post.native_id) if v]


def assert_clean(values: list[str]) -> None:
    for v in values:
        assert not any(c in v for c in "\x1b\x07\x9b\u202e\u202c"), repr(v)


def test_rss_fields_are_cleaned_and_a_javascript_link_is_refused_in_the_citation():
    xml = f"""<?xml version="1.0"?><rss version="2.0"><channel><title>{EVIL}</title>
      <item><title>{EVIL}</title><link>javascript:alert(1)</link><guid>{EVIL}</guid>
      <author>{EVIL}</author><description>{EVIL}</description></item></channel></rss>""".encode()
    page = feed.parse_feed(xml, url="https://x.example/f")
    (post,) = page.posts
    assert_clean(fields(post) + [page.channel.title or ""])
    from datetime import UTC, datetime
    sp = StoredPost(post=post, key=1, first_seen=datetime.now(UTC), last_seen=datetime.now(UTC), text_sha256="")
    assert "[refused:" in render([sp]).text


def test_bluesky_fields_are_cleaned():
    author = {"did": "did:plc:x", "handle": "a.example.org", "displayName": EVIL}
    body = json.dumps({"feed": [{"post": {"uri": "at://did:plc:x/app.bsky.feed.post/3laaaaaaaaa22", "author": author,
                                          "indexedAt": "2026-12-01T10:00:00Z",
                                          "record": {"text": EVIL, "createdAt": "2026-12-01T10:00:00Z"}},
                                 "reason": {"$type": "app.bsky.feed.defs#reasonRepost",
                                            "by": {"did": "did:plc:y", "handle": EVIL}}}]}).encode()
    (post,) = bluesky.parse_author_feed(body).page.posts
    assert_clean(fields(post))


def test_mastodon_fields_are_cleaned():
    acc = {"id": "1", "username": "u", "acct": EVIL, "display_name": EVIL, "url": "https://s.example/@u", "note": EVIL}
    status = {"id": "5", "created_at": "2026-12-01T10:00:00Z", "url": "https://s.example/@u/5", "account": acc,
              "content": f"<p>{EVIL}</p>", "spoiler_text": EVIL, "reblog": None, "media_attachments": [],
              "poll": {"options": [{"title": EVIL}]}}
    parsed = mastodon.parse_statuses(json.dumps([status]).encode(), url="https://s.example/api/v1/accounts/1/statuses")
    (post,) = parsed.page.posts
    assert_clean(fields(post) + [parsed.page.channel.title or "", parsed.page.channel.description or ""])


@pytest.mark.parametrize("body", [b"", b"\x00\xff\xfe", b"[" * 100_000, b'{"feed": "x"}', b"null", b"1e999999"])
def test_garbage_is_refused_not_raised(body: bytes):
    assert bluesky.parse_author_feed(body).page.kind is not PageKind.OK
    assert mastodon.parse_statuses(body, url="https://s.example/x").page.kind is not PageKind.OK
    assert feed.parse_feed(body, url="https://x.example/f").kind is not PageKind.OK


@pytest.mark.timeout(60)
@pytest.mark.parametrize("content", [
    "<b>" * 200_000 + "deep &amp; text" + "</b>" * 200_000,  # quadratic in lexbor unparsed: minutes
    "<p>" + " " * 500_000 + "x</p>",  # quadratic in a backtracking blank-line regex: minutes
    "<p>a" + " \n" * 300_000 + "b</p>",
])
def test_hostile_html_costs_linear_time(content: str):
    """A Mastodon status (or a feed summary) built to be slow to read is read in bounded time; no
    timing is asserted beyond the test's own time limit."""
    acc = {"id": "1", "username": "u", "acct": "u", "url": "https://s.example/@u"}
    status = {"id": "5", "created_at": "2026-12-01T10:00:00Z", "url": "https://s.example/@u/5", "account": acc,
              "content": content, "reblog": None}
    (post,) = mastodon.parse_statuses(json.dumps([status]).encode(), url="https://s.example/x").page.posts
    assert post.text.replace("\n", "") in ("deep & text", "x", "ab")
