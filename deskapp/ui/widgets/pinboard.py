"""The pinboard: the pinned posts in the editor's order. A small list, so a DataTable is fine.

It only ever shows what `Store.pins()` returned: every change goes to the store first (the app does
that on a `PinRequest`), then the board is refilled from the store.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable

from deskapp.core.model import Pin, StoredPost, age_text
from deskapp.ui.keys import PIN_ACTIONS, bindings
from deskapp.ui.text import feed_time, line_text, one_line, post_marks

if TYPE_CHECKING:
    from deskapp.core.evidence import Check

_CHECK_STYLE = {"captured": "green", "unchanged": "green", "edited": "bold yellow", "deleted": "bold red",
                "channel_gone": "bold red", "unchecked": "dim"}
_CHECK_WORD = {"captured": "ok", "unchanged": "ok", "edited": "EDITED", "deleted": "DELETED",
               "channel_gone": "GONE", "unchecked": "failed"}


def check_cell(check: Check) -> Text:
    """A pin's last result and its age, e.g. "ok 4m", "DELETED 1h", "—" when never checked."""
    if check is None:
        return Text("—", style="dim")
    age = age_text(check.checked, short=True)
    return Text(f"{_CHECK_WORD.get(check.result.value, '?')} {age}", style=_CHECK_STYLE.get(check.result.value, ""),
                overflow="ellipsis", no_wrap=True)


class PinAction(StrEnum):
    """What the editor asked to do to the pin under the pinboard's cursor ('verify': every pin)."""

    UNPIN = "unpin"
    UP = "up"
    DOWN = "down"
    NOTE = "note"
    OPEN = "open"
    DETAILS = "details"
    VERIFY = "verify"
    LINK = "link"


def pin_text(sp: StoredPost) -> str:
    """The pin's text column: the feed's marks, then the text (a photo alone says so)."""
    post = sp.post
    marks = post_marks(forwarded=post.forwarded_from is not None, reply=bool(post.reply_to),
                       edited=post.edited or sp.revisions > 0, media=post.media)
    text = line_text(post.text[:400], service=post.service, has_media=bool(post.media), cap=300)
    return " ".join([*(f"[{m}]" for m in marks), text])


class Pinboard(DataTable):
    BINDINGS = bindings(PIN_ACTIONS)

    DEFAULT_CSS = """
    Pinboard { height: 1fr; }
    """

    class PinRequest(Message):
        """The editor asked to do `what` ('unpin', 'up', 'down', 'note', 'open', 'details', 'verify')
        to a pin ('verify' re-checks the whole board)."""

        def __init__(self, what: PinAction, pin: Pin, post: StoredPost) -> None:
            super().__init__()
            self.what = what
            self.pin = pin
            self.post = post

    def __init__(self, *, on_request: Callable[[Pinboard.PinRequest], None] | None = None,
                 id: str | None = None, classes: str | None = None) -> None:
        """`on_request`: handles unpin/move/note/... at once, in key order (else a PinRequest is posted)."""
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=True)
        self.on_request = on_request
        self.items: list[tuple[Pin, StoredPost]] = []
        self.time_mode = "utc"
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)  # which year is "this year"
        self.checks: dict[tuple[str, int], Check] = {}  # (source, id) -> its last check
        self.columns_shown: list[str] = []

    _ALWAYS = (("#", 2), ("Time", 12))
    # Shown while the text keeps TEXT_MIN cells, in this order: at 80 columns the pinboard keeps its
    # text (the note then leads the text), on a wide terminal every column is there.
    _OPTIONAL = (("Checked", 11), ("Note", 10), ("Channel", 11))
    TEXT_MIN = 20

    def _add_columns(self) -> None:
        # Labels are Text, never markup strings. The text column takes what is left of the width,
        # so nothing scrolls sideways.
        self._width = self.size.width
        pad = 2 * self.cell_padding
        used = sum(w + pad for _, w in self._ALWAYS) + pad + 2  # + the text's padding, the scrollbar
        self.columns_shown = [label for label, _ in self._ALWAYS]
        for label, width in self._OPTIONAL:
            if self.size.width - used - (width + pad) >= self.TEXT_MIN:
                used += width + pad
                self.columns_shown.append(label)
        widths = dict(self._ALWAYS + self._OPTIONAL)
        for label in self.columns_shown:
            self.add_column(Text(label), width=widths[label], key=label.lower())
        self.add_column(Text("Text"), width=max(8, self.size.width - used), key="text")

    def on_resize(self) -> None:
        if self.size.width != getattr(self, "_width", None):
            self.show(self.items)

    def show(self, items: list[tuple[Pin, StoredPost]], *, select: tuple[str, int] | None = None,
             checks: dict[tuple[str, int], Check] | None = None) -> None:
        """Refill from the store's answer; keep the cursor on `select` (or the same place).
        `checks`: each pin's last capture or re-check (None: keep the ones shown)."""
        row_before = self.cursor_row
        self.items = list(items)
        if checks is not None:
            self.checks = checks
        self.clear(columns=True)
        self._add_columns()
        for n, (pin, sp) in enumerate(self.items, start=1):
            post = sp.post
            cells = {
                "#": Text(str(n)),
                "Time": Text(feed_time(post.published, self.time_mode, now=self.clock())),
                "Channel": Text(one_line(post.channel_title or post.channel, 64), overflow="ellipsis", no_wrap=True),
                "Checked": check_cell(self.checks.get((pin.source, pin.post_id))),
                "Note": Text(one_line(pin.note, 200), overflow="ellipsis", no_wrap=True),
            }
            text = pin_text(sp)
            if pin.note and "Note" not in self.columns_shown:
                text = f"“{one_line(pin.note, 200)}” {text}"
            self.add_row(*(cells[label] for label in self.columns_shown),
                         Text(text, overflow="ellipsis", no_wrap=True), key=f"{pin.source}/{pin.post_id}")
        if not self.items:
            return
        target = row_before
        if select is not None:
            for i, (pin, _) in enumerate(self.items):
                if (pin.source, pin.post_id) == select:
                    target = i
                    break
        self.move_cursor(row=max(0, min(target, len(self.items) - 1)), animate=False)

    @property
    def current(self) -> tuple[Pin, StoredPost] | None:
        if not self.items:
            return None
        row = self.cursor_row
        return self.items[row] if 0 <= row < len(self.items) else None

    def _request(self, what: PinAction) -> None:
        item = self.current
        if item is None:
            return
        request = self.PinRequest(what, item[0], item[1])
        if self.on_request is not None:
            # Handled now, like the feed's: x then c must not cite the post just unpinned.
            self.on_request(request)
        else:
            self.post_message(request)

    def action_cursor_top(self) -> None:
        if self.items:
            self.move_cursor(row=0, animate=False)

    def action_cursor_bottom(self) -> None:
        if self.items:
            self.move_cursor(row=len(self.items) - 1, animate=False)

    def action_unpin(self) -> None:
        self._request(PinAction.UNPIN)

    def action_move_up(self) -> None:
        self._request(PinAction.UP)

    def action_move_down(self) -> None:
        self._request(PinAction.DOWN)

    def action_note(self) -> None:
        self._request(PinAction.NOTE)

    def action_open_post(self) -> None:
        self._request(PinAction.OPEN)

    def action_copy_link(self) -> None:
        self._request(PinAction.LINK)

    def action_details(self) -> None:
        self._request(PinAction.DETAILS)

    def action_verify(self) -> None:
        self._request(PinAction.VERIFY)
