"""Many pollers on one PostgreSQL store (core/pg/leases.py): three poller processes share 30
sources of a loopback wire, each source leased by one of them; one is SIGKILLed and the others
take its sources over. Figures (takeover time, requests per channel) are printed, not asserted."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from deskapp.core.backend import open_store
from deskapp.core.model import SourceConfig
from deskapp.core.pg.leases import LeaseKeeper

LEASE = 1.0
CHANNELS = 32

_POLLER = """
import sys, time, urllib.request
from deskapp.core.pg.leases import LeaseKeeper
from deskapp.core.pg.store import PgStore
url, name, port, lease = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
with PgStore.open(url) as s:
    keeper = LeaseKeeper(s, name, lease_s=lease)
    while True:
        for src in keeper.round():
            urllib.request.urlopen(f"http://127.0.0.1:{port}/s/{src.split(':')[1]}?poller={name}", timeout=5).read()
        time.sleep(lease / 5)
"""


class _Wire(BaseHTTPRequestHandler):
    hits: list[tuple[float, str, str]] = []  # (time, channel, poller)

    def do_GET(self) -> None:  # noqa: N802
        parts = urlsplit(self.path)
        self.hits.append((time.monotonic(), parts.path.rsplit("/", 1)[1], parse_qs(parts.query)["poller"][0]))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


def _owners(hits: list[tuple[float, str, str]], since: float) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for t, ch, who in hits:
        if t >= since:
            out.setdefault(ch, set()).add(who)
    return out


def _wait(cond, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return False


def test_keeper_shares_and_hands_over(pg_url: str) -> None:
    with open_store(pg_url) as s:
        s.sync_sources([SourceConfig(name=f"telegram:c{i:02d}", kind="telegram", handle=f"c{i:02d}")
                        for i in range(6)])
        a, b = LeaseKeeper(s, "a", lease_s=60), LeaseKeeper(s, "b", lease_s=60)
        assert len(a.round()) == 6  # alone: everything
        assert b.round() == []  # nothing free yet; a gives back its excess at its next round
        assert len(a.round()) == 3 and len(b.round()) == 3
        assert set(a.round()).isdisjoint(b.round())
        a.release()
        assert len(b.round()) == 6


def test_three_pollers_share_a_wire_and_survive_a_sigkill(pg_url: str) -> None:
    with open_store(pg_url) as s:
        s.sync_sources([SourceConfig(name=f"telegram:ch{i:02d}", kind="telegram", handle=f"ch{i:02d}")
                        for i in range(CHANNELS)])
    _Wire.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Wire)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    root = Path(__file__).resolve().parents[1]
    procs = {name: subprocess.Popen([sys.executable, "-c", _POLLER, pg_url, name, str(server.server_port), str(LEASE)],
                                    cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for name in ("p1", "p2", "p3")}
    try:
        # Steady state: every channel polled, each by one poller only, all three working.
        def steady() -> bool:
            owners = _owners(_Wire.hits, time.monotonic() - LEASE)
            return (len(owners) == CHANNELS and all(len(w) == 1 for w in owners.values())
                    and len(set().union(*owners.values())) == 3)

        assert _wait(steady), _owners(_Wire.hits, time.monotonic() - LEASE)
        window_start = time.monotonic()
        time.sleep(2 * LEASE)
        owners = _owners(_Wire.hits, window_start)
        assert all(len(w) == 1 for w in owners.values()), owners  # no channel polled by two pollers
        per_channel = sum(1 for t, _, _ in _Wire.hits if t >= window_start) / CHANNELS
        victim = "p2"
        theirs = {ch for ch, w in owners.items() if w == {victim}}
        assert theirs
        procs[victim].send_signal(signal.SIGKILL)
        procs[victim].wait(timeout=10)
        killed = time.monotonic()

        def taken() -> bool:
            after = _owners(_Wire.hits, killed + 0.2)  # a request already in flight may still land
            return all(ch in after and victim not in after[ch] for ch in theirs)

        assert _wait(taken), "the dead poller's sources were not taken over"
        first = {}
        for t, ch, who in _Wire.hits:
            if t > killed and ch in theirs and who != victim:
                first.setdefault(ch, t)
        takeover = max(first.values()) - killed
        print(f"\n{CHANNELS} channels, 3 pollers, lease {LEASE:.1f} s: {per_channel:.1f} requests per channel "
              f"in {2 * LEASE:.0f} s, {len(theirs)} sources taken over {takeover:.2f} s after the SIGKILL "
              f"({takeover / LEASE:.2f} lease periods)")
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
            p.wait(timeout=10)
        server.shutdown()
        server.server_close()
