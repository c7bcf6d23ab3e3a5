"""Who posted it first, in the desk: "+N" on the feed line of a post others repeated (read in one batch
per window), and the details list the whole group with channels and UTC times."""

from __future__ import annotations

import pytest
from textual.widgets import Static

from deskapp.core.attention import Attention
from deskapp.core.backend import open_store
from deskapp.core.model import Copies
from deskapp.core.settings import AttentionSettings
from deskapp.ui.screens.details import DetailsScreen
from tests.ui.conftest import build_store, make_app, make_post, settle, where
from tests.ui.screen_text import screen_text


@pytest.fixture
def desk_paths(any_desk_paths):
    """Each test here on both stores (SQLite and PostgreSQL)."""
    return any_desk_paths


FIRE = "Port authority reports a fire in a warehouse near the east quay; no injuries so far, crews on site."


async def test_a_repeated_post_shows_plus_n_and_its_details_list_the_group(desk_paths) -> None:
    build_store(where(desk_paths), 6, extra=[
        make_post(10, channel="alpha_news", text=FIRE),
        make_post(11, channel="beta_wire", text="Via Alpha: " + FIRE),
        make_post(12, channel="gamma_osint", text=FIRE + " More soon."),
    ])
    with open_store(where(desk_paths)) as store:
        Attention(store, AttentionSettings(notify=False)).drain_all()
        first = store.get("telegram:alpha_news", 1010).key
        assert store.copies_count([first]) == {first: Copies(2, ("Beta Wire", "Gamma Osint"))}
    app = make_app(desk_paths)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.feed.windows.copies[first].count == 2  # (the generated "Post number i" texts group too)
        lines = [ln for ln in screen_text(app).splitlines() if "Port authority" in ln]
        assert len(lines) == 3 and sum("+2 (Beta Wire, Gamma Osint) " in ln for ln in lines) == 1
        await pilot.press("j", "j")  # the earliest, under its two copies
        assert app.feed.cursor_key == first
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DetailsScreen)
        assert [m.post.id for m, _ in app.screen.group] == [1010, 1011, 1012]
        text = "\n".join(str(w.render()) for w in app.screen.query(Static))  # below the fold at 80x24
        assert "Same news in 3 posts" in text and "beta_wire" in text and "(first)" in text


async def test_e_names_the_earliest_post_in_the_citation_and_is_kept_per_desk(desk_paths) -> None:
    build_store(where(desk_paths), 3, extra=[make_post(10, channel="alpha_news", text=FIRE),
                                            make_post(11, channel="beta_wire", text="Via Alpha: " + FIRE)])
    with open_store(where(desk_paths)) as store:
        Attention(store, AttentionSettings(notify=False)).drain_all()
    app = make_app(desk_paths)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.feed.current.post_id == 1011
        await pilot.press("p")
        await settle(pilot)
        assert "first posted by" not in app.rendered.text
        await pilot.press("E")
        await settle(pilot)
        assert "first posted by Alpha News (@alpha_news) at 2026-03-01 12:10 UTC, https://t.me/alpha_news/1010" \
            in app.rendered.text
    with open_store(where(desk_paths)) as store:
        assert store.desk_prefs()["options"]["earliest"] is True  # with the other citation options (O)
