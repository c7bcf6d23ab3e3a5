"""The poller reads RSS, Bluesky and Mastodon sources from a real HTTP server on 127.0.0.1 (the same
wire server as Telegram's), through their kinds: paging, conditional requests, fallbacks, reposts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from deskapp.config import Settings, parse
from deskapp.core.poller import Poller
from deskapp.core.sources.bluesky import tid_to_int
from deskapp.core.store import Store
from deskapp.demo.others import Account, Item, tid
from deskapp.demo.server import Fault, WireServer
from tests.wire import fast_poller

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


@pytest.fixture
def server():
    with WireServer() as srv:
        yield srv


def settings(server: WireServer, **kinds: list) -> Settings:
    raw: dict = {}
    if "rss" in kinds:
        raw["rss"] = {"feeds": kinds["rss"], "base_url": server.url}
    if "bluesky" in kinds:
        raw["bluesky"] = {"accounts": kinds["bluesky"], "base_url": server.url}
    if "mastodon" in kinds:
        raw["mastodon"] = {"accounts": [{"name": a, "base_url": server.url} for a in kinds["mastodon"]]}
    s = parse(raw)
    s.poller = fast_poller()
    return s


def once(db: Path, s: Settings) -> list:
    return asyncio.run(Poller(db, s).run_once())


def posts_of(db: Path, source: str) -> list:
    store = Store.open(db)
    try:
        return sorted((store.get(source, row.post_id) for row in store.feed(1000, sources=[source])),
                      key=lambda sp: sp.post.id)
    finally:
        store.close()


def items(n: int, *, start: int = 1, prefix: str = "post") -> list[Item]:
    return [Item(i, T0 + timedelta(minutes=i), f"{prefix} {i}") for i in range(start, start + n)]


def test_rss_feed_polled_conditional_and_edits(server: WireServer, tmp_path: Path) -> None:
    acc = server.others.add(Account("rss", "alerts", "Alerts", items(5)))
    db = tmp_path / "s.db"
    s = settings(server, rss=["https://alerts.example.gov/feeds/alerts.xml"])
    (summary,) = once(db, s)
    assert summary.ok and summary.new == 5, summary.line()
    stored = posts_of(db, "rss:https://alerts.example.gov/feeds/alerts.xml")
    assert [sp.post.url for sp in stored][:1] and all("utm_" not in sp.post.url for sp in stored)
    assert {sp.post.native_id for sp in stored} == {f"alerts-{i}" for i in range(1, 6)}
    # Unchanged: the server answers 304 to the saved ETag.
    (again,) = once(db, s)
    assert again.ok and again.message == "not modified"
    assert any(h.headers.get("If-None-Match") for h in server.hits if h.path.endswith("alerts.xml"))
    # Changed content of an item with the same guid: an edit, the earlier text kept as a revision.
    acc.items[2].text = "post 3, corrected"
    (third,) = once(db, s)
    assert third.changed == 1 and third.new == 0
    edited = next(sp for sp in posts_of(db, "rss:https://alerts.example.gov/feeds/alerts.xml")
                  if sp.post.native_id == "alerts-3")
    assert edited.revisions == 1 and "corrected" in edited.post.text


def test_bluesky_pages_by_cursor_with_reposts(server: WireServer, tmp_path: Path) -> None:
    acc = Account("bluesky", "alerts.example.org", "Alerts", items(45))
    acc.items.append(Item(46, T0 + timedelta(hours=2), "", repost_of=("other.example.com", "Other", 300)))
    server.others.add(acc)
    db = tmp_path / "s.db"
    (summary,) = once(db, settings(server, bluesky=["alerts.example.org"]))
    assert summary.ok and summary.new == 46 and summary.pages == 3, summary.line()
    stored = posts_of(db, "bluesky:alerts.example.org")
    cursors = [h.path for h in server.hits if "getAuthorFeed" in h.path]
    assert len(cursors) == 3 and "cursor=" in cursors[1]
    repost = next(sp.post for sp in stored if sp.post.reposted_by)
    assert repost.reposted_by == "alerts.example.org" and repost.channel == "other.example.com"
    assert repost.url == f"https://bsky.app/profile/other.example.com/post/{tid(300)}"
    first = next(sp.post for sp in stored if sp.post.native_id == tid(1))
    assert first.id == tid_to_int(tid(1)) and first.url.endswith(f"/alerts.example.org/post/{tid(1)}")


def test_mastodon_lookup_statuses_link_paging_and_boost(server: WireServer, tmp_path: Path) -> None:
    acc = Account("mastodon", "fire@social.example", "Fire Service", items(25, start=1000))
    acc.items[0].edited = True
    acc.items.append(Item(2000, T0 + timedelta(hours=3), "", repost_of=("mayor@town.example", "Mayor", 77)))
    server.others.add(acc)
    db = tmp_path / "s.db"
    (summary,) = once(db, settings(server, mastodon=["@fire@social.example"]))
    assert summary.ok and summary.new == 26 and summary.pages == 2, summary.line()
    paths = [h.path for h in server.hits]
    assert paths[0].startswith("/api/v1/accounts/lookup?acct=fire")
    assert any("max_id=" in p for p in paths)  # the Link header's next page
    stored = {sp.post.id: sp for sp in posts_of(db, "mastodon:fire@social.example")}
    assert stored[1000].post.edited and stored[1000].post.url == "https://social.example/@fire/1000"
    boost = stored[2000].post
    assert boost.reposted_by == "fire@social.example" and boost.url == "https://town.example/@mayor/77"


def test_mastodon_falls_back_to_rss_when_the_api_wants_a_login(server: WireServer, tmp_path: Path) -> None:
    server.others.add(Account("mastodon", "fire@social.example", "Fire", items(3, start=500), login_required=True))
    db = tmp_path / "s.db"
    (summary,) = once(db, settings(server, mastodon=["@fire@social.example"]))
    assert summary.ok and summary.new == 3, summary.line()
    assert [h.path for h in server.hits][-1] == "/@fire.rss"
    assert [sp.post.id for sp in posts_of(db, "mastodon:fire@social.example")] == [500, 501, 502]


def test_failures_are_readable_and_others_go_on(server: WireServer, tmp_path: Path) -> None:
    server.others.add(Account("rss", "good", "Good", items(2)))
    db = tmp_path / "s.db"
    s = settings(server, rss=["https://a.example.gov/feeds/missing.xml", "https://a.example.gov/feeds/good.xml"],
                 bluesky=["nobody.example.org"])
    by_name = {r.source: r for r in once(db, s)}
    assert not by_name["rss:https://a.example.gov/feeds/missing.xml"].ok
    assert "HTTP 404" in by_name["rss:https://a.example.gov/feeds/missing.xml"].message
    assert by_name["rss:https://a.example.gov/feeds/good.xml"].new == 2
    assert "HTTP 400" in by_name["bluesky:nobody.example.org"].message


def test_a_page_that_is_not_a_feed_is_refused(server: WireServer, tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    s = settings(server, rss=["https://a.example.gov/s/notafeed"])
    server.fault("notafeed", Fault("status", code=200))
    (summary,) = once(db, s)
    assert not summary.ok and "not an RSS or Atom feed" in summary.message
