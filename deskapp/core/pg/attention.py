"""Attention on PostgreSQL: the SQLite store's attention methods (core/store_attention.py) as they
are, run through the `?`-placeholder face (core/pg/shared_sql.py), with the drain's claim made safe
for several pollers draining one server at once.

A drain takes a transaction-level advisory lock first, so drainers on several machines take turns:
grouping near-copies needs the posts in key order (a copy drained beside its original, each in its
own transaction, would not see the original's band keys). Its batch is then claimed with
`FOR UPDATE OF q SKIP LOCKED`: a queue row that a storing transaction is re-texting right now is
left for the next drain instead of being deleted under it (the edit would be lost), and no two
drainers can ever take the same row, lock or no lock.
"""

from __future__ import annotations

from typing import Any

from deskapp.core.store_attention import AttentionStore

# The advisory lock every drain of a server takes in turn (pg_advisory_xact_lock: released at commit).
DRAIN_LOCK = "desk-attention"


class PgAttention(AttentionStore):
    """Mixed into PgStore: alerts, mutes, desk rules, duplicate groups and read marks."""

    _ATTEND_CLAIM = " FOR UPDATE OF q SKIP LOCKED"

    def _attend_begin(self, conn: Any) -> None:
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (DRAIN_LOCK,))

    def muted_in(self, *, query: str | None = None, sources: list[str] | None = None,
                 after_key: int | None = None, prefix: bool = False) -> int:
        """How many posts of this feed a mute rule hid (the desk's "N hidden")."""
        where = self._where(query, prefix, sources, "only")  # type: ignore[attr-defined]
        if where[2]:
            return 0
        conds, params = list(where[0]), where[1]
        if after_key is not None:
            conds.append("p.key > %(after)s")
            params["after"] = after_key
        sql = f"SELECT count(*) FROM posts p WHERE {' AND '.join(conds)}"
        return self._pg_read(lambda c: c.execute(sql, params).fetchone()[0])  # type: ignore[attr-defined]


def muted_cond(muted: str) -> str:
    """A condition over p for the feed's `muted` filter: "hide" (not muted) or "only" (muted)."""
    exists = "EXISTS (SELECT 1 FROM muted m WHERE m.key = p.key)"
    return f"NOT {exists}" if muted == "hide" else exists
