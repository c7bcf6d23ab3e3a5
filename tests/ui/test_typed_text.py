"""What the editor types or pastes: every field drops control characters, a heading or note pasted
with escape sequences never crashes the desk, and a paste outside a text field does nothing."""

from __future__ import annotations

from textual import events

from deskapp.core.store import Store
from deskapp.ui.screens.modals import TextModal
from deskapp.ui.widgets.field import TextField
from tests.ui.conftest import build_store, make_app
from tests.ui.screen_text import screen_text

SIZE = (120, 40)
# A bell, a colour, an OSC 52 clipboard write, a C1 CSI, a bidi override, a tab and a newline.
DIRTY = "Sour\x07ces\x1b[31m red\x1b]52;c;QUFBQQ==\x07 \x9b2Jand\u202e\tmore\nsecond line"


async def paste(pilot, text: str) -> None:
    """A terminal paste, delivered as the driver delivers it (to the app, which routes it)."""
    pilot.app.post_message(events.Paste(text))
    await pilot.pause()
    await pilot.pause()


async def test_pasted_heading_with_control_characters_is_cleaned_not_a_crash(desk_paths, no_clipboard):
    build_store(desk_paths.store, 5)
    app = make_app(desk_paths)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p", "H")
        assert isinstance(app.screen, TextModal)
        field = app.screen.query_one("#text", TextField)
        field.value = ""
        await paste(pilot, DIRTY)
        # Only the first line of a paste goes into a one-line field; the tab becomes a space.
        assert field.value == "Sources red and more"
        await pilot.press("enter")
        assert app.is_running
        assert app.citer.heading == "Sources red and more"
        await pilot.press("c")
        assert desk_paths.last_citation.read_text(encoding="utf-8").startswith("Sources red and more\n")
        assert "\x1b" not in screen_text(app)


async def test_heading_set_in_code_is_cleaned(desk_paths):
    build_store(desk_paths.store, 3)
    app = make_app(desk_paths)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p")
        app.citer.heading = "Head\x00ing {count}\x1b[2J"
        app.refresh_compose()
        assert app.rendered.text.startswith("Heading 1")


async def test_pasted_note_and_search_drop_control_characters(desk_paths, no_clipboard):
    build_store(desk_paths.store, 5)
    app = make_app(desk_paths)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p", "tab", "e")
        field = app.screen.query_one("#text", TextField)
        await paste(pilot, "conf\x1b[1mirms\x07 the\x80 time")
        assert field.value == "confirms the time"
        await pilot.press("enter")
        with Store.open(desk_paths.store) as store:
            assert store.pins()[0][0].note == "confirms the time"
        # The search box: typed, pasted and set in code, it holds clean text only.
        await pilot.press("slash")
        search = app.query_one("#search", TextField)
        assert app.focused is search
        await paste(pilot, "harb\x1b[Z\x03our")
        assert search.value == "harbour"
        search.value = "x\x1by\x7f"
        assert search.value == "xy"
        # Ctrl+V pastes the app's own clipboard (the last citation, several lines): one clean line.
        app.copy_to_clipboard("line one\x1b[31m\nline two")
        search.value = ""
        await pilot.press("ctrl+v")
        assert search.value == "line one line two"


async def test_paste_outside_a_text_field_does_nothing(desk_paths):
    build_store(desk_paths.store, 5)
    app = make_app(desk_paths)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p", "j", "p")
        pins = list(app.pins)
        for focus in (app.feed, app.pinboard):
            focus.focus()
            await paste(pilot, "X y q \x03 p c \x1b[Z")
            assert app.is_running
            assert app.focused is focus and len(app.screen_stack) == 1  # no dialog, no move
            assert app.pins == pins


def test_every_text_input_of_the_desk_is_a_text_field() -> None:
    """A dialog added later with a bare Input would take control characters again."""
    import ast
    from pathlib import Path

    import deskapp.ui

    bare = []
    for path in Path(deskapp.ui.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name in ("Input", "TextArea", "MaskedInput"):
                    bare.append(f"{path.name}:{node.lineno} {name}(...)")
    assert bare == [], "use deskapp.ui.widgets.field.TextField: " + ", ".join(bare)


async def test_a_long_paste_keeps_what_fits(desk_paths, no_clipboard):
    """A pasted article in the search box is cut to the box's cap (as a query it kept the store busy
    for 34 s at 10^5 characters over 2,000 posts); a long note keeps its first 1,000 characters
    instead of being refused whole."""
    from deskapp.ui.app import SEARCH_CAP

    build_store(desk_paths.store, 20)
    app = make_app(desk_paths)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash")
        search = app.query_one("#search", TextField)
        await paste(pilot, "harbour report " * 70_000)
        assert len(search.value) == SEARCH_CAP and search.value.startswith("harbour report harbour")
        await pilot.press("enter")
        assert app.query_text == search.value.strip()
        search.value = "x" * 5_000  # set in code: capped too
        assert len(search.value) == SEARCH_CAP
        await pilot.press("escape", "p", "tab", "e")
        note = app.screen.query_one("#text", TextField)
        note.value = "abc"
        note.cursor_position = 1
        await paste(pilot, "n" * 5_000)
        assert note.value == "a" + "n" * 997 + "bc" and note.cursor_position == 998
