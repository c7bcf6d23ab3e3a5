"""Two desks without --no-poll on one store, in real terminals: the second watches the first one's
poller (its status bar says so) instead of doubling the requests, and takes over when the first desk
is SIGKILLed. A loopback server counts the requests per channel."""

from __future__ import annotations

import time
from pathlib import Path

from deskapp.demo.server import WireServer
from tests.adversary.helpers_b import desk_config
from tests.e2e.tmux import desk_terminal, kill9, needs_tmux, read_pid
from tests.wire import make_channel

pytestmark = needs_tmux
HANDLES = ["twin_one", "twin_two"]
INTERVAL = 0.5


def test_two_desks_poll_once_and_the_second_takes_over(tmp_path: Path) -> None:
    with WireServer() as server:
        for h in HANDLES:
            server.add(make_channel(h, 5))
        cfg = desk_config(tmp_path, server.url, HANDLES, interval=INTERVAL)
        with desk_terminal(tmp_path / "a", "--config", cfg) as (first, first_pid):
            first.wait_for(lambda s: "polling" in s, 30, "the first desk polling")
            with desk_terminal(tmp_path / "b", "--config", cfg) as (second, _second_pid):
                second.wait_for(lambda s: "watching another poller" in s, 30, "the second desk watching")
                t0 = time.monotonic()
                time.sleep(4.0)
                t1 = time.monotonic()
                both = {h: sum(1 for hit in server.hits_for(h) if t0 <= hit.at < t1) for h in HANDLES}
                killed = time.monotonic()
                kill9(read_pid(first_pid))
                second.wait_for(lambda s: "watching another poller" not in s and "polling" in s, 20,
                                "the second desk polling after the first was killed")
                t2 = time.monotonic()
                deadline = t2 + 20.0  # the new poller opens the store and starts its parser processes first
                while True:
                    after = {h: sum(1 for hit in server.hits_for(h) if hit.at >= t2) for h in HANDLES}
                    if min(after.values()) >= 2 or time.monotonic() > deadline:
                        break
                    time.sleep(0.2)
    first_after = min(hit.at for h in HANDLES for hit in server.hits_for(h) if hit.at >= killed)
    print(f"two desks, {t1 - t0:.1f} s: requests per channel {both}; the second desk's first request "
          f"{first_after - killed:.1f} s after the first desk's SIGKILL")
    most = (t1 - t0) / (INTERVAL * 0.9) + 1
    for h in HANDLES:
        assert 1 <= both[h] <= most, (both, most)  # one poller's requests, not two
        assert after[h] >= 2, after
