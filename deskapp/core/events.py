"""What the poller tells its listener (the desk, `desk poll`): one PollEvent per thing that happened.

Kept apart from poller.py so that a listener can read events without importing the HTTP client.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class PollEventKind(StrEnum):
    STORED = "stored"  # a page of `source` was committed: `new`, `changed`, `max_key`
    FAILED = "failed"  # `source` failed (`message` says why); no source: the poller itself cannot run
    STATUS = "status"  # `source` was polled; its health row changed
    STOPPED = "stopped"  # the poller ended
    WATCHING = "watching"  # another process polls this store (`message` names it); this one watches
    POLLING = "polling"  # ... and took over when that one ended
    ALERTS = "alerts"  # `new` alert rules matched (`message` names up to five)
    UNREACHABLE = "unreachable"  # the store's server cannot be reached (`message`); the poller keeps trying


@dataclass(frozen=True, slots=True)
class PollEvent:
    kind: PollEventKind
    source: str
    new: int = 0
    changed: int = 0
    max_key: int = 0
    message: str = ""
