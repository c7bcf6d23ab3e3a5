"""Attention: what the store does with each new or edited post after it is committed.

Posts enter `attention_queue` by trigger, in the transaction that stores them (schema v6), so no
post can be stored and then forgotten by a crash. `Attention.drain()` takes a batch off the queue
and, in one write transaction: groups each new post with the earliest near-copy (core/dedup.py),
records the alert rules it matches and the mute rules that hide it (core/alerts.py), and raises a
"pinned post edited" alert for an edit of a post some desk has pinned. `AttentionWorker` does this
on a thread of its own for the poller (in the desk or headless), then runs the outside hooks for
the alerts raised: a desktop notification and the newsroom's command, each post as JSON on the
command's standard input.
"""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from deskapp.core import dedup
from deskapp.core.alerts import AlertKind, AlertRow, Match, RuleSet, split_rules
from deskapp.core.model import utc_iso
from deskapp.core.settings import AttentionSettings
from deskapp.core.store_attention import Queued

if TYPE_CHECKING:
    from deskapp.core.pg.store import PgStore
    from deskapp.core.store import Store

log = logging.getLogger("desk.attention")

# Whether AttentionWorker runs on a PostgreSQL store: the poller asks here (and, while False, polls
# without it, saying so once). Several pollers' workers drain one queue without alerting twice.
ON_POSTGRESQL = True
DRAIN_BATCH = 500  # posts read from the queue at most at a time
FIRST_BATCH = 32  # posts in the first transaction, before any has been timed
HOLD_TARGET = 0.02  # seconds a drain transaction aims to hold the store's write lock (see next_batch)
HOOK_TIMEOUT = 10.0  # seconds the newsroom's command may take for one alert


def _kind_of(source: str) -> str:
    return source.partition(":")[0]


def next_batch(done: int, held: float, *, target: float = HOLD_TARGET, most: int = DRAIN_BATCH) -> int:
    """Posts for the next drain transaction, from the last one: `done` posts held the write lock
    `held` seconds. Aimed at `target`, growing at most twofold a step: the poller's commits wait
    for at most one such transaction (core/write_turns.py), so a backlog of 10^5 posts (an import)
    must never hold the lock for long whatever the machine's load."""
    if done <= 0:
        return FIRST_BATCH
    fit = int(done * target / held) if held > 0 else most
    return max(1, min(most, 2 * done, fit))


@dataclass(frozen=True, slots=True)
class _Prepared:
    """What a queued post's text gives without the store: its fingerprint and the rules it matches."""

    fp: dedup.Fingerprint
    alerts: list[Match]
    muted: list[Match]


class Attention:
    """Drains the store's attention queue with the settings' rules and the store's own rules."""

    def __init__(self, store: Store | PgStore, settings: AttentionSettings | None = None) -> None:
        self.store = store
        self.settings = settings or AttentionSettings()
        self._rules_seen: tuple[int, int] | None = None
        self.alerts = RuleSet([])
        self.mutes = RuleSet([])
        self._first_posts: dict = {}  # dedup's shingle cache, kept across batches
        self.batch = FIRST_BATCH  # posts in the next drain transaction (see next_batch)
        self.last_read = 0

    def _load_rules(self) -> None:
        """Settings rules plus the rules editors added from a desk (reloaded when those change)."""
        stamp = self.store.rules_stamp()
        if stamp == self._rules_seen:
            return
        rules = [*self.settings.rules, *(r for _, r in self.store.rules())]
        self.alerts, self.mutes = split_rules(rules)
        self._rules_seen = stamp

    def drain(self, limit: int | None = None) -> list[AlertRow]:
        """Process up to `limit` queued posts (default: as many as fit the lock-holding target, see
        next_batch); the alerts they raised, oldest first. `last_read` says how many were read."""
        self._load_rules()
        queued = self.store.queued(limit or self.batch)
        self.last_read = len(queued)
        if not queued:
            return []
        # The pure-Python work (normalising, shingles, MinHash, rules) is done before the write
        # transaction: inside it, it held the poller's commits for 0.5-1 s per 500 posts.
        prepared = {q.key: self._prepare(q) for q in queued if not q.gone and not q.edited}
        started: list[float] = []

        def work(conn: sqlite3.Connection, still: Sequence[Queued]) -> list[tuple]:
            started.append(time.perf_counter())
            return self._work(conn, still, prepared)

        raised = self.store.attend(work, queued)
        if not self.store.DRAIN_HOLDS_WRITERS:
            self.batch = DRAIN_BATCH  # nobody waits for this transaction: the largest batch drains fastest
        elif started:
            self.batch = next_batch(len(queued), time.perf_counter() - started[0])
        return raised

    def drain_all(self) -> int:
        """Drain until the queue is empty, in this thread; how many alerts were raised. For tests and
        tools: `desk import` leaves its posts queued for the next poller's AttentionWorker (grouping
        and matching cost about 0.13 ms a post: 2.6 s of CPU more for 20,000 posts, benchmarks/RESULTS.md)."""
        raised = 0
        while self.store.attention_backlog():
            raised += len(self.drain())
            if not self.last_read:
                time.sleep(0.05)  # another poller is draining this server's queue (PostgreSQL): it empties it
        return raised

    def _prepare(self, q: Queued) -> _Prepared:
        kind = _kind_of(q.source)
        return _Prepared(dedup.fingerprint(q.text), self.alerts.match(q.text, source=q.source, kind=kind),
                         self.mutes.match(q.text, source=q.source, kind=kind))

    def _work(self, conn: sqlite3.Connection, queued: Sequence[Queued],
              prepared: dict[int, _Prepared]) -> list[tuple]:
        """Inside the store's transaction: index, record matches and mutes. Returns alert rows to insert."""
        index = dedup.DuplicateIndex(conn, self._first_posts)
        now = utc_iso(datetime.now(UTC))
        alerts: list[tuple] = []
        mutes: list[tuple[int, str]] = []

        def text_of(keys: list[int]) -> dict[int, str]:
            marks = ",".join("?" * len(keys))
            return dict(conn.execute(f"SELECT key, text FROM posts WHERE key IN ({marks})", keys).fetchall())

        for q in queued:
            if q.edited:
                if q.pinned:
                    alerts.append((q.key, q.source, q.post_id, "pinned post edited", "", str(AlertKind.PINNED_EDIT), now))
                continue
            p = prepared[q.key]
            index.add(q.key, q.text, text_of=text_of, fp=p.fp)
            for m in p.alerts:
                alerts.append((q.key, q.source, q.post_id, m.rule.name, m.what, str(AlertKind.RULE), now))
            if p.muted:
                mutes.append((q.key, p.muted[0].rule.name))
        if mutes:
            conn.executemany("INSERT INTO muted (key, rule) VALUES (?, ?) "
                             "ON CONFLICT (key) DO UPDATE SET rule = excluded.rule", mutes)
        return alerts


def run_hooks(alerts: Sequence[AlertRow], settings: AttentionSettings) -> threading.Thread | None:
    """Desktop notification and the newsroom's command for each alert, off the caller's thread."""
    if not alerts or not (settings.notify or settings.command):
        return None
    notifier = shutil.which("notify-send") if settings.notify else None
    if not notifier and not settings.command:
        return None

    def run() -> None:
        for alert in alerts:
            if notifier:
                _run([notifier, "--app-name=desk", f"desk alert: {alert.rule}", f"{alert.text[:200]}\n{alert.url}"])
            if settings.command:
                payload = json.dumps(alert.to_json(), ensure_ascii=False).encode()
                _run(settings.command, payload)

    thread = threading.Thread(target=run, name="desk-alert-hooks", daemon=True)
    thread.start()
    return thread


def _run(cmd: Sequence[str], stdin: bytes | None = None) -> None:
    try:
        done = subprocess.run(list(cmd), input=stdin, capture_output=True, timeout=HOOK_TIMEOUT, check=False)
        if done.returncode != 0:
            log.warning("alert hook %s exited %s: %s", cmd[0], done.returncode,
                        done.stderr.decode(errors="replace")[-300:])
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("alert hook %s failed: %s", cmd[0], exc)


class AttentionWorker:
    """Drains the queue on a thread of its own, with a store of its own, so neither the poller's
    loop nor the desk ever waits for grouping or rules. `kick()` after storing; it also looks by
    itself every IDLE_LOOK seconds, for posts another process (`desk import`, another poller) queued.

    `store`: what to open, as --db takes it (a SQLite path or a postgresql:// URL, core/backend.py),
    or a function that opens one."""

    IDLE_LOOK = 5.0
    BUSY_LOOK = 0.25  # seconds between looks while another poller drains the queue

    def __init__(self, store: str | Path | Callable[[], Store | PgStore], settings: AttentionSettings, *,
                 on_alerts: Callable[[list[AlertRow]], None] | None = None, desk: str | None = None) -> None:
        self.store_target = store
        self.settings = settings
        self.on_alerts = on_alerts
        self.desk = desk
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="desk-attention", daemon=True)
        self.drained = 0  # posts processed, for tests and logs
        self._finish_by: float | None = None

    def _finishing(self) -> bool:
        return self._finish_by is not None and time.monotonic() < self._finish_by

    def start(self) -> AttentionWorker:
        self._thread.start()
        return self

    def kick(self) -> None:
        self._wake.set()

    def stop(self, *, finish: bool = False, timeout: float = 30.0) -> None:
        """End the thread; with `finish`, after draining what is queued (at most `timeout` seconds:
        whatever is left stays queued for the next poller)."""
        self._finish_by = time.monotonic() + timeout if finish else None
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout + 5)

    def _open(self) -> Store | PgStore:
        if callable(self.store_target):
            return self.store_target()
        from deskapp.core.backend import open_store

        return open_store(self.store_target)

    def _run(self) -> None:
        try:
            store = self._open()
        except Exception as exc:
            log.warning("attention: cannot open the store: %s", exc)
            return
        try:
            attention = Attention(store, self.settings)
            while True:
                if not self._stop.is_set():
                    self._wake.wait(self.IDLE_LOOK)
                    self._wake.clear()
                while not self._stop.is_set() or self._finishing():
                    try:
                        raised = attention.drain()
                    except Exception as exc:  # never stop polling for this; the posts stay queued
                        log.warning("attention: %s", exc)
                        break
                    if not attention.last_read:
                        if store.queue_busy and not self._stop.is_set():
                            # Another poller is draining (PostgreSQL): look again soon, in case it
                            # read the queue just before this poller's posts were committed.
                            self._stop.wait(self.BUSY_LOOK)
                            continue
                        break
                    self.drained += attention.last_read
                    if raised:
                        run_hooks(raised, self.settings)
                        if self.on_alerts:
                            self.on_alerts(raised)
                if self._stop.is_set():
                    break
        finally:
            store.close()
