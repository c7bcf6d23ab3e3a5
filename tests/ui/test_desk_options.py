"""What the citation carries (O: notes, excerpts, views, archive, checks, earliest, order...) is each
desk's own and kept across restarts, as its format and heading are (issue 12, one pinboard per editor)."""

from __future__ import annotations

from textual.widgets import SelectionList

from deskapp.core.store import Store
from deskapp.ui.citing import OPTIONS
from deskapp.ui.screens.cite_options import CiteOptionsModal
from tests.ui.conftest import build_store, make_app, settle

SIZE = (120, 40)
NAMES = [name for name, _ in OPTIONS]


async def switch(pilot, *names: str) -> None:
    """In the options dialog: move to each option with the arrow keys and switch it with Space."""
    app = pilot.app
    assert isinstance(app.screen, CiteOptionsModal)
    options = app.screen.query_one(SelectionList)
    for name in names:
        while options.highlighted != NAMES.index(name):
            await pilot.press("down" if (options.highlighted or 0) < NAMES.index(name) else "up")
        await pilot.press("space")
    await settle(pilot)


def shown_on(app) -> set[str]:
    return set(app.screen.query_one(SelectionList).selected)


async def test_citation_options_are_kept_per_desk_across_restarts(desk_paths) -> None:
    build_store(desk_paths.store, 10)

    app = make_app(desk_paths, desk="anna")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("p", "j", "p")
        await settle(pilot)
        plain = app.rendered.text
        assert "Post number" not in plain  # no excerpt by default
        await pilot.press("O")
        await settle(pilot)
        assert shown_on(app) == {"notes", "edited", "forwards", "replies"}  # CiteOptions' defaults
        await switch(pilot, "excerpt", "views", "checked", "chronological", "notes")
        assert "Post number 9" in app.rendered.text and "views" in app.rendered.text  # shown at once
        await pilot.press("escape")
        await pilot.press("E")  # the key for one option, the same choice as in the dialog
        await settle(pilot)
        assert not isinstance(app.screen, CiteOptionsModal)
        anna_text = app.rendered.text
        anna = dict(app.citer.options)
    assert anna == {"excerpt": True, "views": True, "checked": True, "chronological": True, "notes": False,
                    "earliest": True}
    lines = anna_text.splitlines()
    assert [i for i, line in enumerate(lines) if "/1008" in line] < [i for i, line in enumerate(lines) if "/1009" in line]

    app = make_app(desk_paths, desk="ben")  # another editor on the same store
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.citer.options == {} and not app.pins
        await pilot.press("p")
        await pilot.press("O")
        await settle(pilot)
        assert shown_on(app) == {"notes", "edited", "forwards", "replies"}  # not anna's
        await switch(pilot, "sha256", "archive")
        await pilot.press("O")  # O closes too
        await settle(pilot)
        assert "SHA-256" in app.rendered.text or "sha256" in app.rendered.text.lower()
        ben_text = app.rendered.text

    app = make_app(desk_paths, desk="anna")  # a restart: anna's choices and citation are back
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.citer.options == anna
        assert app.rendered.text == anna_text
        await pilot.press("O")
        await settle(pilot)
        assert shown_on(app) == {"excerpt", "views", "checked", "chronological", "edited", "forwards", "replies",
                                 "earliest"}
        await switch(pilot, "views")  # off again, kept again
        await pilot.press("escape")

    app = make_app(desk_paths, desk="ben")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.citer.options == {"sha256": True, "archive": True}
        assert app.rendered.text == ben_text

    with Store.open(desk_paths.store, desk="anna") as store:
        assert store.desk_prefs()["options"] == {**anna, "views": False}
        assert "earliest" not in store.desk_prefs()  # kept with the other options, not on its own


async def test_a_desk_kept_before_the_options_keeps_its_earliest(desk_paths) -> None:
    """Stores written before the options dialog kept `earliest` on its own: still honoured."""
    build_store(desk_paths.store, 3)
    with Store.open(desk_paths.store, desk="anna") as store:
        store.set_desk_prefs(earliest=True, format="markdown")
    app = make_app(desk_paths, desk="anna")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.citer.earliest and app.citer.fmt == "markdown"
