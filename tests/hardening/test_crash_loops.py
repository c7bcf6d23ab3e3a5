"""Crash loops: SIGKILL the headless poller (`desk poll`) and the desk itself (polling, in a real
terminal) at random moments, round after round on ONE store, while a local wire keeps posting.

After every kill: `PRAGMA integrity_check` is ok; every page the poller reported stored is there;
every post the desk counted on screen is there; every pin the desk's screen showed ("Pinboard (N)")
is there; and the next round's desk starts on the same store and shows the feed.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest

from deskapp.demo.server import WireServer
from deskapp.demo.tme import FakePost
from tests.e2e.tmux import (
    DESK,
    FEED_TITLE,
    PINBOARD_TITLE,
    STORED,
    Term,
    assert_clean_screen,
    desk_terminal,
    kill9,
    needs_tmux,
    number,
    read_pid,
    stable_screen,
    store_facts,
    wait_screen,
)
from tests.wire import T0, config_toml, make_channel

pytestmark = needs_tmux

SEED = 20260630
ROUNDS = ["desk", "poll"] * 4  # 8 kills in all
HANDLES = [f"crash_{i}" for i in range(6)]
REPORTED = re.compile(r"^\S+ (\S+): (\d+) new, (\d+) edited$")


@contextmanager
def posting_wire(rng: random.Random, every: float = 0.1) -> Iterator[WireServer]:
    """A wire whose channels keep posting (one new post on a random channel every `every` s), so
    every round has pages to write whenever it is killed."""
    server = WireServer()
    channels = [make_channel(h, 45) for h in HANDLES]  # 3 pages each: first sight backfills
    for ch in channels:
        server.add(ch)
    stop = threading.Event()

    def feed() -> None:
        n = 0
        while not stop.wait(every):
            ch = rng.choice(channels)
            n += 1
            with server.lock:
                new_id = ch.posts[-1].id + 1
                ch.posts.append(FakePost(new_id, T0 + timedelta(hours=2, seconds=n), f"{ch.handle} live {new_id}"))

    thread = threading.Thread(target=feed, name="feeder", daemon=True)
    with server:
        thread.start()
        try:
            yield server
        finally:
            stop.set()
            thread.join(timeout=5)


# A feed line: pin mark, time (' 2 Dec 14:05' this year, an ISO date another year), channel, text.
POST_ROW = re.compile(r"^│(★| ) +(\d{1,2} [A-Z][a-z]{2} \d\d:\d\d|\d{4}-\d\d-\d\d) ")


def _top_row(screen: str) -> str | None:
    """The first feed line under the feed pane's title (the cursor's after `g`), if it is a post."""
    lines = screen.splitlines()
    for i, line in enumerate(lines):
        if "Live feed" in line and i + 1 < len(lines):
            return lines[i + 1] if POST_ROW.match(lines[i + 1]) else None
    return None


def _pin_top(term: Term) -> bool:
    """Pin the newest post if it is not pinned yet; True when a pin was asked for. (A desk that
    starts on an empty store shows "No posts yet." until its poller stores the first page.)"""
    term.keys("g", pause=0)
    wait_screen(term, lambda s: _top_row(s) is not None, 30, "a post on top of the feed")
    row = _top_row(stable_screen(term, timeout=3))
    if row is None or row[1] == "★":
        return False
    term.keys("p", pause=0)
    return True


def _diagnose(db: Path, tmp: Path) -> str:
    """What the store and the desk's log say, for a failure message."""
    facts = store_facts(db)
    try:
        log = (tmp / "state" / "desk.log").read_text(encoding="utf-8", errors="replace")[-3000:]
    except OSError as exc:
        log = f"(no log: {exc})"
    return f"store: {facts['posts']} posts, pins {sorted(facts['pins'])}; desk log tail:\n{log}"  # type: ignore[arg-type]


def _desk_round(tmp: Path, cfg: Path, db: Path, rng: random.Random, round_: int) -> dict[str, object]:
    before = store_facts(db)
    with desk_terminal(tmp / f"round{round_}", "--config", cfg) as (term, pidfile):
        pid = read_pid(pidfile)
        # It starts on the store the last kill left: the feed and the pins it had are shown.
        screen = wait_screen(term, lambda s: number(PINBOARD_TITLE, s) is not None and "Live feed" in s, 45,
                             f"round {round_}: the desk to show the feed")
        assert number(PINBOARD_TITLE, screen) == len(before["pins"]), screen  # type: ignore[arg-type]
        shown_pins = len(before["pins"])  # type: ignore[arg-type]
        # Pin one or two fresh posts and wait until the screen shows each pin.
        for _ in range(rng.randint(1, 2)):
            if _pin_top(term):
                shown_pins += 1
                try:
                    wait_screen(term, lambda s, n=shown_pins: number(PINBOARD_TITLE, s) == n, 20,
                                f"round {round_}: Pinboard ({shown_pins})")
                except pytest.fail.Exception as exc:
                    pytest.fail(f"{exc}\n{_diagnose(db, tmp)}")
            time.sleep(rng.uniform(0.1, 0.6))  # new posts arrive in between
        in_flight = False
        time.sleep(rng.uniform(0.0, 1.5))
        screen = term.screen()
        assert_clean_screen(screen, f"desk round {round_}")
        seen = {"pins": number(PINBOARD_TITLE, screen), "title": number(FEED_TITLE, screen),
                "stored": number(STORED, screen)}
        assert seen["pins"] == shown_pins, screen
        if rng.random() < 0.5 and _pin_top(term):
            in_flight = True  # killed while this pin may be half-way through its transaction
            time.sleep(rng.uniform(0.0, 0.3))
        else:
            time.sleep(rng.uniform(0.0, 0.4))
        kill9(pid)
    after = store_facts(db)
    assert after["integrity"] == "ok", (round_, after["integrity"])
    pins_after = after["pins"]
    assert before["pins"] <= pins_after, f"round {round_}: a pin from an earlier round was lost"  # type: ignore[operator]
    assert len(pins_after) >= shown_pins, (round_, shown_pins, pins_after)  # type: ignore[arg-type]
    assert len(pins_after) <= shown_pins + int(in_flight), (round_, shown_pins, pins_after)  # type: ignore[arg-type]
    for what in ("title", "stored"):
        if seen[what] is not None:
            assert after["posts"] >= seen[what], (round_, what, seen[what], after["posts"])  # type: ignore[operator]
    return {"posts": after["posts"], "pins": len(pins_after), "in_flight": in_flight}  # type: ignore[arg-type]


def _poll_round(tmp: Path, cfg: Path, db: Path, rng: random.Random, round_: int) -> dict[str, object]:
    assert DESK is not None
    before = store_facts(db)
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(PYTHONUNBUFFERED="1", HOME=str(tmp))
    proc = subprocess.Popen([DESK, "--config", str(cfg), "poll"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, stdin=subprocess.DEVNULL)
    reported: dict[str, int] = {}
    lines: list[str] = []
    lock = threading.Lock()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            with lock:
                lines.append(line.rstrip("\n"))
                m = REPORTED.match(line.strip())
                if m:
                    reported[m.group(1)] = reported.get(m.group(1), 0) + int(m.group(2))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        # Wait for the first reported page, then kill at a random moment of the writing that follows.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not reported and proc.poll() is None:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 2.0))
        with lock:
            acknowledged = dict(reported)  # what the poller had said was stored before the kill
        kill9(proc.pid)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    reader.join(timeout=5)
    err = proc.stderr.read() if proc.stderr else ""
    assert acknowledged, f"round {round_}: nothing reported before the kill: {lines} {err}"
    assert "Traceback" not in err and "locked" not in err, err
    after = store_facts(db)
    assert after["integrity"] == "ok", (round_, after["integrity"])
    per_before: dict[str, int] = before["per_source"]  # type: ignore[assignment]
    per_after: dict[str, int] = after["per_source"]  # type: ignore[assignment]
    for src, new in acknowledged.items():
        assert per_after.get(src, 0) >= per_before.get(src, 0) + new, (round_, src, per_before.get(src), new,
                                                                      per_after.get(src))
    assert after["pins"] == before["pins"]
    return {"posts": after["posts"], "pages": sum(1 for line in lines if REPORTED.match(line.strip()))}


def test_sigkill_poller_and_desk_in_turn_loses_nothing(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    db, state = tmp_path / "desk.db", tmp_path / "state"
    log: list[tuple[str, dict[str, object]]] = []
    started = time.monotonic()
    with posting_wire(random.Random(SEED + 1)) as server:
        cfg = tmp_path / "desk.toml"
        cfg.write_text(config_toml(server, HANDLES, db, state, min_gap=0.0, interval=0.3, min_interval=0.2,
                                   max_interval=0.6, backfill_pages=3))
        for round_, kind in enumerate(ROUNDS):
            if kind == "desk":
                log.append((kind, _desk_round(tmp_path, cfg, db, rng, round_)))
            else:
                log.append((kind, _poll_round(tmp_path, cfg, db, rng, round_)))
        # After the last kill the desk still starts on the store and shows what it holds.
        facts = store_facts(db)
        with desk_terminal(tmp_path / "last", "--no-poll", "--config", cfg) as (term, _):
            screen = wait_screen(term, lambda s: number(STORED, s) == facts["posts"]
                                 and number(PINBOARD_TITLE, s) == len(facts["pins"]), 45,  # type: ignore[arg-type]
                                 "the desk after the last kill")
            assert_clean_screen(screen, "after the last kill")
            term.keys("q")
            wait_screen(term, lambda s: "DESK-EXITED 0" in s, 20, "the desk to quit")
    assert facts["integrity"] == "ok"
    print(f"crash loops: {len(log)} kills in {time.monotonic() - started:.1f} s; "
          f"{facts['posts']} posts, {len(facts['pins'])} pins at the end; " +  # type: ignore[arg-type]
          "; ".join(f"{k}: {r}" for k, r in log))
