"""The desk's search box speaks the search language (core/query.py); a filter it cannot apply is
said on Enter and never replaces the filter in force."""

from __future__ import annotations

from tests.ui.conftest import build_store, make_app, make_post
from tests.ui.screen_text import screen_text

SIZE = (120, 40)


def _notes(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def test_search_language_in_the_desk(desk_paths):
    extra = [make_post(200, channel="gamma_osint", text="現場からの情報です"),
             make_post(201, channel="alpha_news", text="flood warning for the river bank")]
    build_store(desk_paths.store, 30, extra=extra)
    app = make_app(desk_paths)
    async with app.run_test(size=SIZE) as pilot:
        feed = app.feed
        await pilot.press("slash")
        app.query_one("#search").value = "現場"
        await pilot.press("enter")
        assert feed.windows.total == 1 and feed.windows.row(0).post_id == 1200
        await pilot.press("slash")
        app.query_one("#search").value = 'report source:beta_wire -"number 1"'
        await pilot.press("enter")
        ids = [feed.windows.row(i).post_id for i in range(feed.windows.total)]
        assert ids and all(feed.windows.row(i).channel == "beta_wire" for i in range(len(ids)))
        assert 1001 not in ids and 1004 in ids and 1010 in ids  # only "Post number 1 ..." is left out
        await pilot.press("slash")
        app.query_one("#search").value = "flood since:someday"
        await pilot.press("enter")
        assert any("Search: cannot read 'someday' as a date" in n for n in _notes(app))
        assert app.query_text == 'report source:beta_wire -"number 1"'  # the filter in force stays
        assert app.query_one("#search").has_class("shown") and app.focused.id == "search"
        app.query_one("#search").value = "flood source:nobody"
        await pilot.press("enter")
        assert any("source:nobody: no such source" in n for n in _notes(app))
        app.query_one("#search").value = '"river bank" OR 現場'
        await pilot.press("enter")
        assert [feed.windows.row(i).post_id for i in range(feed.windows.total)] == [1201, 1200]
        assert "Traceback" not in screen_text(app)
