"""Messages the desk passes around. Workers (the poller thread) only ever post these; handlers on the
UI loop own all state and widgets."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from deskapp.core.events import PollEvent
    from deskapp.core.evidence import Check


class PollerEvent(Message):
    """Something the poller committed or noticed."""

    def __init__(self, event: PollEvent) -> None:
        super().__init__()
        self.event = event


class PollerStopped(Message):
    """The poller thread ended; `error` is a readable reason when it ended by failing."""

    def __init__(self, error: str = "") -> None:
        super().__init__()
        self.error = error


class StoreChanged(Message):
    """Rows up to `max_key` may exist now (from the in-process poller or another process)."""

    def __init__(self, max_key: int = 0) -> None:
        super().__init__()
        self.max_key = max_key


class PinsChanged(Message):
    """The pins in the store changed; every pane re-reads them from the store."""


class CursorMoved(Message):
    """The feed's cursor is on another post (for panes that follow it)."""

    def __init__(self, key: int | None) -> None:
        super().__init__()
        self.key = key


class PinChecked(Message):
    """A capture or re-check of one pin was recorded."""

    def __init__(self, check: Check) -> None:
        super().__init__()
        self.check = check


class VerifyFinished(Message):
    """A capture or re-check run ended: `kind` "capture" | "recheck", its checks, or why it failed."""

    def __init__(self, kind: str, checks: list[Check], error: str = "") -> None:
        super().__init__()
        self.kind = kind
        self.checks = checks
        self.error = error
