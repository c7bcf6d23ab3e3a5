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
