"""The SQLite store's own SQL, run on PostgreSQL: one implementation of the modules that write
their queries against a connection (store_attention.py, store_pins.py, store_rows.py, dedup.py,
attention.py, evidence.py).

Those modules keep to SQL both servers understand (`INSERT ... ON CONFLICT`, `RETURNING`,
`NOT EXISTS`); what differs is only the placeholder (`?` there, `%s` in psycopg), and that a
sqlite3 connection hands out a new cursor per `execute` (a loop over one query may run others).
`QmarkConnection` gives a psycopg connection exactly that face.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import psycopg


def qmark_to_pg(sql: str) -> str:
    """`?` placeholders as psycopg's `%s` (a literal `%` doubled). The shared SQL never writes a
    `?` or `%` inside a string literal; parameters carry every value."""
    return sql.replace("%", "%%").replace("?", "%s")


class QmarkConnection:
    """The part of sqlite3.Connection the shared modules use, over one psycopg connection inside
    the store's open transaction."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> psycopg.Cursor:
        return self.conn.cursor().execute(qmark_to_pg(sql), tuple(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> psycopg.Cursor:
        cur = self.conn.cursor()
        cur.executemany(qmark_to_pg(sql), [tuple(r) for r in rows])
        return cur
