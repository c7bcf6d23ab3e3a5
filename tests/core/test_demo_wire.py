"""The demo wire: our invented channels, served in the real page format, read by the real poller."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import httpx

from deskapp.config import Settings
from deskapp.core.poller import Poller
from deskapp.core.sources.telegram import parse_page
from deskapp.core.store import Store
from deskapp.demo import demo_settings
from deskapp.demo.server import WireServer
from deskapp.demo.wire import CHANNELS, NO_PREVIEW, DemoWire

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def test_demo_pages_parse_with_every_set_piece() -> None:
    with WireServer() as server:
        DemoWire(server, seed=1, now=NOW)
        posts = []
        for handle, title, _ in CHANNELS:
            page = parse_page(httpx.get(f"{server.url}/s/{handle}", follow_redirects=True).text)
            assert page.kind.value == "ok" and page.channel and page.channel.title == title
            assert page.before is not None  # older pages exist
            posts += page.posts
        assert any(p.forwarded_from and p.forwarded_from.url for p in posts)
        assert any(p.reply_to for p in posts)
        assert any(len(p.album_ids) == 3 for p in posts)  # the block id and two more tiles
        assert all(p.published <= NOW for p in posts)
        closed = httpx.get(f"{server.url}/s/{NO_PREVIEW[0]}", follow_redirects=True)
        assert parse_page(closed.text, final_url=str(closed.url)).kind.value == "no_preview"


def test_ticks_add_edit_and_throttle() -> None:
    with WireServer() as server:
        wire = DemoWire(server, seed=3, now=NOW)
        before = sum(len(c.posts) for c in server.channels.values())
        events = [wire.tick(NOW) for _ in range(40)]
        assert any(e.startswith("new ") for e in events)
        assert any(e.startswith("edited ") for e in events)
        assert any(e.startswith("429 ") for e in events)
        assert sum(len(c.posts) for c in server.channels.values()) > before


def test_demo_through_the_real_poller(tmp_path: Path) -> None:
    with WireServer() as server:
        DemoWire(server, seed=5, now=NOW)
        settings = demo_settings(Settings(), server.url)
        settings.poller.min_gap = 0.01
        settings.poller.gap_jitter = 0.0
        summaries = asyncio.run(Poller(tmp_path / "demo.db", settings).run_once())
    by_name = {s.source: s for s in summaries}
    assert not by_name[f"telegram:{NO_PREVIEW[0]}"].ok
    assert all(by_name[f"telegram:{h}"].ok and by_name[f"telegram:{h}"].new > 20 for h, *_ in CHANNELS)
    store = Store.open(tmp_path / "demo.db")
    try:
        assert store.count_posts() == sum(s.new for s in summaries)
    finally:
        store.close()


def test_demo_deletes_one_post_and_edits_another_and_the_recheck_flags_them(tmp_path: Path) -> None:
    from datetime import timedelta

    from deskapp.core.evidence import FetchLimits, Result
    from deskapp.core.verify import Verifier, base_resolver, targets_for
    from deskapp.demo.wire import CORRECTED, VANISHING

    with WireServer() as server:
        wire = DemoWire(server, seed=3, now=NOW, change_after=100)
        settings = demo_settings(Settings(), server.url)
        db = tmp_path / "demo.db"
        asyncio.run(Poller(db, settings).run_once())
        with Store.open(db) as store:
            refs = [(f"telegram:{VANISHING[0]}", wire.vanishing.id), (f"telegram:{CORRECTED[0]}", wire.corrected.id)]
            posts = [store.get(*r) for r in refs]
            assert posts[0].post.text.startswith("UNCONFIRMED") and posts[1].post.text == CORRECTED[1]
            targets = targets_for(posts, base_resolver(store, settings.sources, settings.base_url))
            limits = FetchLimits(min_gap=0, gap_jitter=0, timeout=2)
            assert [c.result for c in asyncio.run(Verifier(store, limits).capture(targets))] == [Result.CAPTURED] * 2
            # Nothing changes before its time; the ticks after it apply the edit, then the deletion.
            wire.tick(NOW + timedelta(seconds=60))
            assert len(wire.changes) == 2 and wire.corrected.text == CORRECTED[1]
            assert wire.tick(NOW + timedelta(seconds=80)) == f"edited {CORRECTED[0]}/{wire.corrected.id}"
            assert wire.tick(NOW + timedelta(seconds=101)) == f"deleted {VANISHING[0]}/{wire.vanishing.id}"
            checks = asyncio.run(Verifier(store, limits).recheck(targets))
            assert [c.result for c in checks] == [Result.DELETED, Result.EDITED]
            assert "{+5+}" in checks[1].detail and "[-3-]" in checks[1].detail
    assert settings.verify.archive == server.url  # `desk archive` in the demo asks the stand-in


def test_demo_serves_every_kind_through_the_poller(tmp_path: Path) -> None:
    with WireServer() as server:
        wire = DemoWire(server, seed=1, now=NOW)
        settings = demo_settings(Settings(), server.url)
        kinds = {s.kind for s in settings.sources}
        assert kinds == {"telegram", "rss", "bluesky", "mastodon"}
        others = [s for s in settings.sources if s.kind != "telegram"]
        settings.sources = others
        summaries = asyncio.run(Poller(tmp_path / "d.db", settings).run_once())
        assert all(s.ok and s.new > 0 for s in summaries), [s.line() for s in summaries]
        for _ in range(15):
            wire.tick(NOW)
        again = asyncio.run(Poller(tmp_path / "d.db", settings).run_once())
        assert sum(s.new for s in again) == 3  # ticks 5, 10, 15: one new post each, in turn
        with Store.open(tmp_path / "d.db") as store:
            sources = {s.name for s in store.sources()}
        assert {"bluesky:citydesk.example.org", "mastodon:fire@social.example"} <= sources
        assert any(n.startswith("rss:https://civilprotection.example.gov/") for n in sources)


def test_demo_keeps_to_its_own_folder_and_removes_it(tmp_path: Path) -> None:
    from deskapp.demo import demo_wire
    from deskapp.paths import Paths

    mine = Paths(config=tmp_path / "config.toml", store=tmp_path / "desk.db", state=tmp_path / "state")
    with demo_wire(Settings(state=mine.state), mine) as demo:
        assert demo.paths.state == demo.workdir and demo.paths.store.parent == demo.workdir
        demo.paths.last_citation.write_text("a citation\n")
    assert not demo.workdir.exists()  # store, citation and all
    assert not mine.state.exists() and not mine.store.exists()  # the editor's own files untouched


def test_the_demo_repeats_one_story_across_channels_and_the_desk_groups_it(tmp_path) -> None:
    """A new user sees "+2": the copies the demo posts are grouped under Harbour Watch's first post."""
    from datetime import UTC, datetime

    from deskapp.core.attention import Attention
    from deskapp.core.model import Post
    from deskapp.core.settings import AttentionSettings
    from deskapp.core.store import Store
    from deskapp.demo.server import WireServer
    from deskapp.demo.wire import COPIED_STORY, DemoWire

    server = WireServer()
    DemoWire(server, seed=3, now=datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    with Store.open(tmp_path / "d.db") as store:
        for handle in ("harbour_watch", "citydesk_alerts", "eastfield_monitor"):
            ch = server.channels[handle]
            store.ingest_page(f"telegram:{handle}", [
                Post(source=f"telegram:{handle}", channel=handle, id=p.id, url=f"https://t.me/{handle}/{p.id}",
                     published=p.published, text=p.text) for p in ch.posts if not p.service],
                fetched_at=datetime(2026, 12, 1, 9, 1, tzinfo=UTC))
        Attention(store, AttentionSettings(notify=False)).drain_all()
        first = next(p for p in server.channels["harbour_watch"].posts if p.text == COPIED_STORY)
        key = store.get("telegram:harbour_watch", first.id).key
        group = store.duplicate_group(key)
        sources = {store.get_by_key(k).post.source for k, _ in group}
        assert {"telegram:citydesk_alerts", "telegram:eastfield_monitor"} <= sources
        assert store.copies_count([key])[key].count >= 2
