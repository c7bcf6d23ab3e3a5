"""End to end on PostgreSQL: the installed `desk --db postgresql://... --no-poll` in a real terminal
(tmux, 80x24) shows what a headless `desk poll --once` in another process stored on the server,
hears the next poll's post without polling the tables, and shows a pin that `desk pin` made for
the same desk name in another process; q leaves it cleanly."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path

from deskapp.core.backend import open_store
from deskapp.demo.server import WireServer
from deskapp.demo.tme import FakePost
from tests.e2e.tmux import DESK, needs_tmux, terminal
from tests.wire import T0, config_toml, make_channel

pytestmark = needs_tmux


def test_a_no_poll_desk_on_postgresql_hears_desk_poll_and_desk_pin(tmp_path: Path, pg_url: str) -> None:
    store, state = tmp_path / "unused.db", tmp_path / "state"
    with WireServer() as server:
        harbour = make_channel("harbour", 5)
        server.add(harbour)
        config = tmp_path / "config.toml"
        config.write_text(config_toml(server, ["harbour"], store, state), encoding="utf-8")
        poll = [DESK, "--config", str(config), "--db", pg_url, "poll", "--once"]
        subprocess.run(poll, capture_output=True, text=True, timeout=60, check=True)
        desk = f"{DESK} --no-poll --config {config} --db {pg_url} --desk anna"
        with terminal(tmp_path, desk, width=80, height=24) as term:
            term.wait_for(lambda s: "harbour post number 5" in s, 30, "the feed")
            with server.lock:
                harbour.posts.append(FakePost(6, T0 + timedelta(minutes=30), "Ferry service suspended"))
            done = subprocess.run(poll, capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, done.stderr
            term.wait_for(lambda s: "6 posts" in s and "Ferry service suspended" in s, 20, "the new post heard")
            with open_store(pg_url) as s:
                url = s.get("telegram:harbour", 3).post.url
            pin = [DESK, "--config", str(config), "--db", pg_url, "--desk", "anna", "pin", "--no-capture", url]
            done = subprocess.run(pin, capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, done.stderr
            screen = term.wait_for(lambda s: "Pinboard (1)" in s, 20, "anna's pin from another process")
            assert "★ 30 Jun 18:03" in screen  # post 3, starred in the feed
            term.keys("q")
            screen = term.wait_for(lambda s: "DESK-EXITED" in s, 15, "the desk to exit")
            assert "DESK-EXITED 0" in screen and "Traceback" not in screen
