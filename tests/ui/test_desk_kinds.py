"""The desk with RSS, Bluesky and Mastodon posts beside Telegram's: the feed marks the kind, `f` filters
by kind and by source, pins cite each by its platform, account, permalink and UTC time."""

from __future__ import annotations

from datetime import timedelta

from deskapp.core.model import ChannelInfo, Post
from deskapp.core.store import Store
from deskapp.ui.screens.modals import SourcePicker
from tests.ui.conftest import FETCHED, T0, build_store, make_app, settle
from tests.ui.screen_text import screen_text

OTHERS = [
    Post(source="rss:https://cp.example.gov/alerts.xml", channel="https://cp.example.gov/alerts.xml", id=5,
         url="https://cp.example.gov/alerts/41", published=T0 + timedelta(hours=2), text="RSS flood warning",
         channel_title="Civil Protection", native_id="alert-41"),
    Post(source="bluesky:citydesk.example.org", channel="weather.example.net", id=1771914779713259520,
         url="https://bsky.app/profile/weather.example.net/post/3l7sv5eol7m22", published=T0 + timedelta(hours=3),
         text="Bluesky storm warning", channel_title="Weather Service", native_id="3l7sv5eol7m22",
         reposted_by="citydesk.example.org"),
    Post(source="mastodon:fire@social.example", channel="fire@social.example", id=113191408914362368,
         url="https://social.example/@fire/113191408914362368", published=T0 + timedelta(hours=4),
         text="Mastodon crews attending", channel_title="Fire Service", native_id="113191408914362368"),
]


def build(path):
    build_store(path, 6)
    with Store.open(path) as store:
        for p in OTHERS:
            store.ingest_page(p.source, [p], fetched_at=FETCHED, channel=ChannelInfo(title=p.channel_title))


async def test_feed_marks_kind_filter_by_kind_and_cite(desk_paths, no_clipboard):
    build(desk_paths.store)
    app = make_app(desk_paths)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "[mstdn]" in text and "[bsky]" in text and "[rss]" in text
        # The newest is the Mastodon post: pin it and the Bluesky repost below it.
        await pilot.press("p", "j", "p")
        await settle(pilot)
        with Store.open(desk_paths.store) as store:
            pins = [sp.post.source for _pin, sp in store.pins()]
        assert pins == ["mastodon:fire@social.example", "bluesky:citydesk.example.org"]
        await pilot.press("f")
        assert isinstance(app.screen, SourcePicker)
        screen = screen_text(app)
        assert "All of Bluesky" in screen and "All of Telegram" in screen
        # All sources, then the kinds in the order first seen among the sources.
        kinds = list(app.screen._kinds())
        await pilot.press(*["down"] * (1 + kinds.index("bluesky")), "enter")
        await settle(pilot)
        assert app.source_filter == ["bluesky:citydesk.example.org"]
        assert app.feed.windows.total == 1


async def test_compose_cites_every_kind(desk_paths, no_clipboard):
    build(desk_paths.store)
    app = make_app(desk_paths)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        await pilot.press("p", "j", "p", "j", "p")
        await settle(pilot)
        text = screen_text(app)
        assert "Fire Service (@fire@social.example on Mastodon)" in text
        assert "reposted by @citydesk.example.org on Bluesky" in text
        assert "Civil Protection (RSS feed" in text


async def test_details_of_a_repost(desk_paths, no_clipboard):
    build(desk_paths.store)
    app = make_app(desk_paths)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("j", "enter")  # the Bluesky repost, second newest
        from deskapp.ui.screens.details import DetailsScreen

        assert isinstance(app.screen, DetailsScreen)
        text = screen_text(app)
        for needle in ("Platform", "Bluesky", "Native id", "3l7sv5eol7m22", "Reposted by", "citydesk.example.org",
                       "https://bsky.app/profile/weather.example.net/post/3l7sv5eol7m22", "(@weather.example.net)"):
            assert needle in text, needle
