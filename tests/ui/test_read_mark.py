"""The read mark: kept per desk across restarts, drawn as "▲ read up to here" on the newest read post
under the unread ones, moved to the top by n and g and on quitting; unread counts per source."""

from __future__ import annotations

import pytest

from deskapp.core.backend import open_store
from deskapp.ui.screens.info import SourcesScreen
from tests.ui.conftest import add_posts, build_store, make_app, make_post, settle, where
from tests.ui.screen_text import screen_text


@pytest.fixture
def desk_paths(any_desk_paths):
    """Each test here on both stores (SQLite and PostgreSQL)."""
    return any_desk_paths


MARK = "▲ read up to here"


def mark_of(path, desk: str) -> int | None:
    with open_store(path, desk=desk) as store:
        return store.read_mark()


async def test_the_mark_is_kept_across_restarts_drawn_under_new_posts_and_moved_by_n(desk_paths) -> None:
    build_store(where(desk_paths), 10)
    app = make_app(desk_paths, desk="night")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert MARK not in screen_text(app)
    with open_store(where(desk_paths), desk="night") as store:
        newest = store.get(make_post(9).source, 1009).key
    assert mark_of(where(desk_paths), "night") == newest  # quitting keeps the newest post seen
    assert mark_of(where(desk_paths), "day") is None  # per desk

    add_posts(where(desk_paths), [make_post(20 + i) for i in range(3)])
    app = make_app(desk_paths, desk="night")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        text = screen_text(app)
        lines = [ln for ln in text.splitlines() if "Post number" in ln]
        assert MARK in lines[3] and "Post number 9 " in lines[3]  # under the three new posts
        assert sum(MARK in ln for ln in lines) == 1
        await pilot.press("s")
        await settle(pilot)
        assert isinstance(app.screen, SourcesScreen)
        assert app._unread_by_source() == {make_post(20 + i).source: 1 for i in range(3)}
        await pilot.press("escape")
        await pilot.press("j", "j", "n")  # caught up: the mark moves to the top, nothing above it
        await settle(pilot)
        assert MARK not in screen_text(app)
        assert mark_of(where(desk_paths), "night") == app.feed.windows.row(0).key
        add_posts(where(desk_paths), [make_post(30)])
        app._check_data_version()
        await settle(pilot, 4)
        rows = app.feed.windows
        assert rows.row(0).post_id == 1030  # above the line being read (new above)
        assert app.feed._is_read_mark(1, rows.row(1)) and not app.feed._is_read_mark(0, rows.row(0))


async def test_g_moves_the_mark_to_the_top(desk_paths) -> None:
    build_store(where(desk_paths), 10)
    with open_store(where(desk_paths), desk="night") as store:
        store.set_read_mark(store.get(make_post(5).source, 1005).key)
    app = make_app(desk_paths, desk="night")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert MARK in screen_text(app)
        await pilot.press("j", "g")
        await settle(pilot)
        assert MARK not in screen_text(app)
        assert app.feed.read_mark == app.feed.windows.row(0).key
