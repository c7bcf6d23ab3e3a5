"""Mastodon: lookup then statuses, RSS fallback, boosts, edits, HTML text, Link pagination."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from deskapp.core.model import PageKind, SourceConfig
from deskapp.core.sources import mastodon
from deskapp.core.sources.base import Request, Response, header_links
from tests.samples import OTHER

needs_other = pytest.mark.skipif(not OTHER.is_dir(), reason=f"real samples not found at {OTHER}")

HOST = "social.example"
ME = {"id": "100", "username": "fire", "acct": "fire", "display_name": "Fire Service",
      "url": f"https://{HOST}/@fire", "note": "<p>Official</p>", "followers_count": 1200}
REMOTE = {"id": "200", "username": "mayor", "acct": "mayor@town.example", "display_name": "Mayor",
          "url": "https://town.example/@mayor"}


def status(sid, content, created, account=ME, **extra):
    s = {"id": sid, "created_at": created, "url": f"{account['url']}/{sid}", "uri": f"{account['url']}/{sid}",
         "content": content, "spoiler_text": "", "edited_at": None, "reblog": None, "account": account,
         "media_attachments": [], "mentions": [], "in_reply_to_id": None, "in_reply_to_account_id": None,
         "poll": None}
    s.update(extra)
    return s


STATUSES = [
    status("1003", '<p>Wildfire near <a href="https://x"><span class="invisible">https://</span>'
                   '<span class="ellipsis">maps.example/fire</span><span class="invisible">/77</span></a></p>'
                   "<p>Evacuate\u202e now<br>Zone B</p>",
           "2026-12-01T10:00:00.123Z", edited_at="2026-12-01T10:05:00Z",
           media_attachments=[{"type": "image"}, {"type": "gifv"}]),
    status("1002", "", "2026-12-01T09:00:00Z", reblog=status("900", "<p>Curfew tonight</p>",
                                                             "2026-11-30T20:00:00Z", account=REMOTE)),
    status("1001", '<p><span class="h-card"><a href="https://town.example/@mayor">@<span>mayor</span></a></span> '
                   "thanks</p>", "2026-12-01T08:00:00Z", in_reply_to_id="850", in_reply_to_account_id="200",
           mentions=[{"id": "200", "acct": "mayor@town.example", "url": "https://town.example/@mayor"}],
           spoiler_text="smoke", poll={"options": [{"title": "Yes"}, {"title": "No"}]}),
    status("1000", "<p>Quoting</p>", "2026-12-01T07:00:00Z",
           quote={"state": "accepted", "quoted_status": {"url": "https://town.example/@mayor/55"}}),
]
LINK = (f'<https://{HOST}/api/v1/accounts/100/statuses?limit=40&max_id=1000>; rel="next", '
        f'<https://{HOST}/api/v1/accounts/100/statuses?limit=40&min_id=1003>; rel="prev"')
ENTRY = SourceConfig(name=f"mastodon:fire@{HOST}", kind="mastodon", handle=f"@fire@{HOST}", base_url="")


def parse(items=STATUSES, link=LINK):
    return mastodon.parse_statuses(json.dumps(items).encode(), url=f"https://{HOST}/api/v1/accounts/100/statuses",
                                   headers={"link": link})


def posts():
    return {p.native_id: p for p in parse().page.posts}


def test_status_fields_html_and_edits():
    parsed = parse()
    assert parsed.page.kind is PageKind.OK and parsed.cursor == "1000"
    assert [p.id for p in parsed.page.posts] == [1000, 1001, 1002, 1003]
    post = posts()["1003"]
    assert post.url == f"https://{HOST}/@fire/1003" and post.source == f"mastodon:fire@{HOST}"
    assert post.channel == f"fire@{HOST}" and post.channel_title == "Fire Service"
    assert post.text == "Wildfire near https://maps.example/fire/77\n\nEvacuate now\nZone B"  # bidi removed
    assert post.published == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    assert post.edited and post.media == ["photo", "gif"]
    assert parsed.page.channel.username == f"fire@{HOST}" and parsed.page.channel.subscribers_count == 1200


def test_boost_is_the_original_and_names_the_booster():
    post = posts()["1002"]
    assert post.id == 1002 and post.url == "https://town.example/@mayor/900"
    assert post.channel == "mayor@town.example" and post.channel_title == "Mayor"
    assert post.reposted_by == f"fire@{HOST}" and post.text == "Curfew tonight"
    assert post.published == datetime(2026, 11, 30, 20, 0, tzinfo=UTC)


def test_reply_cw_poll_and_quote():
    reply = posts()["1001"]
    assert reply.reply_to == f"https://{HOST}/@mayor@town.example/850"
    assert reply.text == "CW: smoke\n\n@mayor thanks\n\n( ) Yes\n( ) No" and reply.media == ["poll"]
    assert posts()["1000"].quote_of == "https://town.example/@mayor/55"
    # A parent whose account is unknown gets no link rather than a wrong one.
    odd = parse([status("5", "<p>x</p>", "2026-12-01T08:00:00Z", in_reply_to_id="4", in_reply_to_account_id="999")])
    assert odd.page.posts[0].reply_to is None


def test_lookup_then_statuses():
    first = mastodon.KIND.first_request(ENTRY)
    assert first.step == "lookup" and first.url == f"https://{HOST}/api/v1/accounts/lookup?acct=fire"
    parsed = mastodon.KIND.parse(Response(json.dumps(ME).encode(), url=first.url), first)
    assert parsed.memo == {"account_id": "100"} and not parsed.page.posts
    assert parsed.follow.url == f"https://{HOST}/api/v1/accounts/100/statuses?limit=40"
    again = mastodon.KIND.first_request(ENTRY, memo=parsed.memo)
    assert again.url == parsed.follow.url and again.conditional
    older = mastodon.KIND.first_request(ENTRY, "1000", memo=parsed.memo)
    assert older.url.endswith("&max_id=1000") and not older.conditional


def test_rss_fallback_when_the_api_wants_a_login():
    first = mastodon.KIND.first_request(ENTRY)
    assert mastodon.KIND.fallback(ENTRY, first, 404) is None
    rss = mastodon.KIND.fallback(ENTRY, first, 401)
    assert rss.step == "rss" and rss.url == f"https://{HOST}/@fire.rss"
    assert mastodon.KIND.fallback(ENTRY, rss, 403) is None
    body = f"""<?xml version="1.0"?><rss version="2.0"><channel><title>Fire Service</title>
      <generator>Mastodon v4.3.0</generator>
      <item><guid isPermaLink="true">https://{HOST}/@fire/1003</guid><link>https://{HOST}/@fire/1003</link>
      <pubDate>Tue, 01 Dec 2026 10:00:00 +0000</pubDate><description>&lt;p&gt;Wildfire&lt;/p&gt;</description></item>
      </channel></rss>""".encode()
    parsed = mastodon.KIND.parse(Response(body, url=rss.url), rss)
    (post,) = parsed.page.posts
    assert post.id == 1003 and post.native_id == "1003"  # the same id the API gives
    assert post.source == f"mastodon:fire@{HOST}" and post.text == "Wildfire"
    assert mastodon.KIND.sniff(body) and mastodon.KIND.sniff(json.dumps(STATUSES).encode())


def test_handles_and_links():
    assert mastodon.split_handle("@Fire@Social.Example") == ("Fire", "social.example")
    assert mastodon.split_handle("https://social.example/@fire") == ("fire", "social.example")
    assert mastodon.KIND.source_name("@Fire@Social.Example") == "mastodon:fire@social.example"
    assert header_links(LINK)["next"].endswith("max_id=1000")
    assert header_links(None) == {} and header_links("garbage") == {}
    assert parse(link="").cursor is None


def test_errors_and_odd_input():
    assert parse([]).page.kind is PageKind.NO_POSTS
    bad = mastodon.parse_statuses(b'{"error":"This API requires an authenticated user"}', url="https://a/x")
    assert bad.page.kind is PageKind.SUSPICIOUS_EMPTY and "authenticated" in bad.page.reason
    assert mastodon.parse_statuses(b"<html>", url="https://a/x").page.kind is PageKind.SUSPICIOUS_EMPTY
    junk = parse([{"id": "x"}, {"id": "99999999999999999999"}, 4, STATUSES[0]])
    assert [p.native_id for p in junk.page.posts] == ["1003"]


@needs_other
@pytest.mark.samples
def test_real_statuses_two_pages():
    def load(name):
        meta = json.loads((OTHER / f"{name}.meta.json").read_text())
        return mastodon.KIND.parse(Response((OTHER / f"{name}.json").read_bytes(), url=meta["request"],
                                            headers={"link": meta["link"] or ""}), Request(meta["request"]))

    one = load("mastodon_api_account_statuses_fosstodon_rtoot")
    two = load("mastodon_api_account_statuses_page2_fosstodon_rtoot")
    assert len(one.page.posts) == 20 and len(two.page.posts) == 20
    assert one.cursor == "113191408914362368" == str(one.page.posts[0].id)
    assert two.cursor == "112979293284087498"
    assert max(p.id for p in two.page.posts) < min(p.id for p in one.page.posts)
    for p in one.page.posts + two.page.posts:
        assert p.url == f"https://fosstodon.org/@schochastics/{p.id}" and p.source == "mastodon:schochastics@fosstodon.org"
        assert "<" not in p.text and p.text
    edited = next(p for p in one.page.posts if p.id == 113233973091653545)
    assert edited.edited and edited.published == datetime(2024, 10, 1, 20, 8, 30, tzinfo=UTC)
    reply = next(p for p in one.page.posts if p.id == 113758502912504745)
    assert reply.reply_to == "https://fosstodon.org/@mario_angst_sci@fediscience.org/113758013821835772"


@needs_other
@pytest.mark.samples
def test_real_single_status_account_and_rss():
    status_ = mastodon.parse_statuses((OTHER / "mastodon_api_status_fosstodon_rtoot.json").read_bytes(),
                                      url="https://fosstodon.org/api/v1/statuses/114620457512351116")
    assert [p.id for p in status_.page.posts] == [114620457512351116]
    account = mastodon.parse_statuses((OTHER / "mastodon_api_account_fosstodon_rtoot.json").read_bytes(),
                                      url="https://fosstodon.org/api/v1/accounts/109302436954721982")
    assert account.memo == {"account_id": "109302436954721982"}
    assert account.page.channel.username == "schochastics@fosstodon.org"
    rss = mastodon.parse_rss((OTHER / "mastodon_rss_jason_click.ba.it_EXCERPT.xml").read_bytes(),
                             url="https://click.ba.it/@jason.rss")
    assert [p.id for p in rss.page.posts] == [117128945729458939, 117128987138117875]
    assert all(p.source == "mastodon:jason@click.ba.it" for p in rss.page.posts)
    assert "#blog" in rss.page.posts[1].text
