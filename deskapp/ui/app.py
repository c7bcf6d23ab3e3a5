"""The desk: live feed, pinboard and compose panes over the store, driven from the keyboard.

Threads: the UI loop owns every widget and its own Store connection. The poller (when `poll`) runs in
a thread worker with its own asyncio loop and its own Store, and only posts messages here. On a SQLite
store the app watches `Store.data_version()` on a timer, so a headless `desk poll` in another
process is noticed too (the timer runs in both modes). On PostgreSQL nothing polls: a thread worker
LISTENs on its own connection (core/pg/listen.py) and posts `StoreNotified` at each commit.

What a store does not have yet (`NotSupported`; on PostgreSQL today: how earlier revisions were
captured, core/store_api.py) never stops the desk: what is only shown is left out, and a key that
asks for it says so in one line.
"""

from __future__ import annotations

import contextlib
import gc
import os
import threading
import time
import webbrowser
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import App, ComposeResult, SystemCommand
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.css.query import NoMatches
from textual.driver import Driver
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input, Static
from textual.worker import Worker, WorkerState

from deskapp.config import Settings, add_channel
from deskapp.core.alerts import Rule, RuleAction
from deskapp.core.backend import is_pg_url, open_store, shown_url
from deskapp.core.desks import default_desk, desk_name, kept_options
from deskapp.core.events import PollEvent, PollEventKind
from deskapp.core.model import CheckKind, Pin, SourceConfig, SourceHealth, StoredPost
from deskapp.core.query import QueryError
from deskapp.core.sanitize import safe_url, url_problem
from deskapp.core.store import NotSupported, Store, StoreError
from deskapp.core.store_api import DeskStore
from deskapp.paths import Paths
from deskapp.ui import keys as keyspec
from deskapp.ui.alerting import NOTIFY_EACH, AlertWatch, alert_message, alert_title
from deskapp.ui.citing import FORMATS, Citer
from deskapp.ui.citing import OPTIONS as CITE_OPTIONS
from deskapp.ui.clipboard import Clipboard
from deskapp.ui.messages import (
    PinChecked,
    PollerEvent,
    PollerStopped,
    StoreLink,
    StoreNotified,
    VerifyFinished,
)
from deskapp.ui.screens.alerts import AlertsScreen
from deskapp.ui.screens.citation import CitationScreen
from deskapp.ui.screens.cite_options import CiteOptionsModal
from deskapp.ui.screens.details import DetailsScreen
from deskapp.ui.screens.first_run import AddChannelModal, first_run_text
from deskapp.ui.screens.info import HelpScreen, SourcesScreen
from deskapp.ui.screens.modals import ConfirmModal, SourcePicker, TextModal
from deskapp.ui.screens.rules import RulesScreen
from deskapp.ui.text import one_line, watch_pattern, zone_label
from deskapp.ui.undo import UndoStack
from deskapp.ui.verifying import PinChecks, finished_message
from deskapp.ui.widgets.compose import ComposePane
from deskapp.ui.widgets.feed import FeedView, RowAction
from deskapp.ui.widgets.field import TextField
from deskapp.ui.widgets.pinboard import PinAction, Pinboard
from deskapp.ui.widgets.status import StatusBar, source_label

if TYPE_CHECKING:
    from deskapp.core.poller import Poller

CONSOLE_BROWSERS = {"www-browser", "links", "links2", "elinks", "lynx", "w3m", "browsh"}

_FAILED = object()  # what _store_call returns when the store raised
SEARCH_CAP = 500  # characters of a search: a pasted article as a query kept the store busy for minutes
REFRESH_GAP = 0.25  # seconds between two refreshes caused by store writes
SOURCES_GAP = 2.0  # seconds between two reads of Store.sources() for the status bar

# Actions that still make sense when the store could not be opened.
_WITHOUT_STORE = {"quit", "help", "command_palette"}


def open_in_browser(url: str) -> str | None:
    """Open an http(s) URL in a graphical browser; a readable reason when it cannot be done.

    A console browser (lynx, w3m ...) would take over the terminal the desk is drawing on, so it is
    refused rather than started.
    """
    try:
        browser = webbrowser.get()
    except webbrowser.Error:
        return "no web browser found"
    name = os.path.basename(str(getattr(browser, "name", "") or ""))
    if name in CONSOLE_BROWSERS:
        return f"only a console browser ({name}) is available"
    try:
        return None if browser.open(url, new=2) else "the browser did not accept the link"
    except Exception as exc:  # a browser launcher failing must not end the desk
        return f"the browser could not be started ({exc})"


class DeskApp(App[None]):
    """`DeskApp(settings=..., paths=..., poll=True, demo_banner=None).run()`."""

    CSS_PATH = "desk.tcss"
    TITLE = "desk"
    BINDINGS = keyspec.bindings(keyspec.APP_ACTIONS)

    def __init__(self, settings: Settings, paths: Paths, poll: bool = True, demo_banner: str | None = None,
                 *, now: Callable[[], datetime] | None = None, watch_interval: float = 0.5,
                 poller_factory: Callable[..., Any] | None = None, desk: str | None = None) -> None:
        """`now`: clock for citation heading fields (tests); `poller_factory(store_path, settings,
        on_event=...)` replaces deskapp.core.poller.Poller (tests give it a fake transport).
        `desk`: whose pinboard and kept citation format, heading and time mode (default:
        [desk] name, then the user's own desk; see core/desks.py)."""
        super().__init__()
        self.settings = settings
        self.paths = paths
        self.desk = desk_name(desk) if desk else settings.desk or default_desk()
        self.poll = poll
        # The store the desk shows: a PostgreSQL server (--db / [store] url) or the SQLite file.
        self.store_target: str | Path = paths.store_url or paths.store
        self.on_pg = is_pg_url(self.store_target)
        self.store_name = shown_url(str(self.store_target)) if self.on_pg else str(paths.store)
        self.link_down: str | None = None  # why the LISTEN connection is lost (PostgreSQL), while it is
        self._listen_stop = threading.Event()
        self._missing: set[str] = set()  # features the store lacks that the desk met (NotSupported)
        self.demo_banner = demo_banner
        self.watch_interval = watch_interval
        self.poller_factory = poller_factory
        self.time_mode = settings.ui.time if settings.ui.time in ("utc", "local") else "utc"
        self.watch_re = watch_pattern(settings.ui.watch)
        self.citer = Citer(settings, now=now)
        self.clock: Callable[[], datetime] = now or (lambda: datetime.now(UTC))  # which year is "this year"
        self.clipboard_sink = Clipboard(paths.last_citation, self.copy_to_clipboard)
        self.keys_in_force = keyspec.table(settings.keys)
        self.query_text = ""
        self.source_filter: list[str] | None = None
        self.hide_muted = True  # the feed leaves out what mute rules hid; M shows them
        self._hidden = 0  # muted posts under the filter, for the feed's title
        self._feed_widget: FeedView | None = None
        self.pins: list[tuple[Pin, StoredPost]] = []
        self.poller: Poller | None = None
        self.poller_state = "not polling" if not poll else "starting poller"
        self.store_error: str | None = None
        self.store: DeskStore | None = None  # a SQLite Store or a PgStore (core/store_api.py)
        self._data_version = 0
        self._start_count = 0
        self._stored = 0
        self._sources: list[SourceHealth] | None = None
        self._sources_at = 0.0
        self._sources_timer: Timer | None = None
        self._last_refresh = 0.0
        self._refresh_timer: Timer | None = None
        self._search_timer: Timer | None = None
        self._restart_poller = False  # a channel was added: start the poller again once it stopped
        self._undo = UndoStack(None, "")  # replaced once the store is open (its path and desk)
        self.alert_watch = AlertWatch()  # from the store's last alert once it is open: old ones are not raised again
        self.timings: dict[str, float] = {}  # seconds, for the benchmark (store_open: Store.open's checks)
        self.pin_checks = PinChecks(self, settings, self.store_target, clocks_folder=paths.state / "hosts")
        self._open_store()

    def _apply_desk_prefs(self, prefs: dict[str, Any]) -> None:
        """What this desk chose last time (F, H, t, O and E) wins over the settings file's defaults."""
        if prefs.get("format") in FORMATS:
            self.citer.fmt = prefs["format"]
        if isinstance(prefs.get("heading"), str):
            self.citer.heading = prefs["heading"]
        if prefs.get("time") in ("utc", "local"):
            self.time_mode = prefs["time"]
        self.citer.options.update(kept_options(prefs))

    def _keep_desk_prefs(self, **changes: Any) -> None:
        if self.store is not None:
            store = self.store
            self._store_call("keep the desk's settings", lambda: store.set_desk_prefs(**changes))

    def get_driver_class(self) -> type[Driver]:
        """Textual's terminal driver, reading input through the paste-safe parser (see ui.terminal)."""
        driver = super().get_driver_class()
        try:
            from textual.drivers.linux_driver import LinuxDriver

            from deskapp.ui.terminal import PasteSafeDriver
        except ImportError:  # no termios (Windows): Textual's own driver, without the paste guard
            return driver
        return PasteSafeDriver if driver is LinuxDriver else driver

    # ------------------------------------------------------------------ store

    def _open_store(self) -> None:
        """Open the UI's own connection; a failure becomes a message on screen, never a traceback."""
        started = time.perf_counter()
        try:
            if self.on_pg:
                self.store = open_store(self.store_target, desk=self.desk)
            else:
                self.store = Store.open(self.paths.store, desk=self.desk)
            self.timings["store_open"] = time.perf_counter() - started
            self._apply_desk_prefs(self.store.desk_prefs())
            self._data_version = self.store.data_version()
            self._start_count = self.store.count_posts()
            store = self.store
            self.alert_watch = AlertWatch(self._optional("alerts", store.last_alert_id, default=0))
            where = self.store_name if self.on_pg else self.paths.store.resolve()
            self._undo = UndoStack(self.paths.state / "undo.json", f"{where}|{self.store.desk}")
        except StoreError as exc:
            self.store_error = str(exc)
            self.store = None
        except Exception as exc:  # sqlite3 / OS errors the store did not wrap
            self.store_error = f"cannot open the store {self.store_name}: {exc}"
            self.store = None

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        if self.demo_banner:
            yield Static(Content(self.demo_banner), id="banner")
        if self.store is None:
            yield Static(Content.assemble(
                ("The desk cannot start: ", "bold"), self.store_error or "no store", "\n\n",
                f"Store: {self.store_name}\n",
                ("Check the server and the URL (--db or [store] url in the settings).\n\n" if self.on_pg else
                 "Fix the path with --db or [store] path in the settings, or move the damaged file aside.\n\n"),
                ("Press q to quit.", "bold"),
            ), id="store-error")
            yield Footer()
            return
        with Vertical(id="main"):
            with Vertical(id="feed-pane"):
                yield TextField(placeholder='Search: words "a phrase" word* a OR b -word source:NAME since:2d '
                                            "until:2024-05-01 (Enter keeps, Esc clears)",
                                max_length=SEARCH_CAP, id="search")
                yield FeedView(self.store, time_mode=self.time_mode, watch=self.watch_re, hide_muted=self.hide_muted,
                               on_request=self.on_feed_view_row_request, id="feed")
            with Horizontal(id="bottom"):
                with Vertical(id="pins-pane"):
                    yield Pinboard(on_request=self.on_pinboard_pin_request, id="pinboard")
                with Vertical(id="compose-pane"):
                    yield ComposePane(id="compose")
        yield StatusBar(id="status")
        yield Footer(compact=True, show_command_palette=False)  # every shown key fits in 80 columns (ctrl+p: help)

    @property
    def feed(self) -> FeedView:
        return self.query_one("#feed", FeedView)

    @property
    def pinboard(self) -> Pinboard:
        return self.query_one("#pinboard", Pinboard)

    def _panes_gone(self) -> bool:
        """True while the desk closes: poller messages and the store watch outlive the panes, and
        reaching for them then would end the desk with a traceback."""
        try:
            self.query_one("#feed", FeedView)
            self.query_one(StatusBar)
        except NoMatches:
            return True
        return False

    def on_mount(self) -> None:
        overrides = keyspec.keymap_overrides(self.settings.keys)
        if overrides:
            self.set_keymap(overrides)
        if self.store is None:
            return
        if self.settings.sources:
            # The status bar lists configured sources even before the poller ran (never deletes).
            self._store_call("record the configured sources", self.store.sync_sources, self.settings.sources)
        self.query_one("#feed-pane").border_title = Content("Live feed")
        self.pinboard.time_mode = self.time_mode
        self.feed.clock = self.pinboard.clock = self.clock
        self.refresh_pins()
        self._count_hidden()
        self._update_titles()
        mark = self._store_call("read the read mark", self.store.read_mark)
        self.feed.set_read_mark(None if mark is _FAILED else mark)
        self._feed_widget = self.feed  # on_unmount keeps the mark once the panes are gone
        # After the first paint: what the first frame does not need (the sources' health).
        self.call_after_refresh(self._after_first_paint)
        self.feed.focus()
        if self.on_pg:
            self._start_listening()  # commits are announced: nothing polls the server
        else:
            self.set_interval(self.watch_interval, self._check_data_version, name="data_version")
        self.set_interval(30.0, self.refresh_checks, name="check_ages")  # "4 min ago" moves on
        if self.poll:
            self._start_poller()
        if not self.settings.sources and self._start_count == 0:
            # First run (nothing configured, nothing stored): say where the settings go, show a
            # minimal file, offer the demo, and let the editor add a channel right here.
            self.call_after_refresh(self.action_add_channel, first_run=True)

    def action_add_channel(self, first_run: bool = False) -> None:
        config = self.paths.config
        intro = first_run_text(config, exists=config.exists()) if first_run else ""
        self.push_screen(AddChannelModal(partial(add_channel, config), config, intro=intro), self._channel_added)

    def _channel_added(self, source: SourceConfig | None) -> None:
        if source is None:
            return
        self.settings.sources.append(source)
        self.settings.path = self.paths.config
        if self.store is not None:
            self._store_call("record the new channel", self.store.sync_sources, [source])
        self.notify(f"Added {source.handle} to {self.paths.config}", markup=False, timeout=6)
        self.refresh_status(sources=True)
        if self.poll:
            if self.poller is None:
                self._start_poller()
            else:
                self._restart_poller = True  # the running poller was built with the old list
                self.stop_poller()

    def _after_first_paint(self) -> None:
        self.refresh_status()
        # Everything built so far (modules, widgets, styles) lives as long as the app: moving it out
        # of the collector's sight keeps full collections short (they were 40-130 ms pauses while
        # scrolling on a slow 2-core machine, most of the p95 key-to-repaint time).
        gc.freeze()

    # ------------------------------------------------------------------ poller

    def _start_poller(self) -> None:
        factory = self.poller_factory
        if factory is None:
            try:
                from deskapp.core.poller import Poller
            except ImportError as exc:
                self.poller_state = f"poller unavailable ({exc})"
                self.refresh_status(reread=False)
                return
            # The poller and the re-checks of pins take turns at each host (fetch.HostClock).
            factory = partial(Poller, clocks=self.pin_checks.shared_clocks())
        try:
            # On PostgreSQL the poller leases its sources, sharing them with any `desk poll` on the server.
            self.poller = factory(self.store_target, self.settings, on_event=self._on_poll_event)
        except Exception as exc:
            self.poller_state = f"poller failed to start: {exc}"
            self.refresh_status(reread=False)
            return
        self.poller_state = "polling"
        self.run_worker(partial(_run_poller, self.poller), name="poller", group="poller", thread=True,
                        exit_on_error=False)
        self.refresh_status(reread=False)

    def _on_poll_event(self, event: PollEvent) -> None:
        """Called on the poller's thread: only post a message (thread-safe), never touch widgets."""
        self.post_message(PollerEvent(event))

    def on_poller_event(self, message: PollerEvent) -> None:
        event = message.event
        kind = event.kind
        if kind is PollEventKind.STORED and (event.new or event.changed):
            self.store_changed()
        elif kind is PollEventKind.ALERTS:
            self.check_alerts()
        elif kind is PollEventKind.STOPPED:
            if not self.poller_state.startswith("poller stopped"):
                self.poller_state = "poller stopped"
            self.refresh_status(reread=False)
        elif kind is PollEventKind.WATCHING:  # another process polls this store: this desk only watches it
            self.poller_state = "watching another poller"
            self.notify(one_line(event.message, 300), title="Not polling", markup=False, timeout=15)
            self.refresh_status(reread=False)
        elif kind is PollEventKind.POLLING:  # ... and took over when that one ended
            self.poller_state = "polling"
            self.refresh_status(reread=False)
        elif kind is PollEventKind.FAILED and not event.source:
            # The poller itself could not run (e.g. the store is read-only or the disk is full).
            reason = one_line(event.message, 300)
            self.poller_state = "poller stopped: " + reason
            self.notify(reason, title="The poller stopped", severity="error", markup=False, timeout=15)
            self.refresh_status(reread=False)
        elif kind in (PollEventKind.FAILED, PollEventKind.STATUS):
            self.refresh_status(sources=True)  # a source changed state: show it now

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name != "poller":
            return
        if event.state == WorkerState.ERROR:
            reason = one_line(str(event.worker.error), 300) or type(event.worker.error).__name__
            self.post_message(PollerStopped(reason))
        elif event.state == WorkerState.SUCCESS and self._restart_poller:
            self._restart_poller = False
            self._start_poller()
        elif event.state == WorkerState.SUCCESS and self.poller_state == "polling":
            self.post_message(PollerStopped(""))

    def on_poller_stopped(self, message: PollerStopped) -> None:
        if message.error:
            self.poller_state = "poller stopped: " + message.error
            self.notify(f"The poller stopped: {message.error}", severity="error", markup=False, timeout=10)
        else:
            self.poller_state = "poller stopped"
        self.refresh_status(reread=False)

    def stop_poller(self) -> None:
        if self.poller is not None:
            with contextlib.suppress(Exception):  # stopping must never prevent quitting
                self.poller.stop()

    def exit(self, *args: Any, **kwargs: Any) -> None:
        # Every way out (q, ctrl+q, the palette) stops the poller first, so its thread ends and
        # nothing is half-written (the poller only stops between transactions).
        self.stop_poller()
        self._listen_stop.set()
        super().exit(*args, **kwargs)

    async def action_quit(self) -> None:
        self.exit()

    def on_unmount(self) -> None:
        """Last thing the app does (every screen is gone): poller told to stop, connection closed."""
        self.stop_poller()
        self._listen_stop.set()
        if self.store is not None:
            with contextlib.suppress(Exception):  # keeping the mark must never prevent quitting
                self.move_read_mark()
            with contextlib.suppress(Exception):
                self.store.close()

    # ------------------------------------------------------------------ store changes

    def _start_listening(self) -> None:
        self.run_worker(partial(_listen, self, str(self.store_target), self._listen_stop), name="listener",
                        group="listener", thread=True, exit_on_error=False)

    def on_store_notified(self, message: StoreNotified) -> None:
        from deskapp.core.pg.store import PINS_CHANNEL, SOURCES_CHANNEL

        if self.store is None or self._panes_gone():
            return
        if message.channel == PINS_CHANNEL:
            if message.payload == self.store.desk:  # this desk's board, changed elsewhere (or here)
                self.refresh_pins(if_changed=True)
        elif message.channel == SOURCES_CHANNEL:
            self.refresh_status()  # a poller here or elsewhere recorded a source's health (read at most every 2 s)
        else:
            self.store_changed()

    def on_store_link(self, message: StoreLink) -> None:
        if self.store is None or self._panes_gone():
            return
        if not message.up:
            self.link_down = one_line(message.reason, 200)
            self.refresh_status(reread=False)
            return
        self.link_down = None
        self.store_changed()  # what was committed before the LISTEN (or while the server was away)
        self.refresh_status()

    def _check_data_version(self) -> None:
        if self.store is None:
            return
        try:
            version = self.store.data_version()
        except Exception:
            return
        if version != self._data_version:
            self._data_version = version
            self.store_changed()

    def store_changed(self) -> None:
        """Rows, sources or pins may have changed: re-read (a burst of poller pages is one refresh,
        at most every REFRESH_GAP seconds); the line being read stays where it is."""
        if self.store is None:
            return
        wait = self._last_refresh + REFRESH_GAP - time.monotonic()
        if wait > 0:
            if self._refresh_timer is None:
                self._refresh_timer = self.set_timer(wait, self._refresh_from_store)
            return
        self._refresh_from_store()

    def _refresh_from_store(self) -> None:
        self._refresh_timer = None
        if self._panes_gone():
            return
        self._last_refresh = time.monotonic()
        with contextlib.suppress(Exception):
            self._data_version = self.store.data_version()
        self._store_call("read the store", self.feed.reload)
        self.check_alerts()  # a headless `desk poll` (or this desk's poller) recorded them
        # The count in the title: "new above" changes do not cover posts that land below the
        # screen (backfill) or the first posts of an empty desk.
        self._update_titles()
        self.refresh_pins(if_changed=True)
        self.refresh_status()

    def check_alerts(self) -> None:
        """Raise the alerts recorded since the last look: a notification each (a burst: the first few
        and one for the rest), the bell when [attention] bell, the count in the status bar."""
        if self.store is None or self._panes_gone():
            return
        fresh = self._optional("alerts", self.alert_watch.take, self.store, default=_FAILED)
        if fresh is _FAILED or not fresh:
            return
        for alert in fresh[-NOTIFY_EACH:][::-1]:  # the newest first
            self.notify(alert_message(alert), title=alert_title(alert), severity="warning", markup=False,
                        timeout=20)
        if len(fresh) > NOTIFY_EACH:
            self.notify(f"and {len(fresh) - NOTIFY_EACH:,} more: {self._key_of('alerts')} lists them",
                        title="Alerts", severity="warning", markup=False, timeout=20)
        if self.settings.attention.bell:
            self.bell()
        self.refresh_status(reread=False)

    def action_alerts(self) -> None:
        """Every recorded alert, newest first; Enter puts the feed's cursor on the post."""
        alerts = self._store_call("read the alerts", partial(self.store.alerts, limit=5_000))
        if alerts is _FAILED:
            return
        self.alert_watch.seen()
        self.refresh_status(reread=False)
        self.push_screen(AlertsScreen(alerts), self._show_alerted)

    def action_rules(self) -> None:
        store = self.store

        def stored() -> list[tuple[int, Rule]] | None:
            rules = self._store_call("read the rules", store.rules)
            return None if rules is _FAILED else rules

        self.push_screen(RulesScreen(stored, list(self.settings.attention.rules), self._add_rule, self._remove_rule))

    def _add_rule(self, rule: Rule) -> None:
        """Kept in the store: the poller (here or in `desk poll`) picks it up with its next posts; a
        mute also hides the recent posts it matches, now."""
        added = self._store_call("keep the rule", self.store.add_rule, rule)
        if added is _FAILED:
            return
        _, hidden = added
        message = f"Added the {rule.action} rule {rule.name}"
        if rule.action is RuleAction.MUTE:
            message += f": {hidden:,} recent post{'s' if hidden != 1 else ''} hidden"
            self._store_call("show the feed", self.feed.set_hide_muted, self.hide_muted)
            self._count_hidden()
            self._update_titles()
        self.notify(message + ".", markup=False, timeout=6)

    def _remove_rule(self, rule_id: int) -> None:
        if self._store_call("delete the rule", self.store.remove_rule, rule_id) is not _FAILED:
            self._store_call("show the feed", self.feed.set_hide_muted, self.hide_muted)
            self._count_hidden()
            self._update_titles()

    def _show_alerted(self, key: int | None) -> None:
        if key is None:
            return
        if not self._store_call("find the post", self.feed.show_post, key):
            # The filter hides it: clear the filter, keeping that post under the cursor.
            self.query_text, self.source_filter = "", None
            search = self.query_one("#search", Input)
            search.value = ""
            search.remove_class("shown")
            self._refilter(keep=key)
            if self.feed.cursor_key != key and self.hide_muted and self.store.is_muted(key):
                self.action_toggle_muted()  # an alert on a muted post: show the muted ones
                self._store_call("find the post", self.feed.show_post, key)
            if self.feed.cursor_key != key:
                self.notify("That post is no longer in the store.", severity="warning", markup=False)
        self.feed.focus()

    def _store_call(self, what: str, fn: Callable[..., Any], *args: Any) -> Any:
        """Run a store call; a failure (locked for too long, disk full, I/O error) becomes a
        notification, never a traceback. Returns `_FAILED` then. A feature the store does not have
        (PostgreSQL) is said calmly, as what it is."""
        try:
            return fn(*args)
        except NotSupported:
            self.notify(f"Could not {what}: not on PostgreSQL yet.", markup=False, timeout=5)
            return _FAILED
        except Exception as exc:
            self.notify(f"Could not {what}: {one_line(str(exc), 300)}", severity="error", markup=False,
                        timeout=8)
            return _FAILED

    def _optional(self, feature: str, fn: Callable[..., Any], *args: Any, default: Any) -> Any:
        """A store call for what the desk only shows (alerts seen, "+N" copies, muted counts, pin
        checks): a store without the feature gives `default`, silently (`_missing` remembers it).
        Other failures are `_store_call`'s."""
        try:
            return fn(*args)
        except NotSupported:
            self._missing.add(feature)
            return default
        except Exception as exc:
            self.notify(f"Could not read the {feature}: {one_line(str(exc), 300)}", severity="error", markup=False,
                        timeout=8)
            return default

    def _say_missing(self, feature: str, what: str) -> bool:
        """When `feature` is missing from the store: say so in one calm line (True)."""
        if feature not in self._missing:
            return False
        self.notify(f"{what}: not on PostgreSQL yet.", markup=False, timeout=5)
        return True

    def refresh_pins(self, select: tuple[str, int] | None = None, *, if_changed: bool = False) -> None:
        """Re-read the pins from the store (what the screen shows is what is committed).
        `if_changed`: leave the panes alone when the store's answer is what they show (a store
        change from the poller rarely touches pins; rebuilding the pinboard is not free)."""
        pins = self._store_call("read the pins", self.store.pins)
        if pins is _FAILED or (if_changed and pins == self.pins):
            return
        self.pins = pins
        self.feed.set_pinned({(pin.source, pin.post_id) for pin, _ in self.pins})
        checks = self._optional("pins' checks", self.pin_checks.reload, self.store, self._pin_keys(), default=_FAILED)
        self.pinboard.show(self.pins, select=select, checks=None if checks is _FAILED else checks)
        self._pins_title()
        self.refresh_compose()

    def _pins_title(self) -> None:
        # Another desk's board says whose it is; the editor's own desk needs no reminder.
        whose = "" if self.desk == default_desk() else f" · desk {self.desk}"
        self.query_one("#pins-pane").border_title = Content.assemble(
            f"Pinboard ({len(self.pins)}){whose}", (f" · times {zone_label(self.time_mode)}", "dim"))

    def _pin_keys(self) -> list[tuple[str, int]]:
        return [(pin.source, pin.post_id) for pin, _ in self.pins]

    def refresh_checks(self) -> None:
        """Re-read the pins' checks (a run recorded one, or their ages moved on) and show them."""
        if self.store is None or self._panes_gone():
            return
        checks = self._optional("pins' checks", self.pin_checks.reload, self.store, self._pin_keys(), default=_FAILED)
        if checks is _FAILED:
            return
        self.pinboard.show(self.pins, checks=checks)
        self.refresh_compose()

    def _render_citation(self):
        facts = self._optional("pins' checks", self.pin_checks.facts, self.store, self._pin_keys(), default=_FAILED)
        posts = [sp for _, sp in self.pins]
        firsts = (self._optional("copies", self.store.earliest_posts, posts, default=_FAILED)
                  if self.citer.earliest else {})
        return self.citer.render(posts, verified=None if facts is _FAILED else facts,
                                 earliest=None if firsts is _FAILED else firsts)

    def refresh_compose(self) -> None:
        rendered = self._render_citation()
        keys = {spec.id: keyspec.display_keys(spec.keys) for spec in self.keys_in_force}
        self.query_one(ComposePane).show(rendered, self.citer.heading_text, keys,
                                         checks=self.pin_checks.summary(self._pin_keys()))
        # Citations always name UTC times, whatever the panes show.
        self.query_one("#compose-pane").border_title = Content.assemble(
            f"Citation ({rendered.fmt})", (" · times UTC", "dim"))
        self.rendered = rendered

    def refresh_status(self, *, reread: bool = True, sources: bool = False) -> None:
        """The status bar. `reread`: count the posts again. The source list is read again when
        `sources`, or when it is older than SOURCES_GAP (every source's row is read: not worth doing
        for every poller page); a skipped read is done later."""
        if self.store is None or self._panes_gone():
            return
        if self.link_down is not None:
            # Said at once and kept until the LISTEN is back, without asking the server (that would wait).
            self.query_one(StatusBar).update(Content.assemble(
                ("PostgreSQL server unreachable", "bold $error"), " · reconnecting, the feed catches up then · ",
                (self.link_down, "dim")))
            return
        try:
            if reread or self._sources is None:
                self._stored = self.store.count_posts()
                age = time.monotonic() - self._sources_at
                if sources or self._sources is None or age >= SOURCES_GAP:
                    self._sources = self.store.sources()
                    self._sources_at = time.monotonic()
                elif self._sources_timer is None:
                    self._sources_timer = self.set_timer(SOURCES_GAP - age, self._sources_due)
        except Exception as exc:
            self.query_one(StatusBar).update(Content(f"store unreadable: {exc}"))
            return
        keys = {spec.id: keyspec.display_keys(spec.keys) for spec in self.keys_in_force}
        self.query_one(StatusBar).show(
            self._sources, stored=self._stored, new_since_start=max(0, self._stored - self._start_count),
            time_mode=self.time_mode, poller=self.poller_state,
            sources_key=keys.get("sources", "s"), alerts=self.alert_watch.unseen, alerts_key=keys.get("alerts", "A"),
        )

    def _sources_due(self) -> None:
        self._sources_timer = None
        self.refresh_status(sources=True)

    def _filter_text(self) -> str:
        parts = []
        if self.query_text:
            parts.append(f"“{one_line(self.query_text, 60)}”")
        if self.source_filter is not None:
            labels = {s.name: source_label(s) for s in (self._sources or [])}
            parts.append("source " + ", ".join(labels.get(n, n) for n in self.source_filter))
        return " in ".join(parts)

    def _update_titles(self) -> None:
        if self._panes_gone():
            return
        feed = self.feed
        total = feed.windows.total
        parts: list[str | tuple[str, str]] = [f"Live feed · {total:,} post{'s' if total != 1 else ''}"]
        if self._hidden:
            muted_key = self._key_of("toggle_muted")
            parts.append(f" · {self._hidden:,} muted hidden ({muted_key} shows)" if self.hide_muted
                         else f" · {self._hidden:,} muted shown ({muted_key} hides)")
        parts.append((f" · times {zone_label(self.time_mode)}", "dim"))
        if self.query_text or self.source_filter is not None:
            parts.append(f" · filter: {self._filter_text()}")
        if feed.unseen > 0:
            key = next((keyspec.display_keys(s.keys) for s in self.keys_in_force if s.id == "jump_new"), "n")
            parts += [" ", (f" ▲ {feed.unseen:,} new above · {key} jumps there ", "bold reverse $warning")]
        self.query_one("#feed-pane").border_title = Content.assemble(*parts)

    # ------------------------------------------------------------------ feed events

    def on_feed_view_unseen(self, message: FeedView.Unseen) -> None:
        # The count lives in the pane's title: a line of its own would push the feed down by one
        # row, and the line being read must not move.
        self._update_titles()

    def on_feed_view_reloaded(self, message: FeedView.Reloaded) -> None:
        self._count_hidden()
        self._update_titles()

    def _count_hidden(self) -> None:
        """How many posts under the filter mute rules hid (from `muted`: thousands of rows at most)."""
        if self.store is None:
            return
        if self.query_text:  # a search shows muted posts too (see FeedWindows.filt)
            self._hidden = 0
            return
        hidden = self._optional("mutes", partial(
            self.store.muted_in, query=self.query_text or None, sources=self.source_filter), default=_FAILED)
        self._hidden = 0 if hidden is _FAILED else hidden

    def action_toggle_muted(self) -> None:
        self.hide_muted = not self.hide_muted
        self._store_call("show the feed", self.feed.set_hide_muted, self.hide_muted)
        self._count_hidden()
        self._update_titles()
        if self._say_missing("mutes", "Mute rules"):
            pass
        elif not self._hidden:
            self.notify("No post is muted here: mute rules are [[mute]] in the settings.", markup=False, timeout=4)
        self.feed.focus()

    def on_feed_view_store_failed(self, message: FeedView.StoreFailed) -> None:
        self.notify(f"Could not read the store: {message.reason}", severity="error", markup=False, timeout=8)

    def on_feed_view_row_request(self, message: FeedView.RowRequest) -> None:
        row = message.row
        if message.what is RowAction.PIN:
            self.toggle_pin(row.source, row.post_id)
        elif message.what is RowAction.OPEN:
            self.open_url(row.url)
        elif message.what is RowAction.DETAILS:
            self.show_details(row.source, row.post_id)
        elif message.what is RowAction.LINK:
            self.copy_link(row.url)
        elif message.what in (RowAction.NOTE, RowAction.UNPIN):
            # The pinboard's keys work on the post under the feed's cursor too, when it is pinned.
            pinned = self._pinned(row.source, row.post_id)
            if pinned is None:
                key = self._key_of("pin")
                self.notify(f"This post is not pinned ({key} pins it).", severity="warning", markup=False, timeout=4)
            elif message.what is RowAction.NOTE:
                self.edit_note(*pinned)
            else:
                self.unpin(*pinned)

    def _pinned(self, source: str, post_id: int) -> tuple[Pin, StoredPost] | None:
        return next(((p, sp) for p, sp in self.pins if (p.source, p.post_id) == (source, post_id)), None)

    def _key_of(self, binding_id: str) -> str:
        return next((keyspec.display_keys(s.keys) for s in self.keys_in_force if s.id == binding_id), binding_id)

    def copy_link(self, url: str) -> None:
        """One post's permalink to the clipboard; the last-citation file keeps the citation."""
        good = safe_url(url)
        if good is None:
            self.notify(f"Not copied: {url_problem(url)}", severity="warning", markup=False)
            return
        where = self.clipboard_sink.copy_only(good)
        self.notify(f"Copied {good} ({where}).", markup=False, timeout=5)

    def on_pinboard_pin_request(self, message: Pinboard.PinRequest) -> None:
        pin, post = message.pin, message.post
        ident = (pin.source, pin.post_id)
        if message.what is PinAction.UNPIN:
            self.unpin(pin, post)
        elif message.what in (PinAction.UP, PinAction.DOWN):
            delta = -1 if message.what is PinAction.UP else 1
            if self._store_call("move the pin", self.store.move_pin, *ident, delta) is not _FAILED:
                self.refresh_pins(select=ident)
        elif message.what is PinAction.NOTE:
            self.edit_note(pin, post)
        elif message.what is PinAction.OPEN:
            self.open_url(post.post.url)
        elif message.what is PinAction.DETAILS:
            self.show_details(*ident)
        elif message.what is PinAction.VERIFY:
            self.recheck_pins()
        elif message.what is PinAction.LINK:
            self.copy_link(post.post.url)

    def recheck_pins(self) -> None:
        if not self.pins:
            return
        if self.pin_checks.recheck([sp for _, sp in self.pins]):
            self.notify(f"Re-checking {len(self.pins)} pin{'s' if len(self.pins) != 1 else ''}…", markup=False,
                        timeout=3)
            self.refresh_compose()
        else:
            self.notify("A re-check is already running.", markup=False, timeout=3)

    def on_pin_checked(self, message: PinChecked) -> None:
        self.refresh_checks()

    def on_verify_finished(self, message: VerifyFinished) -> None:
        self.pin_checks.finished()
        self.refresh_checks()
        if message.kind is CheckKind.RECHECK or message.error or any(
                c.result.value != "captured" for c in message.checks):
            text, severity = finished_message(message.kind, message.checks, message.error)
            self.notify(text, severity=severity, markup=False, timeout=8)

    def on_details_screen_request(self, message: DetailsScreen.Request) -> None:
        post = message.post.post
        if message.what is RowAction.OPEN:
            self.open_url(post.url)
        elif message.what is RowAction.LINK:
            self.copy_link(post.url)
        elif message.what is RowAction.PIN:
            self.toggle_pin(post.source, post.id)
            pinned = self._pinned(post.source, post.id) is not None
            self.notify(f"{'Pinned' if pinned else 'Unpinned'} {self._post_label(message.post)}.", markup=False,
                        timeout=3)

    # ------------------------------------------------------------------ pins

    @staticmethod
    def _post_label(post: StoredPost) -> str:
        return f"{one_line(post.post.channel, 64)}/{post.post.id}"

    def toggle_pin(self, source: str, post_id: int) -> None:
        """Commit to the store first, then show what the store holds."""
        pinned = self._pinned(source, post_id)
        if pinned is not None:
            self.unpin(*pinned)
            return
        if self._store_call("change the pin", self.store.pin, source, post_id) is _FAILED:
            return
        # No toast: the star in the feed and the pinboard's count say it.
        self.refresh_pins(select=(source, post_id))
        # Keep the post's own page as it is now (the evidence re-checks compare with), when this desk
        # fetches at all: a --no-poll desk leaves the network alone until `v` asks.
        if not pinned and self.poll:
            sp = next((sp for pin, sp in self.pins if (pin.source, pin.post_id) == (source, post_id)), None)
            if sp is not None:
                self.pin_checks.capture([sp])

    def unpin(self, pin: Pin, post: StoredPost) -> None:
        """Unpin, keeping the pin (place, note, time) for the undo key: a stray key loses nothing."""
        if self._store_call("unpin", self.store.unpin, pin.source, pin.post_id) is _FAILED:
            return
        self._remember_for_undo([pin])
        self.refresh_pins()
        self.notify(f"Unpinned {self._post_label(post)}. {self._undo_hint()}", markup=False, timeout=4)

    def _remember_for_undo(self, pins: list[Pin]) -> None:
        self._undo.push(pins)

    def _undo_hint(self) -> str:
        key = next((keyspec.display_keys(s.keys) for s in self.keys_in_force if s.id == "undo"), "u")
        last = self._undo.peek() or []
        return f"{key} puts {'it' if len(last) == 1 else 'them'} back."

    def action_undo(self) -> None:
        """Put back the pins of the last unpin or clear, at their places with their notes."""
        if not self._undo:
            self.notify("Nothing to undo.", markup=False, timeout=3)
            return
        pins = self._undo.peek() or []
        back = self._store_call("put the pins back", self.store.restore_pins, pins)
        if back is _FAILED:
            return  # kept: the next try may work
        self._undo.pop()
        self.refresh_pins(select=(pins[0].source, pins[0].post_id))
        gone = len(pins) - back
        message = f"Put back {back} pin{'s' if back != 1 else ''}."
        if gone:
            message += f" {gone} {'was' if gone == 1 else 'were'} pinned again or no longer stored."
        self.notify(message, markup=False, timeout=4)

    def edit_note(self, pin: Pin, post: StoredPost) -> None:
        def done(note: str | None) -> None:
            if note is None:
                return
            if self._store_call("save the note", self.store.set_pin_note, pin.source, pin.post_id,
                                note) is not _FAILED:
                self.refresh_pins(select=(pin.source, pin.post_id))

        self.push_screen(TextModal(f"Note for {self._post_label(post)}", pin.note,
                                   placeholder="e.g. confirms the strike time"), done)

    def action_clear_pins(self) -> None:
        if not self.pins:
            self.notify("The pinboard is already empty.", markup=False)
            return

        def done(yes: bool | None) -> None:
            if yes:
                board = [pin for pin, _ in self.pins]
                count = self._store_call("clear the pins", self.store.clear_pins)
                if count is _FAILED:
                    return
                self._remember_for_undo(board)
                self.refresh_pins()
                self.notify(f"Cleared {count} pin{'s' if count != 1 else ''}. {self._undo_hint()}",
                            markup=False, timeout=8)

        key = next((keyspec.display_keys(s.keys) for s in self.keys_in_force if s.id == "undo"), "u")
        self.push_screen(ConfirmModal(f"Unpin all {len(self.pins)} posts and their notes? ({key} puts them back.)",
                                      yes="Clear all"), done)

    # ------------------------------------------------------------------ details, browser

    def show_details(self, source: str, post_id: int) -> None:
        post = self._store_call("read the post", self.store.get, source, post_id)
        if post is _FAILED:
            return
        if post is None:
            self.notify("That post is no longer in the store.", severity="warning", markup=False)
            return
        revisions = self._store_call("read the revisions", self.store.revisions_of, source, post_id)
        if revisions is _FAILED:
            revisions = []
        captures = self._optional("captures", self.store.revision_captures, source, post_id, default=_FAILED)
        group = self._optional("copies", self._group_of, post.key, default=_FAILED)
        self.push_screen(DetailsScreen(post, revisions, captures=None if captures is _FAILED else captures,
                                       group=None if group is _FAILED else group,
                                       time_mode=self.time_mode, watch=self.watch_re))

    def _group_of(self, key: int, cap: int = 100) -> list[tuple[StoredPost, float]]:
        """The posts that repeat the same news as `key`, earliest first (the first `cap`)."""
        members = self.store.duplicate_group(key)
        if len(members) < 2:
            return []
        out = []
        for k, similarity in members[:cap]:
            member = self.store.get_by_key(k)
            if member is not None:
                out.append((member, similarity))
        return out

    def open_url(self, url: str | None) -> None:
        """Only http(s) URLs without control/bidi/zero-width characters reach the browser."""
        good = safe_url(url)
        if good is None:
            self.notify(f"Not opened: {url_problem(url)}", severity="warning", markup=False)
            return
        self.run_worker(partial(self._open_worker, good), thread=True, group="browser", exit_on_error=False)

    def _open_worker(self, url: str) -> None:
        problem = open_in_browser(url)
        if problem:
            self.call_from_thread(self.notify, f"Not opened ({problem}): {url}", severity="warning",
                                  markup=False, timeout=8)
        else:
            self.call_from_thread(self.notify, f"Opened {url}", markup=False, timeout=3)

    # ------------------------------------------------------------------ actions (app-wide keys)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (self.store is None and action not in _WITHOUT_STORE)

    def action_copy(self) -> None:
        if not self.pins:
            self.notify("Nothing pinned yet: pin posts in the feed first.", severity="warning", markup=False)
            return
        rendered = self._render_citation()
        result = self.clipboard_sink.copy(rendered.text)
        message = f"{rendered.count} post{'s' if rendered.count != 1 else ''} ({rendered.fmt}). {result.message()}"
        if rendered.refused:
            message += f". {len(rendered.refused)} URL(s) refused, see the compose pane"
        warning = self.pin_checks.copy_warning(self._pin_keys())  # warns, never blocks the copy
        if warning:
            message += f". Careful: {warning}"
        self.notify(message, markup=False, timeout=8,
                    severity="information" if result.file and not warning else "warning")

    def action_search(self) -> None:
        search = self.query_one("#search", Input)
        search.add_class("shown")
        search.value = self.query_text
        search.focus()

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        # Debounced: every key would otherwise re-count the matches.
        if self._search_timer is not None:
            self._search_timer.stop()
        self._search_timer = self.set_timer(0.25, partial(self.apply_query, event.value))

    @on(Input.Submitted, "#search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        if not self.apply_query(event.value, loud=True):
            return  # the box stays open on the text, for the editor to correct
        if not event.value.strip():
            event.input.remove_class("shown")
        self.feed.focus()

    def apply_query(self, text: str, *, loud: bool = False) -> bool:
        """Filter the feed by the search text. A filter the store cannot apply (a date it cannot
        read, an unknown source) keeps the current filter: said on Enter (`loud`), silent while
        the editor is still typing. Returns whether the text is in force."""
        text = text.strip()
        if text and self.store is not None:
            try:
                self.store.check_query(text)
            except QueryError as exc:
                if loud:
                    self.notify(f"Search: {exc}", severity="warning", markup=False, timeout=8)
                return False
        if text == self.query_text:
            return True
        self.query_text = text
        self._refilter()
        return True

    def _refilter(self, keep: int | None = None) -> None:
        """Show the feed under the current filter; `keep`: a post's key to keep under the cursor."""
        feed = self.feed
        feed.empty_text = "No posts match the filter." if (self.query_text or self.source_filter) else "No posts yet."
        self._store_call("filter the feed", partial(feed.set_filter, keep=keep), self.query_text or None,
                         self.source_filter)
        self._count_hidden()
        self._update_titles()
        self.refresh_status(reread=False)

    def action_clear_filter(self) -> None:
        """Esc: clear the text filter (and close its box); with none, clear the source filter.
        With no filter at all nothing moves: the line being read stays."""
        search = self.query_one("#search", Input)
        if self._search_timer is not None:
            self._search_timer.stop()
        box_open = search.has_class("shown")
        search.value = ""
        search.remove_class("shown")
        found = self.feed.cursor_key  # the post the editor found stays under the cursor
        if self.query_text:
            self.query_text = ""
            self._refilter(keep=found)
        elif not box_open and self.source_filter is not None:
            self.source_filter = None
            self._refilter(keep=found)
        self.feed.focus()

    def action_filter_source(self) -> None:
        sources = self._store_call("read the sources", self.store.sources)
        if sources is _FAILED:
            return
        choices = [(s.name, source_label(s), s.posts) for s in sources]

        def done(picked: list[str] | None) -> None:
            if picked is None:
                return
            self.source_filter = picked or None
            self._refilter()
            self.feed.focus()

        self.push_screen(SourcePicker(choices, self.source_filter), done)

    def action_jump_new(self) -> None:
        self.feed.jump_newest()
        self.move_read_mark()
        self.feed.focus()

    def on_feed_view_at_top(self, message: FeedView.AtTop) -> None:
        self.move_read_mark()

    def move_read_mark(self) -> None:
        """The read mark (kept per desk) moves to the newest post the editor has had on screen, when
        they go to the top (n, g) and when the desk quits: posts that arrive later come above it."""
        feed = self._feed_widget
        if self.store is None or feed is None:
            return
        key = feed.seen_key
        if (key and key != feed.read_mark
                and self._store_call("keep the read mark", self.store.set_read_mark, key) is not _FAILED):
            feed.set_read_mark(key)

    def action_cite_format(self) -> None:
        fmt = self.citer.next_format()
        self._keep_desk_prefs(format=fmt)
        self.refresh_compose()
        self.notify(f"Citation format: {fmt}", markup=False, timeout=2)

    def _switch_option(self, name: str, on: bool) -> None:
        """A citation option the editor switched (E, or the options dialog): shown and kept for this desk."""
        self.citer.set_option(name, on)
        self._keep_desk_prefs(options=self.citer.options, earliest=None)
        self.refresh_compose()

    def action_cite_options(self) -> None:
        self.push_screen(CiteOptionsModal([(name, label, self.citer.option(name)) for name, label in CITE_OPTIONS],
                                          self._switch_option, desk=self.desk))

    def action_cite_earliest(self) -> None:
        self._switch_option("earliest", not self.citer.earliest)
        if self.citer.earliest and self._say_missing("copies", "Naming the earliest post"):
            return
        self.notify("The citation names the earliest post of the same news beside a later copy."
                    if self.citer.earliest else "The citation no longer names the earliest posts.",
                    markup=False, timeout=4)

    def action_edit_heading(self) -> None:
        def done(value: str | None) -> None:
            if value is None:
                return
            self.citer.heading = value
            self._keep_desk_prefs(heading=self.citer.heading)
            self.refresh_compose()

        self.push_screen(TextModal("Citation heading (empty: no heading; {count} and {date} are filled in)",
                                   self.citer.heading_text), done)

    def action_show_citation(self) -> None:
        """The whole citation, to check before copying (the compose pane shows only its start at 80x24)."""
        if not self.pins:
            self.notify("Nothing pinned yet: pin posts in the feed first.", severity="warning", markup=False)
            return
        rendered = self._render_citation()
        n = rendered.count
        title = (f"Citation ({rendered.fmt}) · {n} post{'s' if n != 1 else ''} · times UTC · "
                 f"{self._key_of('copy')} copies · Esc back")
        problems = [p for p in [rendered.problem, *rendered.refused] if p]
        self.push_screen(CitationScreen(title, rendered.text, problems))

    def action_toggle_time(self) -> None:
        self.time_mode = "local" if self.time_mode == "utc" else "utc"
        self._keep_desk_prefs(time=self.time_mode)
        self.feed.time_mode = self.time_mode
        self.pinboard.time_mode = self.time_mode
        self.pinboard.show(self.pins)
        self._pins_title()
        self._update_titles()
        self.refresh_status(reread=False)
        zone = zone_label(self.time_mode)
        self.notify(f"Times now in {zone}" + ("; citations stay in UTC." if self.time_mode == "local" else "."),
                    markup=False, timeout=4)

    def action_sources(self) -> None:
        sources = self._store_call("read the sources", self.store.sources)
        if sources is not _FAILED:
            self.push_screen(SourcesScreen(sources, {c.name for c in self.settings.sources},
                                           forget=self._forget_source, reread=self._reread_sources,
                                           unread=self._unread_by_source))

    def _forget_source(self, name: str) -> None:
        gone = self._store_call("forget the source", self.store.forget_source, name)
        if gone is not _FAILED:
            self.notify(f"Forgot {name} and its {gone:,} stored posts", markup=False, timeout=6)
            self.store_changed()

    def _unread_by_source(self) -> dict[str, int]:
        unread = self._store_call("count the unread posts", self.store.unread_by_source)
        return {} if unread is _FAILED else unread

    def _reread_sources(self) -> list[SourceHealth] | None:
        sources = self._store_call("read the sources", self.store.sources)
        return None if sources is _FAILED else sources

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.keys_in_force))

    # ------------------------------------------------------------------ command palette

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The same actions as the keys, named by the keymap's descriptions (keys shown as help)."""
        if self.store is not None and screen is self.screen_stack[0]:
            for spec in self.keys_in_force:
                callback = self._palette_callback(spec.id)
                if callback is not None:
                    yield SystemCommand(spec.description, f"{spec.id} · {keyspec.display_keys(spec.keys)}",
                                        callback)
        for command in super().get_system_commands(screen):
            if command.title.lower() != "quit the application":  # ours is in the list already
                yield command

    def _palette_callback(self, binding_id: str) -> Callable[[], Any] | None:
        if binding_id in keyspec.APP_ACTIONS:
            action = keyspec.APP_ACTIONS[binding_id]
            if action.startswith("app.focus"):
                return None  # Tab is not worth a palette entry
            return partial(self.run_action, action)
        if binding_id in ("pin", "open", "details", "copy_link"):
            feed_action = keyspec.FEED_ACTIONS[binding_id]
            return lambda: self.run_action(feed_action, self.feed)
        if binding_id in ("pin_up", "pin_down", "pin_note", "unpin", "verify"):
            pin_action = keyspec.PIN_ACTIONS[binding_id]
            return lambda: self.run_action(pin_action, self.pinboard)
        return None  # cursor movement


def _listen(app: DeskApp, url: str, stop: threading.Event) -> None:
    """The listener's thread (PostgreSQL): its own connection; only posts messages."""
    from deskapp.core.pg.listen import follow

    follow(url, stop, lambda channel, payload: app.post_message(StoreNotified(channel, payload)),
           lambda up, reason: app.post_message(StoreLink(up, reason)))


def _run_poller(poller: Poller) -> None:
    """The poller's thread: its own asyncio loop and its own Store (see deskapp.core.poller)."""
    from deskapp.core.poller import run_in_thread

    run_in_thread(poller)


__all__ = ["DeskApp", "open_in_browser"]
