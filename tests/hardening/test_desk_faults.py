"""Faults in the desk: sources that hang, reset, truncate, answer 429 or 5xx, or have no preview, polled
by the desk's own poller (Pilot, poll=True, real HTTP on 127.0.0.1); and stores the desk must refuse
at start-up (corrupt, or written by a newer desk), as the installed `desk` command meets them."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from deskapp.config import Settings
from deskapp.core.model import SourceConfig
from deskapp.core.store import Store
from deskapp.demo.server import Fault, WireServer
from deskapp.paths import Paths
from tests.e2e.tmux import DESK, TMUX, terminal, wait_screen
from tests.ui.screen_text import screen_text
from tests.wire import fast_poller, make_channel

# handle -> (server, what the server does every time, a piece of the reason the editor must read)
FAULTS = {
    "hang_chan": ("slow", Fault("hang", seconds=3.0), "no answer within 1 s"),
    "reset_chan": ("main", Fault("reset"), "connection"),  # reset while reading / broken mid-response
    "trunc_chan": ("main", Fault("truncate"), "mid-response"),
    "error_chan": ("main", Fault("status", code=500), "HTTP 500"),
    "limit_chan": ("limit", Fault("status", code=429, retry_after="1"), "rate limited (HTTP 429)"),
    "gone_chan": ("main", None, "no public preview"),
}


def _source(handle: str, url: str) -> SourceConfig:
    return SourceConfig(name=f"telegram:{handle}", kind="telegram", handle=handle, base_url=url)


async def test_failing_sources_are_shown_with_reasons_and_the_desk_keeps_working(tmp_path: Path) -> None:
    from deskapp.ui.app import DeskApp

    # Three hosts: the poller is polite per host (one request at a time, a 429 pauses the whole host),
    # so the hanging and the rate-limiting sources get their own.
    servers = {"main": WireServer(), "slow": WireServer(), "limit": WireServer()}
    for s in servers.values():
        s.start()
    try:
        sources = []
        for handle, (where, fault, _) in FAULTS.items():
            server = servers[where]
            server.add(make_channel(handle, 3))
            if fault is None:
                server.no_preview.add(handle)
            else:
                server.fault(handle, *([fault] * 200))
            sources.append(_source(handle, server.url))
        ok = make_channel("ok_chan", 5)
        servers["main"].add(ok)
        sources.append(_source("ok_chan", servers["main"].url))
        settings = Settings(sources=sources, poller=fast_poller(timeout=1.0, backoff_base=0.2, backoff_max=0.8,
                                                                interval=0.3, min_interval=0.2, max_interval=0.5))
        paths = Paths(config=tmp_path / "c.toml", store=tmp_path / "desk.db", state=tmp_path / "state")
        app = DeskApp(settings=settings, paths=paths, poll=True, watch_interval=0.2)
        async with app.run_test(size=(200, 50)) as pilot:
            failing = set()
            deadline = time.monotonic() + 40
            while time.monotonic() < deadline:
                await pilot.pause(0.2)
                states = {s.handle: s for s in app.store.sources()}
                failing = {h for h in FAULTS if states[h].error_count >= 3}
                if failing == set(FAULTS) and states["ok_chan"].posts == 5:
                    break
            assert failing == set(FAULTS), {h: (s.state, s.error_text) for h, s in states.items()}
            for handle, (_, _, reason) in FAULTS.items():
                assert reason in (states[handle].error_text or ""), (handle, states[handle].error_text)

            # The status bar names each source with its state (ok_chan keeps working).
            await pilot.pause(2.2)  # the status bar re-reads the source list at most every 2 s
            status = screen_text(app).splitlines()[-2]
            for handle in FAULTS:
                assert re.search(rf"{handle} (failing|backing off)", status), status
            assert "ok_chan ok" in status and "(s: why)" in status, status

            # A new post on the healthy source arrives while the others fail.
            ok.posts.extend(make_channel("ok_chan", 1, start_id=6).posts)
            for _ in range(100):
                await pilot.pause(0.1)
                if app.feed.windows.total == 6:
                    break
            assert app.feed.windows.total == 6

            # `s` lists every reason in full.
            started = time.monotonic()
            await pilot.press("s")
            await pilot.pause()
            text = screen_text(app)
            for handle, (_, _, reason) in FAULTS.items():
                assert reason in text, (handle, text)
            await pilot.press("escape")
            # Keys are answered at once: t switches the times to local and back.
            await pilot.press("t")
            assert "local time" in screen_text(app).splitlines()[-2]
            await pilot.press("t")
            assert time.monotonic() - started < 10
            assert app.is_running and app.poller_state == "polling"
            await pilot.press("q")
        assert app.return_code in (0, None)
    finally:
        for s in servers.values():
            s.stop()


# ---- stores the desk must refuse at start-up ---------------------------------------------------------

def _corrupt(db: Path) -> None:
    db.write_bytes(b"SQLite format 3\x00" + b"\xff" * 5000)


def _newer(db: Path) -> None:
    Store.open(db).close()
    with sqlite3.connect(db) as con:
        con.execute("PRAGMA user_version = 999")


def _not_sqlite(db: Path) -> None:
    db.write_bytes(b"my notes, not a database\n" * 200)


BAD_STORES = {"corrupt": (_corrupt, "cannot open the store"), "newer": (_newer, "newer"),
              "not_sqlite": (_not_sqlite, "not a SQLite database")}


def _desk_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "DESK_CONFIG")}
    env.update(HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "cfg"), XDG_DATA_HOME=str(tmp_path / "data"),
               XDG_STATE_HOME=str(tmp_path / "state"), **extra)
    return env


def _siblings(db: Path) -> list[str]:
    return sorted(p.name for p in db.parent.iterdir() if p.name.startswith(db.name) and p != db)


@pytest.mark.skipif(DESK is None, reason="the `desk` console script is not installed (pip install -e .)")
@pytest.mark.parametrize("kind", list(BAD_STORES))
def test_desk_refuses_a_bad_store_at_start(tmp_path: Path, kind: str) -> None:
    make, words = BAD_STORES[kind]
    db = tmp_path / "desk.db"
    make(db)
    before = db.read_bytes()
    siblings = _siblings(db)
    cfg = tmp_path / "desk.toml"
    cfg.write_text('[telegram]\nbase_url = "http://127.0.0.1:9"\nchannels = ["some_chan"]\n')
    assert DESK is not None
    # Headless with its own poller, and forced past the terminal check (as in a terminal) watching only.
    for flags, env in (([], _desk_env(tmp_path)), (["--no-poll"], _desk_env(tmp_path, DESK_FORCE_UI="1"))):
        res = subprocess.run([DESK, "--config", str(cfg), "--db", str(db), *flags], capture_output=True,
                             text=True, timeout=60, env=env, stdin=subprocess.DEVNULL)
        assert res.returncode == 1, (res.returncode, res.stdout, res.stderr)
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("desk: cannot open the store"), res.stderr
        assert words in lines[0] and str(db) in lines[0], lines[0]
        assert "Traceback" not in res.stderr + res.stdout and res.stdout == ""
        assert db.read_bytes() == before, "the store file was changed"
        assert _siblings(db) == siblings, "a -wal/-shm/-journal file was created next to the store"


@pytest.mark.parametrize("kind", ["corrupt", "newer"])
@pytest.mark.e2e
@pytest.mark.skipif(TMUX is None, reason="tmux is not installed")
@pytest.mark.skipif(DESK is None, reason="the `desk` console script is not installed (pip install -e .)")
def test_desk_in_a_terminal_refuses_a_bad_store(tmp_path: Path, kind: str) -> None:
    make, words = BAD_STORES[kind]
    db = tmp_path / "desk.db"
    make(db)
    before = db.read_bytes()
    with terminal(tmp_path, f"{DESK} --db {db} --no-poll") as term:
        screen = wait_screen(term, lambda s: "DESK-EXITED" in s, 30, "the desk to refuse the store")
    lines = [line for line in screen.splitlines() if line.strip()]
    assert lines[-1] == "DESK-EXITED 1", screen
    message = "".join(lines[:-1])  # one line, wrapped by the terminal's width
    assert message.startswith("desk: cannot open the store") and message.count("desk:") == 1, screen
    assert words in message and str(db) in message, screen
    assert "Traceback" not in screen
    assert db.read_bytes() == before
