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



def test_desk_at_80x24_in_tmux(tmp_path: Path) -> None:
    """A real 80x24 terminal: three pins keep their text, the footer fits, one key shows the whole
    citation, times say their zone and the month by name, Esc after a search keeps the post."""
    store = build_store(tmp_path / "desk.db", 30)
    state = tmp_path / "state"
    config = tmp_path / "config.toml"
    config.write_text(f'[store]\npath = "{store}"\nstate = "{state}"\n', encoding="utf-8")
    with terminal(tmp_path, f"{DESK} --no-poll --db {store} --config {config}", width=80, height=24) as term:
        screen = term.wait_for(lambda s: "Post number 29 " in s and "q quit" in s, 30, "the feed and footer")
        assert "times UTC" in screen and " 1 Mar 12:29 " in screen
        assert screen.rstrip().splitlines()[-1].rstrip().endswith("q quit")  # the footer fits, whole
        term.keys("p", "j", "p", "j", "p")
        screen = term.wait_for(lambda s: "Pinboard (3)" in s, 10, "three pins")
        assert screen.count("Post number 2") >= 6  # in the feed and on the pinboard
        term.keys("C")
        screen = term.wait_for(lambda s: "Esc back" in s, 10, "the citation screen")
        for permalink in ("https://t.me/gamma_osint/1029", "https://t.me/beta_wire/1028",
                          "https://t.me/alpha_news/1027"):
            assert permalink in screen, screen
        term.keys("Escape")
        term.wait_for(lambda s: "Esc back" not in s, 10, "the desk again")
        term.keys("/")
        term.wait_for(lambda s: "Search:" in s, 10, "the search box")
        term.keys(*"alpha", "Enter")
        term.wait_for(lambda s: "filter: “alpha”" in s, 10, "the filter")
        term.keys("j", "j", "p")  # Alpha News 1021: pinned, found
        term.wait_for(lambda s: "Pinboard (4)" in s, 10, "the fourth pin")
        term.keys("Escape")
        screen = term.wait_for(lambda s: "filter:" not in s and "30 posts" in s, 10, "the full feed")
        # The post found is still on screen, in the full feed (not the top of it).
        assert "Post number 21 from alpha_news" in screen and "Post number 29 from" not in screen
        term.keys("q")
        assert "DESK-EXITED 0" in term.wait_for(lambda s: "DESK-EXITED" in s, 10, "desk to exit")
