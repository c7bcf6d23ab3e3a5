"""Real archive links: ask Save Page Now to archive a permalink and keep the snapshot URL it answers.

Anonymous `GET <archive>/save/<permalink>`, one request at a time with a generous gap (the archive is
a shared public service), redirects not followed: the answer's `Location` (or `Content-Location`, or a
`/web/<14 digits>/<permalink>` address in the body) names the snapshot. The archive's address is a
setting, so tests and the demo use a local stand-in. A 429 stops the run: the remaining posts are
reported as not asked, with the reason. Every exchange is kept in `fetches` like a re-check's.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import httpx

from deskapp.core.evidence import Exchange, FetchLimits, PostFetcher, decoded_body, insert_chain, iso_ms
from deskapp.core.fetch import HostClocks
from deskapp.core.model import parse_utc_iso, utc_iso
from deskapp.core.politeness import is_loopback
from deskapp.core.store import Store

__all__ = ["DEFAULT_ARCHIVE", "archive_limits", "Snapshot", "Archiver", "latest_snapshots", "save_url", "snapshot_from"]

DEFAULT_ARCHIVE = "https://web.archive.org"
ARCHIVE_MIN_GAP = 5.0  # seconds between two requests to a real archive, whatever the settings say
_WEB = re.compile(r"/web/(\d{14})/")


@dataclass(slots=True)
class Snapshot:
    source: str
    post_id: int
    url: str  # the permalink archived
    requested: datetime
    snapshot: str | None = None  # the archived copy's address; None when the archive did not give one
    error: str | None = None
    fetch_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"post": f"{self.source}/{self.post_id}", "url": self.url, "requested": utc_iso(self.requested),
                "snapshot": self.snapshot, "error": self.error}


def archive_limits(limits: FetchLimits, archive: str, gap: float) -> FetchLimits:
    """The fetch limits for the archive: the poller's, with the archive's own gap (floored off loopback)."""
    floor = 0.0 if is_loopback(archive) else ARCHIVE_MIN_GAP
    return replace(limits, min_gap=max(gap, floor))


def save_url(archive: str, url: str) -> str:
    return f"{archive.rstrip('/')}/save/{url}"


def snapshot_from(ex: Exchange, archive: str, url: str) -> str | None:
    """The snapshot address an answer names, made absolute against the archive's address."""
    base = archive.rstrip("/") + "/"
    for name in ("Location", "Content-Location"):
        value = ex.header(name)
        if value and _WEB.search(value):
            return urljoin(base, value.strip())
    if ex.status == 200:
        m = re.search(rb"/web/\d{14}/" + re.escape(url.encode()), decoded_body(ex))
        if m:
            return urljoin(base, m.group().decode())
    return None


class Archiver:
    """Asks the archive for each post in turn; `on_result` hears each answer as it is recorded."""

    def __init__(self, store: Store, limits: FetchLimits, archive: str = DEFAULT_ARCHIVE, *,
                 transport: httpx.AsyncBaseTransport | None = None,
                 on_result: Callable[[Snapshot], None] | None = None, clocks: HostClocks | None = None) -> None:
        self.store, self.limits, self.archive = store, limits, archive
        self.transport, self.on_result, self.clocks = transport, on_result, clocks
        self.requests = 0

    async def save(self, posts: Sequence[tuple[str, int, str]]) -> list[Snapshot]:
        """Archive each (source, post id, permalink), one at a time."""
        out: list[Snapshot] = []
        stop_reason: str | None = None
        async with PostFetcher(self.limits, transport=self.transport, clocks=self.clocks) as fetcher:
            try:
                for source, post_id, url in posts:
                    snap = Snapshot(source, post_id, url, datetime.now(UTC))
                    chain: list[Exchange] = []
                    if stop_reason is not None:
                        snap.error = f"not asked: {stop_reason}"
                    else:
                        chain = await fetcher.get(save_url(self.archive, url), follow=False)
                        last = chain[-1]
                        snap.snapshot = snapshot_from(last, self.archive, url)
                        if snap.snapshot is None:
                            snap.error = last.error or (f"HTTP {last.status} {last.reason}".rstrip()
                                                        if last.status and last.status >= 400
                                                        else "the archive named no snapshot")
                        if last.status == 429:
                            stop_reason = "the archive asked us to slow down (HTTP 429)"
                    self._record(chain, snap)
                    out.append(snap)
                    if self.on_result is not None:
                        self.on_result(snap)
            finally:
                self.requests += fetcher.requests
        return out

    def _record(self, chain: list[Exchange], snap: Snapshot) -> None:
        def run(conn: sqlite3.Connection) -> None:
            if chain:
                insert_chain(conn, chain)
                snap.fetch_id = chain[-1].id
            conn.execute("INSERT INTO snapshots (source, post_id, url, requested, snapshot, error, fetch_id) "
                         "VALUES (?,?,?,?,?,?,?)", (snap.source, snap.post_id, snap.url, iso_ms(snap.requested),
                                                    snap.snapshot, snap.error, snap.fetch_id))

        self.store._write(run)


def latest_snapshots(store: Store, posts: Iterable[tuple[str, int]] | None = None) -> dict[tuple[str, int], Snapshot]:
    """The newest snapshot the archive named for each post (posts never archived are absent)."""
    wanted = None if posts is None else {(s, int(i)) for s, i in posts}
    rows = store._read(lambda c: c.execute(
        "SELECT source, post_id, url, requested, snapshot, error, fetch_id FROM snapshots WHERE id IN "
        "(SELECT max(id) FROM snapshots WHERE snapshot IS NOT NULL GROUP BY source, post_id)").fetchall())
    out = {}
    for source, post_id, url, requested, snapshot, error, fetch_id in rows:
        if wanted is None or (source, int(post_id)) in wanted:
            out[(source, int(post_id))] = Snapshot(source, int(post_id), url, parse_utc_iso(requested),
                                                   snapshot, error, fetch_id)
    return out


def snapshots_of(store: Store, source: str, post_id: int) -> list[Snapshot]:
    rows = store._read(lambda c: c.execute(
        "SELECT source, post_id, url, requested, snapshot, error, fetch_id FROM snapshots "
        "WHERE source = ? AND post_id = ? ORDER BY id", (source, post_id)).fetchall())
    return [Snapshot(r[0], int(r[1]), r[2], parse_utc_iso(r[3]), r[4], r[5], r[6]) for r in rows]
