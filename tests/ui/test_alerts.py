"""Alerts in the desk: raised while the editor reads (a headless `desk poll` recorded them), counted in
the status bar, rung, listed on the alerts screen, and Enter there shows the post in the feed."""

from __future__ import annotations

from pathlib import Path

import pytest

from deskapp.core.alerts import Rule, RuleAction
from deskapp.core.attention import Attention
from deskapp.core.backend import open_store
from deskapp.core.settings import AttentionSettings
from deskapp.ui.screens.alerts import AlertsScreen
from deskapp.ui.widgets.status import StatusBar
from tests.ui.conftest import (
    HOSTILE,
    add_posts,
    build_store,
    make_app,
    make_post,
    make_settings,
    settle,
    where,
)


@pytest.fixture
def desk_paths(any_desk_paths):
    """Each test here on both stores (SQLite and PostgreSQL)."""
    return any_desk_paths


RULES = [Rule("raid", phrases=("air raid",)), Rule("ads", action=RuleAction.MUTE, words=("promo",))]


def record_alerts(path: Path | str, posts) -> None:
    """What a headless `desk poll` does: store the posts, then its attention worker matches them."""
    add_posts(path, posts)
    with open_store(path) as store:
        Attention(store, AttentionSettings(rules=RULES, notify=False)).drain_all()


def status(app) -> str:
    return str(app.query_one(StatusBar).render())


def alert_notes(app) -> list[tuple[str, str]]:
    return [(str(n.title), str(n.message)) for n in app._notifications if str(n.title).startswith("Alert:")]


async def test_an_alert_recorded_by_another_process_is_raised_counted_rung_and_listed(desk_paths) -> None:
    build_store(where(desk_paths), 30)
    with open_store(where(desk_paths)) as store:  # the backlog of the generated posts: no alerts
        Attention(store, AttentionSettings(rules=RULES, notify=False)).drain_all()
    settings = make_settings()
    settings.attention.bell = True
    app = make_app(desk_paths, settings)
    bells: list[int] = []
    app.bell = lambda: bells.append(1)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "alert" not in status(app) and not alert_notes(app)
        raid = make_post(40, channel="beta_wire", text="Air raid sirens in the north " + HOSTILE[0])
        record_alerts(where(desk_paths), [raid, make_post(41, text="nothing to see")])
        app._check_data_version()  # the store watch's tick
        await settle(pilot, 4)
        notes = alert_notes(app)
        assert len(notes) == 1 and notes[0][0] == "Alert: raid"
        assert "beta_wire/1040" in notes[0][1] and HOSTILE[0] in notes[0][1]  # shown as typed, never as markup
        assert bells == [1]
        assert "1 alert (A)" in status(app)
        app._check_data_version()  # nothing new: nothing raised twice
        await settle(pilot)
        assert len(alert_notes(app)) == 1 and bells == [1]

        await pilot.press("A")
        await settle(pilot)
        assert isinstance(app.screen, AlertsScreen)
        assert [a.post_id for a in app.screen.alerts] == [1040]
        assert "alert" not in status(app)  # seen
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(app.screen, AlertsScreen)
        assert app.feed.cursor_key == app.store.get("telegram:beta_wire", 1040).key


async def test_the_alerts_screen_lists_newest_first_and_enter_clears_a_filter_hiding_the_post(desk_paths) -> None:
    build_store(where(desk_paths), 10)
    record_alerts(where(desk_paths), [make_post(20, text="air raid one"), make_post(21, text="Air Raid two"),
                                     make_post(22, channel="alpha_news", text="quiet")])
    app = make_app(desk_paths)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        assert not alert_notes(app)  # recorded before the desk started: listed, not raised again
        app.source_filter = ["telegram:alpha_news"]
        app._refilter()
        await settle(pilot)
        await pilot.press("A")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, AlertsScreen)
        assert [a.post_id for a in screen.alerts] == [1021, 1020]
        await pilot.press("down", "enter")
        await settle(pilot)
        assert app.source_filter is None
        assert app.feed.cursor_key == app.store.get(make_post(20).source, 1020).key


async def test_a_burst_of_alerts_is_a_few_notifications_and_one_for_the_rest(desk_paths) -> None:
    build_store(where(desk_paths), 5)
    app = make_app(desk_paths)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        record_alerts(where(desk_paths), [make_post(100 + i, text=f"air raid {i}") for i in range(10)])
        app.check_alerts()
        await settle(pilot)
        assert len(alert_notes(app)) == 3
        assert any("7 more" in str(n.message) for n in app._notifications)
        assert "10 alerts (A)" in status(app)
