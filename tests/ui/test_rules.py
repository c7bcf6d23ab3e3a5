"""Rules from the desk: R lists the store's rules and the settings file's (read-only); a adds one
through the dialog (a wrong one says why on one line and the dialog stays); d deletes a desk rule."""

from __future__ import annotations

import pytest

from deskapp.core.alerts import Rule, RuleAction
from deskapp.ui.screens.modals import ConfirmModal
from deskapp.ui.screens.rules import RuleDialog, RulesScreen
from tests.ui.conftest import build_store, make_app, make_post, make_settings, settle, where
from tests.ui.screen_text import screen_text


@pytest.fixture
def desk_paths(any_desk_paths):
    """Each test here on both stores (SQLite and PostgreSQL)."""
    return any_desk_paths


async def type_field(pilot, field_id: str, text: str) -> None:
    pilot.app.screen.query_one(f"#{field_id}").focus()
    await pilot.press(*text)


async def test_add_a_mute_and_an_alert_rule_from_the_desk_and_delete_one(desk_paths) -> None:
    build_store(where(desk_paths), 12, extra=[make_post(40 + i, text=f"promo code {i}") for i in range(3)])
    settings = make_settings()
    settings.attention.rules = [Rule("from-file", words=("evacuation",))]
    app = make_app(desk_paths, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.feed.windows.total == 15
        await pilot.press("R")
        await settle(pilot)
        assert isinstance(app.screen, RulesScreen)
        assert [(rid, r.name) for rid, r in app.screen.rows] == [(None, "from-file")]
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, RuleDialog)
        await type_field(pilot, "rule-name", "ads")
        action = app.screen.query_one("#rule-action")
        action.value = "mute"
        await type_field(pilot, "rule-match", '"promo code')  # not closed: said, the dialog stays
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, RuleDialog)
        assert "is not closed" in screen_text(app)
        app.screen.query_one("#rule-match").value = '"promo code" /bargain(s)?/'
        await pilot.press("enter")
        await settle(pilot, 4)
        assert isinstance(app.screen, RulesScreen)
        assert [r.name for _, r in app.screen.rows] == ["ads", "from-file"]
        assert any("3 recent posts hidden" in str(n.message) for n in app._notifications)
        assert app.feed.windows.total == 12 and app._hidden == 3  # hidden at once

        await pilot.press("a")
        await settle(pilot)
        await type_field(pilot, "rule-name", "from-file")  # taken by the settings file's rule
        await type_field(pilot, "rule-match", "fire")
        await pilot.press("enter")
        await settle(pilot)
        assert "used by another rule" in screen_text(app)
        app.screen.query_one("#rule-name").value = "fires"
        app.screen.query_one("#rule-limit").value = "telegram:alpha_news kind:telegram"
        await pilot.press("enter")
        await settle(pilot)
        stored = dict((r.name, r) for _, r in app.store.rules())
        assert stored["fires"].action is RuleAction.ALERT and stored["fires"].sources == ("telegram:alpha_news",)
        assert stored["ads"].phrases == ("promo code",) and stored["ads"].patterns == ("bargain(s)?",)

        screen = app.screen
        assert isinstance(screen, RulesScreen)
        screen.query_one("#rules-table").move_cursor(row=[r.name for _, r in screen.rows].index("from-file"))
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, RulesScreen)  # read-only: said, nothing asked
        screen.query_one("#rules-table").move_cursor(row=[r.name for _, r in screen.rows].index("ads"))
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("y")
        await settle(pilot, 4)
        assert [r.name for _, r in app.store.rules()] == ["fires"]
        assert app.feed.windows.total == 15 and app._hidden == 0  # its posts show again
