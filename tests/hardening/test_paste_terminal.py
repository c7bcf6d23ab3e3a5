"""The installed desk in a real terminal (tmux) receives hostile bracketed pastes: into the search box
and onto the feed, through tmux's own paste (`paste-buffer -p`, which pastes a buffer verbatim,
end marker included) and as raw bytes. No paste may fire an action: the pins and their notes
survive, no dialog opens, and the desk keeps running until it is told to quit."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from deskapp.core.store import Store
from tests.e2e.tmux import (
    PINBOARD_TITLE,
    desk_terminal,
    needs_script,
    needs_tmux,
    number,
    script_body,
    stable_screen,
    wait_screen,
)
from tests.ui.conftest import build_store, make_post

pytestmark = [*needs_tmux, needs_script]

START, END = b"\x1b[200~", b"\x1b[201~"
# Shift+Tab and Tab to leave the field, X (clear all) and y (confirm), q, Ctrl+C, Ctrl+Q, a second
# ESC, an unknown run longer than Textual's 32-character limit, and a pasted end marker followed
# by the same keys.
HOSTILE = [
    b"harbour\x1b[Z\tXy\x1b[Z\tXy",
    b"a\x1b\x1bq\x1bX\x1by\x03\x11",
    b"\x1b[" + b"1;" * 40 + b"Z\tXy\tq",
    b"fake end" + END + b"\x1b[Z\tXy\x03q\x11",
    b"two ends" + END + b"\tX" + END + b"y q",
]
# Pasted terminal commands (a title, a clipboard write, a colour): none may reach the terminal, from
# any field, Textual's own command palette included. Their payloads must never be in the output.
TERMINAL_COMMANDS = b"\x1b]0;PWNED-TITLE\x07\x1b]52;c;cGFzdGVkLWNsaXA=\x07\x1b[31mRED-TEXT"


def pins_and_notes(db: Path) -> list[tuple[str, int, str]]:
    con = sqlite3.connect(db, timeout=30)
    try:
        return [tuple(r) for r in con.execute("SELECT source, post_id, note FROM pins ORDER BY position")]
    finally:
        con.close()


def tmux_paste(term, tmp: Path, payload: bytes, i: int) -> None:
    """A paste as tmux makes it: the buffer written verbatim between the bracketed-paste markers."""
    buf = tmp / f"paste-{i}.bin"
    buf.write_bytes(payload)
    term.tmux("load-buffer", "-b", f"p{i}", str(buf))
    term.tmux("paste-buffer", "-p", "-d", "-b", f"p{i}", "-t", term.session)


def raw_paste(term, payload: bytes) -> None:
    """The same paste written as bytes by the terminal."""
    data = START + payload + END
    term.tmux("send-keys", "-t", term.session, "-H", *[f"{b:02x}" for b in data])


@pytest.mark.parametrize("size", [(80, 24), (140, 40)], ids=["80x24", "140x40"])
def test_hostile_pastes_fire_no_action_in_the_installed_desk(tmp_path: Path, size: tuple[int, int]) -> None:
    store = build_store(tmp_path / "desk.db", 20)
    with Store.open(store) as s:
        for i, n in enumerate((19, 17, 15)):
            post = make_post(n)
            s.pin(post.source, post.id, note=f"note {i}")
    before = pins_and_notes(store)
    assert len(before) == 3
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[store]\npath = "{store}"\nstate = "{tmp_path / "state"}"\n', encoding="utf-8")
    raw_log = tmp_path / "raw.log"
    with desk_terminal(tmp_path / "t", "--no-poll", "--config", cfg, record=raw_log, width=size[0],
                       height=size[1]) as (term, _):
        wait_screen(term, lambda s: number(PINBOARD_TITLE, s) == 3, 60, "the desk with 3 pins")
        for where in ("search", "feed"):
            if where == "search":
                term.keys("/")
            for i, payload in enumerate(HOSTILE):
                tmux_paste(term, tmp_path, payload, i)
                time.sleep(0.4)  # after the paste: a key that slipped through would act now
                raw_paste(term, payload)
                time.sleep(0.4)
                screen = stable_screen(term)
                assert "DESK-EXITED" not in screen, screen
                assert "Unpin all" not in screen and number(PINBOARD_TITLE, screen) == 3, screen
            # Input is handled in order: once what follows the pastes shows, every paste was handled.
            if where == "search":
                screen = wait_screen(term, lambda s: "harbour" in s, 20, "the pasted text in the search box")
                line = next(row for row in screen.splitlines() if "harbour" in row)
                assert "\\x1b" not in line and "^[" not in line
                term.keys("escape")  # clear and close the box: back on the feed
            else:
                term.keys("t")
                wait_screen(term, lambda s: "local time" in s, 20, "t after the pastes")
                term.keys("t")
                screen = wait_screen(term, lambda s: "local time" not in s, 20, "t again")
            assert "Unpin all" not in screen and number(PINBOARD_TITLE, screen) == 3, screen
            assert pins_and_notes(store) == before
        # Terminal commands pasted into the search box and into Textual's command palette.
        term.keys("/")
        raw_paste(term, TERMINAL_COMMANDS)
        wait_screen(term, lambda s: "RED-TEXT" in s, 20, "the cleaned paste in the search box")
        term.keys("escape", "C-p")
        wait_screen(term, lambda s: "Search for commands" in s, 20, "the command palette")
        tmux_paste(term, tmp_path, TERMINAL_COMMANDS, 99)
        screen = wait_screen(term, lambda s: "RED-TEXT" in s, 20, "the cleaned paste in the palette")
        assert "PWNED" not in screen, screen  # the text stays, the command goes
        term.keys("escape")
        wait_screen(term, lambda s: "Search for commands" not in s, 20, "the palette closed")
        # Still alive and still obeying keys: q quits, with exit status 0.
        term.keys("q")
        screen = wait_screen(term, lambda s: "DESK-EXITED" in s, 20, "the desk to quit on q")
        assert "DESK-EXITED 0" in screen
    assert pins_and_notes(store) == before
    raw = script_body(raw_log.read_bytes())
    for payload in (b"PWNED", b"cGFzdGVk", b"\x1b[31mRED"):
        assert payload not in raw, payload
