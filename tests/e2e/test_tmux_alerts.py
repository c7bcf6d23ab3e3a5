"""End to end: a rule fires while the editor reads. A `--no-poll` desk in a real terminal (tmux) watches
a store that a headless `desk poll --once` in another process fills from a local wire; the post that
matches an [[alert]] rule is notified, counted in the status bar, listed on `A`, and Enter shows it."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path

from deskapp.demo.server import WireServer
from deskapp.demo.tme import FakePost
from tests.e2e.tmux import DESK, needs_tmux, terminal
from tests.wire import T0, config_toml, make_channel

pytestmark = needs_tmux

RULE = '\n[[alert]]\nname = "raid"\nphrases = ["air raid"]\n'


def test_a_rule_fires_in_a_no_poll_desk_while_desk_poll_runs_elsewhere(tmp_path: Path) -> None:
    store, state = tmp_path / "desk.db", tmp_path / "state"
    with WireServer() as server:
        harbour = make_channel("harbour", 5)
        server.add(harbour)
        config = tmp_path / "config.toml"
        config.write_text(config_toml(server, ["harbour"], store, state) + RULE + "[attention]\nnotify = false\n",
                          encoding="utf-8")
        poll = [DESK, "--config", str(config), "poll", "--once"]
        subprocess.run(poll, capture_output=True, text=True, timeout=60, check=True)
        with terminal(tmp_path, f"{DESK} --no-poll --config {config}", width=80, height=24) as term:
            term.wait_for(lambda s: "harbour post number 5" in s, 30, "the feed")
            with server.lock:
                harbour.posts.append(FakePost(6, T0 + timedelta(minutes=30), "Air raid sirens over the port"))
            done = subprocess.run(poll, capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, done.stderr
            screen = term.wait_for(lambda s: "Alert: raid" in s and "1 alert (A)" in s, 20, "the alert")
            assert "harbour/6" in screen
            term.keys("A")
            screen = term.wait_for(lambda s: "Alerts (1)" in s, 10, "the alerts screen")
            assert "raid" in screen and "Air raid sirens" in screen
            term.keys("Enter")
            screen = term.wait_for(lambda s: "Alerts (1)" not in s and "1 alert (A)" not in s, 10, "the feed")
            term.keys("q")
            screen = term.wait_for(lambda s: "DESK-EXITED" in s, 15, "the desk to exit")
            assert "DESK-EXITED 0" in screen and "Traceback" not in screen
