"""End to end: the installed `desk` in a real terminal (tmux), pinning posts and copying a citation.

Runs `desk --no-poll --db <store> --config <toml>` in a tmux terminal of a fixed size (tests/e2e/tmux.py:
its own socket, HOME in tmp_path, no DISPLAY, so the desk falls back to OSC 52 and the last-citation
file). The terminal is always closed.
"""

from __future__ import annotations

from pathlib import Path

from tests.e2e.tmux import DESK, needs_tmux, terminal
from tests.ui.conftest import build_store

pytestmark = needs_tmux


def test_desk_in_tmux_pins_and_copies(tmp_path: Path) -> None:
    store = build_store(tmp_path / "desk.db", 30)
    state = tmp_path / "state"
    config = tmp_path / "config.toml"
    config.write_text(f'[store]\npath = "{store}"\nstate = "{state}"\n', encoding="utf-8")
    with terminal(tmp_path, f"{DESK} --no-poll --db {store} --config {config}", width=120, height=40) as term:
        term.wait_for(lambda s: "Post number 29 " in s and "Pinboard (0)" in s, 30, "the feed to show")
        # Pin the newest three posts (cursor starts on the newest), then copy.
        term.keys("p", "j", "p", "j", "p")
        term.wait_for(lambda s: "Pinboard (3)" in s, 10, "three pins")
        term.keys("c")
        last = state / "last-citation.txt"
        term.wait_for(lambda s: last.exists(), 10, "the last-citation file")
        text = last.read_text(encoding="utf-8")
        lines = [line for line in text.splitlines() if line.startswith("- ")]
        assert lines == [
            "- Gamma Osint (@gamma_osint), https://t.me/gamma_osint/1029, 2026-03-01 12:29 UTC",
            "- Beta Wire (@beta_wire), https://t.me/beta_wire/1028, 2026-03-01 12:28 UTC",
            "- Alpha News (@alpha_news), https://t.me/alpha_news/1027, 2026-03-01 12:27 UTC",
        ], text
        term.wait_for(lambda s: "Sent to the terminal clipboard" in s, 5, "the notification")
        # q quits cleanly.
        term.keys("q")
        screen = term.wait_for(lambda s: "DESK-EXITED" in s, 10, "desk to exit")
        assert "DESK-EXITED 0" in screen

