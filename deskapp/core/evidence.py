"""Evidence: the exact HTTP exchanges behind a pin's captures and re-checks, kept in the store.

An `Exchange` is one request and its answer as they went over the wire: the URL, the UTC time the
request was sent, the request headers, the status line, the response headers in their order, the
raw body and its SHA-256. A redirect is one exchange per hop (`redirected_from` links them), so an
evidence file can show how a channel's page turned into a landing card.

A `Check` is what one capture or re-check concluded about one post, pointing at the exchange it
read. `EvidenceLog` writes both in one transaction and reads them back (latest result per post, the
capture to compare against, every exchange of a post for `desk evidence`).

`PostFetcher` makes the requests under the poller's politeness rules: one request at a time per
host with the jittered gap, a host-wide pause on 429 honouring Retry-After, the same timeout, body
cap and User-Agent. Failures never raise: they come back as an exchange with `error` set.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urljoin

import httpx

from deskapp.core.fetch import (
    ACCEPT_ENCODING,
    BoundedDecoder,
    FetchError,
    HostClocks,
    HostGate,
    describe_error,
    host_of,
    parse_retry_after,
)
from deskapp.core.model import CheckKind, parse_utc_iso, utc_iso
from deskapp.core.politeness import clamped
from deskapp.core.store import Store

__all__ = ["Check", "EvidenceLog", "Exchange", "PostFetcher", "Result", "FetchLimits"]

MAX_REDIRECTS = 5


class Result(StrEnum):
    CAPTURED = "captured"  # a capture that found the post
    UNCHANGED = "unchanged"
    EDITED = "edited"  # the text differs from the capture (detail: the difference)
    DELETED = "deleted"  # the channel answers but the post is not there (deleted or hidden)
    CHANNEL_GONE = "channel_gone"  # no public channel any more (landing card, no preview)
    UNCHECKED = "unchecked"  # could not check (detail: why)

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Result.CAPTURED: "captured",
    Result.UNCHANGED: "unchanged",
    Result.EDITED: "edited since capture",
    Result.DELETED: "deleted or hidden",
    Result.CHANNEL_GONE: "channel gone",
    Result.UNCHECKED: "could not check",
}


@dataclass(slots=True)
class Exchange:
    """One HTTP request and its response (status None: nothing usable came back, see `error`)."""

    url: str
    requested: datetime
    request_headers: list[tuple[str, str]] = field(default_factory=list)
    status: int | None = None
    reason: str = ""
    http_version: str = "HTTP/1.1"
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    error: str | None = None
    id: int | None = None  # fetches.id once stored
    redirected_from: int | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)


@dataclass(slots=True)
class Check:
    """What one capture or re-check found for one post."""

    source: str
    post_id: int
    kind: CheckKind
    result: Result
    checked: datetime  # UTC, when the answer was read
    detail: str = ""  # the difference for EDITED, the reason for UNCHECKED / CHANNEL_GONE
    text: str | None = None  # the post's text as the answer showed it (None: not there)
    text_sha256: str | None = None
    url: str = ""  # the URL asked for
    fetch_id: int | None = None
    id: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "post": f"{self.source}/{self.post_id}",
            "kind": self.kind,
            "result": self.result.value,
            "label": self.result.label,
            "checked": utc_iso(self.checked),
            "detail": self.detail,
            "url": self.url,
            "text_sha256": self.text_sha256,
        }


@dataclass(slots=True)
class FetchLimits:
    """The politeness settings a fetcher follows (the poller's, see config.PollerSettings)."""

    min_gap: float = 2.0
    gap_jitter: float = 1.5
    timeout: float = 20.0
    max_body: int = 4_000_000
    user_agent: str = "desk/0.1 (+newsroom wire monitor)"
    backoff_base: float = 30.0

    @classmethod
    def of(cls, poller: Any, base_urls: list[str]) -> FetchLimits:
        """The poller's settings, with the politeness floors for the hosts asked (see core/politeness.py)."""
        poller = clamped(poller, base_urls)
        return cls(min_gap=poller.min_gap, gap_jitter=poller.gap_jitter, timeout=poller.timeout,
                   max_body=poller.max_body, user_agent=poller.user_agent, backoff_base=poller.backoff_base)


class PostFetcher:
    """Polite single-page fetches that record every hop. Use inside one event loop (`async with`)."""

    def __init__(self, limits: FetchLimits, *, transport: httpx.AsyncBaseTransport | None = None,
                 clocks: HostClocks | None = None) -> None:
        """`clocks`: per-host turns shared with the poller of this process (see fetch.HostClock)."""
        self.limits = limits
        self._transport = transport
        self._clocks = clocks
        self._gates: dict[str, HostGate] = {}
        self._client: httpx.AsyncClient | None = None
        self.requests = 0  # how many requests went out (benchmarks and tests read it)

    async def __aenter__(self) -> PostFetcher:
        self._client = httpx.AsyncClient(
            follow_redirects=False,  # each hop is evidence of its own
            timeout=httpx.Timeout(self.limits.timeout, connect=min(self.limits.timeout, 10.0)),
            headers={"User-Agent": self.limits.user_agent, "Accept": "text/html,application/xhtml+xml",
                     "Accept-Encoding": ACCEPT_ENCODING},  # only what decoded_body can undo
            transport=self._transport,
            trust_env=False,
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def gate(self, url: str) -> HostGate:
        host = host_of(url)
        gate = self._gates.get(host)
        if gate is None:
            gate = self._gates[host] = HostGate(self.limits.min_gap, self.limits.gap_jitter,
                                                self._clocks.get(host) if self._clocks else None)
        return gate

    def paused_for(self, url: str) -> float:
        """Seconds the host of `url` asked us to stay away (0 when it did not)."""
        gate = self.gate(url)
        shared = gate.clock.shared_pause() if gate.clock is not None else 0.0
        return max(shared, gate.paused_until - time.monotonic(), 0.0)

    async def get(self, url: str, *, follow: bool = True) -> list[Exchange]:
        """GET `url`, following redirects hop by hop (unless not `follow`); every hop is returned, the answer last."""
        chain: list[Exchange] = []
        for _ in range(MAX_REDIRECTS + 1):
            ex = await self._one(url)
            chain.append(ex)
            location = ex.header("Location") if ex.status in (301, 302, 303, 307, 308) and follow else None
            if not location:
                return chain
            url = urljoin(url, location)
        chain[-1].error = f"more than {MAX_REDIRECTS} redirects"
        return chain

    async def _one(self, url: str) -> Exchange:
        assert self._client is not None, "use PostFetcher inside `async with`"
        limits = self.limits
        async with self.gate(url) as gate:
            ex = Exchange(url=url, requested=datetime.now(UTC))
            self.requests += 1
            try:
                await asyncio.wait_for(self._read(url, ex), timeout=limits.timeout * 2)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                ex.error = describe_error(exc, limits.timeout)
            if ex.status == 429:
                retry = parse_retry_after(ex.header("Retry-After"))
                wait = retry if retry is not None else limits.backoff_base
                gate.pause(wait)
                ex.error = f"rate limited (HTTP 429); host paused for {wait:.0f} s"
            return ex

    async def _read(self, url: str, ex: Exchange) -> None:
        assert self._client is not None
        cap = self.limits.max_body
        request = self._client.build_request("GET", url)
        ex.request_headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
        resp = await self._client.send(request, stream=True)
        try:
            ex.status = resp.status_code
            ex.reason = resp.reason_phrase
            ex.http_version = resp.http_version
            ex.headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in resp.headers.raw]
            declared = resp.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > cap:
                ex.error = f"response too large ({int(declared):,} bytes, cap {cap:,})"
                return
            chunks: list[bytes] = []
            size = 0
            # Raw bytes as sent (a gzip body stays gzip): the evidence is what the server said.
            async for chunk in resp.aiter_raw():
                size += len(chunk)
                if size > cap:
                    ex.error = f"response too large (over the {cap:,} byte cap)"
                    return
                chunks.append(chunk)
            ex.body = b"".join(chunks)
        finally:
            await resp.aclose()


DECODED_CAP = 4_000_000  # bytes a kept body may decode to (the poller's default max_body)


def decoded_body(ex: Exchange, cap: int = DECODED_CAP) -> bytes:
    """The body with its Content-Encoding undone (what a parser reads), at most `cap` decoded bytes."""
    try:
        return BoundedDecoder(ex.header("Content-Encoding"), cap).decode_all(ex.body)
    except FetchError:
        return b""  # a body that lies about its encoding, or a bomb, reads as empty: the check says so


# --------------------------------------------------------------------------------------- the store


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _headers_json(headers: list[tuple[str, str]]) -> str:
    return json.dumps([[k, v] for k, v in headers], ensure_ascii=False)


def _exchange(row: sqlite3.Row | tuple[Any, ...]) -> Exchange:
    (fid, url, requested, req_headers, status, reason, version, headers, body, error, prev) = row
    return Exchange(url=url, requested=parse_utc_iso(requested),
                    request_headers=[tuple(h) for h in json.loads(req_headers or "[]")],
                    status=status, reason=reason or "", http_version=version or "HTTP/1.1",
                    headers=[tuple(h) for h in json.loads(headers or "[]")], body=bytes(body or b""),
                    error=error, id=fid, redirected_from=prev)


_FETCH_COLS = ("id, url, requested, request_headers, status, reason, http_version, headers, body, error, "
               "redirected_from")
_CHECK_COLS = "id, source, post_id, kind, result, checked, detail, text, text_sha256, url, fetch_id"


def _check(row: tuple[Any, ...]) -> Check:
    cid, source, post_id, kind, result, checked, detail, text, sha, url, fetch_id = row
    return Check(source=source, post_id=int(post_id), kind=CheckKind(kind), result=Result(result),
                 checked=parse_utc_iso(checked), detail=detail or "", text=text, text_sha256=sha,
                 url=url or "", fetch_id=fetch_id, id=cid)


def iso_ms(ts: datetime) -> str:
    """UTC with milliseconds: two requests in one second must still be told apart and ordered."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def insert_chain(conn: sqlite3.Connection, chain: list[Exchange]) -> None:
    """Insert the hops of one request not stored yet (inside the caller's transaction); sets their ids."""
    prev: int | None = None
    for ex in chain:
        if ex.id is None:
            row = conn.execute(
                "INSERT INTO fetches (url, requested, request_headers, status, reason, http_version, "
                "headers, body, sha256, error, redirected_from) VALUES (?,?,?,?,?,?,?,?,?,?,?) RETURNING id",
                (ex.url, iso_ms(ex.requested), _headers_json(ex.request_headers), ex.status,
                 ex.reason, ex.http_version, _headers_json(ex.headers),
                 ex.body if ex.status is not None else None,
                 ex.sha256 if ex.status is not None else None, ex.error, prev)).fetchone()
            ex.id, ex.redirected_from = row[0], prev
        prev = ex.id


class EvidenceLog:
    """Reads and writes captures, re-checks and their exchanges through an open Store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def record(self, chains: Iterable[list[Exchange]], checks: Iterable[tuple[Check, list[Exchange] | None]]) -> None:
        """Store exchanges (each chain in hop order) and the checks that read them, in one transaction.

        A check's `fetch_id` is set to the last hop of its chain (a chain shared by several checks is
        stored once)."""
        chains = list(chains)
        checks = list(checks)

        def run(conn: sqlite3.Connection) -> None:
            for chain in chains:
                insert_chain(conn, chain)
            for check, chain in checks:
                if chain:
                    check.fetch_id = chain[-1].id
                check.id = conn.execute(
                    "INSERT INTO checks (source, post_id, kind, result, checked, detail, text, text_sha256, url, "
                    "fetch_id) VALUES (?,?,?,?,?,?,?,?,?,?) RETURNING id",
                    (check.source, check.post_id, str(check.kind), check.result.value, iso_ms(check.checked),
                     check.detail, check.text, check.text_sha256, check.url, check.fetch_id)).fetchone()[0]

        try:
            self.store._write(run)
        except BaseException:
            for chain in chains:  # nothing was stored: a retry must insert them again
                for ex in chain:
                    ex.id = None
            raise

    def latest(self, posts: Iterable[tuple[str, int]] | None = None, *,
               answered: bool = False) -> dict[tuple[str, int], Check]:
        """The newest check of each post (of the given posts, or of every post ever checked);
        `answered`: the newest that got an answer about the post (not "could not check")."""
        wanted = None if posts is None else {(s, int(i)) for s, i in posts}
        where = "WHERE result != 'unchecked' " if answered else ""

        def run(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
            return conn.execute(
                f"SELECT {_CHECK_COLS} FROM checks WHERE id IN "
                f"(SELECT max(id) FROM checks {where}GROUP BY source, post_id)").fetchall()

        out = {}
        for row in self.store._read(run):
            c = _check(row)
            if wanted is None or (c.source, c.post_id) in wanted:
                out[(c.source, c.post_id)] = c
        return out

    def baseline(self, source: str, post_id: int) -> Check | None:
        """The newest capture that saw the post's text: what re-checks compare against."""
        row = self.store._read(lambda c: c.execute(
            f"SELECT {_CHECK_COLS} FROM checks WHERE source = ? AND post_id = ? AND kind = 'capture' "
            "AND text IS NOT NULL ORDER BY id DESC LIMIT 1", (source, post_id)).fetchone())
        return _check(row) if row else None

    def checks_of(self, source: str, post_id: int) -> list[Check]:
        rows = self.store._read(lambda c: c.execute(
            f"SELECT {_CHECK_COLS} FROM checks WHERE source = ? AND post_id = ? ORDER BY id",
            (source, post_id)).fetchall())
        return [_check(r) for r in rows]

    def chain(self, fetch_id: int) -> list[Exchange]:
        """The exchange `fetch_id` and the hops that redirected to it, first hop first."""
        out: list[Exchange] = []
        seen: set[int] = set()
        nxt: int | None = fetch_id
        while nxt is not None and nxt not in seen:
            seen.add(nxt)
            row = self.store._read(lambda c, i=nxt: c.execute(
                f"SELECT {_FETCH_COLS} FROM fetches WHERE id = ?", (i,)).fetchone())
            if row is None:
                break
            ex = _exchange(row)
            out.append(ex)
            nxt = ex.redirected_from
        return out[::-1]
