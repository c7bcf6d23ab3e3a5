"""The store's side of attention (schema v6): the queue, alerts, mutes, desk rules, groups, read marks.

A mixin of both stores, kept apart so each module holds one job (store.py the file). Every method goes
through the Store's own `_read`/`_write`, so locking and retries are the Store's. The PostgreSQL
store runs the same methods (core/pg/attention.py): the SQL here is what both servers understand
(upserts as ON CONFLICT, ids by RETURNING), and how a drain claims its batch is a hook.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from deskapp.core import dedup
from deskapp.core.alerts import (
    AlertKind,
    AlertRow,
    Rule,
    RuleAction,
    RuleError,
    RuleSet,
    rule_from_json,
    rule_to_json,
)
from deskapp.core.model import Copies, parse_utc_iso, utc_iso

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Queued:
    key: int
    source: str
    post_id: int
    url: str
    text: str
    edited: bool
    pinned: bool  # on any desk
    gone: bool = False  # queued, then deleted from posts: nothing to attend to


def _queued(conn: Any, where: str, args: Sequence[Any]) -> list[Queued]:
    """Queued posts with what attending them needs; a post deleted since it was queued is `gone`."""
    rows = conn.execute(
        "SELECT q.key, p.source, p.post_id, p.url, p.text, q.edited, "
        "EXISTS (SELECT 1 FROM pins WHERE pins.source = p.source AND pins.post_id = p.post_id), p.key IS NULL "
        f"FROM attention_queue q LEFT JOIN posts p ON p.key = q.key {where}", args).fetchall()
    return [Queued(r[0], r[1] or "", r[2] or 0, r[3] or "", r[4] or "", bool(r[5]), bool(r[6]), bool(r[7]))
            for r in rows]


class AttentionStore:
    desk: str

    if TYPE_CHECKING:  # provided by each store (a stub defined here would shadow a mixin's method)
        def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T: ...
        def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T: ...
        def desk_prefs(self) -> dict[str, Any]: ...
        def set_desk_prefs(self, **changes: Any) -> dict[str, Any]: ...
        def get_by_key(self, key: int) -> Any: ...

    # ------------------------------------------------------------------ the queue

    # Appended to the query that takes a batch off the queue. SQLite's write transaction already
    # shuts every other writer out; PostgreSQL locks the batch's rows (core/pg/attention.py).
    _ATTEND_CLAIM = ""
    # Whether a drain transaction keeps the poller's commits waiting (SQLite: one writer at a time),
    # so that Attention sizes its batches to hold it briefly (attention.next_batch).
    DRAIN_HOLDS_WRITERS = True
    # Set by `queued` when it read nothing because another drainer holds the queue (PostgreSQL).
    queue_busy = False

    def _attend_begin(self, conn: Any) -> None:
        """First thing in a drain's transaction (PostgreSQL: one drainer at a time)."""

    def attention_backlog(self) -> int:
        return self._read(lambda c: c.execute("SELECT count(*) FROM attention_queue").fetchone()[0])

    def queued(self, limit: int) -> list[Queued]:
        """The oldest `limit` queued posts, read without the write lock: what is slow to work out
        about them (fingerprints, rule matches) is worked out before `attend` takes them."""
        return self._read(lambda c: _queued(c, "ORDER BY q.key LIMIT ?", (limit,)))

    def attend(self, work: Callable[[sqlite3.Connection, Sequence[Queued]], list[tuple]],
               queued: Sequence[Queued]) -> list[AlertRow]:
        """In one write transaction: read (claim) the `queued` posts again, let `work` index and
        match those still as they were read (text and edit mark), record its alert rows, and take
        those posts off the queue, with any whose post is gone. A post edited since it was read stays
        queued for the next turn; one another drainer took is left alone. The alerts raised, oldest first."""
        def run(conn: sqlite3.Connection) -> list[AlertRow]:
            self._attend_begin(conn)
            keys = [q.key for q in queued]
            now: dict[int, Queued] = {}
            for i in range(0, len(keys), 500):
                chunk = keys[i:i + 500]
                now.update((q.key, q) for q in _queued(
                    conn, f"WHERE q.key IN ({','.join('?' * len(chunk))}) ORDER BY q.key{self._ATTEND_CLAIM}", chunk))
            still = [n for q in queued if (n := now.get(q.key)) is not None and not n.gone
                     and (n.text, n.edited) == (q.text, q.edited)]
            done = [n.key for n in still] + [k for k, n in now.items() if n.gone]
            new_alerts = work(conn, still) if still else []
            first_id = None
            for row in new_alerts:
                new_id = conn.execute("INSERT INTO alerts (key, source, post_id, rule, what, kind, at) "
                                      "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id", row).fetchone()[0]
                first_id = new_id if first_id is None else first_id
            for i in range(0, len(done), 500):
                chunk = done[i:i + 500]
                conn.execute(f"DELETE FROM attention_queue WHERE key IN ({','.join('?' * len(chunk))})", chunk)
            return [] if first_id is None else _alerts_from(conn, "a.id >= ? ORDER BY a.id", (first_id,))

        return self._write(run)

    # ------------------------------------------------------------------ alerts

    def alerts(self, *, after_id: int = 0, since: datetime | None = None, limit: int = 1000) -> list[AlertRow]:
        """Alerts newest last: those after `after_id` (a desk's last seen) or raised since `since`."""
        where, args = "a.id > ?", [after_id]
        if since is not None:
            where += " AND a.at >= ?"
            args.append(utc_iso(since))
        return self._read(lambda c: _alerts_from(
            c, f"{where} ORDER BY a.id DESC LIMIT ?", (*args, max(1, min(limit, 100_000))))[::-1])

    def last_alert_id(self) -> int:
        return self._read(lambda c: c.execute("SELECT coalesce(max(id), 0) FROM alerts").fetchone()[0])

    # ------------------------------------------------------------------ rules editors add from a desk

    def rules(self) -> list[tuple[int, Rule]]:
        """(id, rule) for the rules kept in the store; a row that no longer parses is skipped."""
        out = []
        for rid, spec in self._read(lambda c: c.execute("SELECT id, spec FROM rules ORDER BY id").fetchall()):
            try:
                out.append((rid, rule_from_json(json.loads(spec))))
            except (RuleError, ValueError, TypeError):
                continue
        return out

    def rules_stamp(self) -> tuple[int, int]:
        return self._read(lambda c: tuple(c.execute("SELECT count(*), coalesce(max(id), 0) FROM rules").fetchone()))

    def add_rule(self, rule: Rule, *, apply_back: int = 50_000) -> tuple[int, int]:
        """Keep a rule added from this desk. A mute rule also hides the last `apply_back` posts it
        matches (an editor muting a flood expects it gone now). Returns (rule id, posts now muted)."""
        spec = json.dumps(rule_to_json(rule), ensure_ascii=False)
        matcher = RuleSet([rule]) if rule.action is RuleAction.MUTE else None

        def run(conn: sqlite3.Connection) -> tuple[int, int]:
            rid = conn.execute("INSERT INTO rules (desk, spec, created) VALUES (?, ?, ?) RETURNING id",
                               (self.desk, spec, utc_iso(datetime.now(UTC)))).fetchone()[0]
            hidden = 0
            if matcher is not None:
                rows = conn.execute("SELECT key, source, text FROM posts ORDER BY key DESC LIMIT ?",
                                    (apply_back,)).fetchall()
                hits = [(k, rule.name) for k, s, t in rows
                        if matcher.match(t or "", source=s, kind=s.partition(":")[0])]
                conn.executemany("INSERT INTO muted (key, rule) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", hits)
                hidden = len(hits)
            return rid, hidden

        return self._write(run)

    def remove_rule(self, rule_id: int) -> bool:
        """Forget a desk rule; posts it muted show again."""
        def run(conn: sqlite3.Connection) -> bool:
            row = conn.execute("SELECT spec FROM rules WHERE id = ?", (rule_id,)).fetchone()
            if row is None:
                return False
            conn.execute("DELETE FROM rules WHERE id = ?", (rule_id,))
            name = json.loads(row[0]).get("name", "")
            conn.execute("DELETE FROM muted WHERE rule = ?", (name,))
            return True

        return self._write(run)

    # ------------------------------------------------------------------ mutes

    def muted_count(self) -> int:
        return self._read(lambda c: c.execute("SELECT count(*) FROM muted").fetchone()[0])

    def is_muted(self, key: int) -> str | None:
        row = self._read(lambda c: c.execute("SELECT rule FROM muted WHERE key = ?", (key,)).fetchone())
        return row[0] if row else None

    # ------------------------------------------------------------------ who posted it first

    def duplicate_group(self, key: int) -> list[tuple[int, float]]:
        """(key, similarity to the first) for every post grouped with `key`, earliest first."""
        return self._read(lambda c: dedup.DuplicateIndex(c).group(key))

    def copies_count(self, keys: Sequence[int]) -> dict[int, Copies]:
        """For feed rows: how many later posts repeat each of these, and in which channels (by name,
        earliest first); keys nobody repeated are left out."""
        if not keys:
            return {}

        def run(conn: sqlite3.Connection) -> dict[int, Copies]:
            found: dict[int, list[str]] = {}
            for i in range(0, len(keys), 500):
                chunk = list(keys[i:i + 500])
                rows = conn.execute(
                    "SELECT g.first_key, coalesce(nullif(p.channel_title, ''), p.channel, p.source) "
                    "FROM dup_groups g JOIN posts p ON p.key = g.key "
                    f"WHERE g.first_key IN ({','.join('?' * len(chunk))}) ORDER BY g.key", chunk).fetchall()
                for first, name in rows:
                    found.setdefault(first, []).append(name or "")
            return {k: Copies(len(names), tuple(dict.fromkeys(names))) for k, names in found.items()}

        return self._read(run)

    def first_of(self, key: int) -> int:
        """The earliest post `key` copies (itself when it copies none)."""
        row = self._read(lambda c: c.execute("SELECT first_key FROM dup_groups WHERE key = ?", (key,)).fetchone())
        return row[0] if row else key

    def earliest_posts(self, posts: Sequence[Any]) -> dict[tuple[str, int], Any]:
        """For citations (cite option `earliest`): by (source, post id), the first post of the same
        news for each StoredPost another post came before."""
        out = {}
        for sp in posts:
            first = self.first_of(sp.key)
            if first != sp.key:
                found = self.get_by_key(first)
                if found is not None:
                    out[(sp.post.source, sp.post.id)] = found
        return out

    # ------------------------------------------------------------------ read position (per desk)

    def read_mark(self) -> int | None:
        value = self.desk_prefs().get("read_key")
        return value if isinstance(value, int) else None

    def set_read_mark(self, key: int) -> None:
        self.set_desk_prefs(read_key=int(key))

    def unread_by_source(self) -> dict[str, int]:
        """Posts above this desk's read mark, per source (every post when there is no mark yet)."""
        mark = self.read_mark() or 0
        return dict(self._read(lambda c: c.execute(
            "SELECT source, count(*) FROM posts WHERE key > ? GROUP BY source", (mark,)).fetchall()))


def _alerts_from(conn: sqlite3.Connection, where: str, args: Sequence[object]) -> list[AlertRow]:
    rows = conn.execute(
        "SELECT a.id, a.key, a.source, a.post_id, a.rule, a.what, a.kind, a.at, coalesce(p.url, ''), "
        f"coalesce(substr(p.text, 1, 500), '') FROM alerts a LEFT JOIN posts p ON p.key = a.key WHERE {where}",
        tuple(args)).fetchall()
    return [AlertRow(r[0], r[1], r[2], r[3], r[4], r[5], AlertKind(r[6]), parse_utc_iso(r[7]), r[8], r[9])
            for r in rows]
