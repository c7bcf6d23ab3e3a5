"""The store's side of desks: whose store it is, that desk's pinboard, its kept preferences.

A mixin of both stores (core/store.py and core/pg/store.py), written against a sqlite3-like
connection with `?` placeholders: SQLite runs it on its own connection, PostgreSQL through
core/pg/shared_sql.py. Every method goes through the store's own `_read`/`_write`, so locking,
transactions and retries are each store's. What differs between the two is a hook or a name:
`_pins_begin` (first in every pinboard write: PostgreSQL takes a per-desk lock and tells the
desk's boards at commit), `_PIN_SEQ` (insertion order: SQLite's rowid, PostgreSQL's `seq`) and
`_PREFS_LOCK` (how the read-modify-write of preferences keeps other writers out).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from deskapp.core.desks import desk_name, merged_prefs, moved
from deskapp.core.model import Pin, StoredPost, parse_utc_iso, utc_iso
from deskapp.core.sanitize import clean_text
from deskapp.core.store_rows import POST_COLS, feed_cols, post_from_pins, stored_post

T = TypeVar("T")


class PinStore:
    if TYPE_CHECKING:  # provided by each store (never defined here: a mixin's stub would shadow them)
        def _read(self, fn: Callable[[Any], T]) -> T: ...
        def _write(self, fn: Callable[[Any], T]) -> T: ...

    # The pins table's insertion order, the last tie-break of a board's order.
    _PIN_SEQ = "rowid"
    # Appended to the read of a desk's preferences before they are merged and written back. SQLite's
    # write transaction already shuts every other writer out.
    _PREFS_LOCK = ""

    def _pins_begin(self, conn: Any, desk: str) -> None:
        """First thing in every write to a desk's pinboard (PostgreSQL: one writer a desk, and
        the desks listening hear of the change at commit)."""

    @property
    def desk(self) -> str:
        """The desk whose pinboard and preferences this store reads and writes (core/desks.py)."""
        return self._desk

    @desk.setter
    def desk(self, name: str) -> None:
        self._desk = desk_name(name)
        # Built once per desk: every feed line and post read marks the pins of this desk.
        self._feed_cols = feed_cols(self._desk)
        self._post_from_pins = post_from_pins(self._desk)

    # ------------------------------------------------------------------ pins (of this store's desk)

    def pin(self, source: str, post_id: int, note: str = "") -> None:
        """Append the post to this desk's pinboard (committed on return); no-op when already pinned."""
        desk = self.desk

        def run(conn: Any) -> None:
            self._pins_begin(conn, desk)
            if conn.execute("SELECT 1 FROM pins WHERE desk = ? AND source = ? AND post_id = ?",
                            (desk, source, post_id)).fetchone():
                return
            if not conn.execute("SELECT 1 FROM posts WHERE source = ? AND post_id = ?", (source, post_id)).fetchone():
                raise KeyError(f"no stored post {source}/{post_id}")
            conn.execute(
                "INSERT INTO pins (desk, source, post_id, position, note, pinned_at) "
                "VALUES (?, ?, ?, (SELECT count(*) FROM pins WHERE desk = ?), ?, ?)",
                (desk, source, post_id, desk, clean_text(note), utc_iso(datetime.now(UTC))),
            )

        self._write(run)

    def _pin_order(self, conn: Any, desk: str) -> list[tuple[str, int]]:
        return [tuple(r) for r in conn.execute(
            f"SELECT source, post_id FROM pins WHERE desk = ? ORDER BY position, pinned_at, {self._PIN_SEQ}",
            (desk,)).fetchall()]

    @staticmethod
    def _set_positions(conn: Any, desk: str, order: list[tuple[str, int]]) -> None:
        conn.executemany("UPDATE pins SET position = ? WHERE desk = ? AND source = ? AND post_id = ?",
                         [(i, desk, s, p) for i, (s, p) in enumerate(order)])

    def unpin(self, source: str, post_id: int) -> None:
        desk = self.desk

        def run(conn: Any) -> None:
            self._pins_begin(conn, desk)
            if conn.execute("DELETE FROM pins WHERE desk = ? AND source = ? AND post_id = ?",
                            (desk, source, post_id)).rowcount:
                # Dense 0..n-1 again, in the current order (also repairs gaps left by outside edits).
                self._set_positions(conn, desk, self._pin_order(conn, desk))

        self._write(run)

    def move_pin(self, source: str, post_id: int, delta: int) -> None:
        """Move a pin by delta places (-1 up, +1 down), clamped to the board; others close ranks."""
        desk = self.desk

        def run(conn: Any) -> None:
            self._pins_begin(conn, desk)
            order = moved(self._pin_order(conn, desk), (source, post_id), delta)
            if order is None:
                return
            self._set_positions(conn, desk, order)

        self._write(run)

    def set_pin_note(self, source: str, post_id: int, note: str) -> None:
        desk = self.desk

        def run(conn: Any) -> None:
            self._pins_begin(conn, desk)
            conn.execute("UPDATE pins SET note = ? WHERE desk = ? AND source = ? AND post_id = ?",
                         (clean_text(note), desk, source, post_id))

        self._write(run)

    def clear_pins(self) -> int:
        """Unpin everything on this desk (other desks keep theirs); returns how many pins there were."""
        desk = self.desk

        def run(conn: Any) -> int:
            self._pins_begin(conn, desk)
            return conn.execute("DELETE FROM pins WHERE desk = ?", (desk,)).rowcount

        return self._write(run)

    def restore_pins(self, pins: list[Pin]) -> int:
        """Put unpinned pins back (undo): each at its old place, with its note and pin time, the
        others moving down. Pins already on the board, or whose post is gone, are skipped; returns
        how many came back."""
        desk = self.desk

        def run(conn: Any) -> int:
            self._pins_begin(conn, desk)
            order = self._pin_order(conn, desk)
            pinned = set(order)
            back = 0
            for pin in sorted(pins, key=lambda p: p.position):
                item = (pin.source, pin.post_id)
                if item in pinned or not conn.execute(
                        "SELECT 1 FROM posts WHERE source = ? AND post_id = ?", item).fetchone():
                    continue
                conn.execute("INSERT INTO pins (desk, source, post_id, position, note, pinned_at) "
                             "VALUES (?, ?, ?, ?, ?, ?)",
                             (desk, *item, len(order), clean_text(pin.note), utc_iso(pin.pinned_at)))
                order.insert(max(0, min(pin.position, len(order))), item)
                pinned.add(item)
                back += 1
            self._set_positions(conn, desk, order)
            return back

        return self._write(run)

    def pins(self) -> list[tuple[Pin, StoredPost]]:
        """This desk's pinboard in the editor's order (pins whose post is gone are left out)."""
        rows = self._read(lambda c: c.execute(
            f"SELECT pins.position, pins.note, pins.pinned_at, {POST_COLS} FROM pins "
            "JOIN posts p ON p.source = pins.source AND p.post_id = pins.post_id "
            f"WHERE pins.desk = ? ORDER BY pins.position, pins.pinned_at, pins.{self._PIN_SEQ}",
            (self.desk,)).fetchall())
        out = []
        for r in rows:
            stored = stored_post(r[3:])
            out.append((Pin(stored.post.source, stored.post.id, r[0], r[1], parse_utc_iso(r[2])), stored))
        return out

    def desks(self) -> list[tuple[str, int]]:
        """Every desk this store knows (with pins or preferences), by name, with its number of pins."""
        return self._read(lambda c: [tuple(r) for r in c.execute(
            "SELECT name, (SELECT count(*) FROM pins WHERE pins.desk = names.name) FROM "
            "(SELECT desk AS name FROM pins UNION SELECT name FROM desks) AS names ORDER BY name").fetchall()])

    # ------------------------------------------------------------------ desk preferences

    def desk_prefs(self) -> dict[str, Any]:
        """This desk's kept preferences (citation format, heading, options...); {} when none yet."""
        row = self._read(lambda c: c.execute("SELECT prefs FROM desks WHERE name = ?", (self.desk,)).fetchone())
        try:
            prefs = json.loads(row[0]) if row else {}
        except ValueError:
            return {}  # edited by hand into something else: defaults, never a crash
        return prefs if isinstance(prefs, dict) else {}

    def set_desk_prefs(self, **changes: Any) -> dict[str, Any]:
        """Merge JSON-able `changes` into this desk's preferences (a None value removes the key)."""
        desk = self.desk

        def run(conn: Any) -> dict[str, Any]:
            row = conn.execute(f"SELECT prefs FROM desks WHERE name = ?{self._PREFS_LOCK}", (desk,)).fetchone()
            prefs = merged_prefs(row[0] if row else None, changes)
            conn.execute(
                "INSERT INTO desks (name, prefs, last_used) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET prefs = excluded.prefs, last_used = excluded.last_used",
                (desk, json.dumps(prefs, ensure_ascii=False, sort_keys=True), utc_iso(datetime.now(UTC))))
            return prefs

        return self._write(run)
