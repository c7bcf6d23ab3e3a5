"""End to end, as a new user would: `desk --demo` in a terminal, pin three posts, copy the citation."""

from __future__ import annotations

import re
from pathlib import Path

from tests.e2e.tmux import DESK, needs_tmux, terminal

pytestmark = needs_tmux

PERMALINK_LINE = re.compile(r"^- .+, (https://t\.me/[A-Za-z0-9_]+/\d+), (\d{4}-\d\d-\d\d \d\d:\d\d UTC)")


def test_demo_pin_three_and_copy(tmp_path: Path) -> None:
    with terminal(tmp_path, f"{DESK} --demo") as term:
        # The banner says it is a demo and where its throwaway store lives.
        first = term.wait_for(lambda s: "DEMO WIRE" in s, 30, "the demo banner")
        store = re.search(r"store (\S+\.db)", first)
        assert store, first
        workdir = Path(store.group(1)).parent
        term.wait_for(lambda s: re.search(r"Live feed · (\d{2,}) posts", s) is not None, 40, "demo posts")
        # Go to the newest posts, pin three with the keyboard, copy.
        term.keys("n", "g", "p", "j", "p", "j", "p")
        term.wait_for(lambda s: "Pinboard (3)" in s, 15, "three pins")
        term.keys("c")
        last = workdir / "last-citation.txt"
        term.wait_for(lambda s: last.exists(), 15, "the last-citation file")
        text = last.read_text(encoding="utf-8")
        found = [m.groups() for m in map(PERMALINK_LINE.match, text.splitlines()) if m]
        assert len(found) == 3, text
        assert len({url for url, _ in found}) == 3, text
        assert text.startswith("Wire provenance\n") and text.endswith("\n")
        term.keys("q")
        out = term.wait_for(lambda s: "DESK-EXITED" in s, 15, "the desk to exit")
        assert "DESK-EXITED 0" in out
        assert "Traceback" not in out
        # The demo cleans up after itself; its log is kept apart from the desk's own.
        assert "its temporary folder is removed" in out  # (the log's path may wrap on screen)
        assert not workdir.exists()
        logs = list(tmp_path.rglob("demo.log"))
        assert len(logs) == 1 and logs[0].stat().st_size > 0 and not list(tmp_path.rglob("desk.log"))
