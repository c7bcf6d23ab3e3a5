"""A first run without settings: where the settings go, a minimal example, the demo, and adding a
channel from the desk (validated, written to the settings file, kept)."""

from __future__ import annotations

from deskapp.config import Settings, load
from deskapp.ui.screens.first_run import AddChannelModal
from tests.ui.conftest import build_store, make_app
from tests.ui.screen_text import screen_text

SIZE = (100, 34)


async def test_first_run_explains_and_adds_a_channel(desk_paths):
    app = make_app(desk_paths, settings=Settings(path=None))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, AddChannelModal)
        text = screen_text(app)
        assert "No channels to watch yet." in text and "Settings file:" in text
        # The path itself may wrap on screen (its length depends on the temporary folder).
        assert f"Settings file: {desk_paths.config} (not created yet)" in app.screen.intro
        assert 'channels = ["durov", "bbcrussian"]' in text
        assert "desk --demo" in text
        field = app.screen.query_one("#channel")
        for bad, says in (("no spaces allowed", "is not a Telegram channel name"), ("", "type a channel name")):
            field.value = bad
            await pilot.press("enter")
            assert isinstance(app.screen, AddChannelModal) and says in screen_text(app)
        assert not desk_paths.config.exists()  # nothing written for a wrong name
        field.value = "https://t.me/Some_Channel"
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, AddChannelModal)
        assert [s.handle for s in app.settings.sources] == ["Some_Channel"]
        assert [s.name for s in app.store.sources()] == ["telegram:some_channel"]
        await pilot.press("a")  # more later, from the desk; a channel already there is refused
        app.screen.query_one("#channel").value = "@some_channel"
        await pilot.press("enter")
        assert "already in the settings" in screen_text(app)
        await pilot.press("escape")
    kept = load(desk_paths.config)
    assert [s.name for s in kept.sources] == ["telegram:some_channel"]
    again = make_app(desk_paths, settings=kept)
    async with again.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert not isinstance(again.screen, AddChannelModal)  # not a first run any more


async def test_no_first_run_over_a_store_with_posts(desk_paths):
    build_store(desk_paths.store, 5)  # another process polls, this desk only watches
    app = make_app(desk_paths, settings=Settings(path=None))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert not isinstance(app.screen, AddChannelModal)
