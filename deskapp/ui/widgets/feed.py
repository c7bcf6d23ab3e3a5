"""The live feed: a virtual view over the store, drawn line by line (Textual's Line API).

Nothing here ever loads all rows. Row `i` (0 = newest) of the current filter lives in a window of
`WINDOW` rows fetched from the store on demand: by keyset (`feed(before_key=...)` / `after_key`) when a
neighbouring window is known, by `feed_at(offset)` for far jumps (scrollbar drags, `G`). A few dozen
windows are kept; rendered lines are cached by post key.

New posts never move the line the editor is reading: after the store changes, the post under the
cursor is found again by key (its new index is the count of rows newer than it) and the scroll offset
moves by the same amount, so the screen shows exactly what it showed. What arrived above is counted
and shown by the pane ("N new above"); `n` jumps there.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Callable
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

from deskapp.core.model import FeedRow
from deskapp.ui.keys import FEED_ACTIONS, bindings
from deskapp.ui.text import FEED_TEXT_CAP, feed_time, highlight_segments, one_line

if TYPE_CHECKING:
    from deskapp.core.store import Store

WINDOW = 200  # rows fetched per store query
# Windows kept in memory (2,400 light rows). Few on purpose: every long-lived object lengthens the
# garbage collector's full passes, which show up as key-to-repaint spikes.
KEEP_WINDOWS = 12
CHANNEL_WIDTH = 16


class FeedWindows:
    """Rows of the feed by index (0 = newest) under one filter, fetched from the store in windows.

    The windows are a snapshot: `reset()` drops them whenever the store may have changed, so keyset
    and offset answers never mix two states of the table.
    """

    def __init__(self, store: Store, *, window: int = WINDOW, keep: int = KEEP_WINDOWS) -> None:
        self.store = store
        self.window = window
        self.keep = keep
        self.query: str | None = None
        self.sources: list[str] | None = None
        self.total = 0
        self._windows: OrderedDict[int, list[FeedRow]] = OrderedDict()
        self.queries = 0  # store round trips (for tests and the benchmark)

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
        self.total = self.store.feed_count(query=self.query, sources=self.sources)
        return self.total

    def cached(self, index: int) -> FeedRow | None:
        """The row if its window is already in memory (never queries)."""
        rows = self._windows.get(index // self.window)
        if rows is None:
            return None
        offset = index % self.window
        return rows[offset] if offset < len(rows) else None

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
        filt: dict[str, Any] = {"query": self.query, "sources": self.sources}
        before = self._windows.get(w - 1)
        after = self._windows.get(w + 1)
        self.queries += 1
        if w == 0:
            rows = self.store.feed(size, **filt)
        elif before is not None and len(before) == size:
            # Next older window: keyset from the last row above (O(log n)).
            rows = self.store.feed(size, before_key=before[-1].key, **filt)
        elif after:
            # Next newer window: keyset from the first row below.
            rows = self.store.feed(size, after_key=after[0].key, **filt)
            if len(rows) != size:  # only whole windows are consistent; fall back to offset
                rows = self.store.feed_at(w * size, size, **filt)
        else:
            rows = self.store.feed_at(w * size, size, **filt)
        self._windows[w] = rows
        while len(self._windows) > self.keep:
            self._windows.popitem(last=False)
        return rows

    def index_of(self, key: int) -> int:
        """Index of the row with `key` under the filter: the number of rows newer than it."""
        return self.store.feed_count(query=self.query, sources=self.sources, after_key=key)

    count_newer = index_of


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
    FeedView > .feed--empty { color: $text-muted; text-style: italic; }
    """

    class RowRequest(Message):
        """The editor asked for something about a post: 'pin', 'open' or 'details'."""

        def __init__(self, feed: FeedView, what: str, row: FeedRow) -> None:
            super().__init__()
            self.feed = feed
            self.what = what
            self.row = row

    class StoreFailed(Message):
        """Reading the store failed while drawing (the line shows the reason, this tells the app)."""

        def __init__(self, reason: str) -> None:
            super().__init__()
            self.reason = reason

    class Unseen(Message):
        """How many posts arrived above what the editor has seen changed."""

        def __init__(self, count: int) -> None:
            super().__init__()
            self.count = count

    time_mode: var[str] = var("utc")

    def __init__(self, store: Store, *, time_mode: str = "utc", watch: re.Pattern[str] | None = None,
                 pinned: set[tuple[str, int]] | None = None,
                 on_request: Callable[[FeedView.RowRequest], None] | None = None, name: str | None = None,
                 id: str | None = None, classes: str | None = None) -> None:
        """`on_request`: handles pin/open/details at once, in key order (else a RowRequest is posted)."""
        super().__init__(name=name, id=id, classes=classes)
        self.on_request = on_request
        self.windows = FeedWindows(store)
        self.cursor = 0
        self.watch_re = watch
        self.pinned: set[tuple[str, int]] = set(pinned or ())
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

    def on_mount(self) -> None:
        try:
            self.load()
        except Exception as exc:  # the app shows it; the desk stays up
            self._failed(exc)

    def _failed(self, exc: Exception) -> None:
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
        """First load, or a new filter: count, go to the top, everything on screen is seen."""
        self.windows.reset()
        self.cursor = 0
        self._cache.clear()
        self._update_virtual_size()
        self.scroll_to(y=0, animate=False, force=True)
        top = self.windows.row(0)
        self.seen_key = top.key if top else 0
        self._set_unseen(0)
        self.refresh()

    def set_filter(self, query: str | None, sources: list[str] | None) -> None:
        self.windows.query = query or None
        self.windows.sources = list(sources) if sources is not None else None
        self.load()

    def reload(self) -> None:
        """The store may have changed: re-count, keep the post under the cursor where it is on screen."""
        anchor = self.windows.row(self.cursor)  # read before the reset: the old snapshot
        old_cursor = self.cursor
        old_scroll = round(self.scroll_y)
        total = self.windows.reset()
        # The line cache stays: it is keyed by what a line shows (an edited post has a new snippet).
        if anchor is not None and total:
            new_cursor = min(self.windows.index_of(anchor.key), total - 1)
        else:
            new_cursor = min(old_cursor, max(total - 1, 0))
        delta = new_cursor - old_cursor
        self.cursor = new_cursor
        self._update_virtual_size()
        self.scroll_to(y=max(0, old_scroll + delta), animate=False, force=True)
        if not self.seen_key:
            top = self.windows.row(0)
            self.seen_key = top.key if top else 0
        self._recount_unseen()
        self.refresh()

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

    def set_watch(self, pattern: re.Pattern[str] | None) -> None:
        self.watch_re = pattern
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
        self.cursor = index
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
        if self.unseen:
            self._mark_seen()

    def action_cursor_down(self) -> None:
        self.move_to(self.cursor + 1)

    def action_cursor_up(self) -> None:
        self.move_to(self.cursor - 1)

    def action_cursor_top(self) -> None:
        self.move_to(0)

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

    def _request(self, what: str) -> None:
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
        self._request("pin")

    def action_open_post(self) -> None:
        self._request("open")

    def action_details(self) -> None:
        self._request("details")

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        self.move_to(round(self.scroll_y) + offset.y)
        if event.chain >= 2:
            self._request("details")

    # ------------------------------------------------------------------ drawing

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()
        self._styles.clear()

    def _style_set(self, is_cursor: bool) -> tuple[Style, ...]:
        """(base, pin, time, channel, service, watch), computed once per theme/focus state:
        `rich_style` walks the ancestors and was the largest cost of drawing a line."""
        key = (is_cursor, self.has_focus)
        styles = self._styles.get(key)
        if styles is None:
            base = self.rich_style
            if is_cursor:
                base = base + self.get_component_rich_style("feed--cursor")
            styles = (base, *(base + self.get_component_rich_style(f"feed--{name}")
                              for name in ("pin", "time", "channel", "service", "watch")))
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
        try:
            row = self.windows.row(index)
        except Exception as exc:  # e.g. the store stayed locked: say so on the line, keep running
            self._failed(exc)
            style = self.get_component_rich_style("feed--empty")
            return Strip([Segment(f" (cannot read this line: {self.error})", style)]).crop_extend(
                0, width, self.rich_style)
        if row is None:
            return Strip.blank(width, self.rich_style)
        is_cursor = index == self.cursor
        cache_key = (row.key, row.snippet, row.channel_title, width, is_cursor, is_cursor and self.has_focus)
        strip = self._cache.get(cache_key)
        if strip is None:
            strip = self._render_row(row, width, is_cursor)
            self._cache[cache_key] = strip
        self._painted()
        return strip

    def _painted(self) -> None:
        now = time.perf_counter()
        self.last_paint = now
        if not self.first_paint:
            self.first_paint = now

    def _render_row(self, row: FeedRow, width: int, is_cursor: bool) -> Strip:
        """One line from plain text only: Segments never parse markup, controls are removed."""
        base, pin_style, time_style, chan_style, service_style, watch_style = self._style_set(is_cursor)
        text_style = service_style if row.service else base

        pinned = (row.source, row.post_id) in self.pinned
        channel = one_line(row.channel_title or row.channel, 64)
        if cell_len(channel) > CHANNEL_WIDTH:
            channel = set_cell_size(channel, CHANNEL_WIDTH - 1) + "…"
        segments = [
            Segment("★ " if pinned else "  ", pin_style),
            Segment(feed_time(row.published, self.time_mode), time_style),
            Segment(" ", base),
            Segment(set_cell_size(channel, CHANNEL_WIDTH), chan_style),
            Segment(" ", base),
        ]
        text = one_line(row.snippet, FEED_TEXT_CAP) or ("(service message)" if row.service else "(no text)")
        text = text[: 2 * width]  # a character is at least one cell (or a rare zero-width mark)
        for piece, style in highlight_segments(text, self.watch_re, text_style, watch_style):
            segments.append(Segment(piece, style))
        return Strip(segments).crop_extend(0, width, base)
