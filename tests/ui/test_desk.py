"""Pilot tests: every key and flow of the desk, over stores of our own generated posts."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from pathlib import Path

import pyperclip
import pytest

from deskapp.core.model import Post
from deskapp.core.store import Store
from deskapp.keymap import DEFAULT_KEYS
from deskapp.ui.screens.details import DetailsScreen
from deskapp.ui.screens.info import HelpScreen, SourcesScreen
from deskapp.ui.screens.modals import ConfirmModal, SourcePicker, TextModal
from tests.ui.conftest import (
    FETCHED,
    HOSTILE,
    T0,
    add_posts,
    build_store,
    make_app,
    make_post,
    make_settings,
    settle,
)
from tests.ui.screen_text import screen_text

SIZE = (120, 40)


@pytest.fixture
def system_clipboard(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    copied: list[str] = []
    monkeypatch.setattr(pyperclip, "copy", copied.append)
    return copied


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    opened: list[str] = []

    def fake(url: str) -> None:
        opened.append(url)
        return None

    monkeypatch.setattr("deskapp.ui.app.open_in_browser", fake)
    return opened


def pin_ids(path: Path) -> list[tuple[str, int]]:
    with Store.open(path) as store:
        return [(pin.source, pin.post_id) for pin, _ in store.pins()]


def notes(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


# ---------------------------------------------------------------------------------------- feed


async def test_feed_newest_first_and_navigation(desk_paths, no_clipboard):
    build_store(desk_paths.store, 100)
    app = make_app(desk_paths)
    async with app.run_test(size=SIZE) as pilot:
        feed = app.feed
        assert feed.windows.total == 100
        assert feed.current.post_id == 1099  # newest first
        text = screen_text(app)
        assert text.index("Post number 99 ") < text.index("Post number 98 ")
        await pilot.press("j", "j", "down")
        assert feed.cursor == 3 and feed.current.post_id == 1096
        await pilot.press("k", "up")
        assert feed.cursor == 1
        await pilot.press("G")
        assert feed.cursor == 99 and feed.current.post_id == 1000
        assert feed.scroll_y > 0  # the cursor is on screen
        await pilot.press("g")
        assert feed.cursor == 0 and feed.scroll_y == 0
        await pilot.press("pagedown")
        page = feed.page_height
        assert feed.cursor == page
        await pilot.press("pagedown", "pageup")
        assert feed.cursor == page
        await pilot.press("end")
        assert feed.cursor == 99
        await pilot.press("home")
        assert feed.cursor == 0
        await pilot.press("k")  # clamps at the top
        assert feed.cursor == 0


async def test_feed_windows_never_load_everything(desk_paths):
    build_store(desk_paths.store, 1000)
    app = make_app(desk_paths)
    async with app.run_test(size=SIZE) as pilot:
        feed = app.feed
        await pilot.press("G")
        assert feed.current.post_id == 1000
        await pilot.press(*["k"] * 5)
        assert feed.current.post_id == 1005
        windows = feed.windows
        assert len(windows._windows) <= 3  # the top window, the bottom one or two
        assert sum(len(w) for w in windows._windows.values()) <= 3 * windows.window
        # Rows by index agree with the store's order wherever they were fetched from.
        with Store.open(desk_paths.store) as store:
            expected = [r.key for r in store.feed(1000)]
        got = [windows.row(i).key for i in range(999, -1, -1)][::-1]
        assert got == expected


async def test_click_moves_cursor(desk_paths):
    build_store(desk_paths.store, 30)
    app = make_app(desk_paths)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.click("#feed", offset=(10, 4))
        assert app.feed.cursor == 4


# ---------------------------------------------------------------------------------------- pins


async def test_pin_and_unpin_from_feed(desk_paths, no_clipboard):
    build_store(desk_paths.store, 20)
    app = make_app(desk_paths)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p")
        # Committed in the store (another connection sees it) before the screen shows it.
        assert pin_ids(desk_paths.store) == [("telegram:beta_wire", 1019)]
        assert len(app.pinboard.items) == 1
        lines = screen_text(app).splitlines()
        assert any(line.startswith("│★ ") and "Post number 19 " in line for line in lines)
        assert "Pinboard (1)" in screen_text(app)
        await pilot.press("j", "p")
        assert pin_ids(desk_paths.store) == [("telegram:beta_wire", 1019), ("telegram:alpha_news", 1018)]
        await pilot.press("k", "p")  # unpin the first again
        assert pin_ids(desk_paths.store) == [("telegram:alpha_news", 1018)]
        assert [p.post_id for p, _ in app.pins] == [1018]
        assert "Pinboard (1)" in screen_text(app)


async def test_pinboard_reorder_unpin_note_clear(desk_paths, no_clipboard):
    build_store(desk_paths.store, 20)
    app = make_app(desk_paths)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p", "j", "p", "j", "p")  # 1019, 1018, 1017
        await pilot.press("tab")
        assert app.focused is app.pinboard
        await pilot.press("G")  # last pin (1017)
        await pilot.press("K")  # move it up
        assert [i for _, i in pin_ids(desk_paths.store)] == [1019, 1017, 1018]
        assert app.pinboard.current[0].post_id == 1017  # the cursor follows the moved pin
        await pilot.press("shift+up")
        assert [i for _, i in pin_ids(desk_paths.store)] == [1017, 1019, 1018]
        await pilot.press("J", "shift+down")  # down twice: back to the end
        assert [i for _, i in pin_ids(desk_paths.store)] == [1019, 1018, 1017]
        # note
        await pilot.press("e")
        assert isinstance(app.screen, TextModal)
        app.screen.query_one("#text").value = "confirms [b]time[/b]"
        await pilot.press("enter")
        with Store.open(desk_paths.store) as store:
            pins = store.pins()
        assert pins[2][0].note == "confirms [b]time[/b]"
        assert "confirms [b]time[/b]" in screen_text(app)  # literal, in the pinboard and the preview
        # Esc in the note modal keeps the old note
        await pilot.press("e", "x", "escape")
        with Store.open(desk_paths.store) as store:
            assert store.pins()[2][0].note == "confirms [b]time[/b]"
        # unpin with x and with delete
        await pilot.press("g", "x")
        assert [i for _, i in pin_ids(desk_paths.store)] == [1018, 1017]
        await pilot.press("delete")
        assert [i for _, i in pin_ids(desk_paths.store)] == [1017]
        # clear all: cancel first, then confirm
        await pilot.press("p", "escape")  # p on the pinboard unpins too; re-pin from the feed instead
        assert pin_ids(desk_paths.store) == []
        app.feed.focus()
        await pilot.press("p", "j", "p")
        assert len(pin_ids(desk_paths.store)) == 2
        await pilot.press("X")
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("n")
        assert len(pin_ids(desk_paths.store)) == 2
        await pilot.press("X")
        await pilot.press("y")
        assert pin_ids(desk_paths.store) == []
        assert app.pinboard.items == []
        assert any("Cleared 2 pins" in n for n in notes(app))


async def test_clear_confirm_by_button(desk_paths):
    build_store(desk_paths.store, 5)
    app = make_app(desk_paths)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p", "X")
        await pilot.click("#yes")
        await settle(pilot)
        assert pin_ids(desk_paths.store) == []


async def test_pins_survive_restart(desk_paths):
    build_store(desk_paths.store, 10)
    app = make_app(desk_paths)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p", "j", "p")
    app2 = make_app(desk_paths)
    async with app2.run_test(size=SIZE):
        assert [p.post_id for p, _ in app2.pins] == [1009, 1008]
        assert "★" in screen_text(app2)


# ---------------------------------------------------------------------------------------- copy


async def test_copy_without_system_clipboard_uses_osc52_and_file(desk_paths, no_clipboard):
    build_store(desk_paths.store, 10)
    app = make_app(desk_paths)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("c")
        assert any("Nothing pinned" in n for n in notes(app))
        assert not desk_paths.last_citation.exists()
        await pilot.press("p", "j", "p", "c")
        text = desk_paths.last_citation.read_text(encoding="utf-8")
        assert text.endswith("\n") and app.clipboard.rstrip("\n") == text.rstrip("\n")
        assert "https://t.me/alpha_news/1009, 2026-03-01 12:09 UTC" in text
        assert "https://t.me/gamma_osint/1008, 2026-03-01 12:08 UTC" in text
        assert text.index("1009") < text.index("1008")  # the editor's order
        message = notes(app)[-1]
        assert "OSC 52" in message and str(desk_paths.last_citation) in message
        # No temp files left beside it
        assert [p.name for p in desk_paths.state.iterdir()] == ["last-citation.txt"]


async def test_copy_with_system_clipboard(desk_paths, system_clipboard):
    build_store(desk_paths.store, 10)
    app = make_app(desk_paths)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p", "c")
        assert len(system_clipboard) == 1
        assert "https://t.me/alpha_news/1009" in system_clipboard[0]
        assert app.clipboard == ""  # no OSC 52 when the system clipboard took it
        kept = desk_paths.last_citation.read_text(encoding="utf-8")
        assert kept.endswith("\n") and kept.rstrip("\n") == system_clipboard[0].rstrip("\n")
        assert "system clipboard" in notes(app)[-1]
        assert str(desk_paths.last_citation) in notes(app)[-1]


async def test_copy_follows_format_and_heading(desk_paths, no_clipboard):
    build_store(desk_paths.store, 10)
    app = make_app(desk_paths)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p", "H")
        assert isinstance(app.screen, TextModal)
        app.screen.query_one("#text").value = "Sources [x]"
        await pilot.press("enter")
        assert app.citer.heading == "Sources [x]"
        await pilot.press("c")
        assert desk_paths.last_citation.read_text(encoding="utf-8").startswith("Sources [x]\n")
        await pilot.press("F")  # text -> markdown
        assert app.citer.fmt == "markdown"
        await pilot.press("c")
        assert desk_paths.last_citation.read_text(encoding="utf-8").startswith("### Sources \\[x\\]")
        assert "Citation (markdown)" in screen_text(app)
        for _ in range(2):  # markdown -> html -> json: the file still ends with a newline
            await pilot.press("F")
        assert app.citer.fmt == "json"
        await pilot.press("c")
        kept = desk_paths.last_citation.read_text(encoding="utf-8")
        assert kept.lstrip().startswith(("[", "{")) and kept.endswith("\n")
        for _ in range(2):
            await pilot.press("F")
        assert app.citer.fmt == "text"


async def test_compose_preview_is_live(desk_paths):
    build_store(desk_paths.store, 10)
    app = make_app(desk_paths)
    async with app.run_test(size=SIZE) as pilot:
        assert "No posts to cite." in screen_text(app)
        await pilot.press("p")
        assert "https://t.me/alpha_news/1009" in screen_text(app)
        await pilot.press("p")
        assert "https://t.me/alpha_news/1009" not in screen_text(app)


# ---------------------------------------------------------------------------------------- filters


async def test_text_filter_and_escape(desk_paths):
    build_store(desk_paths.store, 60)
    app = make_app(desk_paths)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash")
        assert app.focused.id == "search"
        await pilot.press(*"beta_wire", "enter")
        feed = app.feed
        assert feed.windows.total == 20
        assert app.focused is feed
        assert all(feed.windows.row(i).channel == "beta_wire" for i in range(20))
        assert "filter: “beta_wire”" in screen_text(app)
        await pilot.press("escape")
        assert feed.windows.total == 60
        assert app.query_text == ""
        # live filtering while typing (debounced)
        await pilot.press("slash", *"gamma")
        for _ in range(40):  # debounced: applied a quarter second after the last key
            await pilot.pause(0.05)
            if feed.windows.total == 20:
                break
        assert feed.windows.total == 20
        await pilot.press("escape")
        assert feed.windows.total == 60 and app.focused is feed


async def test_escape_without_a_filter_keeps_the_line(desk_paths):
    build_store(desk_paths.store, 60)
    app = make_app(desk_paths)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("j", "j", "j", "escape")
        assert app.feed.cursor == 3
        await pilot.press("slash", "escape")  # open and close the box without typing
        assert app.feed.cursor == 3 and app.focused is app.feed


async def test_burst_of_store_changes_is_one_refresh(desk_paths):
    build_store(desk_paths.store, 20)
    app = make_app(desk_paths, watch_interval=30)
    async with app.run_test(size=SIZE) as pilot:
        reloads = []
        original = app.feed.reload
        app.feed.reload = lambda: (reloads.append(1), original())[1]
        add_posts(desk_paths.store, [make_post(20 + i) for i in range(5)])
        for _ in range(5):  # five pages committed in a burst
            app.store_changed()
        assert len(reloads) == 1  # the first at once, the rest wait
        for _ in range(30):
            await pilot.pause(0.1)
            if len(reloads) == 2:
                break
        assert len(reloads) == 2 and app.feed.windows.total == 25


async def test_filter_with_no_match_and_fts_syntax(desk_paths):
    build_store(desk_paths.store, 10)
    app = make_app(desk_paths)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash")
        app.query_one("#search").value = 'NEAR( "x AND'
        await pilot.press("enter")
        assert app.feed.windows.total == 0
        assert "No posts match the filter." in screen_text(app)


async def test_source_filter(desk_paths):
    build_store(desk_paths.store, 30)
    app = make_app(desk_paths)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f")
        assert isinstance(app.screen, SourcePicker)
        await pilot.press("down", "down", "enter")  # All, alpha, beta -> beta
        await settle(pilot)
        assert app.source_filter == ["telegram:beta_wire"]
        assert app.feed.windows.total == 10
        assert {app.feed.windows.row(i).source for i in range(10)} == {"telegram:beta_wire"}
        # text filter within the source
        await pilot.press("slash", *"number 10", "enter")
        assert app.feed.windows.total == 1  # beta posts are 1, 4, 7, 10 ...
        await pilot.press("escape")  # clears the text first
        assert app.source_filter == ["telegram:beta_wire"] and app.feed.windows.total == 10
        await pilot.press("escape")  # then the source
        assert app.source_filter is None and app.feed.windows.total == 30
        # picking "All sources" and cancelling
        await pilot.press("f", "escape")
        assert app.source_filter is None
        await pilot.press("f", "down", "enter", "f", "home", "enter")
        await settle(pilot)
        assert app.source_filter is None and app.feed.windows.total == 30


# ---------------------------------------------------------------------------------------- live posts


async def test_new_posts_never_move_the_line_being_read(desk_paths):
    build_store(desk_paths.store, 100)
    app = make_app(desk_paths, watch_interval=30)  # the test drives the check itself
    async with app.run_test(size=SIZE) as pilot:
        feed = app.feed
        await pilot.press(*["j"] * 5)
        reading = feed.current.key
        screen_row = feed.cursor - round(feed.scroll_y)
        before = screen_text(app)
        add_posts(desk_paths.store, [make_post(100 + i) for i in range(7)])
        app._check_data_version()
        await settle(pilot)
        assert feed.current.key == reading
        assert feed.cursor - round(feed.scroll_y) == screen_row
        # The same lines on screen (the scrollbar's thumb may move: the feed is longer).
        assert [x[:-3] for x in screen_text(app).splitlines()[1:20]] == [x[:-3] for x in before.splitlines()[1:20]]
        assert feed.unseen == 7
        assert "▲ 7 new above · n jumps there" in screen_text(app)
        assert "7 new since start" in screen_text(app)
        assert feed.windows.total == 107
        await pilot.press("n")
        assert feed.cursor == 0 and feed.current.post_id == 1106
        assert feed.unseen == 0
        assert "new above" not in screen_text(app)


async def test_new_posts_while_at_top_and_scrolling_up_marks_them_seen(desk_paths):
    build_store(desk_paths.store, 50)
    app = make_app(desk_paths, watch_interval=30)
    async with app.run_test(size=SIZE) as pilot:
        feed = app.feed
        reading = feed.current.key
        add_posts(desk_paths.store, [make_post(50 + i) for i in range(3)])
        app._check_data_version()
        await settle(pilot)
        assert feed.current.key == reading and feed.cursor == 3
        assert feed.unseen == 3
        await pilot.press("k")  # one of them comes on screen
        assert feed.unseen == 2
        await pilot.press("k", "k")
        assert feed.unseen == 0
        assert "new above" not in screen_text(app)


async def test_older_posts_backfilled_below_do_not_move_the_view(desk_paths):
    build_store(desk_paths.store, 50)
    app = make_app(desk_paths, watch_interval=30)
    async with app.run_test(size=SIZE) as pilot:
        feed = app.feed
        await pilot.press("j", "j")
        reading = feed.current.key
        old = [make_post(i, published=T0 - timedelta(days=1, minutes=i)) for i in range(500, 505)]
        add_posts(desk_paths.store, old)
        app._check_data_version()
        await settle(pilot)
        assert feed.current.key == reading and feed.cursor == 2
        assert feed.unseen == 0 and feed.windows.total == 55


async def test_an_edit_shows_in_place(desk_paths):
    build_store(desk_paths.store, 10)
    app = make_app(desk_paths, watch_interval=30)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("j", "p")  # post 1008 pinned, cursor on it
        assert "Post number 8 from" in screen_text(app)
        add_posts(desk_paths.store, [make_post(8, text="Corrected: the ferry is running again")])
        app._check_data_version()
        await settle(pilot)
        text = screen_text(app)
        assert "Corrected: the ferry is running again" in text and "Post number 8 from" not in text
        assert app.feed.cursor == 1 and app.feed.current.post_id == 1008
        assert "edited after capture" in app.rendered.text  # the pin's citation follows the edit


async def test_data_version_timer_notices_another_process(desk_paths):
    build_store(desk_paths.store, 20)
    app = make_app(desk_paths, watch_interval=0.05)
    async with app.run_test(size=SIZE) as pilot:
        add_posts(desk_paths.store, [make_post(20)])
        for _ in range(40):
            await pilot.pause(0.05)
            if app.feed.windows.total == 21:
                break
        assert app.feed.windows.total == 21
        assert app.feed.unseen == 1


async def test_in_process_poller_thread_posts_messages(desk_paths):
    """A fake poller on the real thread-worker path: its own Store, its own loop, messages only."""
    build_store(desk_paths.store, 20)
    from deskapp.core.events import PollEvent, PollEventKind

    threads: list[str] = []

    class FakePoller:
        def __init__(self, store_path, settings, *, on_event=None):
            self.store_path, self.on_event = store_path, on_event
            self.stopped = threading.Event()

        async def run(self):
            threads.append(threading.current_thread().name)
            with Store.open(self.store_path) as store:
                result = store.ingest_page("telegram:alpha_news", [make_post(21, channel="alpha_news")],
                                           fetched_at=FETCHED)
            self.on_event(PollEvent(PollEventKind.STORED, "telegram:alpha_news", new=result.new, max_key=result.max_key))
            while not self.stopped.is_set():
                await asyncio.sleep(0.01)
            self.on_event(PollEvent(PollEventKind.STOPPED, ""))

        def stop(self):
            self.stopped.set()

    app = make_app(desk_paths, watch_interval=30)
    app.poll = True
    app.poller_factory = FakePoller
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(60):
            await pilot.pause(0.05)
            if app.feed.windows.total == 21:
                break
        assert app.feed.windows.total == 21
        assert app.feed.unseen == 1
        assert threads and threads[0] != threading.main_thread().name
        assert "polling" in screen_text(app)
        poller = app.poller
        await pilot.press("q")
    assert poller.stopped.is_set()


async def test_poller_crash_is_a_message_not_a_traceback(desk_paths):
    build_store(desk_paths.store, 5)

    class Broken:
        def __init__(self, *a, **k):
            pass

        async def run(self):
            raise RuntimeError("boom [@click=app.quit]")

        def stop(self):
            pass

    app = make_app(desk_paths, watch_interval=30)
    app.poll = True
    app.poller_factory = Broken
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(40):
            await pilot.pause(0.05)
            if "poller stopped" in app.poller_state:
                break
        assert app.poller_state == "poller stopped: boom [@click=app.quit]"
        assert app.is_running


async def test_poller_that_cannot_start_says_why(desk_paths, tmp_path):
    """The real poller on a store it cannot write reports a 'failed' event with no source: shown."""
    from deskapp.core.poller import Poller
    from deskapp.core.store import Store

    build_store(desk_paths.store, 5)
    real_open = Store.open.__func__

    def read_only_poller(path, settings, on_event=None):
        poller_open = classmethod(lambda cls, p, readonly=False, **kw: real_open(cls, p, readonly=True, **kw))
        return Poller(path, settings, on_event=on_event,
                      store_cls=type("ReadOnlyStore", (Store,), {"open": poller_open}))

    app = make_app(desk_paths, watch_interval=30)
    app.poll = True
    app.poller_factory = read_only_poller
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(60):
            await pilot.pause(0.05)
            if "poller stopped" in app.poller_state:
                break
        assert app.poller_state.startswith("poller stopped: poller cannot start")
        assert app.is_running


# ---------------------------------------------------------------------------------------- screens


async def test_details_screen(desk_paths, browser):
    extra = [make_post(200, channel="beta_wire", text="Original text https://example.org/a")]
    build_store(desk_paths.store, 5, extra=extra)
    # An edit: the same post with new text keeps the old one as a revision.
    edited = make_post(200, channel="beta_wire", text="Edited text, see https://example.org/b and http://x.test/c.")
    add_posts(desk_paths.store, [edited])
    app = make_app(desk_paths)
    async with app.run_test(size=SIZE) as pilot:
        assert app.feed.current.post_id == 1200
        await pilot.press("enter")
        assert isinstance(app.screen, DetailsScreen)
        text = screen_text(app)
        for needle in ("Permalink", "https://t.me/beta_wire/1200", "Published", "2026-03-01T15:20:00Z",
                       "Edited text, see", "Links in the text (2)", "https://example.org/b", "http://x.test/c",
                       "Revisions (1)", "Original text https://example.org/a", "Views", "1.2K",
                       "Text SHA-256", "First seen"):
            assert needle in text, needle
        await pilot.press("o")
        await app.workers.wait_for_complete()
        assert browser == ["https://t.me/beta_wire/1200"]
        await pilot.press("escape")
        assert not isinstance(app.screen, DetailsScreen)
        # Enter on a pin opens the details too
        await pilot.press("p", "tab", "enter")
        assert isinstance(app.screen, DetailsScreen)
        await pilot.press("q")  # q closes details (it does not quit from here)
        assert app.is_running and not isinstance(app.screen, DetailsScreen)


async def test_open_in_browser_only_http(desk_paths, browser):
    build_store(desk_paths.store, 5)
    app = make_app(desk_paths)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("o")
        await app.workers.wait_for_complete()
        assert browser == ["https://t.me/beta_wire/1004"]
        app.open_url("javascript:alert(1)")
        app.open_url("https://t.me/x\u202e/1")
        app.open_url(None)
        await app.workers.wait_for_complete()
        await settle(pilot)
        assert browser == ["https://t.me/beta_wire/1004"]
        refusals = [n for n in notes(app) if n.startswith("Not opened")]
        assert len(refusals) == 3
        assert "scheme 'javascript'" in refusals[0]


def test_open_in_browser_refuses_console_browsers(monkeypatch):
    import webbrowser

    from deskapp.ui.app import open_in_browser

    class Lynx:
        name = "lynx"

        def open(self, url, new=0):
            raise AssertionError("must not start a console browser")

    monkeypatch.setattr(webbrowser, "get", lambda: Lynx())
    assert "console browser" in open_in_browser("https://t.me/x/1")

    def none():
        raise webbrowser.Error("none")

    monkeypatch.setattr(webbrowser, "get", none)
    assert open_in_browser("https://t.me/x/1") == "no web browser found"


async def test_help_lists_every_key(desk_paths):
    build_store(desk_paths.store, 5)
    app = make_app(desk_paths)
    async with app.run_test(size=(120, 50)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        table = app.screen.query_one("#help-keys")
        ids = {str(k.value) for k in table.rows}
        assert {spec.id for spec in DEFAULT_KEYS} <= ids
        text = screen_text(app)
        assert "Pin or unpin the post" in text and "Copy the citation" in text
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_sources_screen_shows_reasons(desk_paths):
    build_store(desk_paths.store, 6)
    with Store.open(desk_paths.store) as store:
        for _ in range(3):
            store.record_failure("telegram:beta_wire", at=FETCHED, reason="HTTP 502 from t.me [@click=app.quit]",
                                 next_poll=FETCHED + timedelta(minutes=5))
        store.record_failure("telegram:gamma_osint", at=FETCHED, reason="no answer within 20 s",
                             next_poll=FETCHED + timedelta(minutes=5))
    app = make_app(desk_paths)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        status = str(app.query_one("#status").render())
        assert "beta_wire failing" in status and "gamma_osint backing off" in status
        assert "alpha_news ok" in status and "(s: why)" in status
        await pilot.press("s")
        assert isinstance(app.screen, SourcesScreen)
        text = screen_text(app)
        assert "HTTP 502 from t.me [@click=app.quit]" in text
        assert "no answer within 20 s" in text
        await pilot.press("escape")
        assert app.is_running


async def test_toggle_time(desk_paths, monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    import time

    time.tzset()
    try:
        build_store(desk_paths.store, 3)
        app = make_app(desk_paths)
        async with app.run_test(size=SIZE) as pilot:
            assert " 1 Mar 12:02 Alpha" not in screen_text(app)  # post 2 is gamma
            assert " 1 Mar 12:02 Gamma Osint" in screen_text(app)
            await pilot.press("p", "t")
            text = screen_text(app)
            assert " 1 Mar 17:32 Gamma Osint" in text and "local time" in text
            # t says what it switched to, and every pane says what its times are.
            assert "Times now in local time (IST, UTC+05:30); citations stay in UTC." in notes(app)[-1]
            assert "Live feed · 3 posts · times local time (IST, UTC+05:30)" in text
            assert "Pinboard (1) · times local time (IST, UTC+05:30)" in text
            assert "Citation (text) · times UTC" in text and "2026-03-01 12:02 UTC" in app.rendered.text
            await pilot.press("t")
            text = screen_text(app)
            assert " 1 Mar 12:02 Gamma Osint" in text and "Times now in UTC." in notes(app)[-1]
            assert "times UTC" in text and "local time" not in text
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


async def test_local_time_setting(desk_paths):
    build_store(desk_paths.store, 3)
    app = make_app(desk_paths, make_settings(time="local"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.feed.time_mode == "local" and "local time" in screen_text(app)


async def test_watch_words_highlighted(desk_paths):
    build_store(desk_paths.store, 3, extra=[make_post(10, text="Strike near the HARBOUR reported")])
    app = make_app(desk_paths, make_settings(watch=["harbour", "strike"]))
    async with app.run_test(size=SIZE):
        feed = app.feed
        strip = feed.render_line(0)
        hits = [seg.text for seg in strip if seg.style and seg.style.bgcolor is not None
                and seg.text.lower() in ("harbour", "strike")]
        assert hits == ["Strike", "HARBOUR"]


async def test_quit_key(desk_paths):
    build_store(desk_paths.store, 3)
    app = make_app(desk_paths)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q")
        await settle(pilot)
        assert not app.is_running


async def test_tab_moves_between_panes(desk_paths):
    build_store(desk_paths.store, 3)
    app = make_app(desk_paths)
    async with app.run_test(size=SIZE) as pilot:
        assert app.focused is app.feed
        await pilot.press("tab")
        assert app.focused is app.pinboard
        await pilot.press("tab")
        assert app.focused.id == "compose-scroll"
        await pilot.press("shift+tab", "shift+tab")
        assert app.focused is app.feed


# ---------------------------------------------------------------------------------------- keymap, palette


async def test_user_keymap_overrides(desk_paths):
    build_store(desk_paths.store, 5)
    settings = make_settings()
    settings.keys = {"pin": "space", "help": "f1"}
    app = make_app(desk_paths, settings)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p")
        assert pin_ids(desk_paths.store) == []
        await pilot.press("space")
        assert len(pin_ids(desk_paths.store)) == 1
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        assert "Space" in screen_text(app)


async def test_command_palette_offers_the_same_actions(desk_paths):
    build_store(desk_paths.store, 5)
    app = make_app(desk_paths)
    async with app.run_test(size=SIZE) as pilot:
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for spec in DEFAULT_KEYS:
            if spec.dialog or spec.id in ("down", "up", "top", "bottom", "page_down", "page_up", "next_pane",
                                          "prev_pane"):
                continue
            assert spec.description in titles, spec.id
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"Pin or unpin")
        from textual.command import CommandList

        for _ in range(60):  # the palette searches its providers in the background
            await pilot.pause(0.05)
            if app.screen.query(CommandList) and app.screen.query_one(CommandList).option_count:
                break
        await pilot.press("enter")
        for _ in range(40):
            await pilot.pause(0.05)
            if pin_ids(desk_paths.store):
                break
        assert pin_ids(desk_paths.store) == [("telegram:beta_wire", 1004)]


# ---------------------------------------------------------------------------------------- safety


async def test_hostile_text_is_shown_literally(desk_paths, browser, no_clipboard):
    build_store(desk_paths.store, 5, hostile=True)
    app = make_app(desk_paths)
    async with app.run_test(size=SIZE) as pilot:
        text = screen_text(app)
        for h in HOSTILE:
            assert h in text, h
        # Click on every hostile line and press Enter on it: nothing acts.
        for row in range(3):
            await pilot.click("#feed", offset=(40, row))
        await settle(pilot)
        assert app.is_running and app.feed.cursor == 2
        await pilot.click("#feed", offset=(40, 0), times=2)  # double click: the whole post
        assert isinstance(app.screen, DetailsScreen)
        assert HOSTILE[2] in screen_text(app)
        await pilot.press("escape")
        assert app.is_running
        await pilot.press("g", "p", "j", "p", "j", "p")
        text = screen_text(app)
        assert "[@click=app.quit]Click me" in text  # in the pinboard too
        await pilot.press("enter")
        assert HOSTILE[0] in screen_text(app) or HOSTILE[1] in screen_text(app) or HOSTILE[2] in screen_text(app)
        for y in (5, 10, 20, 30):
            await pilot.click(offset=(30, y))
        await pilot.press("escape")
        await pilot.press("c")
        assert app.is_running
        assert browser == []


async def test_control_characters_never_reach_the_screen(desk_paths):
    # The store strips them at ingest; write one in behind its back to check the renderer too.
    build_store(desk_paths.store, 3)
    import sqlite3

    conn = sqlite3.connect(desk_paths.store)
    conn.execute("UPDATE posts SET text = ?, channel_title = ? WHERE post_id = 1002",
                 ("bad \x1b]52;c;SGVsbG8=\x07 \x1b[2J\x9b31m text \u202e", "Evil\x1b[5mTitle"))
    conn.commit()
    conn.close()
    app = make_app(desk_paths)
    async with app.run_test(size=SIZE) as pilot:
        strip = app.feed.render_line(0)
        line = "".join(seg.text for seg in strip)
        assert "\x1b" not in line and "\x9b" not in line and "\u202e" not in line and "\x07" not in line
        assert "bad" in line and "text" in line
        await pilot.press("enter")
        full = screen_text(app)
        assert "\x1b" not in full and "\x07" not in full and "\x9b" not in full


async def test_huge_post_is_capped(desk_paths):
    huge = "word " * 60_000  # 300,000 characters
    build_store(desk_paths.store, 3, extra=[make_post(10, text=huge)])
    app = make_app(desk_paths)
    async with app.run_test(size=SIZE) as pilot:
        assert app.feed.current.post_id == 1010
        await pilot.press("enter")
        assert isinstance(app.screen, DetailsScreen)
        body = app.screen.query_one("#details-text")
        assert len(str(body.render())) <= 100_001
        assert "Showing the first 100,000 of 300,000 characters" in screen_text(app)
        await pilot.press("escape", "p", "c")
        assert app.is_running


async def test_store_that_fails_to_open_is_a_message(tmp_path, desk_paths):
    desk_paths.store.write_bytes(b"this is not a database at all" * 10)
    app = make_app(desk_paths)
    async with app.run_test(size=SIZE) as pilot:
        text = screen_text(app)
        assert "The desk cannot start" in text and "not a SQLite database" in text
        await pilot.press("p", "c", "slash", "j")  # nothing to act on, nothing breaks
        assert app.is_running
        await pilot.press("q")
        await settle(pilot)
        assert not app.is_running


async def test_store_failures_are_messages_not_tracebacks(desk_paths):
    build_store(desk_paths.store, 500)
    from deskapp.core.store import StoreError

    app = make_app(desk_paths)
    async with app.run_test(size=SIZE) as pilot:
        def locked(*args, **kwargs):
            raise StoreError("cannot write", desk_paths.store, "database stayed locked by another process")

        app.store.pin = locked
        await pilot.press("p")
        assert app.pins == [] and "Could not change the pin" in notes(app)[-1]
        assert "stayed locked" in notes(app)[-1]

        def broken(*args, **kwargs):
            raise OSError("disk I/O error")

        app.feed.windows.store.feed_at = broken
        app.feed.windows.store.feed = broken
        await pilot.press("G")  # a far jump needs a window it cannot read
        await settle(pilot)
        assert "cannot read this line: disk I/O error" in screen_text(app)
        assert any("Could not read the store: disk I/O error" in n for n in notes(app))
        app.store.sources = broken
        await pilot.press("s", "f")
        assert app.is_running and not isinstance(app.screen, SourcesScreen)


async def test_empty_store(desk_paths):
    app = make_app(desk_paths)
    async with app.run_test(size=SIZE) as pilot:
        assert "No posts yet." in screen_text(app)
        await pilot.press("j", "p", "enter", "o", "G", "pagedown", "c")
        assert app.is_running and pin_ids(desk_paths.store) == []


def test_write_atomic_replaces_whole_file(tmp_path):
    from deskapp.ui.clipboard import write_atomic

    target = tmp_path / "deep" / "last-citation.txt"
    write_atomic(target, "one")
    write_atomic(target, "two\nlines")
    assert target.read_text() == "two\nlines"
    assert [p.name for p in target.parent.iterdir()] == ["last-citation.txt"]


def test_clipboard_detects_once(tmp_path, monkeypatch):
    from deskapp.ui.clipboard import Clipboard

    calls: list[str] = []

    def fail(text: str) -> None:
        calls.append(text)
        raise pyperclip.PyperclipException("none")

    monkeypatch.setattr(pyperclip, "copy", fail)
    osc: list[str] = []
    clip = Clipboard(tmp_path / "c.txt", osc.append)
    r1 = clip.copy("a")
    r2 = clip.copy("b")
    assert calls == ["a"]  # not tried again
    assert osc == ["a", "b"] and not r1.system and r2.osc52
    assert (tmp_path / "c.txt").read_text() == "b\n"  # the file ends with a newline


def test_clipboard_file_error_is_reported(tmp_path, monkeypatch):
    from deskapp.ui.clipboard import Clipboard

    monkeypatch.setattr(pyperclip, "copy", lambda text: None)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    clip = Clipboard(blocker / "sub" / "c.txt", lambda t: None)
    result = clip.copy("text")
    assert result.system and result.file is None
    assert "could not save the file" in result.message()


def test_post_is_a_post():  # keep the import of Post meaningful for type checkers
    assert isinstance(make_post(1), Post)
