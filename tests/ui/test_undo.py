"""A stray key loses nothing: every unpin and a clear-all can be undone (u), putting the pins back at
their places with their notes, committed to the store; the notification says how."""

from __future__ import annotations

from deskapp.core.backend import open_store
from deskapp.ui.screens.info import HelpScreen
from tests.ui.conftest import build_store, make_app, make_settings, where
from tests.ui.screen_text import screen_text

SIZE = (120, 40)


def board(path) -> list[tuple[int, str]]:
    """The committed pinboard of the default desk (a SQLite file or a server URL)."""
    with open_store(path) as store:
        return [(pin.post_id, pin.note) for pin, _ in store.pins()]


def notes(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def pinned_with_notes(app, pilot) -> list[tuple[int, str]]:
    await pilot.press("p", "j", "p", "j", "p", "j", "p")  # 1019, 1018, 1017, 1016
    for i, (pin, _) in enumerate(app.pins):
        app.store.set_pin_note(pin.source, pin.post_id, f"note {i}")
    app.refresh_pins()
    return board(where(app.paths))


async def test_clear_all_then_undo_restores_order_and_notes(any_desk_paths, no_clipboard):
    desk_paths = any_desk_paths  # on SQLite and on PostgreSQL
    build_store(where(desk_paths), 20)
    app = make_app(desk_paths)
    async with app.run_test(size=SIZE) as pilot:
        before = await pinned_with_notes(app, pilot)
        assert [i for i, _ in before] == [1019, 1018, 1017, 1016]
        await pilot.press("X", "y")
        assert board(where(desk_paths)) == []
        assert "Cleared 4 pins. u puts them back." in notes(app)
        await pilot.press("u")
        assert board(where(desk_paths)) == before  # committed, in order, with notes
        assert [(p.post_id, p.note) for p, _ in app.pins] == before
        assert "Pinboard (4)" in screen_text(app) and "note 2" in screen_text(app)
        assert "Put back 4 pins." in notes(app)[-1]
        await pilot.press("u")
        assert notes(app)[-1] == "Nothing to undo."


async def test_each_unpin_is_undone_in_turn(any_desk_paths, no_clipboard):
    desk_paths = any_desk_paths  # on SQLite and on PostgreSQL
    build_store(where(desk_paths), 20)
    app = make_app(desk_paths)
    async with app.run_test(size=SIZE) as pilot:
        before = await pinned_with_notes(app, pilot)
        app.pinboard.focus()
        await pilot.press("g", "j", "x")  # 1018 from the pinboard
        assert notes(app)[-1].startswith("Unpinned ") and notes(app)[-1].endswith("u puts it back.")
        await pilot.press("delete")  # 1017
        app.feed.focus()
        await pilot.press("g", "p")  # 1019 from the feed (p on a pinned post)
        assert board(where(desk_paths)) == [before[3]]
        await pilot.press("u")
        assert board(where(desk_paths)) == [before[0], before[3]]
        await pilot.press("u", "u")
        assert board(where(desk_paths)) == before


async def test_undo_after_new_pins_keeps_them_and_survives_a_restart(desk_paths, no_clipboard):
    build_store(desk_paths.store, 20)
    app = make_app(desk_paths)
    async with app.run_test(size=SIZE) as pilot:
        before = await pinned_with_notes(app, pilot)
        await pilot.press("X", "y", "G", "p")  # clear, then pin the oldest post
        await pilot.press("u")
        assert board(where(desk_paths)) == [*before, (1000, "")]
    app2 = make_app(desk_paths)
    async with app2.run_test(size=SIZE):
        assert [(p.post_id, p.note) for p, _ in app2.pins] == [*before, (1000, "")]


async def test_undo_is_in_help_and_follows_the_users_key(desk_paths):
    build_store(desk_paths.store, 5)
    settings = make_settings()
    settings.keys = {"undo": "U"}
    app = make_app(desk_paths, settings)
    async with app.run_test(size=(120, 50)) as pilot:
        await pilot.press("p", "j", "p", "X", "y")
        assert notes(app)[-1].endswith("U puts them back.")
        await pilot.press("u")
        assert app.pins == []
        await pilot.press("U")
        assert len(app.pins) == 2
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert "Undo the last unpin or clear" in screen_text(app)


async def test_undo_survives_quitting_the_desk(desk_paths, no_clipboard):
    """X, y, q typed by mistake (or typed by a terminal without bracketed paste): the next desk on
    the store still puts the pins back."""
    build_store(desk_paths.store, 20)
    app = make_app(desk_paths)
    async with app.run_test(size=SIZE) as pilot:
        before = await pinned_with_notes(app, pilot)
        await pilot.press("X", "y", "q")
    assert board(where(desk_paths)) == []
    app2 = make_app(desk_paths)
    async with app2.run_test(size=SIZE) as pilot:
        await pilot.press("u")
        assert board(where(desk_paths)) == before
        await pilot.press("u")
        assert notes(app2)[-1] == "Nothing to undo."
    # A desk on another store does not see this store's undo.
    other = desk_paths.__class__(config=desk_paths.config, store=desk_paths.store.with_name("other.db"),
                                 state=desk_paths.state)
    build_store(other.store, 3)
    app3 = make_app(other)
    async with app3.run_test(size=SIZE) as pilot:
        await pilot.press("u")
        assert notes(app3)[-1] == "Nothing to undo." and app3.pins == []


def test_a_damaged_undo_file_costs_only_the_undo(tmp_path):
    from deskapp.ui.undo import UndoStack

    path = tmp_path / "undo.json"
    path.write_text('{"k": [[{"source": "telegram:a"}], 7], "other": 1', encoding="utf-8")
    assert len(UndoStack(path, "k")) == 0
    path.write_text('{"k": [[{"source": "telegram:a"}], "x"]}', encoding="utf-8")
    stack = UndoStack(path, "k")
    assert len(stack) == 0 and stack.peek() is None
    stack.pop()  # harmless
    assert len(UndoStack(tmp_path / "missing" / "undo.json", "k")) == 0
