"""Several real `desk poll` processes on one store against a loopback wire that counts what it is
asked: the harness of tests/test_pg_poll.py and benchmarks/bench_pg_poll.py.

Each poller gets its own settings file and state folder (so the state folder's host clocks do not
join them: only the store does, as for pollers on different machines that share one address).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from deskapp.demo.server import WireServer
from deskapp.demo.tme import FakePost
from tests.e2e.tmux import DESK
from tests.wire import make_channel


@dataclass(frozen=True, slots=True)
class Span:
    start: float  # monotonic, when the request arrived
    end: float  # when its answer began to be written: the client cannot have read it before
    path: str


class CountingWire(WireServer):
    """The demo wire, also keeping each request's span and how many were under way at once."""

    def __init__(self, channels: int, posts: int = 5) -> None:
        super().__init__()
        self.spans: list[Span] = []
        self.inflight = 0
        self.max_inflight = 0
        self.handles = [f"ch{i:03d}" for i in range(channels)]
        for h in self.handles:
            self.add(make_channel(h, posts))

    def _handle(self, req: BaseHTTPRequestHandler) -> None:
        start = time.monotonic()
        with self.lock:
            self.inflight += 1
            self.max_inflight = max(self.max_inflight, self.inflight)
        try:
            super()._handle(req)
        finally:
            with self.lock:
                self.inflight -= 1
                self.spans.append(Span(start, getattr(req, "desk_answered", time.monotonic()), req.path))

    def _send(self, req: BaseHTTPRequestHandler, code: int, body: bytes,  # type: ignore[override]
              headers: dict[str, str] | None = None) -> None:
        # Taken before writing: a time after it (when this thread next runs) could be later than the
        # client's reading the answer, releasing the host and sending its next request.
        req.desk_answered = time.monotonic()  # type: ignore[attr-defined]
        WireServer._send(req, code, body, headers)

    def add_post(self, handle: str) -> None:
        """One more post on a channel (the next poll finds it)."""
        with self.lock:
            ch = self.channels[handle]
            last = ch.posts[-1]
            ch.posts.append(FakePost(last.id + 1, last.published + timedelta(minutes=1),
                                     f"{handle} post number {last.id + 1}\nsecond line", views="1"))

    def newest_page_requests(self) -> dict[str, list[float]]:
        """Arrival times of each channel's newest-page requests (no ?before=), in order."""
        with self.lock:
            spans = list(self.spans)
        out: dict[str, list[float]] = {h: [] for h in self.handles}
        for s in sorted(spans, key=lambda s: s.start):
            if s.path.startswith("/s/") and "?" not in s.path:
                handle = s.path[3:]
                if handle in out:
                    out[handle].append(s.start)
        return out

    def gaps_between_requests(self) -> list[float]:
        """For each request, the time since the previous one's answer began (politeness per host,
        server side: a lower bound of the gap the client kept after reading that answer)."""
        with self.lock:
            spans = sorted(self.spans, key=lambda s: s.start)
        return [b.start - a.end for a, b in zip(spans, spans[1:], strict=False)]


@dataclass
class Farm:
    """`desk poll` processes named p1, p2, ... on the store `url`, polling every channel of `wire`."""

    url: str
    wire: CountingWire
    folder: Path
    interval: float
    lease: float
    min_gap: float = 0.02
    address: str = "one-address"
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    def config(self, name: str) -> Path:
        lines = [
            "[telegram]", f'base_url = "{self.wire.url}"', f"interval = {self.interval}",
            "channels = [" + ", ".join(f'"{h}"' for h in self.wire.handles) + "]",
            "[store]", f'state = "{self.folder / ("state-" + name)}"',
            "[poller]", f"min_interval = {self.interval}", f"max_interval = {self.interval * 4}",
            f"min_gap = {self.min_gap}", "gap_jitter = 0.0", "timeout = 5.0", "backoff_base = 0.5",
            "backoff_max = 2.0", "backfill_pages = 0", f"lease_seconds = {self.lease}",
            f'address = "{self.address}"',
        ]
        path = self.folder / f"{name}.toml"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    def env(self) -> dict[str, str]:
        """The environment of a poller: every default path inside the farm's folder."""
        return {**os.environ, **{v: str(self.folder / v.lower()) for v in
                                 ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME")}}

    def start(self, name: str) -> subprocess.Popen:
        assert DESK is not None
        out = (self.folder / f"{name}.out").open("w")
        proc = subprocess.Popen([DESK, "--db", self.url, "poll", "--config", str(self.config(name))],
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=self.env())
        out.close()
        self.procs[name] = proc
        return proc

    def output(self, name: str) -> str:
        return (self.folder / f"{name}.out").read_text(encoding="utf-8", errors="replace")

    def held(self) -> dict[int, set[str]]:
        """Sources by the pid of the poller holding their lease (poller names are host:pid:random)."""
        import psycopg

        with psycopg.connect(self.url) as conn:
            rows = conn.execute("SELECT poller, source FROM leases WHERE poller IS NOT NULL "
                                "AND expires > now()").fetchall()
        out: dict[int, set[str]] = {}
        for poller, source in rows:
            out.setdefault(int(poller.split(":")[-2]), set()).add(source.split(":", 1)[1])
        return out

    def posts_per_channel(self) -> dict[str, int]:
        sql = "SELECT source, count(*) FROM posts GROUP BY source"
        if self.url.startswith("sqlite:"):  # the same-run baseline: one poller on a SQLite file
            import sqlite3

            path = Path(self.url[len("sqlite:"):])
            if not path.exists():
                return {}
            with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as conn:
                try:
                    rows = conn.execute(sql).fetchall()
                except sqlite3.OperationalError:  # not made yet
                    return {}
        else:
            import psycopg

            with psycopg.connect(self.url) as conn:
                rows = conn.execute(sql).fetchall()
        return {s.split(":", 1)[1]: n for s, n in rows}

    def kill(self, name: str, sig: int = signal.SIGKILL) -> float:
        """Send `sig` to the poller's process group (its parse workers too); the monotonic time sent."""
        proc = self.procs[name]
        sent = time.monotonic()
        os.killpg(proc.pid, sig)
        return sent

    def stop_all(self) -> None:
        """SIGTERM every poller still running, then SIGKILL what has not ended within 15 s."""
        for proc in self.procs.values():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
            with contextlib.suppress(ProcessLookupError):  # parse workers left by a SIGKILL
                os.killpg(proc.pid, signal.SIGKILL)


def wait_for(cond: Callable[[], bool], timeout: float, step: float = 0.05) -> bool:
    """Poll `cond` until true or `timeout` seconds (a bound, not a timing claim)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    return cond()


def takeover(wire: CountingWire, handles: set[str], after: float) -> dict[str, float]:
    """Seconds from `after` to each handle's first newest-page request after it (those polled)."""
    out: dict[str, float] = {}
    for h, times in wire.newest_page_requests().items():
        if h in handles:
            later = [t for t in times if t > after]
            if later:
                out[h] = later[0] - after
    return out
