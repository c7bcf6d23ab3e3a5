"""HTTP politeness: one request at a time per host with a jittered gap, Retry-After and backoff,
a capped streaming GET, and readable reasons for every transport failure."""

from __future__ import annotations

import asyncio
import email.utils
import fcntl
import json
import os
import random
import re
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from deskapp.core.politeness import RETRY_AFTER_MAX
from deskapp.core.sanitize import clean_line

# We decode bodies ourselves (see BoundedDecoder), so only ask for what we decode.
ACCEPT_ENCODING = "gzip, deflate"
MAX_ENCODINGS = 2  # stacked Content-Encodings accepted ("gzip, gzip" is legal but already odd)
_STEP = 64 * 1024  # bytes a decoder may produce per call: memory stays bounded whatever the ratio


class FetchError(Exception):
    """A failed fetch, with a reason an editor can read. `retry_after`: seconds the host asked for."""

    def __init__(self, reason: str, *, retry_after: float | None = None, host_wide: bool = False,
                 status: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.host_wide = host_wide
        self.status = status  # the HTTP status, when the server answered with an error


@dataclass(slots=True)
class Fetched:
    status: int
    body: bytes
    final_url: str
    etag: str | None
    last_modified: str | None
    link: str | None = None  # the Link header (Mastodon pages by it)


_T = TypeVar("_T")


class HostClock:
    """One host's turn, gap and 429 pause, shared by gates in other threads and event loops: the desk's
    poller and its re-checks of pins each run their own loop, and must still take turns at t.me."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.busy = False
        self.last = 0.0  # monotonic time the last request (of any gate on this clock) finished
        self.paused_until = 0.0

    def try_acquire(self, gap: float) -> float:
        """0.0 when the caller may send now (it then holds the host until `release`), else seconds to wait."""
        with self._lock:
            now = time.monotonic()
            wait = max(self.paused_until - now, self.last + gap - now)
            if self.busy:
                return max(wait, 0.02)
            if wait > 0:
                return wait
            self.busy = True
            return 0.0

    def release(self) -> None:
        with self._lock:
            self.busy = False
            self.last = time.monotonic()

    def cancel(self) -> None:
        """Give a turn back unused (no request was made: the gap does not start again)."""
        with self._lock:
            self.busy = False

    def pause(self, seconds: float) -> None:
        with self._lock:
            self.paused_until = max(self.paused_until, time.monotonic() + seconds)

    def shared_pause(self) -> float:
        """Seconds the host asked everyone on this clock to stay away (0: none)."""
        return max(0.0, self.paused_until - time.monotonic())


class FileHostClock(HostClock):
    """A HostClock that other processes share through one small file in a folder (the desk's state
    folder): `<host>.json` holds the wall-clock end of the last request, any 429 pause, and who has a
    request out (pid and an id, with a deadline). It is read and written under a flock held only for
    that moment (`<host>.lock`), never across a request: a process killed mid-request holds nothing,
    and its claim is ignored once its pid is gone. So `desk poll`, the desk and `desk verify` take
    turns at one host as one client would."""

    HOLD_MAX = 300.0  # seconds a claim counts even if its process seems alive (a stuck request)

    def __init__(self, folder: Path, host: str) -> None:
        super().__init__()
        name = re.sub(r"[^A-Za-z0-9.-]+", "_", host)[:120] or "host"
        self._lock_path = folder / f"{name}.lock"
        self._state_path = folder / f"{name}.json"
        self._me = f"{os.getpid()}:{id(self)}"
        folder.mkdir(parents=True, exist_ok=True)

    def _state(self) -> dict[str, Any]:
        try:
            data = json.loads(self._state_path.read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}  # no file yet, or a torn one: no known gap

    def _save(self, state: dict[str, Any]) -> None:
        tmp = self._state_path.with_name(f"{self._state_path.name}.{os.getpid()}.{threading.get_ident()}")
        try:
            tmp.write_text(json.dumps(state), encoding="utf-8")
            os.replace(tmp, self._state_path)
        except OSError:
            pass  # a read-only or full state folder: the in-process clock still holds

    def _update(self, fn: Callable[[dict[str, Any]], _T]) -> _T:
        """fn(state) under the folder's flock; the state is saved after it (fn may change it)."""
        try:
            fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError:
            return fn({})  # no folder to share through: behave as an in-process clock
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            state = self._state()
            before = dict(state)
            out = fn(state)
            if state != before:
                self._save(state)
            return out
        finally:
            os.close(fd)  # frees the flock

    @staticmethod
    def _claim_live(state: dict[str, Any], me: str, now: float) -> bool:
        holder = str(state.get("holder") or "")
        if not holder or holder == me or float(state.get("holder_until") or 0) <= now:
            return False
        try:
            os.kill(int(holder.split(":", 1)[0]), 0)
        except (ValueError, ProcessLookupError):
            return False  # its process is gone (SIGKILL mid-request): the claim means nothing
        except PermissionError:
            return True  # alive, another user's
        return True

    def try_acquire(self, gap: float) -> float:
        with self._lock:
            if self.busy:
                return 0.02

            def claim(state: dict[str, Any]) -> float:
                now = time.time()
                if self._claim_live(state, self._me, now):
                    return 0.05  # another process has a request out at this host
                wait = max(float(state.get("paused_until") or 0) - now, float(state.get("last") or 0) + gap - now,
                           self.last + gap - time.monotonic(), self.paused_until - time.monotonic())
                if wait > 0:
                    return wait
                state["holder"], state["holder_until"] = self._me, now + self.HOLD_MAX
                return 0.0

            wait = self._update(claim)
            if wait <= 0:
                self.busy = True
            return wait

    def release(self) -> None:
        with self._lock:
            def done(state: dict[str, Any]) -> None:
                state["last"] = time.time()
                if state.get("holder") == self._me:
                    state["holder"], state["holder_until"] = None, 0.0

            self._update(done)
            self.busy = False
            self.last = time.monotonic()

    def cancel(self) -> None:
        with self._lock:
            def unused(state: dict[str, Any]) -> None:
                if state.get("holder") == self._me:
                    state["holder"], state["holder_until"] = None, 0.0

            if self.busy:
                self._update(unused)
            self.busy = False

    def pause(self, seconds: float) -> None:
        super().pause(seconds)

        def paused(state: dict[str, Any]) -> None:
            state["paused_until"] = max(float(state.get("paused_until") or 0), time.time() + seconds)

        with self._lock:
            self._update(paused)

    def shared_pause(self) -> float:
        """Seconds any process sharing this clock was asked to stay away from the host (0: none)."""
        return max(0.0, float(self._state().get("paused_until") or 0) - time.time(),
                   self.paused_until - time.monotonic())


class ChainedClock(HostClock):
    """Two clocks kept at once: a turn is taken on both or on neither (the state folder's, shared
    with the desks on this machine, and the PostgreSQL store's, shared with the pollers of this
    address: core/pg/turns.py). Neither waits while holding the other, so they cannot deadlock."""

    def __init__(self, first: HostClock, second: HostClock) -> None:
        super().__init__()
        self.first, self.second = first, second

    def try_acquire(self, gap: float) -> float:
        wait = self.first.try_acquire(gap)
        if wait > 0:
            return wait
        try:
            wait = self.second.try_acquire(gap)
        except BaseException:
            self.first.cancel()
            raise
        if wait > 0:
            self.first.cancel()
        return wait

    def release(self) -> None:
        self.second.release()
        self.first.release()

    def cancel(self) -> None:
        self.second.cancel()
        self.first.cancel()

    def pause(self, seconds: float) -> None:
        self.first.pause(seconds)
        self.second.pause(seconds)

    def shared_pause(self) -> float:
        return max(self.first.shared_pause(), self.second.shared_pause())


class HostClocks:
    """The HostClock of each host, for everything that should share them: in this process, or with a
    `folder`, every process using the same folder (FileHostClock)."""

    def __init__(self, folder: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._clocks: dict[str, HostClock] = {}
        self.folder = folder

    def get(self, host: str) -> HostClock:
        with self._lock:
            clock = self._clocks.get(host)
            if clock is None:
                clock = self._clocks[host] = HostClock() if self.folder is None else FileHostClock(self.folder, host)
            return clock


class HostGate:
    """One request at a time per host, a jittered gap between requests, a shared pause after 429.

    With a `clock` (HostClocks.get), the turn, the gap and the pause are shared with every other gate
    on that clock, whatever thread or event loop it runs in."""

    def __init__(self, min_gap: float, jitter: float, clock: HostClock | None = None):
        self.lock = asyncio.Lock()
        self.min_gap = min_gap
        self.jitter = jitter
        self.last = 0.0  # monotonic time the last request finished
        self._paused_until = 0.0
        self.clock = clock

    @property
    def paused_until(self) -> float:
        """Monotonic time until which the host asked us (or, on a shared clock, anyone) to stay away."""
        shared = self.clock.shared_pause() if self.clock is not None else 0.0
        return max(self._paused_until, time.monotonic() + shared) if shared > 0 else self._paused_until

    @paused_until.setter
    def paused_until(self, value: float) -> None:
        self._paused_until = value

    async def __aenter__(self) -> HostGate:
        await self.lock.acquire()
        try:
            if self.clock is not None:
                gap = self.min_gap + random.uniform(0, self.jitter)
                while (wait := self.clock.try_acquire(gap)) > 0:
                    await asyncio.sleep(wait)
                return self
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
        if self.clock is not None:
            self.clock.release()
        self.last = time.monotonic()
        self.lock.release()

    def pause(self, seconds: float) -> None:
        self.paused_until = max(self.paused_until, time.monotonic() + seconds)
        if self.clock is not None:
            self.clock.pause(seconds)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), at most RETRY_AFTER_MAX;
    None if absent or unreadable. Safe at any size: a 5,000-digit number or a date in year 9999 is
    the cap, garbage is None."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        # Compare digit counts first: int() of a huge string is slow (and limited) in Python.
        return RETRY_AFTER_MAX if len(value.lstrip("0")) > 12 else min(float(value), RETRY_AFTER_MAX)
    if len(value) > 64:  # an HTTP date is 29 characters
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    except (TypeError, ValueError, OverflowError, IndexError):
        return None
    return min(max(0.0, seconds), RETRY_AFTER_MAX)


def backoff_delay(errors: int, base: float, cap: float) -> float:
    """Exponential backoff with full jitter (AWS style): uniform(base/2, min(cap, base*2^(n-1)))."""
    ceiling = min(cap, base * (2 ** min(max(0, errors - 1), 40)))  # a long outage must not overflow
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


class BoundedDecoder:
    """Undoes a Content-Encoding ("gzip", "deflate", stacked as "gzip, gzip") while counting the
    DECODED bytes: past `cap` it stops with a FetchError. Each layer produces at most _STEP bytes per
    call, so a 5 KB gzip-of-gzip that inflates to gigabytes costs `cap` bytes and the CPU to make them."""

    def __init__(self, content_encoding: str | None, cap: int) -> None:
        names = [t.strip().lower() for t in (content_encoding or "").split(",")]
        names = [n for n in names if n and n != "identity"]
        for n in names:
            if n not in ("gzip", "x-gzip", "deflate"):
                raise FetchError(f"unsupported Content-Encoding {n[:40]!r} (desk asks for {ACCEPT_ENCODING})")
        if len(names) > MAX_ENCODINGS:
            raise FetchError(f"{len(names)} stacked Content-Encodings (at most {MAX_ENCODINGS})")
        self.label = ", ".join(names)
        # The last encoding applied is the first undone.
        self._layers = [_Layer(n) for n in reversed(names)]
        self.cap = cap
        self.size = 0

    def feed(self, data: bytes) -> list[bytes]:
        out: list[bytes] = []
        self._push(0, data, out)
        return out

    def finish(self) -> list[bytes]:
        out: list[bytes] = []
        for i, layer in enumerate(self._layers):
            tail = layer.flush()
            if tail:
                self._push(i + 1, tail, out)
        return out

    def decode_all(self, body: bytes) -> bytes:
        return b"".join(self.feed(body) + self.finish())

    def _push(self, i: int, data: bytes, out: list[bytes]) -> None:
        if i == len(self._layers):
            self.size += len(data)
            if self.size > self.cap:
                how = f" once decoded (Content-Encoding: {self.label})" if self.label else ""
                raise FetchError(f"response too large (over the {self.cap:,} byte cap{how})")
            out.append(data)
            return
        layer = self._layers[i]
        while True:
            piece, data = layer.step(data)
            if piece:
                self._push(i + 1, piece, out)
            if not data and not piece:
                return


class _Layer:
    """One zlib stream; "deflate" is zlib-wrapped by the RFC, but raw deflate is common: tried second."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._raw_fallback = name == "deflate"
        wbits = zlib.MAX_WBITS | 16 if name in ("gzip", "x-gzip") else zlib.MAX_WBITS
        self._z = zlib.decompressobj(wbits)

    def step(self, data: bytes) -> tuple[bytes, bytes]:
        """(at most _STEP decoded bytes, the input not yet consumed)."""
        if self._z.eof:
            return b"", b""  # trailing bytes after the stream end are ignored, as browsers do
        try:
            piece = self._z.decompress(data, _STEP)
        except zlib.error as exc:
            if self._raw_fallback:
                self._raw_fallback = False
                self._z = zlib.decompressobj(-zlib.MAX_WBITS)
                return self.step(data)
            raise FetchError(f"body does not decode as {self.name} ({exc})") from None
        self._raw_fallback = False
        return piece, self._z.unconsumed_tail

    def flush(self) -> bytes:
        try:
            return self._z.flush(_STEP)
        except zlib.error as exc:
            raise FetchError(f"body does not decode as {self.name} ({exc})") from None


async def get(client: httpx.AsyncClient, url: str, headers: dict[str, str], *,
              max_body: int, backoff_base: float) -> Fetched:
    """One streaming GET: 429/503 become FetchErrors carrying Retry-After, and the body is refused
    past `max_body` bytes (declared, received or decoded) so a hostile server cannot fill memory."""
    cap = max_body
    headers = {**headers, "Accept-Encoding": ACCEPT_ENCODING}
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
            raise FetchError(f"HTTP {resp.status_code} {resp.reason_phrase}".rstrip(), retry_after=retry,
                             status=resp.status_code)
        declared = resp.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > cap:
            raise FetchError(f"response too large ({int(declared):,} bytes, cap {cap:,})")
        decoder = BoundedDecoder(resp.headers.get("Content-Encoding"), cap)
        chunks: list[bytes] = []
        size = 0
        async for raw in resp.aiter_raw():  # undecoded: httpx's decoders have no output bound
            size += len(raw)
            if size > cap:
                raise FetchError(f"response too large (over the {cap:,} byte cap)")
            chunks += decoder.feed(raw)
        chunks += decoder.finish()
        return Fetched(resp.status_code, b"".join(chunks), str(resp.url),
                       resp.headers.get("ETag"), resp.headers.get("Last-Modified"), resp.headers.get("Link"))


_DEFAULT_PORT = {"http": 80, "https": 443}


async def refuse_cross_origin_redirects(response: httpx.Response) -> None:
    """A response hook: a redirect is followed only within the origin of the request that got it
    (http may move to https on the same host). Anything else ends the fetch with a FetchError, so a
    page from another host never passes for the source's own."""
    if not response.has_redirect_location:
        return
    here = response.request.url
    try:
        there = here.join(response.headers["Location"])
    except (httpx.InvalidURL, ValueError):
        raise FetchError(f"{here} redirected to an unreadable location; not followed") from None

    def origin(url: httpx.URL) -> tuple[str, int | None]:
        return url.host.lower(), url.port or _DEFAULT_PORT.get(url.scheme)

    scheme_ok = there.scheme == here.scheme or (here.scheme, there.scheme) == ("http", "https")
    if not scheme_ok or origin(there.copy_with(scheme=here.scheme)) != origin(here):
        shown = clean_line(str(there))[:200]
        raise FetchError(f"{here.host} redirected to another origin ({shown}); not followed, nothing stored")


def host_of(url: str) -> str:
    """The scheme and host of a URL: the key politeness is kept per."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()
