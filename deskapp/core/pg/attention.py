"""Attention on PostgreSQL: the SQLite store's attention methods (core/store_attention.py) as they
are, run through the `?`-placeholder face (core/pg/shared_sql.py), with the drain's claim made safe
for several pollers draining one server at once.

A drain takes a transaction-level advisory lock first, so drainers on several machines take turns:
grouping near-copies needs the posts in key order (a copy drained beside its original, each in its
own transaction, would not see the original's band keys). Its batch is then claimed with
`FOR UPDATE OF q SKIP LOCKED`: a queue row that a storing transaction is re-texting right now is
left for the next drain instead of being deleted under it (the edit would be lost), and no two
drainers can ever take the same row, lock or no lock. A drainer that finds the lock taken when it
reads the queue reads nothing: the one draining carries on until the queue is empty.
"""

from __future__ import annotations

from typing import Any

from deskapp.core.store_attention import AttentionStore, Queued, _queued

# The advisory lock every drain of a server takes in turn (pg_advisory_xact_lock: released at commit).
DRAIN_LOCK = "desk-attention"


class PgAttention(AttentionStore):
    """Mixed into PgStore: alerts, mutes, desk rules, duplicate groups and read marks."""

    _ATTEND_CLAIM = " FOR UPDATE OF q SKIP LOCKED"
    # A drain takes no lock the poller's ingest needs (only the claimed queue rows): full batches.
    DRAIN_HOLDS_WRITERS = False

    def _attend_begin(self, conn: Any) -> None:
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (DRAIN_LOCK,))

    def queued(self, limit: int) -> list[Queued]:
        """The oldest `limit` queued posts, or none while another poller is draining: it goes on
        until the queue is empty, and fingerprinting the same batch here would be work thrown away
        (two drainers drained 2,000 posts at half the speed of one, benchmarks/bench_pg_attention.py)."""
        def run(conn: Any) -> list[Queued]:
            self.queue_busy = not conn.execute("SELECT pg_try_advisory_xact_lock(hashtext(?))",
                                               (DRAIN_LOCK,)).fetchone()[0]
            return [] if self.queue_busy else _queued(conn, "ORDER BY q.key LIMIT ?", (limit,))

        return self._read(run)  # type: ignore[attr-defined]

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
