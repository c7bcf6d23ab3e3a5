"""RSS/Atom sources: permalinks without tracking, guid identity, UTC times, text, edits, media."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from deskapp.core.model import PageKind, SourceConfig
from deskapp.core.sources import feed
from deskapp.core.sources.base import Response, hash63
from tests.samples import OTHER

needs_other = pytest.mark.skipif(not OTHER.is_dir(), reason=f"real samples not found at {OTHER}")

RSS = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel>
<title>Civil Protection \x1b[31mAlerts</title><link>https://cp.example.gov/</link>
<description>Official alerts</description>
<item>
  <title><![CDATA[Flood warning: River Ash]]></title>
  <link>https://cp.example.gov/alerts/41?utm_source=rss&amp;utm_medium=feed&amp;id=7&amp;at_medium=RSS&amp;fbclid=x</link>
  <guid isPermaLink="false">alert-41</guid>
  <pubDate>Tue, 01 Dec 2026 10:15:00 +0100</pubDate>
  <description><![CDATA[<p>Levels rising.<br>Leave <b>now</b>.</p><script>x()</script><p>Second\xe2\x80\xae para</p>]]></description>
  <enclosure url="https://cp.example.gov/a.jpg" type="image/jpeg" length="1"/>
</item>
<item>
  <title>No guid here</title>
  <link>https://cp.example.gov/alerts/40</link>
  <pubDate>Mon, 30 Nov 2026 08:00:00 GMT</pubDate>
  <description>Plain &amp; simple</description>
</item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
<title>Ministry news</title><id>urn:x</id><updated>2026-12-01T12:00:00Z</updated>
<entry>
  <title>Statement</title><id>tag:ministry.example,2026:1</id>
  <link rel="alternate" href="/news/1?utm_campaign=x"/>
  <published>2026-12-01T09:00:00-05:00</published><updated>2026-12-01T15:30:00Z</updated>
  <summary type="html">&lt;p&gt;Revised text&lt;/p&gt;</summary>
  <author><name>Press Office</name></author>
</entry>
<entry>
  <title>Undated</title><id>tag:ministry.example,2026:2</id>
  <link href="https://ministry.example/news/2"/>
</entry>
</feed>"""


def test_rss_item_fields():
    page = feed.parse_feed(RSS, url="https://cp.example.gov/rss.xml")
    assert page.kind is PageKind.OK
    assert page.channel.title == "Civil Protection Alerts"  # the escape sequence went through the gate
    old, new = page.posts  # oldest first
    assert new.url == "https://cp.example.gov/alerts/41?id=7"
    assert new.native_id == "alert-41" and new.id == hash63("alert-41")
    assert new.published == datetime(2026, 12, 1, 9, 15, tzinfo=UTC)
    assert new.text == "Flood warning: River Ash\n\nLevels rising.\nLeave now.\n\nSecond para"
    assert new.media == ["photo"]
    assert new.source == "rss:https://cp.example.gov/rss.xml" and new.channel_title == "Civil Protection Alerts"
    # No guid: the link identifies.
    assert old.native_id == "https://cp.example.gov/alerts/40" and old.id == hash63(old.native_id)
    assert old.text == "No guid here\n\nPlain & simple"


def test_ids_are_stable_and_fit_sqlite():
    a = feed.parse_feed(RSS, url="https://cp.example.gov/rss.xml")
    b = feed.parse_feed(RSS, url="https://cp.example.gov/rss.xml")
    assert [p.id for p in a.posts] == [p.id for p in b.posts]
    assert all(0 <= p.id < 2**63 for p in a.posts)


def test_changed_content_keeps_identity():
    changed = RSS.replace(b"Levels rising.", b"Levels falling.")
    before = feed.parse_feed(RSS, url="https://cp.example.gov/rss.xml").posts[1]
    after = feed.parse_feed(changed, url="https://cp.example.gov/rss.xml").posts[1]
    assert (before.id, before.url) == (after.id, after.url) and before.text != after.text


def test_atom_updated_after_published_is_edited_and_relative_links_resolve():
    page = feed.parse_feed(ATOM, url="https://ministry.example/atom.xml")
    dated = next(p for p in page.posts if p.native_id.endswith(":1"))
    assert dated.edited and dated.published == datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
    assert dated.url == "https://ministry.example/news/1"
    assert dated.author == "Press Office" and dated.text == "Statement\n\nRevised text"
    undated = next(p for p in page.posts if p.native_id.endswith(":2"))
    assert undated.published == datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # the feed's own date


@pytest.mark.parametrize(("url", "want"), [
    ("https://a.example/x?utm_source=a&utm_medium=b", "https://a.example/x"),
    ("https://a.example/x?id=1&UTM_Term=z&gclid=q#frag", "https://a.example/x?id=1#frag"),
    ("https://www.bbc.co.uk/news/uk-1?at_medium=RSS&at_campaign=KARANGA", "https://www.bbc.co.uk/news/uk-1"),
    ("https://a.example/plain", "https://a.example/plain"),
])
def test_canonical_link(url, want):
    assert feed.canonical_link(url) == want


def test_not_a_feed_is_suspicious_and_empty_feed_has_no_posts():
    bad = feed.parse_feed(b"<html><body>Access denied</body></html>", url="https://x.example/f")
    assert bad.kind is PageKind.SUSPICIOUS_EMPTY and "not an RSS or Atom feed" in bad.reason
    empty = feed.parse_feed(b'<rss version="2.0"><channel><title>T</title></channel></rss>', url="https://x.example/f")
    assert empty.kind is PageKind.NO_POSTS


def test_body_that_looks_like_a_path_is_not_opened(tmp_path):
    secret = tmp_path / "secret.xml"
    secret.write_bytes(RSS)
    page = feed.parse_feed(str(secret).encode(), url="https://x.example/f")
    assert page.kind is PageKind.SUSPICIOUS_EMPTY


def test_kind_requests_and_base_url():
    entry = SourceConfig(name="rss:https://cp.example.gov/rss.xml", kind="rss",
                         handle="https://cp.example.gov/rss.xml?lang=en", base_url="")
    req = feed.KIND.first_request(entry)
    assert req.url == "https://cp.example.gov/rss.xml?lang=en" and req.conditional
    entry.base_url = "http://127.0.0.1:8080/mirror"
    assert feed.KIND.first_request(entry).url == "http://127.0.0.1:8080/mirror/rss.xml?lang=en"
    parsed = feed.KIND.parse(Response(RSS, url="https://cp.example.gov/rss.xml"))
    assert parsed.cursor is None and len(parsed.page.posts) == 2
    assert feed.KIND.source_name("HTTPS://CP.Example.gov/Rss.xml") == "rss:https://cp.example.gov/Rss.xml"
    assert feed.KIND.sniff(RSS) and feed.KIND.sniff(ATOM) and not feed.KIND.sniff(b'{"feed": []}')


@needs_other
@pytest.mark.samples
def test_real_bbc_feed():
    page = feed.parse_feed((OTHER / "rss_bbc_news_photojournalism.xml").read_bytes(),
                           url="https://feeds.bbci.co.uk/news/rss.xml")
    assert page.kind is PageKind.OK and len(page.posts) == 16
    assert page.channel.title == "BBC News - News front page"
    for post in page.posts:
        assert "at_medium" not in post.url and "at_campaign" not in post.url
        assert post.url.startswith("https://www.bbc.co.uk/") and post.published.tzinfo is UTC
        assert post.text and "<" not in post.text
    assert len({p.id for p in page.posts}) == 16


@needs_other
@pytest.mark.samples
def test_real_nytimes_feed():
    page = feed.parse_feed((OTHER / "rss_nytimes_photojournalism.xml").read_bytes(),
                           url="https://rss.nytimes.com/services/xml/rss/nyt/HomePage.xml")
    assert page.kind is PageKind.OK and len(page.posts) == 25
    first = next(p for p in page.posts if "palestinian-authority" in p.url)
    assert first.author == "Steven Erlanger"
    assert first.published == datetime(2023, 11, 24, 13, 14, 28, tzinfo=UTC)
    assert first.text.startswith("Can the Palestinian Authority Really Govern Gaza After the War?\n\nConsidered")
    assert any(p.media == ["photo"] for p in page.posts)


BOMB = (b'<?xml version="1.0"?><!DOCTYPE z [<!ENTITY a "aaaaaaaaaa">'
        + b"".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'.encode() for i in range(8))
        + b']><rss version="2.0"><channel><title>&i;</title><item><title>x</title><guid>g</guid></item></channel></rss>')
EXTERNAL = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><rss version="2.0">'
            b"<channel><title>&x;</title><item><title>t &x;</title><guid>a</guid></item></channel></rss>")


def test_entity_expansion_and_external_entities_are_not_followed():
    page = feed.parse_feed(BOMB, url="https://x.example/f")  # 10^9 characters if expanded
    assert len(page.channel.title or "") < 1000 and len(page.posts) == 1
    page = feed.parse_feed(EXTERNAL, url="https://x.example/f")
    assert all("root:" not in p.text for p in page.posts)
    assert "root:" not in (page.channel.title or "")
