"""The polite poller: fetches each source on its own interval and writes what it finds to the store.

Politeness, per host: one request at a time, a jittered minimum gap between requests, and a host-wide
pause on 429 (honouring Retry-After). Per source: an interval that adapts to how often the channel
posts, exponential backoff with full jitter on errors, conditional requests when the server sends
validators, and a bounded backfill of older pages on first sight (and when a gap appears between two
polls) with a loop guard. Every failure is recorded on its source with a readable reason; one failing
source never stops the others.

The store is only written by this object's own `Store`, one transaction per fetched page, after which
`on_event` is told. Cancellation only happens at `await` points, never inside a store write, so
Ctrl-C or `stop()` never leaves a page half-written.

Who polls what: on a SQLite file, one poller per file (core/poll_lock.py; another one watches and
takes over when it ends). On PostgreSQL any number share the sources: each round (a heartbeat, a
third of `lease_seconds`) a poller renews its leases and takes its fair share (core/pg/leases.py),
polls only the sources it holds, and gives them all back when it stops. Pollers of one outgoing
address take turns at each host through the store (core/pg/turns.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import logging
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from deskapp.core import attention as attention_mod
from deskapp.core.attention import AttentionWorker
from deskapp.core.backend import is_pg_url, shown_url
from deskapp.core.events import PollEvent, PollEventKind
from deskapp.core.fetch import (
    ChainedClock,
    Fetched,
    FetchError,
    HostClock,
    HostClocks,
    HostGate,
    backoff_delay,
    describe_error,
    get,
    host_of,
    refuse_cross_origin_redirects,
)
from deskapp.core.ingest import UNKNOWN_PROVENANCE, IngestResult, Provenance
from deskapp.core.model import ChannelInfo, Page, PageKind, SourceConfig, parse_utc_iso
from deskapp.core.parse_pool import ParsePool
from deskapp.core.politeness import clamped
from deskapp.core.poll_lock import PollLock
from deskapp.core.sanitize import clean_header
from deskapp.core.settings import AttentionSettings, PollerSettings, PollPlan
from deskapp.core.sources import kind_of
from deskapp.core.sources.base import Parsed, Request, SourceKind
from deskapp.core.store import Store, StoreUnreachable

if TYPE_CHECKING:
    from deskapp.core.pg.leases import LeaseKeeper
    from deskapp.core.pg.turns import PgHostClocks

log = logging.getLogger("desk.poller")
POOL_WORKERS = 2
ONCE_MAX_WAIT = 60.0  # seconds `run_once` waits for a paused host before reporting its sources unpolled
# Seconds added to a request's own deadline in the turn a poller takes on PostgreSQL (the turn's
# round trip, a busy event loop's lateness): the next poller counts from then (core/pg/turns.py).
TURN_MARGIN = 1.0



class PollerBusy(Exception):
    """Another process already polls this store (see core/poll_lock.py)."""


class HandedOver(Exception):
    """The source's lease went to another poller while this poll waited for its turn at the host."""


# The source the poll running in this task is for (each poll is its own task): _fetch checks its lease.
_polling_source: contextvars.ContextVar[str | None] = contextvars.ContextVar("polling_source", default=None)


@dataclass(slots=True)
class SourceSummary:
    source: str
    ok: bool
    new: int = 0
    changed: int = 0
    pages: int = 0
    message: str = ""

    def line(self) -> str:
        if self.ok:
            return (f"{self.source}: ok, {self.new} new, {self.changed} edited, "
                    f"{self.pages} page{'s' if self.pages != 1 else ''}{'; ' + self.message if self.message else ''}")
        return f"{self.source}: FAILED: {self.message}"


@dataclass(slots=True)
class _SourceRun:
    """Scheduling state of one source inside this poller run."""

    config: SourceConfig
    due: float = 0.0  # monotonic time of the next poll
    interval: float = 300.0
    summary: SourceSummary = field(default_factory=lambda: SourceSummary("", ok=True))
    memo: dict[str, str] = field(default_factory=dict)  # what the kind remembers (Mastodon's account id)
    refused: list[str] = field(default_factory=list)  # this poll's refused posts, one reason each


def _refusals(reasons: list[str]) -> str | None:
    """One line for the source's warning: how many were refused, and the first few reasons."""
    reasons = list(dict.fromkeys(reasons))  # a backfill may meet the same refusal again
    if not reasons:
        return None
    shown = "; ".join(reasons[:3]) + (f"; and {len(reasons) - 3} more" if len(reasons) > 3 else "")
    return f"refused {len(reasons)} item{'s' if len(reasons) != 1 else ''}: {shown}"


class Poller:
    def __init__(self, store: Path | str, settings: PollPlan, *,
                 on_event: Callable[[PollEvent], None] | None = None,
                 transport: httpx.AsyncBaseTransport | None = None, store_cls: type[Store] = Store,
                 clocks: HostClocks | None = None) -> None:
        """`store`: a SQLite file, or a postgresql:// URL (core/backend.py); `transport`: where
        requests go (tests: a fault-injecting one); `store_cls`: what opens a SQLite store (tests: one
        that cannot write); `clocks`: per-host turns shared with other requesters in this process
        (the desk's re-checks of pins) or, with a folder, on this machine."""
        self.on_pg = is_pg_url(store)
        self.target: Path | str = str(store) if self.on_pg else Path(store)
        self.store_path = Path(store) if not self.on_pg else Path(shown_url(str(store)))  # for messages
        self.settings = settings
        # Floors for real hosts hold even for settings made in code (core/politeness.py).
        self.cfg: PollerSettings = clamped(settings.poller, [s.base_url for s in settings.sources])
        self.on_event = on_event
        self._transport = transport
        self._gates: dict[str, HostGate] = {}
        self._clocks = clocks
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_requested = threading.Event()
        self.store: Any = None  # a Store, or a PgStore
        self._store_cls = store_cls
        self.lock: PollLock | None = None if self.on_pg else PollLock(self.store_path)
        # PostgreSQL: this poller's name (unique: host, pid, random), leases and host turns (see _renew).
        self.name = ""
        if self.on_pg:
            from deskapp.core.pg.leases import poller_name

            self.name = poller_name()
        self.keeper: LeaseKeeper | None = None
        self._turns: PgHostClocks | None = None
        self._held: set[str] = set()
        self._lease_until = 0.0  # monotonic time the leases held run out unless renewed
        self._polling: set[str] = set()  # sources whose request went out: never given back until done
        self._away = False  # the store's server was found unreachable, and not reached since (said once)
        self._runs: dict[str, _SourceRun] = {}
        self._wakes: list[asyncio.Event] = []  # host loops to wake when the sources held change
        self._parse_pool: ParsePool | None = None  # parser processes (see _parse)
        self.lock_retry = 2.0  # seconds between tries to take over while another poller holds the store
        # Alerts, mutes and duplicate groups for what this poller stores (core/attention.py).
        self.attention_settings: AttentionSettings = getattr(settings, "attention", None) or AttentionSettings()
        self.attention: AttentionWorker | None = None

    # ---- lifecycle -------------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask `run()` to end; safe from any thread."""
        self._stop_requested.set()
        loop, ev = self._loop, self._stop
        if loop is not None and ev is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(ev.set)

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            follow_redirects=True,
            max_redirects=5,
            # A redirect to another origin is never followed: what it serves is not the source's.
            event_hooks={"response": [refuse_cross_origin_redirects]},
            timeout=httpx.Timeout(self.cfg.timeout, connect=min(self.cfg.timeout, 10.0)),
            headers={"User-Agent": self.cfg.user_agent, "Accept": "text/html,application/xhtml+xml"},
            transport=self._transport,
            trust_env=False,
        )

    def _enabled(self) -> list[SourceConfig]:
        return [s for s in self.settings.sources if s.enabled]

    def _prepare_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        if self._stop_requested.is_set():
            self._stop.set()

    async def _setup(self) -> None:
        self._prepare_loop()
        if self.on_pg:
            from deskapp.core.pg.leases import LeaseKeeper
            from deskapp.core.pg.store import PgStore
            from deskapp.core.pg.turns import PgHostClocks

            self.store = PgStore.open(str(self.target))
            self.keeper = LeaseKeeper(self.store, self.name, lease_s=self.cfg.lease_seconds)
            self._turns = PgHostClocks(str(self.target), self.cfg.address or socket.gethostname(),
                                       longest=self._request_limit() + TURN_MARGIN)
        else:
            self.store = self._store_cls.open(self.store_path)
        self.store.sync_sources(self.settings.sources)
        self.attention = self._start_attention()

    def _start_attention(self) -> AttentionWorker | None:
        """Alerts, mutes and duplicate groups for what this poller stores (core/attention.py)."""
        if self.on_pg and not attention_mod.ON_POSTGRESQL:
            log.warning("alerts, mutes and duplicate groups do not run on PostgreSQL yet: polling without them")
            return None
        return AttentionWorker(self.target, self.attention_settings, on_alerts=self._alerted).start()

    def _alerted(self, raised: list) -> None:
        """From the attention thread: rules matched new posts (the hooks have been started)."""
        self._emit(PollEvent(PollEventKind.ALERTS, "", new=len(raised), message="; ".join(a.rule for a in raised[:5])))

    def _teardown(self, *, finish_attention: bool = False) -> None:
        if self.attention is not None:
            self.attention.stop(finish=finish_attention)
            self.attention = None
        if self.keeper is not None:
            try:
                self.keeper.release()  # the other pollers take these sources at their next round
                log.info("poller %s gave back its %d sources", self.name, len(self._held))
            except Exception as exc:  # unreachable server: the leases expire by themselves
                log.warning("poller %s could not give back its sources: %s", self.name, exc)
            self.keeper = None
            self._held = set()
        if self._turns is not None:
            self._turns.close()
            self._turns = None
        if self.store is not None:
            self.store.close()
            self.store = None
        if self._parse_pool is not None:
            self._parse_pool.close(kill=True)  # a page still parsing must not hold up stopping
            self._parse_pool = None
        if self.lock is not None:
            self.lock.release()

    async def _wait_for_lock(self) -> bool:
        """Take the store's poller lock, or watch the poller that holds it until it ends (then take
        over) or `stop()`. False when stopped first."""
        assert self._stop is not None
        if self.lock is None or self.lock.try_acquire():  # PostgreSQL: leases decide, per source
            return True
        who = self.lock.describe_holder()
        log.info("%s is polling %s; watching it", who, self.store_path)
        self._emit(PollEvent(PollEventKind.WATCHING, "", message=f"{who} is polling this store; watching it"))
        while not self._stop.is_set():
            try:
                await asyncio.wait_for(self._stop.wait(), timeout=self.lock_retry)
                return False
            except TimeoutError:
                pass
            if self.lock.try_acquire():
                log.info("the other poller ended; polling %s now", self.store_path)
                self._emit(PollEvent(PollEventKind.POLLING, "", message="the other poller ended; polling now"))
                return True
        return False

    async def run_once(self) -> list[SourceSummary]:
        """Poll every enabled source once (with first-sight backfill) and return one summary each.

        Raises PollerBusy when another process polls this SQLite store. On PostgreSQL only the
        sources this poller can lease are polled; the others are left to the pollers holding them."""
        if self.lock is not None and not self.lock.try_acquire():
            raise PollerBusy(f"{self.lock.describe_holder()} is polling this store")
        try:
            await self._setup()
        except BaseException:
            self._teardown()
            raise
        try:
            async with self._client() as client:
                runs = [self._new_run(s) for s in self._enabled()]
                mine = runs
                if self.keeper is not None:
                    self._renew(strict=True)
                    mine = [r for r in runs if r.config.name in self._held]
                    for run in runs:
                        if run.config.name not in self._held:
                            run.summary.message = "left to another poller, which holds its lease"
                by_host: dict[str, list[_SourceRun]] = {}
                for run in mine:
                    by_host.setdefault(host_of(run.config.base_url), []).append(run)

                async def host_once(items: list[_SourceRun]) -> None:
                    for run in items:
                        if self._stop and self._stop.is_set():
                            break
                        # A one-shot poll waits out a short pause a host asked for (429), not hours.
                        paused = self._gate(run.config.base_url).paused_until - time.monotonic()
                        if paused > ONCE_MAX_WAIT:
                            run.summary.ok = False
                            run.summary.message = f"not polled: the host asked for a pause ({paused:.0f} s left)"
                            continue
                        await self._poll(client, run)

                await asyncio.gather(*(host_once(items) for items in by_host.values()))
                return [r.summary for r in runs]
        finally:
            self._teardown(finish_attention=True)  # `desk poll --once` leaves nothing queued

    async def run(self) -> None:
        """Poll until `stop()`; each host in its own task, each source on its own schedule.

        A store that cannot be opened or written at start is reported as a "failed" event (the desk
        shows it) and ends the run; it never raises into the caller's thread. While another process
        polls the same store this one only watches (a "watching" event says whose), and takes over
        when that one ends."""
        self._prepare_loop()
        if not await self._wait_for_lock():
            self._emit(PollEvent(PollEventKind.STOPPED, ""))
            return
        try:
            await self._setup()
        except Exception as exc:
            self._teardown()
            log.error("poller cannot start: %s", exc)
            self._emit(PollEvent(PollEventKind.FAILED, "", message=f"poller cannot start: {exc}"))
            self._emit(PollEvent(PollEventKind.STOPPED, ""))
            return
        assert self._stop is not None
        try:
            async with self._client() as client:
                runs = [self._new_run(s) for s in self._enabled()]
                self._runs = {r.config.name: r for r in runs}
                if self.keeper is None:
                    self._schedule_from_store(runs)
                else:
                    self._renew()  # schedules what it gains from the store
                by_host: dict[str, list[_SourceRun]] = {}
                for run in runs:
                    by_host.setdefault(host_of(run.config.base_url), []).append(run)
                self._start_parse_pool()
                tasks = [asyncio.create_task(self._host_loop(client, items)) for items in by_host.values()]
                if self.keeper is not None:
                    tasks.append(asyncio.create_task(self._heartbeat()))
                try:
                    await self._stop.wait()
                finally:
                    for t in tasks:
                        t.cancel()
                    await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            self._teardown()
            self._emit(PollEvent(PollEventKind.STOPPED, ""))

    def _new_run(self, cfg: SourceConfig) -> _SourceRun:
        interval = cfg.interval or self.cfg.interval
        return _SourceRun(config=cfg, interval=interval, summary=SourceSummary(cfg.name, ok=True))

    # ---- many pollers (PostgreSQL) ----------------------------------------------------------------

    def _renew(self, *, strict: bool = False) -> None:
        """One lease round (core/pg/leases.py): heartbeat, renew, rebalance, claim. Run on the loop's
        own thread, between polls, so no poll starts on a source while the round gives it back.
        A source gained is scheduled from the store: the poller that had it recorded when it is due,
        so no source is polled twice in one round when it changes hands. `strict`: a failed round
        raises (`--once` must not report the sources as left to others)."""
        assert self.keeper is not None
        started = time.monotonic()
        try:
            held = set(self.keeper.round(self._polling))
        except Exception as exc:  # the server is away: keep polling what is held until the lease ends
            if strict:
                raise
            if isinstance(exc, StoreUnreachable):
                self._store_away(exc)
            else:
                log.warning("poller %s: lease round failed: %s", self.name, exc)
            return
        if self._away:
            self._away = False
            log.info("poller %s: the store's server is reachable again", self.name)
            self._emit(PollEvent(PollEventKind.POLLING, "", message=f"server reachable again ({shown_url(str(self.target))}): "
                                 f"rejoining the other pollers, {len(held)} sources held now"))
        self._lease_until = started + self.cfg.lease_seconds
        gained = sorted(held - self._held)
        lost = self._held - held
        self._held = held
        self._schedule_from_store([self._runs[n] for n in gained if n in self._runs])
        if gained or lost:
            log.info("poller %s holds %d sources (%d taken, %d given back)", self.name, len(held),
                     len(gained), len(lost))
            for wake in self._wakes:
                wake.set()

    def _store_away(self, exc: StoreUnreachable) -> None:
        """Said once, in one line, until a lease round gets through again: the sources held are
        polled no more once their leases run out (the other pollers take them), and the rounds go
        on, so this poller rejoins when the server is back."""
        if self._away:
            return
        self._away = True
        log.warning("poller %s: %s", self.name, exc)
        self._emit(PollEvent(PollEventKind.UNREACHABLE, "", message=(
            f"server unreachable ({exc}); this poller's sources go to the others when their leases "
            f"run out ({self.cfg.lease_seconds:g} s); retrying")))

    async def _heartbeat(self) -> None:
        """A lease round every third of the lease period, until stopped."""
        assert self._stop is not None
        period = self.cfg.lease_seconds / 3
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=period)
            if not self._stop.is_set():
                self._renew()

    def _may_poll(self, run: _SourceRun) -> bool:
        """A source this poller may start polling now (on PostgreSQL: leased to it, lease not run out)."""
        if self.keeper is None:
            return True
        return run.config.name in self._held and time.monotonic() < self._lease_until

    def _schedule_from_store(self, runs: list[_SourceRun]) -> None:
        """Honour next_poll saved by an earlier run (a restart must not hammer a failing host)."""
        assert self.store is not None
        now_wall = datetime.now(UTC)
        now = time.monotonic()
        # The store keeps whole seconds: a source handed over from another poller is taken as due
        # at the end of its second, so it is never polled before that poller's round is over.
        truncated = timedelta(seconds=1 if self.keeper is not None else 0)
        for i, run in enumerate(runs):
            row = self.store.source_row(run.config.name) or {}
            nxt = row.get("next_poll")
            delay = 0.0
            if nxt:
                try:
                    delay = max(0.0, (parse_utc_iso(nxt) + truncated - now_wall).total_seconds())
                except ValueError:
                    delay = 0.0
            # Spread first polls a little so a restart does not fire every source at once.
            run.due = now + min(delay, self.cfg.max_interval) + i * 0.01

    async def _host_loop(self, client: httpx.AsyncClient, runs: list[_SourceRun]) -> None:
        """Start each source's poll when it is due. Polls of one host overlap only in parsing and
        storing: their requests still pass the host's gate one at a time. So a page that takes long
        to parse never delays the other channels of its host."""
        assert self._stop is not None
        busy: dict[int, asyncio.Task[None]] = {}
        wake = asyncio.Event()
        self._wakes.append(wake)

        def done(key: int, name: str) -> None:
            busy.pop(key, None)
            self._polling.discard(name)
            wake.set()

        try:
            while not self._stop.is_set():
                idle = [r for r in runs if id(r) not in busy and self._may_poll(r)]
                run = min(idle, key=lambda r: r.due) if idle else None
                wait = None if run is None else run.due - time.monotonic()
                if run is None or (wait is not None and wait > 0):
                    wake.clear()
                    waiters = [asyncio.ensure_future(self._stop.wait()), asyncio.ensure_future(wake.wait())]
                    await asyncio.wait(waiters, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
                    for w in waiters:
                        w.cancel()
                    continue
                key = id(run)
                task = asyncio.create_task(self._poll(client, run))
                busy[key] = task
                task.add_done_callback(functools.partial(lambda k, n, _t: done(k, n), key, run.config.name))
        finally:
            self._wakes.remove(wake)
            tasks = list(busy.values())
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    # ---- one source ------------------------------------------------------------------------------

    def _gate(self, base_url: str) -> HostGate:
        host = host_of(base_url)
        gate = self._gates.get(host)
        if gate is None:
            gate = self._gates[host] = HostGate(self.cfg.min_gap, self.cfg.gap_jitter, self._clock(host))
        return gate

    def _clock(self, host: str) -> HostClock | None:
        """The host's turns shared beyond this poller: with this machine's desks (a state folder's
        clocks), and on PostgreSQL with every poller of the same address; both when both apply."""
        mine = self._clocks.get(host) if self._clocks else None
        shared = self._turns.get(host) if self._turns is not None else None
        if mine is not None and shared is not None:
            return ChainedClock(mine, shared)
        return mine or shared

    async def _poll(self, client: httpx.AsyncClient, run: _SourceRun) -> None:
        """Fetch the newest page of one source, store it, backfill if needed, and reschedule."""
        assert self.store is not None
        cfg = run.config
        summary = run.summary = SourceSummary(cfg.name, ok=True)
        run.refused = []
        _polling_source.set(cfg.name)
        now = datetime.now(UTC)
        try:
            row = self.store.source_row(cfg.name) or {}
            if cfg.kind != "telegram":
                await self._poll_kind(client, run, row, now)
                self._emit(PollEvent("status", cfg.name))
                return
            # A validator a store from before kept unsendable (non-ASCII) would fail every poll.
            fetched = await self._fetch(client, cfg.url, etag=clean_header(row.get("etag")),
                                        last_modified=clean_header(row.get("last_modified")))
            summary.pages = 1
            if fetched.status == 304:
                summary.message = "not modified"
                self.store.record_success(cfg.name, at=now, next_poll=self._next(run, new=0),
                                          etag=fetched.etag or row.get("etag"),
                                          last_modified=fetched.last_modified or row.get("last_modified"))
            else:
                page = await self._parse(cfg, fetched, cfg.url)
                self._check_page(page)
                known_before = self.store.max_post_id(cfg.name)
                res = self._store_page(run, page, fetched, now)
                summary.new, summary.changed = res.new, res.changed
                await self._backfill(client, run, page, known_before, row)
                warning = _refusals(run.refused)
                self.store.record_success(cfg.name, at=now, next_poll=self._next(run, new=summary.new),
                                          etag=fetched.etag, last_modified=fetched.last_modified,
                                          channel=page.channel, warning=warning)
                if page.kind is PageKind.NO_POSTS:
                    summary.message = "channel has no posts"
                if self.attention is not None and (summary.new or summary.changed):
                    self.attention.kick()
                if warning:
                    summary.message = "; ".join(m for m in (summary.message, warning) if m)
                    log.warning("%s: %s", cfg.name, warning)
            self._emit(PollEvent(PollEventKind.STATUS, cfg.name))
        except asyncio.CancelledError:
            raise
        except HandedOver:
            summary.message = "handed over to another poller before its turn at the host"
            log.info("%s: handed over to another poller before its turn at the host", cfg.name)
        except StoreUnreachable as exc:  # not the source's failure, and nowhere to record one: said once
            summary.ok, summary.message = False, str(exc)
            run.due = time.monotonic() + max(self.cfg.lease_seconds / 3, self.cfg.backoff_base)
            self._store_away(exc)
        except Exception as exc:  # one failing source never stops the others
            reason = describe_error(exc, self.cfg.timeout)
            if isinstance(exc, FetchError) and exc.retry_after is not None and exc.host_wide:
                self._gate(cfg.base_url).pause(exc.retry_after)
            summary.ok, summary.message = False, reason
            try:
                errors = int((self.store.source_row(cfg.name) or {}).get("error_count") or 0) + 1
            except Exception:  # the store away too: the failure cannot be recorded either (below)
                errors = 1
            delay = backoff_delay(errors, self.cfg.backoff_base, self.cfg.backoff_max)
            if isinstance(exc, FetchError) and exc.retry_after is not None:
                delay = max(delay, exc.retry_after)
            run.due = time.monotonic() + delay
            log.warning("%s: %s (retry in %.0f s)", cfg.name, reason, delay)
            try:
                self.store.record_failure(cfg.name, at=now, reason=reason,
                                          next_poll=now + timedelta(seconds=delay))
            except Exception as store_exc:  # a full disk must not kill the poller either
                log.error("%s: could not record failure: %s", cfg.name, store_exc)
            self._emit(PollEvent(PollEventKind.FAILED, cfg.name, message=reason))

    # ---- other kinds (core/sources/base.py) -------------------------------------------------------

    async def _poll_kind(self, client: httpx.AsyncClient, run: _SourceRun, row: dict, now: datetime) -> None:
        """One poll of an RSS/Atom, Bluesky or Mastodon source through its kind's interface."""
        assert self.store is not None
        cfg, summary = run.config, run.summary
        kind = kind_of(cfg.name)
        parsed, fetched = await self._ask(client, run, kind, kind.first_request(cfg, None, run.memo), row)
        summary.pages = 1
        if parsed is None:  # 304
            summary.message = "not modified"
            self.store.record_success(cfg.name, at=now, next_poll=self._next(run, new=0),
                                      etag=fetched.etag or row.get("etag"),
                                      last_modified=fetched.last_modified or row.get("last_modified"))
            return
        page = parsed.page
        self._check_page(page)
        known_before = self.store.max_post_id(cfg.name)
        res = self._store_posts(cfg.name, page, now, channel=page.channel, capture=("fetched", fetched.final_url))
        summary.new, summary.changed = res.new, res.changed
        await self._backfill_kind(client, run, kind, parsed, known_before, row)
        self.store.record_success(cfg.name, at=now, next_poll=self._next(run, new=summary.new),
                                  etag=fetched.etag, last_modified=fetched.last_modified, channel=page.channel)
        if page.kind is PageKind.NO_POSTS:
            summary.message = "no posts"

    async def _ask(self, client: httpx.AsyncClient, run: _SourceRun, kind: SourceKind, request: Request,
                   row: dict) -> tuple[Parsed | None, Fetched]:
        """Fetch and parse `request`, following the kind's follow-up requests (at most 3 steps) and its
        fallback on an HTTP error. (None, fetched) when the server answered 304 Not Modified."""
        cfg = run.config
        for _ in range(3):
            conditional = request.conditional
            try:
                fetched = await self._fetch(client, request.url, accept=request.accept,
                                            etag=clean_header(row.get("etag")) if conditional else None,
                                            last_modified=clean_header(row.get("last_modified")) if conditional else None)
            except FetchError as exc:
                other = kind.fallback(cfg, request, exc.status) if exc.status is not None else None
                if other is None:
                    raise
                log.info("%s: %s; trying %s", cfg.name, exc.reason, other.url)
                request = other
                continue
            if fetched.status == 304:
                return None, fetched
            parsed = await self._parse_kind(kind, fetched, request)
            run.memo.update(parsed.memo)
            if parsed.follow is None:
                for post in parsed.page.posts:
                    post.source = cfg.name
                return parsed, fetched
            request = parsed.follow
        raise FetchError("the source needed more than 3 requests for one page")

    def _store_posts(self, source: str, page: Page, now: datetime, *,
                     channel: ChannelInfo | None = None, capture: Provenance = UNKNOWN_PROVENANCE) -> IngestResult:
        assert self.store is not None
        res = self.store.ingest_page(source, page.posts, fetched_at=now, channel=channel, capture=capture)
        self._emit(PollEvent(PollEventKind.STORED, source, res.new, res.changed, res.max_key))
        return res

    async def _backfill_kind(self, client: httpx.AsyncClient, run: _SourceRun, kind: SourceKind,
                             parsed: Parsed, known: int | None, row: dict) -> None:
        """Older pages by the kind's opaque cursor: on first sight to the configured depth, or when the
        newest page holds only posts newer than any stored (a gap; ids are time-ordered for every kind
        that pages). Stops at a cursor seen before, an empty page, or the depth."""
        assert self.store is not None
        cfg = run.config
        page, cursor = parsed.page, parsed.cursor
        depth = self.cfg.backfill_pages
        first_sight = known is None or not row.get("backfill_done")
        if depth <= 0 or page.kind is not PageKind.OK or not page.posts or cursor is None:
            if first_sight:
                self.store.set_backfill(cfg.name, cursor=None, done=True)
            return
        gap = known is not None and min(p.id for p in page.posts) > known
        if not (first_sight or gap):
            return
        stop_at = known if gap else None
        seen: set[str] = set()
        pages = 0
        while cursor is not None and pages < depth:
            if (self._stop is not None and self._stop.is_set()) or cursor in seen:
                break
            seen.add(cursor)
            older, got = await self._ask(client, run, kind, kind.first_request(cfg, cursor, run.memo), {})
            if older is None or older.page.kind is not PageKind.OK or not older.page.posts:
                break
            res = self._store_posts(cfg.name, older.page, datetime.now(UTC), capture=("fetched", got.final_url))
            pages += 1
            run.summary.pages += 1
            run.summary.new += res.new
            run.summary.changed += res.changed
            if stop_at is not None and min(p.id for p in older.page.posts) <= stop_at:
                break  # the gap is closed
            cursor = older.cursor
        if first_sight:
            self.store.set_backfill(cfg.name, cursor=None, done=True)

    async def _parse(self, cfg: SourceConfig, fetched: Fetched, url: str) -> Page:
        """The page as the parser reads it for this source (posts of other channels are refused),
        parsed in a worker process under the time limit (core/parse_pool.py), off the event loop: a
        page past the limit comes back refused (suspiciously empty, with the reason)."""
        pool = self._parse_pool or self._start_parse_pool()
        return await pool.parse_async(fetched.body, url=url, final_url=fetched.final_url, channel=cfg.handle)

    async def _parse_kind(self, kind: SourceKind, fetched: Fetched, request: Request) -> Parsed:
        """Another kind's response parsed the same way: in a worker, under the time limit."""
        pool = self._parse_pool or self._start_parse_pool()
        result = await pool.parse_kind_async(kind.name, fetched.body, request, url=request.url,
                                             final_url=fetched.final_url, status=fetched.status,
                                             headers={"link": fetched.link or ""})
        return result if isinstance(result, Parsed) else Parsed(page=result)

    def _start_parse_pool(self) -> ParsePool:
        # Two workers: a slow page holds one while the other parses the healthy channels.
        self._parse_pool = ParsePool(POOL_WORKERS, time_limit=self.cfg.parse_timeout, pipeline=False)
        return self._parse_pool

    def _store_page(self, run: _SourceRun, page: Page, fetched: Fetched, now: datetime,
                    channel: bool = True) -> IngestResult:
        """One page in one transaction, recorded as fetched from its final URL; refusals noted."""
        assert self.store is not None
        name = run.config.name
        res = self.store.ingest_page(name, page.posts, fetched_at=now, channel=page.channel if channel else None,
                                     capture=("fetched", fetched.final_url))
        run.refused.extend(page.refused)
        run.refused.extend(res.refused)
        self._emit(PollEvent(PollEventKind.STORED, name, res.new, res.changed, res.max_key))
        return res

    def _check_page(self, page: Page) -> None:
        if page.kind is PageKind.REFUSED:
            raise FetchError(f"page refused: {page.reason}")
        if page.kind is PageKind.NO_PREVIEW:
            raise FetchError(f"no public preview: {page.reason or 'the channel has no web preview'}")
        if page.kind is PageKind.SUSPICIOUS_EMPTY:
            raise FetchError(f"suspiciously empty page: {page.reason or 'no posts and no notice'}")

    async def _backfill(self, client: httpx.AsyncClient, run: _SourceRun, page: Page,
                        known: int | None, row: dict) -> None:
        """Walk older pages: on first sight (to the configured depth), or when the newest page shows a
        gap since the last poll (more new posts than one page holds). Guarded against cursor loops."""
        assert self.store is not None
        cfg = run.config
        depth = self.cfg.backfill_pages
        if depth <= 0 or page.kind is not PageKind.OK or not page.posts or page.before is None:
            if known is None:
                self.store.set_backfill(cfg.name, cursor=None, done=True)
            return
        first_sight = known is None or not row.get("backfill_done")
        gap = known is not None and min(p.id for p in page.posts) > known + 1
        if not (first_sight or gap):
            return
        cursor: int | None = page.before
        seen_cursors: set[int] = set()
        stop_at = known if gap else None
        pages = 0
        while cursor is not None and pages < depth:
            if self._stop is not None and self._stop.is_set():
                return
            if cursor in seen_cursors or cursor <= 1:
                break  # loop guard: a cursor seen before, or nothing older can exist
            seen_cursors.add(cursor)
            url = f"{cfg.url}?before={cursor}"
            fetched = await self._fetch(client, url)
            older = await self._parse(cfg, fetched, url)
            if older.kind is not PageKind.OK or not older.posts:
                if older.kind is PageKind.REFUSED:
                    run.refused.append(f"older page before {cursor}: {older.reason}")
                break
            res = self._store_page(run, older, fetched, datetime.now(UTC), channel=False)
            pages += 1
            run.summary.pages += 1
            run.summary.new += res.new
            run.summary.changed += res.changed
            nxt = older.before
            if nxt is not None and nxt >= cursor:
                break  # a cursor that does not move back would loop forever
            if stop_at is not None and min(p.id for p in older.posts) <= stop_at:
                break  # the gap is closed
            cursor = nxt
        if first_sight:
            self.store.set_backfill(cfg.name, cursor=cursor, done=True)

    def _next(self, run: _SourceRun, *, new: int) -> datetime:
        """Adapt the interval to the channel's pace unless the settings fix it, and schedule."""
        if run.config.interval is None:
            if new > 0:
                run.interval = max(self.cfg.min_interval, run.interval / (2 if new > 5 else 1.25))
            else:
                run.interval = min(self.cfg.max_interval, run.interval * 1.25)
        delay = run.interval * random.uniform(0.9, 1.1)
        run.due = time.monotonic() + delay
        return datetime.now(UTC) + timedelta(seconds=delay)

    async def _fetch(self, client: httpx.AsyncClient, url: str, *, etag: str | None = None,
                     last_modified: str | None = None, accept: str | None = None) -> Fetched:
        headers: dict[str, str] = {"Accept": accept} if accept else {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        async with self._gate(url):
            # The overall deadline also catches servers that drip bytes slowly forever. It counts
            # from the turn's taking: on PostgreSQL the turn says the request is over by then.
            ends = time.monotonic() + self._request_limit()
            self._claim_polling()
            return await asyncio.wait_for(
                get(client, url, headers, max_body=self.cfg.max_body, backoff_base=self.cfg.backoff_base),
                timeout=max(0.0, ends - time.monotonic()))

    def _request_limit(self) -> float:
        """Seconds one request may take, from its turn at the host to its last byte."""
        return self.cfg.timeout * 2

    def _claim_polling(self) -> None:
        """On PostgreSQL, with the host's turn taken: send only for a source still leased to this
        poller, and mark it polled until the poll ends (a lease round then keeps it). A poll that
        was only waiting for its turn is not "under way": its source may be handed over meanwhile.
        No await between the check and the mark, so no lease round comes in between."""
        name = _polling_source.get()
        if self.keeper is None or name is None:
            return
        if name not in self._polling:
            if not (name in self._held and time.monotonic() < self._lease_until):
                raise HandedOver(name)
            self._polling.add(name)
            # Should this poll outlive the lease (a stalled machine), the next holder must not
            # take the source as due: the soonest this round's next poll may come, stored now.
            # Unstored (the server away), nothing is sent: the next holder would poll it again at
            # once, and this poller's turn at the host may have ended with its connection.
            run = self._runs.get(name)
            if run is not None and self.store is not None:
                soonest = datetime.now(UTC) + timedelta(seconds=run.interval * 0.9)
                self.store.mark_polling(name, next_poll=soonest)

    def _emit(self, event: PollEvent) -> None:
        if self.on_event is None:
            return
        try:
            self.on_event(event)
        except Exception:  # a listener's bug must not stop polling
            log.exception("poll event listener failed")


def run_in_thread(poller: Poller) -> None:
    """Blocking: run the poller in the calling thread's own event loop (for a UI thread worker)."""
    asyncio.run(poller.run())
