"""The SQLite store's own SQL, run on PostgreSQL: one implementation of the modules that write
their queries against a connection (store_attention.py, store_pins.py, store_rows.py, dedup.py,
attention.py, evidence.py).

Those modules keep to SQL both servers understand (`INSERT ... ON CONFLICT`, `RETURNING`,
`NOT EXISTS`); what differs is only the placeholder (`?` there, `%s` in psycopg), and that a
sqlite3 connection hands out a new cursor per `execute` (a loop over one query may run others).
`QmarkConnection` gives a psycopg cursor exactly that face.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from typing import Any

import psycopg
from psycopg import pq


@lru_cache(maxsize=1024)
def qmark_to_pg(sql: str) -> str:
    """`?` placeholders as psycopg's `%s` (a literal `%` doubled). The shared SQL never writes a
    `?` or `%` inside a string literal; parameters carry every value. Cached: the same string
    object each time lets psycopg find its parsed query at once (a new, equal string cost ~5 us a
    statement)."""
    return sql.replace("%", "%%").replace("?", "%s")


_ROWS = pq.ExecStatus.TUPLES_OK


class QmarkResult:
    """One statement's result, as a sqlite3 cursor gives it (fetchone, fetchall, iteration,
    rowcount, description). It reads from the face's psycopg cursor until the face runs another
    statement there; the rows not yet read are copied out just before (psycopg holds them all in
    memory already), so a loop over one query may run others, as on SQLite. Nothing is copied for
    a result read to its end, and the column names only when asked for (psycopg's description
    costs tens of microseconds for a post's 31 columns)."""

    __slots__ = ("_cur", "_res", "_rows", "rowcount")

    def __init__(self, cur: psycopg.Cursor) -> None:
        self._cur: psycopg.Cursor | None = cur
        self._res: pq.abc.PGresult | None = None  # once detached: the result, for its column names
        self._rows: list[tuple[Any, ...]] = []
        self.rowcount = cur.rowcount

    @property
    def description(self) -> Sequence[Sequence[Any]] | None:
        if self._cur is not None:
            return self._cur.description
        res = self._res
        # sqlite3's shape: (name, None x 6) per column.
        return None if res is None else tuple((res.fname(i).decode(), *(None,) * 6) for i in range(res.nfields))

    def detach(self) -> None:
        """Keep what is left to read: the cursor is about to run something else."""
        cur, self._cur = self._cur, None
        res = cur.pgresult if cur is not None else None
        if res is not None and res.status == _ROWS:
            self._res = res
            if cur.rownumber < res.ntuples:  # type: ignore[union-attr, operator]
                self._rows = cur.fetchall()  # type: ignore[union-attr]
                self._rows.reverse()  # popped from the end, first row first

    def fetchone(self) -> tuple[Any, ...] | None:
        if self._cur is not None:
            return self._cur.fetchone()
        return self._rows.pop() if self._rows else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        if self._cur is not None:
            return self._cur.fetchall()
        rows, self._rows = self._rows[::-1], []
        return rows

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        while (row := self.fetchone()) is not None:
            yield row


class QmarkConnection:
    """The part of sqlite3.Connection the shared modules use, over one psycopg cursor inside the
    store's open transaction. Every statement runs on that cursor (a new cursor per statement
    cost ~20 us of client CPU each, the set-up of its first execute: benchmarks/RESULTS-pg.md);
    each result stays readable on its own (QmarkResult), also after `release()`."""

    def __init__(self, cur: psycopg.Cursor) -> None:
        self.cur = cur
        self._last: QmarkResult | None = None

    def execute(self, sql: str, params: Sequence[Any] = ()) -> QmarkResult:
        if self._last is not None:
            self._last.detach()
        self.cur.execute(qmark_to_pg(sql), params if type(params) is tuple else tuple(params))
        self._last = QmarkResult(self.cur)
        return self._last

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> QmarkResult:
        if self._last is not None:
            self._last.detach()
        self.cur.executemany(qmark_to_pg(sql), [tuple(r) for r in rows])
        self._last = QmarkResult(self.cur)
        return self._last

    def release(self) -> None:
        """The cursor goes back to its owner (the transaction's other statements, or its end):
        a result still held keeps its rows."""
        if self._last is not None:
            self._last.detach()
            self._last = None
