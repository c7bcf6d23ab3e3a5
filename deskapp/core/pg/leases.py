"""Many pollers on one PostgreSQL store: each enabled source is leased by one poller at a time.

Every `LeaseKeeper.round()` (a poller's heartbeat, once a round, well inside the lease period):
the poller says it is alive, renews its own leases, gives back what is over its fair share
(ceil(sources / live pollers)), and takes free or expired leases up to that share with
`FOR UPDATE SKIP LOCKED`, so pollers claiming at once never wait on each other nor take the same
source. A poller that dies stops renewing: its leases expire after `lease_s` and the next round of
any other poller takes them, so its sources are polled again within two lease periods.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Collection
from datetime import timedelta
from typing import Any

from deskapp.core.pg.store import PgStore

FORGET_AFTER = 10  # lease periods after which a silent poller's row is deleted


def poller_name() -> str:
    """A name no other poller has, now or later: host, pid and a random part (a pid is reused)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(3)}"


class LeaseKeeper:
    def __init__(self, store: PgStore, name: str, *, lease_s: float = 30.0) -> None:
        self.store = store
        self.name = name
        self.lease = timedelta(seconds=lease_s)

    def round(self, busy: Collection[str] = ()) -> list[str]:
        """Heartbeat, rebalance and claim; the sources this poller holds now, by name.

        `busy`: sources this poller is polling right now. They are never given back (the poller
        stays over its share until a later round), so no other poller polls them meanwhile."""
        me, lease = self.name, self.lease

        def run(cur: Any) -> list[str]:
            cur.execute("INSERT INTO pollers (name, seen) VALUES (%s, now()) "
                        "ON CONFLICT (name) DO UPDATE SET seen = now()", (me,))
            # Pollers that died long ago (a SIGKILL never says goodbye): their rows would only pile up.
            cur.execute("DELETE FROM pollers WHERE seen < now() - %s", (lease * FORGET_AFTER,))
            cur.execute("INSERT INTO leases (source) SELECT name FROM sources WHERE enabled <> 0 "
                        "ON CONFLICT (source) DO NOTHING")
            total = cur.execute("SELECT count(*) FROM sources WHERE enabled <> 0").fetchone()[0]
            live = cur.execute("SELECT count(*) FROM pollers WHERE seen > now() - %s", (lease,)).fetchone()[0]
            share = -(-total // max(1, live))
            held = [r[0] for r in cur.execute(
                "UPDATE leases SET expires = now() + %s WHERE poller = %s RETURNING source", (lease, me)).fetchall()]
            held.sort(key=lambda s: (s not in busy, s))
            if len(held) > share:  # others have joined: give the rest back, they take it next round
                keep = max(share, sum(1 for s in held if s in busy))
                cur.execute("UPDATE leases SET poller = NULL, expires = NULL WHERE source = ANY(%s)",
                            (held[keep:],))
                held = held[:keep]
            elif len(held) < share:
                held += [r[0] for r in cur.execute(
                    "UPDATE leases SET poller = %s, expires = now() + %s WHERE source IN ("
                    " SELECT l.source FROM leases l JOIN sources s ON s.name = l.source AND s.enabled <> 0"
                    " WHERE l.poller IS NULL OR l.expires < now()"
                    " ORDER BY l.source LIMIT %s FOR UPDATE OF l SKIP LOCKED) RETURNING source",
                    (me, lease, share - len(held))).fetchall()]
            return sorted(held)

        return self.store._pg_write(run)

    def release(self) -> None:
        """Give every lease back (a poller that stops cleanly): the others take them at once."""
        def run(cur: Any) -> None:
            cur.execute("UPDATE leases SET poller = NULL, expires = NULL WHERE poller = %s", (self.name,))
            cur.execute("DELETE FROM pollers WHERE name = %s", (self.name,))

        self.store._pg_write(run)
