"""The live feed: a virtual view over the store, drawn line by line (Textual's Line API).

Nothing here ever loads all rows. Row `i` (0 = newest) of the current filter lives in a window of
`WINDOW` rows fetched from the store on demand: by keyset (`feed(before_key=...)` / `after_key`) when a
neighbouring window is known, by `feed_at(offset)` for far jumps (scrollbar drags, `G`). A few dozen
windows are kept; rendered lines are cached by post key.

New posts never move the line the editor is reading. The cursor is the post itself (`cursor_key`).
After the store changes, a reader thread with its own connection reads, in ONE read transaction, the
count, the anchor post's index and the windows the screen needs, keyed around that post
(`read_state`); the UI installs that answer at once and puts the post back on the screen row it
was on. `render_line` never reads the store: a missing window is fetched just after the frame. So
no commit, whenever it lands, can make a paint show rows the cursor was not placed for (toolong's
log view is the model). What arrived above is counted and shown by the pane ("N new above"); `n`
jumps there.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from functools import partial
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import var
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.timer import Timer

from deskapp.core.model import Copies, FeedRow
from deskapp.core.store import NotSupported
from deskapp.ui.keys import FEED_ACTIONS, bindings
from deskapp.ui.text import feed_time, highlight_segments, line_text, one_line, plain, post_marks

if TYPE_CHECKING:
    from deskapp.core.store_api import DeskStore

WINDOW = 200  # rows fetched per store query
# Windows kept in memory (2,400 light rows). Few on purpose: every long-lived object lengthens the
# garbage collector's full passes, which show up as key-to-repaint spikes.
KEEP_WINDOWS = 12
# Every FULL_COUNT_EVERY-th reload counts the anchor's index in full (else it is carried forward
# from the last read when only newer posts arrived): a bound on any drift.
FULL_COUNT_EVERY = 16
READ_SPACING = 8  # a reload waits this many times the last read's cost after it (see FeedView.reload)
CHANNEL_WIDTH = 16
# The mark before the name of a post of another kind than Telegram (the feed names the platform).
KIND_TAG = {"rss": "[rss]", "bluesky": "[bsky]", "mastodon": "[mstdn]"}


@dataclass(slots=True)
class FeedState:
    """One consistent read of the feed around a post: every number and row from one snapshot."""

    total: int
    anchor_index: int  # index of the anchor post (or of the first row older than it, if it is gone)
    start: int  # index of rows[0]; a multiple of the window size
    rows: list[FeedRow]
    unseen: int  # rows newer than the seen key
    copies: dict[int, Copies] = field(default_factory=dict)  # key -> later posts that repeat it ("+N")
    newest: int = 0  # the newest key under the filter


# A test hook: called in the reader between placing the cursor and reading the rows it is drawn
# from, so a test can commit there (the forced interleaving of the bug this design removes).
AnchorHook = Callable[[], None]


def _copies(store: DeskStore, keys: list[int]) -> dict[int, Copies]:
    """The "+N" of these rows; none on a store that cannot answer (a PostgreSQL schema without groups)."""
    try:
        return store.copies_count(keys)
    except NotSupported:
        return {}


def read_state(store: DeskStore, *, query: str | None, sources: list[str] | None, anchor_key: int | None,
               screen_row: int, height: int, seen_key: int, window: int = WINDOW,
               after_anchor: AnchorHook | None = None, hide_muted: bool = False,
               since: tuple[int, int, int] | None = None) -> FeedState:
    """Count, place the anchor post and read the windows the screen needs, in ONE read transaction.

    The cursor index and the rows drawn come from the same state of the table, so a commit from the
    poller can never make the next paint show other rows than the cursor was placed for. Rows are
    read by key around the anchor (two O(log n) ranges), never by offset.

    `since`: (the anchor's index, the total, the newest key) in an earlier consistent read. When
    every post added since is newer than that newest key (the total grew by exactly their number),
    the anchor moved down by that number: no count of the hundreds of thousands of rows above it.
    """
    # A search finds muted posts too (mute keeps the live feed calm; it never hides what was asked for).
    filt: dict[str, Any] = {"query": query, "sources": sources, "hide_muted": hide_muted and not query}
    with store.snapshot():
        total = store.feed_count(**filt)
        if total == 0:
            return FeedState(0, 0, 0, [], 0)
        newest_rows = store.feed(1, **filt)
        newest = newest_rows[0].key if newest_rows else 0
        idx: int | None = None
        if anchor_key and since is not None:
            index_then, total_then, newest_then = since
            added = store.feed_count(after_key=newest_then, **filt) if newest_then else total
            if total - total_then == added:
                idx = min(index_then + added, total - 1)
        if idx is None:
            idx = min(store.feed_count(after_key=anchor_key, **filt), total - 1) if anchor_key else 0
        if after_anchor is not None:
            after_anchor()
        top = max(0, idx - max(0, screen_row))
        first_w = top // window
        last_w = min((top + max(1, height)) // window, (total - 1) // window)
        above = idx - first_w * window
        below = min((last_w + 1) * window, total) - idx
        rows: list[FeedRow] = []
        if anchor_key:
            if above:
                rows += store.feed(above, after_key=anchor_key, **filt)
            rows += store.feed(below, before_key=anchor_key + 1, **filt)
        else:
            rows = store.feed(below, **filt)
        unseen = store.feed_count(after_key=seen_key, **filt) if seen_key else 0
        copies = _copies(store, [r.key for r in rows])  # one batch for the rows read
    return FeedState(total, idx, first_w * window, rows, unseen, copies, newest)


class FeedWindows:
    """Rows of the feed by index (0 = newest) under one filter, fetched from the store in windows.

    The windows hold one state of the table: `install()` replaces all of them at once with a
    consistent read (`read_state`). Windows fetched later by key from a neighbour stay consistent
    with it; a far jump (by offset) made after the table changed drops the others first.
    """

    def __init__(self, store: DeskStore, *, window: int = WINDOW, keep: int = KEEP_WINDOWS) -> None:
        self.store = store
        self.window = window
        self.keep = keep
        self.query: str | None = None
        self.sources: list[str] | None = None
        self.hide_muted = False  # leave out the posts a mute rule hid (the desk's M shows them)
        self.total = 0
        self._windows: OrderedDict[int, list[FeedRow]] = OrderedDict()
        self.queries = 0  # store round trips (for tests and the benchmark)
        self.version: int | None = None  # the store's data_version the windows were read at
        self.copies: dict[int, Copies] = {}  # key -> later posts that repeat it, for the rows held
        self.basis: tuple[int, int] | None = None  # (total, newest key) of the installed read

    @property
    def filtered(self) -> bool:
        return bool(self.query) or self.sources is not None

    def set_filter(self, query: str | None, sources: list[str] | None) -> None:
        self.query = query or None
        self.sources = list(sources) if sources is not None else None
        self.reset()

    def reset(self) -> int:
        """Drop every window and count the rows again; returns the new total."""
        self._windows.clear()
        self.version = self._data_version()
        self.total = self.store.feed_count(**self.filt)
        return self.total

    @property
    def filt(self) -> dict[str, Any]:
        """The store's feed arguments for the filter in force."""
        return {"query": self.query, "sources": self.sources, "hide_muted": self.hide_muted and not self.query}

    def _data_version(self) -> int | None:
        try:
            return self.store.data_version()
        except Exception:
            return None

    def install(self, state: FeedState, version: int | None = None) -> None:
        """Replace every window with those of one consistent read (only whole windows, or the last)."""
        self._windows.clear()
        self.total = state.total
        self.version = version
        self.copies = dict(state.copies)
        self.basis = (state.total, state.newest)
        for n in range(0, len(state.rows), self.window):
            chunk = state.rows[n : n + self.window]
            start = state.start + n
            if len(chunk) == self.window or start + len(chunk) == state.total:
                self._windows[start // self.window] = chunk

    def cached(self, index: int) -> FeedRow | None:
        """The row if its window is already in memory (never queries)."""
        rows = self._windows.get(index // self.window)
        if rows is None:
            return None
        offset = index % self.window
        return rows[offset] if offset < len(rows) else None

    def find(self, key: int) -> int | None:
        """Index of the cached row with `key` (never queries)."""
        for w, rows in self._windows.items():
            for i, row in enumerate(rows):
                if row.key == key:
                    return w * self.window + i
        return None

    def row(self, index: int) -> FeedRow | None:
        if index < 0 or index >= self.total:
            return None
        w, offset = divmod(index, self.window)
        rows = self._windows.get(w)
        if rows is None:
            rows = self._load(w)
        else:
            self._windows.move_to_end(w)
        return rows[offset] if offset < len(rows) else None

    def _load(self, w: int) -> list[FeedRow]:
        size = self.window
        filt = self.filt
        before = self._windows.get(w - 1)
        after = self._windows.get(w + 1)
        self.queries += 1
        rows: list[FeedRow] | None = None
        if before is not None and len(before) == size:
            # Next older window: keyset from the last row above (O(log n)), consistent with it.
            rows = self.store.feed(size, before_key=before[-1].key, **filt)
        elif after:
            # Next newer window: keyset from the first row below.
            rows = self.store.feed(size, after_key=after[0].key, **filt)
            if len(rows) != size:  # only whole windows are consistent; fall back to offset
                rows = None
        if rows is None:
            # A far jump, by offset: from the table as it is now. Windows read before a change
            # would not line up with it, so they go.
            version = self._data_version()
            if version != self.version:
                self._windows.clear()
                self.version = version
                self.basis = None  # indices from here on are not those of the installed read
            rows = self.store.feed(size, **filt) if w == 0 else self.store.feed_at(w * size, size, **filt)
        self._windows[w] = rows
        self.copies.update(_copies(self.store, [r.key for r in rows]))  # one batch per window
        while len(self._windows) > self.keep:
            self._windows.popitem(last=False)
        return rows

    def index_of(self, key: int) -> int:
        """Index of the row with `key` under the filter: the number of rows newer than it."""
        return self.store.feed_count(after_key=key, **self.filt)

    count_newer = index_of


class RowAction(StrEnum):
    """What the editor asked for about the post under the feed's cursor."""

    PIN = "pin"
    OPEN = "open"
    DETAILS = "details"
    NOTE = "note"  # the pin's note, when the post is pinned
    UNPIN = "unpin"  # only when it is pinned (`p` toggles)
    LINK = "link"  # copy its permalink


class FeedView(ScrollView, can_focus=True):
    """The live feed. One line a post: pin mark, time, channel, text."""

    BINDINGS = bindings(FEED_ACTIONS)

    COMPONENT_CLASSES = {
        "feed--cursor",
        "feed--time",
        "feed--channel",
        "feed--pin",
        "feed--watch",
        "feed--service",
        "feed--mark",
        "feed--read",
        "feed--empty",
    }

    DEFAULT_CSS = """
    FeedView {
        overflow-x: hidden;
        overflow-y: scroll;
        background: $surface;
    }
    FeedView > .feed--cursor { background: $secondary 30%; }
    FeedView:focus > .feed--cursor { background: $accent 45%; text-style: bold; }
    FeedView > .feed--time { color: $text-muted; }
    FeedView > .feed--channel { color: $primary-lighten-2; text-style: bold; }
    FeedView > .feed--pin { color: $warning; text-style: bold; }
    FeedView > .feed--watch { background: $warning 60%; color: $text; text-style: bold; }
    FeedView > .feed--service { color: $text-disabled; text-style: italic; }
    FeedView > .feed--mark { color: $secondary-lighten-2; }
    FeedView > .feed--read { color: $warning; text-style: bold reverse; }
    FeedView > .feed--empty { color: $text-muted; text-style: italic; }
    """

    class RowRequest(Message):
        """The editor asked for something about a post (pin it, open it, show it whole)."""

        def __init__(self, feed: FeedView, what: RowAction, row: FeedRow) -> None:
            super().__init__()
            self.feed = feed
            self.what = what
            self.row = row

    class StoreFailed(Message):
        """Reading the store failed while drawing (the line shows the reason, this tells the app)."""

        def __init__(self, reason: str) -> None:
            super().__init__()
            self.reason = reason

    class AtTop(Message):
        """The editor went to the newest post (g): the desk moves its read mark there."""

    class Unseen(Message):
        """How many posts arrived above what the editor has seen changed."""

        def __init__(self, count: int) -> None:
            super().__init__()
            self.count = count

    time_mode: var[str] = var("utc")

    def __init__(self, store: DeskStore, *, time_mode: str = "utc", watch: re.Pattern[str] | None = None,
                 pinned: set[tuple[str, int]] | None = None, hide_muted: bool = False,
                 on_request: Callable[[FeedView.RowRequest], None] | None = None, name: str | None = None,
                 id: str | None = None, classes: str | None = None) -> None:
        """`on_request`: handles pin/open/details at once, in key order (else a RowRequest is posted)."""
        super().__init__(name=name, id=id, classes=classes)
        self.on_request = on_request
        self.windows = FeedWindows(store)
        self.windows.hide_muted = hide_muted
        self.cursor = 0  # index of the post under the cursor in the windows' state
        self.cursor_key: int | None = None  # the post itself: what every reload keeps in place
        self._reader: DeskStore | None = None  # the reader thread's own connection
        self._read_request: dict[str, Any] | None = None  # the reload being read
        self._read_again = False  # the store changed again while it was read
        self._read_timer: Timer | None = None  # a reload waiting for its turn
        self._next_read_at = 0.0
        self._reads = 0
        self._filter_gen = 0  # a reload read under an older filter is dropped
        self._fill_due = False
        self._fill_failed = False  # the last read for the viewport failed: the lines say why
        self.after_anchor: AnchorHook | None = None  # tests: see read_state
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)  # which year is "this year"
        self.watch_re = watch
        self.pinned: set[tuple[str, int]] = set(pinned or ())
        self.read_mark: int | None = None  # the newest post read up to (the desk's read mark): marked in its line
        self.empty_text = "No posts yet."
        self.error = ""  # the last store error met while drawing
        # A screen's worth of lines a few times over (a Strip is ~10 Python objects).
        self._cache: LRUCache[tuple[Any, ...], Strip] = LRUCache(256)
        self._styles: dict[tuple[bool, bool], tuple[Style, ...]] = {}
        self.seen_key = 0  # newest key the editor has had on screen; rows above it are "new above"
        self.unseen = 0
        # Timestamps for the benchmark: perf_counter of the last render that drew a row.
        self.last_paint = 0.0
        self.first_paint = 0.0
        self.set_reactive(FeedView.time_mode, time_mode)

    # ------------------------------------------------------------------ data

    class Reloaded(Message):
        """A reload was read and shown (the count of posts may have changed)."""

    class StateRead(Message):
        """The reader thread's answer to a reload (see `read_state`)."""

        def __init__(self, state: FeedState | None, request: dict[str, Any], error: str = "",
                     cost: float = 0.0) -> None:
            super().__init__()
            self.state = state
            self.request = request
            self.error = error
            self.cost = cost  # seconds the read took

    def on_mount(self) -> None:
        try:
            self.load()
        except Exception as exc:  # the app shows it; the desk stays up
            self._failed(exc)

    def on_unmount(self) -> None:
        if self._reader is not None:
            with contextlib.suppress(Exception):
                self._reader.close()

    def _failed(self, exc: Exception | str) -> None:
        reason = " ".join(str(exc).split())[:300] or type(exc).__name__
        if reason != self.error:
            self.error = reason
            self._emit(self.StoreFailed(reason))

    def _emit(self, message: Message) -> None:
        """Post a message that reaches the app from whatever context we are called in: a message
        made while the Screen draws has the Screen as sender, and Textual stops bubbling after the
        sender, so the app would never hear it."""
        message.set_sender(self)
        self.post_message(message)

    def load(self) -> None:
        """First load, or a new filter: count, go to the top, everything on screen is seen.
        On the UI thread: the editor asked for it and waits for it."""
        self._filter_gen += 1
        windows = self.windows
        version = windows._data_version()
        state = read_state(windows.store, query=windows.query, sources=windows.sources, hide_muted=windows.hide_muted,
                           anchor_key=None, screen_row=0, height=self.page_height, seen_key=0, window=windows.window)
        windows.install(state, version)
        self.cursor = 0
        self.cursor_key = state.rows[0].key if state.rows else None
        self._cache.clear()
        self._update_virtual_size()
        self.scroll_to(y=0, animate=False, force=True)
        self.seen_key = self.cursor_key or 0
        self._set_unseen(0)
        self.refresh()

    def set_filter(self, query: str | None, sources: list[str] | None, *, keep: int | None = None) -> None:
        """A new filter. `keep`: the key of a post to keep under the cursor (Esc after a search keeps
        the post the editor found, now in the full feed); else the top."""
        self.windows.query = query or None
        self.windows.sources = list(sources) if sources is not None else None
        if keep is not None:
            self._filter_gen += 1
            self.seen_key = 0
            if self.show_post(keep):
                top = self.windows.row(0)  # what is there now counts as seen
                self.seen_key = top.key if top else 0
                self._set_unseen(0)
                return
        self.load()

    def set_hide_muted(self, hide: bool) -> None:
        """Hide the muted posts or show them again, the post under the cursor kept where it can be."""
        self.windows.hide_muted = hide
        self.set_filter(self.windows.query, self.windows.sources, keep=self.cursor_key)

    def show_post(self, key: int) -> bool:
        """Put the cursor on the post with `key` (under the current filter), at the viewport's top
        third; False when the filter does not hold it."""
        windows = self.windows
        version = windows._data_version()
        height = self.page_height
        row_on_screen = height // 3
        state = read_state(windows.store, query=windows.query, sources=windows.sources, hide_muted=windows.hide_muted,
                           anchor_key=key,                           screen_row=row_on_screen, height=height, seen_key=self.seen_key,
                           window=windows.window)
        windows.install(state, version)
        index = windows.find(key)
        self._cache.clear()
        self._update_virtual_size()
        if index is None:
            self.refresh()
            return False
        self.cursor, self.cursor_key = index, key
        self.scroll_to(y=max(0, index - row_on_screen), animate=False, force=True)
        self._set_unseen(state.unseen)
        self._mark_seen()
        self.refresh()
        return True

    @property
    def reading(self) -> bool:
        """A reload is being read off the UI thread, or waits its turn (tests wait for it)."""
        return self._read_request is not None or self._read_timer is not None

    def reload(self) -> None:
        """The store may have changed: read it again off the UI thread, around the post under the
        cursor; when the answer comes, that post stays on the same screen row (`_apply_state`).

        Reads far down the feed count hundreds of thousands of index entries (tens of ms): the next
        one waits READ_SPACING times as long, so the reader never takes the CPU the keys need (on a
        busy 2-core machine); near the top a read costs about a millisecond and nothing waits."""
        if self._read_request is not None:
            self._read_again = True
            return
        wait = self._next_read_at - time.monotonic()
        if wait > 0:
            if self._read_timer is None:
                self._read_timer = self.set_timer(wait, self._read_due)
            return
        self._read_again = False
        windows = self.windows
        request = {
            "gen": self._filter_gen, "anchor": self.cursor_key,
            "screen_row": max(0, min(self.cursor - round(self.scroll_y), self.page_height - 1)),
            "height": self.page_height, "seen_key": self.seen_key, "query": windows.query,
            "sources": windows.sources, "hide_muted": windows.hide_muted, "window": windows.window,
            "version": windows._data_version(), "since": None,
        }
        self._reads += 1
        if windows.basis is not None and self.cursor_key is not None and self._reads % FULL_COUNT_EVERY:
            request["since"] = (self.cursor, *windows.basis)
        self._read_request = request
        self.run_worker(partial(self._read_worker, request), thread=True, group="feed-read",
                        exit_on_error=False)

    def _read_due(self) -> None:
        self._read_timer = None
        self.reload()

    def _read_worker(self, request: dict[str, Any]) -> None:
        """The reader thread: its own connection; only posts a message."""
        started = time.perf_counter()
        try:
            if self._reader is None:
                self._reader = self.windows.store.reader()
            state = read_state(self._reader, query=request["query"], sources=request["sources"],
                               hide_muted=request["hide_muted"],
                               anchor_key=request["anchor"], screen_row=request["screen_row"],
                               height=request["height"], seen_key=request["seen_key"],
                               window=request["window"], after_anchor=self.after_anchor,
                               since=request["since"])
        except Exception as exc:
            self.post_message(self.StateRead(None, request, " ".join(str(exc).split()) or type(exc).__name__))
            return
        self.post_message(self.StateRead(state, request, cost=time.perf_counter() - started))

    def on_feed_view_state_read(self, message: FeedView.StateRead) -> None:
        message.stop()
        request = message.request
        if request is not self._read_request:
            return
        self._read_request = None
        self._next_read_at = time.monotonic() + min(READ_SPACING * message.cost, 2.0)
        if message.state is None:
            self._failed(message.error)
        elif request["gen"] == self._filter_gen:
            self._apply_state(message.state, request)
        if self._read_again:
            self.reload()

    def _apply_state(self, state: FeedState, request: dict[str, Any]) -> None:
        """Install one consistent read and put the post under the cursor back on its screen row."""
        key = self.cursor_key
        screen_row = self.cursor - round(self.scroll_y)  # now: the editor may have moved meanwhile
        by_key = {row.key: state.start + i for i, row in enumerate(state.rows)}
        if key is not None and key in by_key:
            new_cursor = by_key[key]
        elif key == request["anchor"] and state.total:
            # The post is gone from this filter: the next older one takes its place.
            new_cursor = min(state.anchor_index, state.total - 1)
        elif state.total:
            self._read_again = True  # the editor moved outside what was read: read around it
            return
        else:
            new_cursor = 0
        self.windows.install(state, request["version"])
        self.cursor = new_cursor
        row = self.windows.cached(new_cursor)
        self.cursor_key = row.key if row is not None else None
        self._update_virtual_size()
        self.scroll_to(y=max(0, new_cursor - screen_row), animate=False, force=True)
        if not self.seen_key and state.start == 0 and state.rows:
            self.seen_key = state.rows[0].key
        if request["seen_key"] == self.seen_key:
            self._set_unseen(state.unseen)
            self._mark_seen()
        else:
            self._recount_unseen()
        self.refresh()
        self._emit(self.Reloaded())

    def _update_virtual_size(self) -> None:
        width = self.scrollable_content_region.width or self.size.width
        self.virtual_size = Size(width, self.windows.total)

    def _recount_unseen(self) -> None:
        count = self.windows.count_newer(self.seen_key) if self.seen_key and self.windows.total else 0
        self._set_unseen(count)
        self._mark_seen()

    def _set_unseen(self, count: int) -> None:
        if count != self.unseen:
            self.unseen = count
            self._emit(self.Unseen(count))

    def _mark_seen(self) -> None:
        """Rows from the top of the viewport down are seen; only the ones above it stay unseen."""
        if self.unseen <= 0:
            return
        top = round(self.scroll_y)
        if top < self.unseen:
            row = self.windows.row(top)
            if row is not None:
                self.seen_key = max(self.seen_key, row.key)
            self._set_unseen(top)

    def set_pinned(self, pinned: set[tuple[str, int]]) -> None:
        if pinned != self.pinned:
            self.pinned = set(pinned)
            self._cache.clear()
            self.refresh()

    def watch_time_mode(self) -> None:
        self._cache.clear()
        self.refresh()

    @property
    def current(self) -> FeedRow | None:
        """The post under the cursor."""
        return self.windows.row(self.cursor)

    # ------------------------------------------------------------------ cursor and scrolling

    @property
    def page_height(self) -> int:
        return max(1, self.scrollable_content_region.height)

    def move_to(self, index: int, *, scroll_by: int | None = None) -> None:
        total = self.windows.total
        if total == 0:
            return
        index = max(0, min(index, total - 1))
        old = self.cursor
        self._fill_failed = False
        try:
            row = self.windows.row(index)
        except Exception as exc:  # e.g. the store stayed locked: the line says so, keep running
            self._failed(exc)
            self._fill_failed = True
            row = None
        self.cursor = index
        self.cursor_key = row.key if row is not None else None
        if scroll_by is not None:
            self.scroll_to(y=max(0, self.scroll_y + scroll_by), animate=False)
        self._scroll_cursor_into_view()
        self.refresh_line(old)
        self.refresh_line(index)
        self._mark_seen()

    def _scroll_cursor_into_view(self) -> None:
        top = round(self.scroll_y)
        height = self.page_height
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._fill_failed = False  # another part of the feed: try reading again
        if self.unseen:
            self._mark_seen()

    def action_cursor_down(self) -> None:
        self.move_to(self.cursor + 1)

    def action_cursor_up(self) -> None:
        self.move_to(self.cursor - 1)

    def action_cursor_top(self) -> None:
        self.move_to(0)
        self._emit(self.AtTop())

    def action_cursor_bottom(self) -> None:
        self.move_to(self.windows.total - 1)

    def action_page_down(self) -> None:
        self.move_to(self.cursor + self.page_height, scroll_by=self.page_height)

    def action_page_up(self) -> None:
        self.move_to(self.cursor - self.page_height, scroll_by=-self.page_height)

    def jump_newest(self) -> None:
        self.move_to(0)
        self.scroll_to(y=0, animate=False)
        top = self.windows.row(0)
        if top is not None:
            self.seen_key = max(self.seen_key, top.key)
        self._set_unseen(0)

    def _request(self, what: RowAction) -> None:
        row = self.current
        if row is None:
            return
        request = self.RowRequest(self, what, row)
        if self.on_request is not None:
            # Handled now: a message bubbles up through every container, and a key typed right
            # behind this one (p then c) would reach the app first and copy without the new pin.
            self.on_request(request)
        else:
            self._emit(request)

    def action_toggle_pin(self) -> None:
        self._request(RowAction.PIN)

    def action_open_post(self) -> None:
        self._request(RowAction.OPEN)

    def action_details(self) -> None:
        self._request(RowAction.DETAILS)

    def action_note(self) -> None:
        self._request(RowAction.NOTE)

    def action_unpin(self) -> None:
        self._request(RowAction.UNPIN)

    def action_copy_link(self) -> None:
        self._request(RowAction.LINK)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        self.move_to(round(self.scroll_y) + offset.y)
        if event.chain >= 2:
            self._request(RowAction.DETAILS)

    # ------------------------------------------------------------------ drawing

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()
        self._styles.clear()

    def _style_set(self, is_cursor: bool) -> tuple[Style, ...]:
        """(base, pin, time, channel, service, watch, mark, read), computed once per theme/focus state:
        `rich_style` walks the ancestors and was the largest cost of drawing a line."""
        key = (is_cursor, self.has_focus)
        styles = self._styles.get(key)
        if styles is None:
            base = self.rich_style
            if is_cursor:
                base = base + self.get_component_rich_style("feed--cursor")
            styles = (base, *(base + self.get_component_rich_style(f"feed--{name}")
                              for name in ("pin", "time", "channel", "service", "watch", "mark", "read")))
            self._styles[key] = styles
        return styles

    def on_focus(self) -> None:
        self._styles.clear()
        self.refresh_line(self.cursor)

    def on_blur(self) -> None:
        self._styles.clear()
        self.refresh_line(self.cursor)

    def render_line(self, y: int) -> Strip:
        index = round(self.scroll_y) + y
        width = self.scrollable_content_region.width
        if self.windows.total == 0:
            if y == 0:
                style = self.get_component_rich_style("feed--empty")
                return Strip([Segment(" " + self.empty_text, style)]).crop_extend(0, width, self.rich_style)
            return Strip.blank(width, self.rich_style)
        # Never a store read while drawing: a missing window is fetched just after this frame.
        row = self.windows.cached(index)
        if row is None:
            if index < self.windows.total:
                style = self.get_component_rich_style("feed--empty")
                if self._fill_failed:
                    return Strip([Segment(f" (cannot read this line: {self.error})", style)]).crop_extend(
                        0, width, self.rich_style)
                self._want_fill()
                return Strip([Segment(" …", style)]).crop_extend(0, width, self.rich_style)
            return Strip.blank(width, self.rich_style)
        is_cursor = row.key == self.cursor_key if self.cursor_key is not None else index == self.cursor
        marked = self._is_read_mark(index, row)
        copies = self.windows.copies.get(row.key)
        cache_key = (row, width, is_cursor, is_cursor and self.has_focus, marked, copies)  # an edit is a new row
        strip = self._cache.get(cache_key)
        if strip is None:
            strip = self._render_row(row, width, is_cursor, marked, copies)
            self._cache[cache_key] = strip
        self._painted()
        return strip

    def _is_read_mark(self, index: int, row: FeedRow) -> bool:
        """The newest read post, under posts not read yet: where the editor stopped reading."""
        mark = self.read_mark
        if mark is None or row.key > mark or index == 0:
            return False
        above = self.windows.cached(index - 1)
        return above is not None and above.key > mark

    def set_read_mark(self, key: int | None) -> None:
        self.read_mark = key
        self._cache.clear()
        self.refresh()

    def _want_fill(self) -> None:
        if not self._fill_due:
            self._fill_due = True
            self.call_after_refresh(self._fill)

    def _fill(self) -> None:
        """Read the windows the viewport lacks (a scrollbar drag, a resize), then draw again."""
        self._fill_due = False
        top = round(self.scroll_y)
        try:
            for index in range(top, min(top + self.page_height, self.windows.total), self.windows.window):
                self.windows.row(index)
            self.windows.row(min(top + self.page_height, self.windows.total) - 1)
        except Exception as exc:  # e.g. the store stayed locked: say so, keep running
            self._failed(exc)
            self._fill_failed = True
        self.refresh()

    def _painted(self) -> None:
        now = time.perf_counter()
        self.last_paint = now
        if not self.first_paint:
            self.first_paint = now

    def _render_row(self, row: FeedRow, width: int, is_cursor: bool, marked: bool = False,
                    copies: Copies | None = None) -> Strip:
        """One line from plain text only: Segments never parse markup, controls are removed."""
        base, pin_style, time_style, chan_style, service_style, watch_style, mark_style, read_style = (
            self._style_set(is_cursor))
        text_style = service_style if row.service else base

        pinned = (row.source, row.post_id) in self.pinned
        channel = one_line(row.channel_title or row.channel, 64)
        kind = row.source.split(":", 1)[0] if ":" in row.source else "telegram"
        if kind != "telegram":  # other kinds are marked; Telegram rows stay as they always were
            channel = f"{KIND_TAG.get(kind, kind)} {channel}"
        if cell_len(channel) > CHANNEL_WIDTH:
            channel = set_cell_size(channel, CHANNEL_WIDTH - 1) + "…"
        segments = [
            Segment("★ " if pinned else "  ", pin_style),
            Segment(feed_time(row.published, self.time_mode, now=self.clock()), time_style),
            Segment(" ", base),
            Segment(set_cell_size(channel, CHANNEL_WIDTH), chan_style),
            Segment(" ", base),
        ]
        if marked:
            segments += [Segment(" ▲ read up to here ", read_style), Segment(" ", base)]
        for mark in post_marks(forwarded=row.forwarded is not None, reply=row.reply, edited=row.edited,
                               media=row.media):
            segments += [Segment(f"[{mark}]", mark_style), Segment(" ", base)]
        if copies is not None and copies.count:  # other channels repeated this post later (the details list them with times)
            segments += [Segment(copies_label(copies), pin_style), Segment(" ", base)]
        text = line_text(row.snippet, service=row.service, has_media=bool(row.media))
        text = text[: 2 * width]  # a character is at least one cell (or a rare zero-width mark)
        for piece, style in highlight_segments(text, self.watch_re, text_style, watch_style):
            segments.append(Segment(piece, style))
        return Strip(segments).crop_extend(0, width, base)


COPIES_NAMES_CELLS = 32  # the channels named after "+N" on a feed line; the details list them all


def copies_label(copies: Copies) -> str:
    """"+2 (City Desk Alerts, Eastfield Monitor)": how many repeated the post, and where."""
    if not copies.channels:
        return f"+{copies.count}"
    names = ", ".join(plain(name) for name in copies.channels)
    if len(names) > COPIES_NAMES_CELLS:
        names = names[: COPIES_NAMES_CELLS - 1].rstrip(", ") + "…"
    return f"+{copies.count} ({names})"
