"""Concurrent use of one store: a headless `desk poll` writing from a wire that keeps posting, two
desks (`desk --no-poll`, each in its own terminal) pinning and copying, and a loop of `desk cite
--pins` / `desk search`, all at once for a bounded time.

No "database is locked" (nor any traceback) may reach a screen or a command's output, and once the
poller stops every desk shows the store's full post count.
"""

from __future__ import annotations

import os
import random
import subprocess
import threading
import time
from datetime import timedelta
from pathlib import Path

from deskapp.demo.server import WireServer
from deskapp.demo.tme import FakePost
from tests.e2e.tmux import (
    DESK,
    FEED_TITLE,
    NEVER_ON_SCREEN,
    STORED,
    Term,
    assert_clean_screen,
    desk_terminal,
    needs_tmux,
    number,
    store_facts,
    wait_screen,
)
from tests.wire import T0, config_toml, make_channel

pytestmark = needs_tmux

SEED = 4242
DURATION = 20.0  # seconds of everything at once
HANDLES = [f"busy_{i}" for i in range(4)]


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "DESK_CONFIG")}
    env.update(PYTHONUNBUFFERED="1", HOME=str(tmp))
    return env


def test_poller_two_desks_and_cli_share_one_store(tmp_path: Path) -> None:
    assert DESK is not None
    rng = random.Random(SEED)
    db, state = tmp_path / "desk.db", tmp_path / "state"
    server = WireServer()
    channels = [make_channel(h, 30) for h in HANDLES]
    for ch in channels:
        server.add(ch)
    stop_feeding = threading.Event()
    added = [0]

    def feed() -> None:  # the wire keeps posting: one new post every ~0.2 s
        while not stop_feeding.wait(0.2):
            ch = rng.choice(channels)
            with server.lock:
                new_id = ch.posts[-1].id + 1
                added[0] += 1
                ch.posts.append(FakePost(new_id, T0 + timedelta(hours=3, seconds=added[0]),
                                         f"{ch.handle} breaking {new_id}"))

    cli_results: list[tuple[list[str], int, str, str]] = []
    stop_cli = threading.Event()

    def cli_loop(cfg: Path) -> None:  # `desk cite --pins` and `desk search`, one after the other
        commands = [["cite", "--pins"], ["search", "breaking"], ["cite", "--pins", "--format", "markdown"],
                    ["search", "post", "--json", "--limit", "5"]]
        i = 0
        while not stop_cli.is_set():
            args = commands[i % len(commands)]
            i += 1
            res = subprocess.run([DESK, "--config", str(cfg), *args], capture_output=True, text=True,
                                 timeout=60, env=_env(tmp_path), stdin=subprocess.DEVNULL)
            cli_results.append((args, res.returncode, res.stdout, res.stderr))

    feeder = threading.Thread(target=feed, daemon=True)
    with server:
        cfg = tmp_path / "desk.toml"
        cfg.write_text(config_toml(server, HANDLES, db, state, min_gap=0.0, interval=0.3, min_interval=0.2,
                                   max_interval=0.6, backfill_pages=2))
        poller = subprocess.Popen([DESK, "--config", str(cfg), "poll"], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=_env(tmp_path), stdin=subprocess.DEVNULL)
        try:
            # The store exists once the poller reported its first page.
            assert poller.stdout is not None
            first = poller.stdout.readline() + poller.stdout.readline()
            assert "new" in first, first
            poll_out: list[str] = [first]
            threading.Thread(target=lambda: poll_out.extend(poller.stdout), daemon=True).start()  # type: ignore[arg-type]
            feeder.start()
            with desk_terminal(tmp_path / "a", "--no-poll", "--config", cfg, width=120, height=32) as (one, _), \
                    desk_terminal(tmp_path / "b", "--no-poll", "--config", cfg, width=100, height=30) as (two, _):
                desks: list[Term] = [one, two]
                for term in desks:
                    wait_screen(term, lambda s: "Pinboard (" in s and "Live feed" in s, 45, "a desk to start")
                cli = threading.Thread(target=cli_loop, args=(cfg,), daemon=True)
                cli.start()
                screens = 0
                end = time.monotonic() + DURATION
                try:
                    while time.monotonic() < end:
                        term = rng.choice(desks)
                        term.keys(rng.choice(["g", "p", "j", "k", "c", "p", "n"]), pause=0)
                        time.sleep(rng.uniform(0.05, 0.3))
                        for t in desks:
                            assert_clean_screen(t.screen(), "a desk, during the run")
                            screens += 1
                finally:
                    stop_cli.set()
                    cli.join(timeout=90)
                    stop_feeding.set()
                    feeder.join(timeout=5)
                # The poller stops cleanly on SIGTERM once the wire has stopped posting.
                time.sleep(1.0)  # the last posts are fetched
                poller.terminate()
                poller.wait(timeout=30)
                facts = store_facts(db)
                total = facts["posts"]
                assert facts["integrity"] == "ok"
                # Every desk shows every post: the feed's title and the status bar count the store.
                waited = []
                for term in desks:
                    started = time.monotonic()
                    wait_screen(term, lambda s: number(FEED_TITLE, s) == total, 20, f"Live feed · {total:,} posts")
                    waited.append(time.monotonic() - started)
                    # The status bar too (a copy's notification may cover it for up to 8 s).
                    screen = wait_screen(term, lambda s: number(STORED, s) == total, 20, f"{total:,} stored")
                    assert_clean_screen(screen, "a desk, at the end")
                for term in desks:
                    term.keys("q")
                    wait_screen(term, lambda s: "DESK-EXITED 0" in s, 20, "a desk to quit")
        finally:
            if poller.poll() is None:
                poller.kill()
                poller.wait(timeout=10)
    err = poller.stderr.read() if poller.stderr else ""
    assert poller.returncode == 0, (poller.returncode, err)
    out = "".join(poll_out)
    for bad in NEVER_ON_SCREEN:
        assert bad not in out + err, (bad, out[-2000:], err[-2000:])
    assert "stopped" in out
    assert len(cli_results) >= 4, cli_results
    for args, code, stdout, stderr in cli_results:
        assert code == 0, (args, code, stderr)
        for bad in NEVER_ON_SCREEN:
            assert bad not in stdout + stderr, (args, bad, stderr)
    pins = len(facts["pins"])  # type: ignore[arg-type]
    print(f"concurrency: {DURATION:.0f} s, {added[0]} posts added by the wire, {total} in the store, "
          f"{pins} pins, {len(cli_results)} CLI runs, {screens} screens checked; desks caught up in "
          f"{max(waited):.2f} s")
