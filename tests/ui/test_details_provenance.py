"""The details screen says how the text and each earlier text were captured (issue 11), through the
one path that shows every field (ui/text.field_text): a capture URL carrying an escape shows encoded."""

from __future__ import annotations

from datetime import timedelta

from deskapp.core.store import Store
from deskapp.ui.screens.details import DetailsScreen
from tests.ui.conftest import FETCHED, build_store, make_app, make_post
from tests.ui.screen_text import screen_text

SIZE = (160, 50)


async def test_details_name_the_capture_of_the_text_and_of_each_revision(desk_paths) -> None:
    build_store(desk_paths.store, 3)
    first = make_post(200, channel="beta_wire", text="First wording")
    later = make_post(200, channel="beta_wire", text="Second wording")
    with Store.open(desk_paths.store) as store:
        store.ingest_page(first.source, [first], fetched_at=FETCHED,
                          capture=("fetched", "http://127.0.0.1:9/s/beta_wire\x1b]0;x\x07"))
        store.ingest_page(later.source, [later], fetched_at=FETCHED + timedelta(hours=1),
                          capture=("imported", "/srv/pages/beta.html"))
    app = make_app(desk_paths)
    async with app.run_test(size=SIZE) as pilot:
        assert app.feed.current.post_id == 1200
        await pilot.press("enter")
        assert isinstance(app.screen, DetailsScreen)
        text = screen_text(app)
        assert "imported from /srv/pages/beta.html at 2026" in text
        assert "(fetched from http://127.0.0.1:9/s/beta_wire%1B]0;x%07)" in text
        assert "\x1b" not in text
