"""Hearing other processes' commits on PostgreSQL: one connection of its own LISTENing to the
channels the store NOTIFYs at commit (new posts, changed pinboards), no polling of the tables.

The channels: desk_posts (a page of new or changed posts), desk_pins (a desk's pinboard) and
desk_sources (a source's health after a poll). `follow()` runs on a thread of the caller's (the desk's worker) until told to stop, and only calls
back: `on_change(channel, payload)` as each notification arrives; `on_link(True, "")` each time the
LISTEN is in force (the first time too: what was committed before it was never announced, so the
caller reads again), `on_link(False, reason)` once when the server went away. A lost server is
retried with a growing pause.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import psycopg

from deskapp.core.pg.store import CHANNEL, PINS_CHANNEL, SOURCES_CHANNEL

WAKE = 0.5  # seconds between looks at the stop flag while nothing is heard (no query is sent)
IDLE_CHECK = 10.0  # seconds of silence after which a `SELECT 1` asks whether the server is still there
RETRY_FIRST = 0.25  # seconds before the first reconnect; doubled up to RETRY_MAX
RETRY_MAX = 5.0

OnChange = Callable[[str, str], None]
OnLink = Callable[[bool, str], None]


def follow(url: str, stop: threading.Event, on_change: OnChange, on_link: OnLink, *,
           channels: tuple[str, ...] = (CHANNEL, PINS_CHANNEL, SOURCES_CHANNEL), connect_timeout: float = 5.0) -> None:
    """Listen until `stop` is set (see the module's doc)."""
    pause = RETRY_FIRST
    lost = False
    while not stop.is_set():
        try:
            conn = psycopg.connect(url, autocommit=True, connect_timeout=max(1, round(connect_timeout)))
        except psycopg.Error as exc:
            if not lost:
                lost = True
                on_link(False, _one_line(exc))
            stop.wait(pause)
            pause = min(pause * 2, RETRY_MAX)
            continue
        try:
            with conn:
                for channel in channels:
                    conn.execute(f"LISTEN {channel}")
                lost = False
                pause = RETRY_FIRST
                on_link(True, "")
                _hear(conn, stop, on_change)
        except psycopg.Error as exc:
            if not stop.is_set():
                lost = True
                on_link(False, _one_line(exc))
                stop.wait(pause)
                pause = min(pause * 2, RETRY_MAX)


def _hear(conn: psycopg.Connection, stop: threading.Event, on_change: OnChange) -> None:
    quiet_since = time.monotonic()
    while not stop.is_set():
        heard = False
        for note in conn.notifies(timeout=WAKE):
            heard = True
            on_change(note.channel, note.payload)
            if stop.is_set():
                return
        now = time.monotonic()
        if heard:
            quiet_since = now
        elif now - quiet_since >= IDLE_CHECK:
            conn.execute("SELECT 1")  # a server that vanished without closing the socket is noticed
            quiet_since = now


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
