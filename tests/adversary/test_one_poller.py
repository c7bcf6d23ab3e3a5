"""Only one poller polls a store: a second `desk poll` (or a desk) watches the first one, says whose
it is, and takes over when the first is SIGKILLed. Real processes, a loopback server counting the
requests per channel."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from deskapp.demo.server import WireServer
from tests.adversary.helpers_b import Lines, desk_config, desk_process, needs_desk
from tests.wire import make_channel

pytestmark = needs_desk
HANDLES = ["lock_one", "lock_two"]
INTERVAL = 0.5  # seconds; each poll is spread by +-10 %, so one poller makes at most T / 0.45 + 1


def _per_channel(server: WireServer, since: float, until: float) -> dict[str, int]:
    return {h: sum(1 for hit in server.hits_for(h) if since <= hit.at < until) for h in HANDLES}


def test_a_second_poller_watches_and_takes_over_after_sigkill(tmp_path: Path) -> None:
    with WireServer() as server:
        for h in HANDLES:
            server.add(make_channel(h, 5))
        cfg = desk_config(tmp_path, server.url, HANDLES, interval=INTERVAL)
        with desk_process("--config", str(cfg), "poll") as first:
            out1 = Lines(first)
            out1.wait_for("polling 2 sources")
            time.sleep(1.0)
            with desk_process("--config", str(cfg), "poll") as second:
                out2 = Lines(second)
                line = out2.wait_for("watching")
                assert f"pid {first.pid} on " in line and " since " in line, line
                t0 = time.monotonic()
                time.sleep(3.0)
                t1 = time.monotonic()
                both = _per_channel(server, t0, t1)
                # Asked at once: `desk poll --once` refuses rather than polling twice.
                once = subprocess.run([*second.args[:3], "poll", "--once"], capture_output=True, text=True,
                                      timeout=30)
                assert once.returncode == 1 and f"pid {first.pid}" in once.stderr, once
                os.killpg(first.pid, signal.SIGKILL)
                first.wait(timeout=10)
                out2.wait_for("polling now", timeout=10)
                t2 = time.monotonic()
                time.sleep(2.0)
                after = _per_channel(server, t2, time.monotonic())
    most = (t1 - t0) / (INTERVAL * 0.9) + 1
    print(f"requests per channel in {t1 - t0:.1f} s with two pollers: {both} (one poller: at most {most:.1f}); "
          f"after the SIGKILL: {after}")
    for h in HANDLES:
        assert 1 <= both[h] <= most, (both, most)  # one poller's worth, not two
        assert after[h] >= 2, after  # the watcher took over
