"""Messages the desk passes around. Workers (the poller thread) only ever post these; handlers on the
UI loop own all state and widgets."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from deskapp.core.events import PollEvent
    from deskapp.core.evidence import Check
    from deskapp.core.model import CheckKind


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


class PinChecked(Message):
    """A capture or re-check of one pin was recorded."""

    def __init__(self, check: Check) -> None:
        super().__init__()
        self.check = check


class VerifyFinished(Message):
    """A capture or re-check run ended: its checks, or why it failed."""

    def __init__(self, kind: CheckKind, checks: list[Check], error: str = "") -> None:
        super().__init__()
        self.kind = kind
        self.checks = checks
        self.error = error


class StoreNotified(Message):
    """Another connection committed (PostgreSQL NOTIFY): new posts, or `desk`'s pinboard changed."""

    def __init__(self, channel: str, payload: str) -> None:
        super().__init__()
        self.channel = channel
        self.payload = payload


class StoreLink(Message):
    """The desk's LISTEN connection is in force (`up`), or the server went away (`reason`)."""

    def __init__(self, up: bool, reason: str = "") -> None:
        super().__init__()
        self.up = up
        self.reason = reason
