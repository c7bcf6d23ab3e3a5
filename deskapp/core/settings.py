"""The settings the core runs on. deskapp/config.py reads the settings file and builds them; the core
never reads that file itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from deskapp.core.alerts import Rule
from deskapp.core.model import SourceConfig


@dataclass(slots=True)
class PollerSettings:
    interval: float = 300.0  # seconds between polls of one channel (adapted per channel, see poller)
    min_interval: float = 60.0
    max_interval: float = 1800.0
    min_gap: float = 2.0  # seconds between two requests to one host
    gap_jitter: float = 1.5  # plus up to this much, at random
    timeout: float = 20.0
    max_body: int = 4_000_000  # bytes; a preview page is ~150 KB
    backoff_base: float = 30.0
    backoff_max: float = 3600.0
    backfill_pages: int = 3  # older pages fetched on first sight of a channel
    parse_timeout: float = 20.0  # seconds a page may take to parse (in a worker process) before it is refused
    user_agent: str = "desk/0.1 (+newsroom wire monitor)"
    # Many pollers on PostgreSQL (core/pg/leases.py, core/pg/turns.py):
    lease_seconds: float = 30.0  # a source stays with a poller this long past its last heartbeat
    address: str = ""  # pollers naming the same outgoing address share each host's gap ("": this host name)


class PollPlan(Protocol):
    """What the poller reads: the sources and the [poller] table (config.Settings has both)."""

    sources: list[SourceConfig]
    poller: PollerSettings


@dataclass(slots=True)
class AttentionSettings:
    rules: list[Rule] = field(default_factory=list)  # alert and mute rules from the settings file
    bell: bool = False  # ring the terminal bell in the desk on an alert
    notify: bool = True  # a desktop notification where notify-send exists
    command: list[str] = field(default_factory=list)  # run per alert with the post as JSON on stdin
