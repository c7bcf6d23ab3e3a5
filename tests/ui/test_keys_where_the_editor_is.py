"""Keys where the editor is, and the desk at 80x24: note and unpin from the feed, `p` on the whole post,
one key for a permalink, Esc after a search keeps the post found, the whole citation in one key, a
footer that fits."""

from __future__ import annotations

from deskapp.keymap import DEFAULT_KEYS
from deskapp.ui.screens.citation import CitationScreen
from deskapp.ui.screens.details import DetailsScreen
from deskapp.ui.screens.info import HelpScreen
from deskapp.ui.screens.modals import TextModal
from tests.ui.conftest import build_store, make_app, settle
from tests.ui.screen_text import screen_text

SMALL = (80, 24)


def notes(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


def pinned_ids(app) -> list[int]:
    return [pin.post_id for pin, _ in app.pins]


async def test_note_and_unpin_from_the_feed(desk_paths, no_clipboard) -> None:
    build_store(desk_paths.store, 20)
    app = make_app(desk_paths)
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("j", "p", "j")  # 1018 pinned; the cursor on 1017, not pinned
        await pilot.press("e")
        assert not isinstance(app.screen, TextModal)
        assert "This post is not pinned (p pins it)." in notes(app)[-1]
        await pilot.press("x")
        assert pinned_ids(app) == [1018] and "not pinned" in notes(app)[-1]
        await pilot.press("k", "e")  # back on the pinned post: its note, from the feed
        assert isinstance(app.screen, TextModal)
        await pilot.press(*"seen on TV", "enter")
        await settle(pilot)
        assert [pin.note for pin, _ in app.pins] == ["seen on TV"]
        await pilot.press("x")
        assert pinned_ids(app) == []


async def test_p_on_the_whole_post_and_one_key_for_a_permalink(desk_paths, no_clipboard) -> None:
    build_store(desk_paths.store, 20)
    app = make_app(desk_paths)
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("enter")
        assert isinstance(app.screen, DetailsScreen)
        await pilot.press("p")
        assert pinned_ids(app) == [1019] and "Pinned beta_wire/1019." in notes(app)[-1]
        await pilot.press("l")
        assert app.clipboard == "https://t.me/beta_wire/1019"
        await pilot.press("p")
        assert pinned_ids(app) == [] and "Unpinned" in notes(app)[-1]
        await pilot.press("escape", "j", "l")  # from the feed
        assert app.clipboard == "https://t.me/alpha_news/1018"
        assert "Copied https://t.me/alpha_news/1018" in notes(app)[-1]
        await pilot.press("p", "tab", "l")  # from the pinboard
        assert app.clipboard == "https://t.me/alpha_news/1018"
        # The last-citation file holds citations only: a permalink never replaces it.
        assert not app.paths.last_citation.exists()


async def test_esc_after_a_search_keeps_the_post_found(desk_paths, no_clipboard) -> None:
    build_store(desk_paths.store, 300)
    app = make_app(desk_paths)
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("slash", *"beta", "enter")
        await settle(pilot)
        await pilot.press(*["j"] * 30)
        found = app.feed.current
        assert found.channel == "beta_wire" and app.feed.windows.total == 100
        await pilot.press("escape")
        await settle(pilot)
        assert app.query_text == "" and app.feed.windows.total == 300
        assert app.feed.current.key == found.key
        assert app.feed.cursor == 299 - (found.post_id - 1000)  # its place in the full feed
        assert "new above" not in screen_text(app)
        row = app.feed.cursor - round(app.feed.scroll_y)
        assert 0 <= row < app.feed.page_height  # on screen


async def test_three_pins_at_80x24_are_checked_in_one_key(desk_paths, no_clipboard) -> None:
    build_store(desk_paths.store, 30)
    app = make_app(desk_paths)
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("p", "j", "p", "j", "p")
        text = screen_text(app)
        footer = text.splitlines()[-1]
        assert footer.rstrip().endswith("q quit") and "C check" in footer  # the footer fits
        for n in (1029, 1028, 1027):
            assert f"Post number {n - 1000} …" in text or f"Post number {n - 1000} from" in text  # pins keep text
        await pilot.press("C")  # one key
        assert isinstance(app.screen, CitationScreen)
        text = screen_text(app)
        for permalink in ("https://t.me/gamma_osint/1029", "https://t.me/beta_wire/1028",
                          "https://t.me/alpha_news/1027"):
            assert permalink in text
        assert "3 posts · times UTC · c copies" in text
        await pilot.press("c")
        assert "3 posts" in notes(app)[-1] and app.clipboard.count("https://t.me/") == 3
        await pilot.press("escape")
        assert not isinstance(app.screen, CitationScreen)


async def test_every_key_is_in_the_keymap_and_in_help(desk_paths) -> None:
    ids = {spec.id for spec in DEFAULT_KEYS}
    assert {"copy_link", "show_citation", "citation_back", "pin_note", "unpin"} <= ids
    build_store(desk_paths.store, 3)
    app = make_app(desk_paths)
    async with app.run_test(size=(120, 60)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        for kid in ("copy_link", "show_citation", "citation_back"):
            assert kid in text
