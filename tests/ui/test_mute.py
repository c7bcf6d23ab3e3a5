"""Mute in the desk: the feed leaves out what mute rules hid and its title says how many; M shows them
and hides them again; muted posts stay in search, the desk's search box included."""

from __future__ import annotations

import pytest

from deskapp.core.alerts import Rule, RuleAction
from deskapp.core.attention import Attention
from deskapp.core.backend import open_store
from deskapp.core.settings import AttentionSettings
from tests.ui.conftest import build_store, make_app, make_post, settle, where
from tests.ui.screen_text import screen_text


@pytest.fixture
def desk_paths(any_desk_paths):
    """Each test here on both stores (SQLite and PostgreSQL)."""
    return any_desk_paths


MUTE = [Rule("ads", action=RuleAction.MUTE, words=("promo",))]


def feed_keys(app) -> list[int]:
    return [app.feed.windows.row(i).key for i in range(app.feed.windows.total)]


async def test_muted_posts_are_hidden_counted_and_shown_again_with_one_key(desk_paths) -> None:
    build_store(where(desk_paths), 20, extra=[make_post(30 + i, text=f"promo code {i}") for i in range(4)])
    with open_store(where(desk_paths)) as store:
        Attention(store, AttentionSettings(rules=MUTE, notify=False)).drain_all()
        muted = {store.get(make_post(30 + i).source, 1030 + i).key for i in range(4)}
    app = make_app(desk_paths)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.feed.windows.total == 20 and not muted & set(feed_keys(app))
        assert "4 muted hidden (M shows)" in screen_text(app)
        await pilot.press("M")
        await settle(pilot)
        assert app.feed.windows.total == 24 and muted <= set(feed_keys(app))
        assert "4 muted shown (M hides)" in screen_text(app)
        await pilot.press("M")
        await settle(pilot)
        assert app.feed.windows.total == 20
        await pilot.press("slash", *"promo", "enter")  # the search box: the feed's filter
        await settle(pilot, 4)
        # Muted posts stay in search, the desk's own included: a search never hides what was asked for.
        assert app.feed.windows.total == 4 and set(feed_keys(app)) == muted
        assert "muted hidden" not in screen_text(app)
        assert len(app.store.search("promo", limit=10)) == 4
        await pilot.press("escape")
        await settle(pilot, 4)
        assert app.feed.windows.total == 20 and "4 muted hidden (M shows)" in screen_text(app)
