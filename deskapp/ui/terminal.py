"""What the terminal sends, turned into events: a bracketed paste is always one Paste event.

Textual 8.2.8's XTermParser reads a paste character by character with its key logic still running:
an ESC inside the pasted text starts an escape sequence, and one it does not know (`ESC [ Z` then
more text, a second ESC, a timeout) is reissued as key presses. A paste holding `\\x1b[Z\\tXy` pressed
Tab, X and y in the desk and cleared the pinboard. `PasteSafeParser` wraps that parser: once the
paste start (ESC [ 200 ~) has gone through it, everything up to the paste end (ESC [ 201 ~) is
collected here and never reaches the key logic, whatever it holds. The text, without escape
sequences or control characters (`sanitize.clean_text`), goes to the focused widget as one Paste
event; only a text field does anything with it.

`PasteSafeDriver` is Textual's LinuxDriver with this parser (the driver builds its parser inside
`run_input_thread`, so that method is repeated here with the one class changed).
"""

from __future__ import annotations

import os
import selectors
from codecs import getincrementaldecoder
from collections import deque
from collections.abc import Generator
from typing import Any

from textual import events
from textual._loop import loop_last
from textual._parser import ParseEOF, ParseError, ParseTimeout, Peek1, Read1, TokenCallback
from textual._xterm_parser import BRACKETED_PASTE_END, BRACKETED_PASTE_START, XTermParser
from textual.drivers.linux_driver import LinuxDriver
from textual.message import Message

from deskapp.core.sanitize import clean_text

# A terminal writes a paste in one burst. If the end marker has not come after this long, the
# paste is delivered as it is (a terminal that lost the end must not swallow every later key).
PASTE_STALL = 3.0  # seconds
# After an end marker, how long to wait for another before the paste counts as over (see _read_paste).
PASTE_TAIL = 0.2  # seconds
# Kept of one paste (the rest is read and dropped): every field of the desk is one short line.
PASTE_CAP = 1_000_000  # characters


class PasteSafeParser(XTermParser):
    """XTermParser whose bracketed pastes never become keys (see the module docstring)."""

    def parse(self, token_callback: TokenCallback) -> Generator[Read1 | Peek1, str, None]:
        def keys_only(token: Message) -> None:
            # Every Paste is made here; the inner parser's own (empty, see below) are dropped.
            if not isinstance(token, events.Paste):
                token_callback(token)

        inner = super().parse(keys_only)
        request = next(inner)
        replay: deque[str] = deque()  # input read after a paste that turned out not to be pasted
        tail = ""  # the last characters the inner parser was given, to spot the paste start
        while True:
            if replay:
                character = replay.popleft()
            else:
                try:
                    character = yield request
                except (ParseTimeout, ParseEOF) as exc:
                    tail = ""  # a marker cut by a timeout is no marker (the inner parser agrees)
                    try:
                        request = inner.throw(exc)
                    except StopIteration:
                        return
                    continue
            try:
                request = inner.send(character)
            except StopIteration:
                return
            tail = (tail + character)[-len(BRACKETED_PASTE_START):]
            if tail != BRACKETED_PASTE_START:
                continue
            tail = ""
            # The inner parser took the start marker and waits for the next character: the pasted
            # text is read here instead, and never reaches its key logic.
            text, after, eof = yield from self._read_paste()
            # Cleaned here, before any widget sees it: Textual's own inputs (the command palette's)
            # would keep an ESC and draw it, and the terminal would obey it.
            token_callback(events.Paste(clean_text(text)))
            if eof:
                return
            # Leave the inner parser out of its paste state (its empty Paste is dropped above).
            for end_character in BRACKETED_PASTE_END:
                request = inner.send(end_character)
            replay.extend(after)

    def _read_paste(self) -> Generator[Read1, str, tuple[str, list[str], bool]]:
        """(pasted text, input that followed it, whether the input ended).

        A paste may hold the end marker itself (tmux 3.3 pastes a buffer verbatim), and what follows
        it would then be read as keys. So an end marker is final only when no other end marker
        follows within PASTE_TAIL: the terminal writes a paste in one burst, a person's next key
        comes later (and is only delayed, never lost)."""
        marker = BRACKETED_PASTE_END
        kept: list[str] = []
        pending: list[str] | None = None  # what came after an end marker, while waiting for another
        tail = ""
        while True:
            try:
                character = yield Read1(PASTE_STALL if pending is None else PASTE_TAIL)
            except ParseTimeout:
                return "".join(kept)[:PASTE_CAP], pending or [], False
            except ParseEOF:
                return "".join(kept)[:PASTE_CAP], pending or [], True
            tail = (tail + character)[-len(marker):]
            if tail == marker:
                tail = ""
                if pending is None:
                    del kept[len(kept) - (len(marker) - 1):]  # its head was kept before it showed
                elif len(kept) < PASTE_CAP + len(marker):
                    # The earlier end marker was pasted text, and so is everything up to this one.
                    kept.extend(marker)
                    kept.extend(pending[: len(pending) - (len(marker) - 1)])
                pending = []
            elif pending is not None:
                if len(pending) < PASTE_CAP:
                    pending.append(character)
            elif len(kept) < PASTE_CAP + len(marker):
                kept.append(character)


class PasteSafeDriver(LinuxDriver):
    """Textual's LinuxDriver reading input through PasteSafeParser."""

    def run_input_thread(self) -> None:
        # As LinuxDriver.run_input_thread in Textual 8.2.8, with PasteSafeParser.
        selector = selectors.SelectSelector()
        selector.register(self.fileno, selectors.EVENT_READ)
        fileno = self.fileno
        event_read = selectors.EVENT_READ
        parser = PasteSafeParser(self._debug)
        feed = parser.feed
        tick = parser.tick
        decode = getincrementaldecoder("utf-8")().decode
        read = os.read

        def process_selector_events(selector_events: list[tuple[Any, int]], final: bool = False) -> None:
            for last, (_key, mask) in loop_last(selector_events):
                if mask & event_read:
                    unicode_data = decode(read(fileno, 1024 * 4), final=final and last)
                    if not unicode_data:
                        break
                    for event in feed(unicode_data):
                        self.process_message(event)
            for event in tick():
                self.process_message(event)

        try:
            while not self.exit_event.is_set():
                process_selector_events(selector.select(0.1))
            selector.unregister(self.fileno)
            process_selector_events(selector.select(0.1), final=True)
        finally:
            selector.close()
            try:
                for _event in feed(""):
                    pass
            except (EOFError, ParseError):
                pass
