"""Citations of RSS, Bluesky and Mastodon posts: platform and account as a reader looks them up, the
post's own permalink and UTC time, reposts and boosts cited by the original and who reposted, quotes."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from deskapp.core.cite import CiteOptions, render
from deskapp.core.model import Post, StoredPost

AT = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def stored(post: Post) -> StoredPost:
    return StoredPost(post=post, key=post.id, first_seen=AT, last_seen=AT, text_sha256="")


RSS = stored(Post(source="rss:https://cp.example.gov/alerts.xml", channel="https://cp.example.gov/alerts.xml",
                  id=77, url="https://cp.example.gov/alerts/41?id=7", published=AT, text="Flood warning",
                  channel_title="Civil Protection", native_id="alert-41"))
BSKY_REPOST = stored(Post(source="bluesky:citydesk.example.org", channel="weather.example.net", id=12,
                          url="https://bsky.app/profile/weather.example.net/post/3laaaaaaaaa22", published=AT,
                          text="Storm warning", channel_title="Weather Service", native_id="3laaaaaaaaa22",
                          reposted_by="citydesk.example.org"))
MASTO_QUOTE = stored(Post(source="mastodon:fire@social.example", channel="fire@social.example", id=1003,
                          url="https://social.example/@fire/1003", published=AT, text="See this",
                          channel_title="Fire Service", native_id="1003",
                          quote_of="https://town.example/@mayor/55",
                          reply_to="https://social.example/@mayor@town.example/850"))


def test_lines_name_platform_account_permalink_and_time() -> None:
    lines = render([RSS, BSKY_REPOST, MASTO_QUOTE]).text.splitlines()
    assert ("- Civil Protection (RSS feed https://cp.example.gov/alerts.xml), https://cp.example.gov/alerts/41?id=7, "
            "2026-12-01 10:00 UTC") in lines
    assert ("- Weather Service (@weather.example.net on Bluesky), "
            "https://bsky.app/profile/weather.example.net/post/3laaaaaaaaa22, 2026-12-01 10:00 UTC; "
            "reposted by @citydesk.example.org on Bluesky") in lines
    masto = next(ln for ln in lines if "Fire Service" in ln)
    assert masto.startswith("- Fire Service (@fire@social.example on Mastodon), https://social.example/@fire/1003, "
                            "2026-12-01 10:00 UTC")
    assert "in reply to https://social.example/@mayor@town.example/850" in masto
    assert "quoting https://town.example/@mayor/55" in masto


def test_every_format_carries_the_kind() -> None:
    posts = [RSS, BSKY_REPOST, MASTO_QUOTE]
    items = json.loads(render(posts, CiteOptions(fmt="json")).text)
    by_kind = {i["kind"]: i for i in items}
    assert by_kind["bluesky"]["platform"] == "Bluesky" and by_kind["bluesky"]["reposted_by"] == "citydesk.example.org"
    assert by_kind["mastodon"]["quote_of"] == "https://town.example/@mayor/55"
    assert by_kind["rss"]["native_id"] == "alert-41" and by_kind["rss"]["url"] == "https://cp.example.gov/alerts/41?id=7"
    csl = json.loads(render(posts, CiteOptions(fmt="csl-json")).text)
    assert {c["source"] for c in csl} == {"RSS", "Bluesky", "Mastodon"}
    md = render(posts, CiteOptions(fmt="markdown")).text
    assert "on Bluesky" in md and "RSS feed" in md
    html = render(posts, CiteOptions(fmt="html")).text
    assert 'href="https://social.example/@fire/1003"' in html
