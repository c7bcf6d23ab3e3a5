"""Desk names in the desk: each editor's pinboard, citation format, heading and time mode are
their own on a shared store, and kept across restarts."""

from __future__ import annotations

from deskapp.core.backend import open_store
from tests.ui.conftest import build_store, make_app, where
from tests.ui.screen_text import screen_text

SIZE = (120, 40)


async def test_two_desks_on_one_store_keep_their_own_boards_and_settings(any_desk_paths, no_clipboard):
    desk_paths = any_desk_paths  # on SQLite and on PostgreSQL
    build_store(where(desk_paths), 12)
    anna = make_app(desk_paths, desk="anna")
    async with anna.run_test(size=SIZE) as pilot:
        await pilot.press("p", "j", "p", "F", "t")  # two pins, markdown, local time
        assert anna.citer.fmt == "markdown" and anna.time_mode == "local"
        assert "Pinboard (2) · desk anna" in screen_text(anna)
    ben = make_app(desk_paths, desk="Ben")
    async with ben.run_test(size=SIZE) as pilot:
        assert ben.pins == [] and "★" not in screen_text(ben)  # anna's pins are not ben's
        assert ben.citer.fmt == "text" and ben.time_mode == "utc"
        await pilot.press("j", "j", "p", "X")
        await pilot.press("y")  # ben clears his own board
        assert ben.pins == []
    with open_store(where(desk_paths), desk="anna") as store:
        assert [p.post_id for p, _ in store.pins()] == [1011, 1010]  # untouched by ben's clear-all
        prefs = store.desk_prefs()
        assert isinstance(prefs.pop("read_key"), int)  # where anna stopped reading, kept on quitting
        assert prefs == {"format": "markdown", "time": "local"}
    again = make_app(desk_paths, desk="ANNA")
    async with again.run_test(size=SIZE) as pilot:
        assert [p.post_id for p, _ in again.pins] == [1011, 1010]
        assert again.citer.fmt == "markdown" and again.time_mode == "local"  # kept across restarts
        await pilot.press("H")
        again.screen.query_one("#text").value = "Night desk ({count})"
        await pilot.press("enter")
    with open_store(where(desk_paths), desk="anna") as store:
        assert store.desk_prefs()["heading"] == "Night desk ({count})"
