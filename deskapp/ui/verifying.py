"""The desk's side of verifying pins: each pin's last check, capture and re-check workers, the copy warning.

Pinning a post queues a capture of its own page; `v` on the pinboard queues a re-check of every pin.
One run at a time, in a thread worker with its own Store and event loop (deskapp.core.verify does the
work); the worker only posts `PinChecked` / `VerifyFinished` messages, and the app re-reads the
store's answer. Nothing here blocks the UI loop on the network.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.content import Content

from deskapp.core.model import CheckKind, StoredPost, age_text
from deskapp.ui.messages import PinChecked, VerifyFinished

if TYPE_CHECKING:
    from textual.app import App

    from deskapp.config import Settings
    from deskapp.core.store_api import DeskStore

Key = tuple[str, int]
_BAD = ("edited", "deleted", "channel_gone")


@dataclass(slots=True)
class _Run:
    kind: CheckKind
    posts: list[StoredPost]


class PinChecks:
    """Owned by the app (UI thread only): what the pinboard and compose pane show about checks."""

    def __init__(self, app: App, settings: Settings, store_path: Path | str, *,
                 clocks_folder: Path | None = None) -> None:
        """`store_path`: the SQLite file or a PostgreSQL URL (core/backend.py); `clocks_folder`: where
        the per-host turns are shared with other processes (desk poll)."""
        self.app = app
        self.clocks_folder = clocks_folder
        self.settings = settings
        self.store_path = store_path
        self.checks: dict[Key, Any] = {}  # the newest check of each pin (evidence.Check)
        self.answered: dict[Key, Any] = {}  # the newest check that got an answer
        self.running: _Run | None = None
        self.queue: list[_Run] = []
        self.clocks: Any = None  # fetch.HostClocks shared with this desk's poller, made on first use

    def shared_clocks(self) -> Any:
        """The per-host turns this desk's poller and its re-checks share, with each other and with other
        processes using the same state folder (imported late: httpx)."""
        if self.clocks is None:
            from deskapp.core.fetch import HostClocks

            self.clocks = HostClocks(self.clocks_folder)
        return self.clocks

    # ---- reading ---------------------------------------------------------------------------------

    def reload(self, store: DeskStore, keys: Sequence[Key]) -> dict[Key, Any]:
        """Re-read the pins' checks from the store (a small table, grouped by post)."""
        from deskapp.core.evidence import EvidenceLog

        log = EvidenceLog(store)
        self.checks = log.latest(keys) if keys else {}
        self.answered = log.latest(keys, answered=True) if keys else {}
        return self.checks

    def facts(self, store: DeskStore, keys: Sequence[Key]) -> dict[Key, Any]:
        """What the citation's "checked" and "archive" options print (cite.Verification by post)."""
        from deskapp.core.verify import cite_facts

        return cite_facts(store, keys) if keys else {}

    def stale(self, keys: Sequence[Key], now: datetime | None = None) -> list[Key]:
        from deskapp.core.verify import stale

        return stale(self.answered, keys, self.settings.verify.stale_after, now)

    def summary(self, keys: Sequence[Key], now: datetime | None = None) -> Content:
        """One line for the compose pane: each pin's last result and its age ("#2 DELETED 4m"), or
        counts by result when the board is long; pins not checked lately; what runs now."""
        if not keys:
            return Content("")
        now = now or datetime.now(UTC)
        parts: list[tuple[str, str] | str] = [("Checks: ", "bold")]
        if len(keys) <= PER_PIN_MAX:
            for n, key in enumerate(keys, start=1):
                check = self.checks.get(key)
                word = "never checked" if check is None else _WORDS.get(check.result.value, check.result.value)
                age = "" if check is None else f" {age_text(check.checked, now, short=True)}"
                parts += [" · " if n > 1 else "", (f"#{n} {word}{age}", _style(word))]
        else:
            counts: dict[str, int] = {}
            for key in keys:
                check = self.checks.get(key)
                word = "never checked" if check is None else _WORDS.get(check.result.value, check.result.value)
                counts[word] = counts.get(word, 0) + 1
            for i, (word, n) in enumerate(sorted(counts.items(), key=lambda kv: _ORDER.get(kv[0], 9))):
                parts += [" · " if i else "", (f"{n} {word}", _style(word))]
            answered = [self.answered[k].checked for k in keys if k in self.answered]
            if answered:
                parts.append(f" · oldest {age_text(min(answered), now)}")
        stale = self.stale(keys, now)
        if stale:
            parts.append((f" · {len(stale)} not checked in {self.settings.verify.stale_after:g} min (v)", "yellow"))
        if self.running is not None:
            parts.append((" · re-checking…" if self.running.kind is CheckKind.RECHECK else " · capturing…", "dim"))
        return Content.assemble(*parts)

    def copy_warning(self, keys: Sequence[Key]) -> str | None:
        """A warning for the copy toast (never a refusal): stale pins, or pins found changed or gone."""
        stale = self.stale(keys)
        bad = [k for k in keys if k in self.answered and self.answered[k].result.value in _BAD]
        notes = []
        if bad:
            notes.append(f"{len(bad)} cited post{'s' if len(bad) != 1 else ''} changed or gone since capture")
        if stale:
            notes.append(f"{len(stale)} pin{'s' if len(stale) != 1 else ''} not re-checked in the last "
                         f"{self.settings.verify.stale_after:g} min (v on the pinboard re-checks)")
        return "; ".join(notes) or None

    # ---- running -----------------------------------------------------------------------------------

    def capture(self, posts: list[StoredPost]) -> None:
        self._queue(_Run(CheckKind.CAPTURE, posts))

    def recheck(self, posts: list[StoredPost]) -> bool:
        """Queue a re-check of `posts`; False when one is already running or queued."""
        if any(r.kind is CheckKind.RECHECK for r in [*self.queue, *([self.running] if self.running else [])]):
            return False
        self._queue(_Run(CheckKind.RECHECK, posts))
        return True

    def _queue(self, run: _Run) -> None:
        if run.posts:
            self.queue.append(run)
            self._next()

    def _next(self) -> None:
        if self.running is not None or not self.queue:
            return
        self.running = run = self.queue.pop(0)
        self.app.run_worker(partial(_worker, self.app, self.store_path, self.settings, run, self.shared_clocks()),
                            name="verify",
                            group="verify", thread=True, exit_on_error=False)

    def finished(self) -> None:
        """The running worker ended (its VerifyFinished arrived): start the next one."""
        self.running = None
        self._next()


_WORDS = {"captured": "ok", "unchanged": "ok", "edited": "EDITED", "deleted": "DELETED",
          "channel_gone": "CHANNEL GONE", "unchecked": "not checked"}
PER_PIN_MAX = 8  # longer boards get counts, not one entry a pin


def _style(word: str) -> str:
    return "bold red" if word in ("DELETED", "CHANNEL GONE") else "bold yellow" if word == "EDITED" else ""


_ORDER = {"DELETED": 0, "CHANNEL GONE": 1, "EDITED": 2, "not checked": 3, "never checked": 4, "ok": 5}


def _worker(app: App, store_path: Path | str, settings: Settings, run: _Run, clocks: Any) -> None:
    """Thread worker: its own Store and event loop; tells the app only through messages."""
    from deskapp.core.backend import open_store
    from deskapp.core.evidence import FetchLimits
    from deskapp.core.verify import Verifier, base_resolver, targets_for

    checks: list[Any] = []
    store = None
    try:
        store = open_store(store_path)
        targets = targets_for(run.posts, base_resolver(store, settings.sources, settings.base_url))
        limits = FetchLimits.of(settings.poller, [t.base_url for t in targets])
        verifier = Verifier(store, limits, on_check=lambda c: app.post_message(PinChecked(c)), clocks=clocks)
        go = verifier.capture if run.kind is CheckKind.CAPTURE else verifier.recheck
        checks = asyncio.run(go(targets))
    except Exception as exc:  # a store or settings failure: said once, never a traceback
        app.post_message(VerifyFinished(run.kind, checks, f"{type(exc).__name__}: {exc}"))
        return
    finally:
        if store is not None:
            with contextlib.suppress(Exception):
                store.close()
    app.post_message(VerifyFinished(run.kind, checks))


def finished_message(kind: CheckKind, checks: Sequence[Any], error: str) -> tuple[str, str]:
    """The toast after a run: (text, severity)."""
    if error:
        return f"The {'re-check' if kind == 'recheck' else 'capture'} stopped: {error}", "error"
    counts: dict[str, int] = {}
    for c in checks:
        word = _WORDS.get(c.result.value, c.result.value)
        counts[word] = counts.get(word, 0) + 1
    told = ", ".join(f"{n} {w}" for w, n in sorted(counts.items(), key=lambda kv: _ORDER.get(kv[0], 9)))
    what = "Re-checked" if kind is CheckKind.RECHECK else "Captured"
    n = len(checks)
    bad = any(c.result.value in (*_BAD, "unchecked") for c in checks)
    return f"{what} {n} pin{'s' if n != 1 else ''}: {told}", "warning" if bad else "information"
