"""The sources screen: a channel removed from the settings says so and can be forgotten; a source
that polls fine again does not show its old error as the reason."""

from __future__ import annotations

from datetime import timedelta

from deskapp.core.store import Store
from deskapp.ui.screens.info import SourcesScreen
from deskapp.ui.screens.modals import ConfirmModal
from tests.ui.conftest import FETCHED, build_store, make_app, make_post
from tests.ui.screen_text import screen_text

SIZE = (160, 40)


async def test_removed_source_is_shown_and_forgotten_and_old_errors_are_history(desk_paths, no_clipboard):
    old = [make_post(100 + i, channel="old_chan") for i in range(3)]
    build_store(desk_paths.store, 9, extra=old)
    with Store.open(desk_paths.store) as store:
        later = FETCHED + timedelta(minutes=1)
        store.record_failure("telegram:alpha_news", at=FETCHED, reason="HTTP 502 from t.me", next_poll=later)
        store.record_success("telegram:alpha_news", at=later, next_poll=later)  # healthy again
        store.record_failure("telegram:beta_wire", at=FETCHED, reason="timed out", next_poll=later)
    app = make_app(desk_paths)  # the settings list alpha_news, beta_wire, gamma_osint: not old_chan
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        screen = app.screen
        assert isinstance(screen, SourcesScreen)
        text = screen_text(app)
        assert "not in settings" in text and "d forgets the selected one" in text
        assert "timed out" in text and "HTTP 502" not in text  # beta fails now; alpha recovered
        names = [s.name for s in screen.sources]
        screen.query_one("#sources-table").move_cursor(row=names.index("telegram:alpha_news"))
        await pilot.press("d")  # a configured source is not forgotten
        assert not isinstance(app.screen, ConfirmModal)
        screen.query_one("#sources-table").move_cursor(row=names.index("telegram:old_chan"))
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmModal) and "Forget telegram:old_chan and its 3 stored posts?" in screen_text(app)
        await pilot.press("y")
        await pilot.pause()
        assert app.screen is screen and "telegram:old_chan" not in [s.name for s in screen.sources]
        assert "not in settings" not in screen_text(app)
    with Store.open(desk_paths.store) as store:
        assert store.get("telegram:old_chan", 1100) is None and store.count_posts() == 9
