"""HTTP politeness: one request at a time per host with a jittered gap, Retry-After and backoff,
a capped streaming GET, and readable reasons for every transport failure."""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx


class FetchError(Exception):
    """A failed fetch, with a reason an editor can read. `retry_after`: seconds the host asked for."""

    def __init__(self, reason: str, *, retry_after: float | None = None, host_wide: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.host_wide = host_wide


@dataclass(slots=True)
class Fetched:
    status: int
    body: bytes
    final_url: str
    etag: str | None
    last_modified: str | None


class HostGate:
    """One request at a time per host, a jittered gap between requests, a shared pause after 429."""

    def __init__(self, min_gap: float, jitter: float):
        self.lock = asyncio.Lock()
        self.min_gap = min_gap
        self.jitter = jitter
        self.last = 0.0  # monotonic time the last request finished
        self.paused_until = 0.0

    async def __aenter__(self) -> HostGate:
        await self.lock.acquire()
        try:
            while True:
                now = time.monotonic()
                wait = max(self.paused_until - now,
                           self.last + self.min_gap + random.uniform(0, self.jitter) - now)
                if wait <= 0:
                    break
                await asyncio.sleep(wait)
        except BaseException:
            self.lock.release()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.last = time.monotonic()
        self.lock.release()

    def pause(self, seconds: float) -> None:
        self.paused_until = max(self.paused_until, time.monotonic() + seconds)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def backoff_delay(errors: int, base: float, cap: float) -> float:
    """Exponential backoff with full jitter (AWS style): uniform(base/2, min(cap, base*2^(n-1)))."""
    ceiling = min(cap, base * (2 ** max(0, errors - 1)))
    return random.uniform(min(base / 2, ceiling), ceiling)


def describe_error(exc: BaseException, timeout: float) -> str:
    """A readable reason for a transport failure."""
    if isinstance(exc, FetchError):
        return exc.reason
    if isinstance(exc, httpx.ConnectTimeout):
        return f"could not connect within {timeout:g} s"
    if isinstance(exc, httpx.ReadTimeout | TimeoutError | asyncio.TimeoutError):
        return f"no answer within {timeout:g} s"
    if isinstance(exc, httpx.TooManyRedirects):
        return "too many redirects"
    if isinstance(exc, httpx.ConnectError):
        text = str(exc)
        if "Name or service not known" in text or "getaddrinfo" in text or "nodename" in text \
                or "Temporary failure in name resolution" in text:
            return f"name resolution failed ({text})"
        return f"cannot connect ({text or 'connection refused'})"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"connection broken mid-response ({exc})"
    if isinstance(exc, httpx.ReadError):
        return f"connection reset while reading ({exc or 'read error'})"
    if isinstance(exc, httpx.HTTPError):
        return f"{type(exc).__name__}: {exc}"
    return f"{type(exc).__name__}: {exc}"


async def get(client: httpx.AsyncClient, url: str, headers: dict[str, str], *,
              max_body: int, backoff_base: float) -> Fetched:
    """One streaming GET: 429/503 become FetchErrors carrying Retry-After, and the body is refused
    past `max_body` bytes (declared or streamed) so a hostile server cannot fill memory."""
    cap = max_body
    async with client.stream("GET", url, headers=headers) as resp:
        if resp.status_code == 429:
            retry = parse_retry_after(resp.headers.get("Retry-After"))
            wait = retry if retry is not None else backoff_base
            raise FetchError(f"rate limited (HTTP 429); host paused for {wait:.0f} s",
                             retry_after=wait, host_wide=True)
        if resp.status_code == 304:
            await resp.aread()  # finish the (empty) body so the connection is reused
            return Fetched(304, b"", str(resp.url), resp.headers.get("ETag"),
                           resp.headers.get("Last-Modified"))
        if resp.status_code >= 400:
            retry = parse_retry_after(resp.headers.get("Retry-After")) if resp.status_code == 503 else None
            raise FetchError(f"HTTP {resp.status_code} {resp.reason_phrase}".rstrip(), retry_after=retry)
        declared = resp.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > cap:
            raise FetchError(f"response too large ({int(declared):,} bytes, cap {cap:,})")
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.aiter_bytes():
            size += len(chunk)
            if size > cap:
                raise FetchError(f"response too large (over the {cap:,} byte cap)")
            chunks.append(chunk)
        return Fetched(resp.status_code, b"".join(chunks), str(resp.url),
                       resp.headers.get("ETag"), resp.headers.get("Last-Modified"))


def host_of(url: str) -> str:
    """The scheme and host of a URL: the key politeness is kept per."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()
