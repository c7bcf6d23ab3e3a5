"""Hostile content end to end: a local server, the real poller, the installed desk in a real terminal.

The desk polls a WireServer serving tests/hostile.py's channel (escape sequences, markup, bidi, bad
links, nested HTML), a 1 MB post and a page of 10^4 posts. It runs under `script` inside tmux, so
every byte it writes to the terminal is recorded; the test moves through the feed, opens every
hostile post, clicks on the markup, pins the javascript: forward and copies, then quits. The raw
bytes must hold no sequence from the content, the desk must quit only on q, keys must still be
answered quickly, and the citation must refuse the javascript: link.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta
from pathlib import Path

from deskapp.demo.tme import FakeChannel, FakePost
from tests.e2e.tmux import (
    STORED,
    CachedWireServer,
    assert_clean_screen,
    click_on,
    desk_terminal,
    key_latency,
    needs_script,
    needs_tmux,
    number,
    osc52_payloads,
    osc_sequences,
    script_body,
    store_facts,
    stray_controls,
    wait_screen,
)
from tests.hostile import hostile_channel, is_terminal_safe
from tests.wire import T0, config_toml, make_channel

pytestmark = [*needs_tmux, needs_script]

MANY = 10_000
# Pieces of the hostile content that only a sequence from a post could put in the output.
PAYLOADS = [b"ZXZpbA", b"HACKED", b"\x1b]8;;https://evil", b"\x1b]0;", b"\x1b]2;", b"]52;c;ZXZp",
            b"\x1b[2J\x1b[H\x1b[31mred", b"\x1b[31mred", b"\xc2\x9b", b"\xc2\x9d", b"\xc2\x85",
            b"\xe2\x80\xae", b"\xe2\x81\xa6"]
# OSC sequences the desk (Textual) sends itself: the pointer shape, and the clipboard (checked apart).
OWN_OSC = re.compile(rb"^(22;[a-z-]+|52;c;[A-Za-z0-9+/=]*)$")


def test_hostile_wire_through_the_installed_desk(tmp_path: Path) -> None:
    hostile = hostile_channel()
    big = FakeChannel("big_chan", "Big")
    big.posts.append(FakePost(1, T0 - timedelta(minutes=5), "word " * 200_000))  # 1 MB of text
    many = make_channel("many_chan", MANY, t0=T0 - timedelta(days=30))  # older: below the hostile posts
    handles = [hostile.handle, big.handle, many.handle]
    total = len(hostile.posts) + len(big.posts) + len(many.posts)

    store, state = tmp_path / "desk.db", tmp_path / "state"
    raw_log = tmp_path / "raw.log"
    with CachedWireServer(page_size=MANY) as server:
        for ch in (hostile, big, many):
            server.add(ch)
        cfg = tmp_path / "desk.toml"
        # One page per channel (the 10^4-post page is 17.5 MB: the body cap is raised for it), and a
        # calm interval: the content is the test here, not the polling.
        cfg.write_text(config_toml(server, handles, store, state, interval=2.0, min_interval=1.0,
                                   max_interval=3.0, backfill_pages=0) + "max_body = 20000000\n")
        with desk_terminal(tmp_path, "--config", cfg, record=raw_log, width=140, height=40) as (term, _):
            started = time.monotonic()
            screen = wait_screen(term, lambda s: number(STORED, s) == total, 120, f"{total:,} posts stored")
            load_seconds = time.monotonic() - started
            assert "forwarded from a javascript: link" in screen  # the newest post, on top

            # Walk down the hostile posts and the 1 MB one; open each (Enter), then go back.
            for i in range(len(hostile.posts) + 1):
                term.keys("enter", pause=0)
                details = wait_screen(term, lambda s: "Text SHA-256" in s, 15, f"details of row {i}")
                assert_clean_screen(details, f"details of row {i}")
                if i == 0:
                    # The javascript: forward is shown as text, with a reason, never as a live link.
                    assert "Forwarded from" in details and "javascript" in details
                term.keys("escape", pause=0)
                wait_screen(term, lambda s: "Pinboard (" in s, 15, "the feed again")
                term.keys("j", pause=0.05)

            # Click, and double-click, on the Textual markup a channel published (feed and details).
            for needle in ("[@click=app.quit]quit", "[ @click=app.quit]quit", "[link=https://evil.example]"):
                click_on(term, needle)
            click_on(term, "[@click=app.quit]quit", times=2)
            details = wait_screen(term, lambda s: "Text SHA-256" in s, 15, "details by double-click")
            assert "[@click=app.quit]quit" in details.split("Text SHA-256")[1], details
            click_on(term, "[@click=app.quit]quit")
            time.sleep(0.3)
            assert "DESK-EXITED" not in term.screen(), "a click on scraped markup ended the desk"
            term.keys("escape", pause=0)
            wait_screen(term, lambda s: "Pinboard (" in s, 15, "the feed again")

            # Still answering keys quickly after all that (t switches UTC/local in the status bar).
            latencies = [
                key_latency(term, "t", lambda s: "local time" in s, 10, "local time"),
                key_latency(term, "t", lambda s: "local time" not in s and "UTC" in s, 10, "UTC again"),
            ]
            assert max(latencies) < 5.0, latencies

            # Pin the javascript: forward (the newest post) and copy the citation.
            term.keys("g", pause=0.1)
            term.keys("p", pause=0)
            wait_screen(term, lambda s: "Pinboard (1)" in s, 15, "the pin")
            term.keys("c", pause=0)
            last = state / "last-citation.txt"
            wait_screen(term, lambda s: last.exists() and "Sent to the terminal clipboard" in s, 15,
                        "the copy")
            screen = term.screen()
            assert_clean_screen(screen, "after the copy")
            assert "DESK-EXITED" not in screen, "the desk ended before q"
            term.keys("q", pause=0)
            screen = wait_screen(term, lambda s: "DESK-EXITED" in s, 20, "the desk to quit on q")
            assert "DESK-EXITED 0" in screen, screen

    # The citation refuses the javascript: link, visibly, and never emits it.
    citation = last.read_text(encoding="utf-8")
    assert "[refused:" in citation and "javascript:" not in citation, citation
    assert is_terminal_safe(citation)

    # The raw bytes the terminal received.
    raw = script_body(raw_log.read_bytes())
    assert raw, "nothing was recorded"
    for payload in PAYLOADS:
        assert payload not in raw, f"content sequence {payload!r} reached the terminal"
    foreign = [body for body in osc_sequences(raw) if not OWN_OSC.match(body)]
    assert not foreign, f"OSC sequences the desk does not send itself: {foreign[:5]}"
    copies = osc52_payloads(raw)
    # The file ends with a newline (8f6b0a8); the clipboard gets the block itself.
    assert copies == [citation.removesuffix("\n")], "the only clipboard write is desk's own citation"
    assert not stray_controls(raw), stray_controls(raw)[:5]

    facts = store_facts(store)
    assert facts["integrity"] == "ok" and facts["posts"] == total
    assert facts["pins"] == {(f"telegram:{hostile.handle}", hostile.posts[-1].id)}
    print(f"hostile e2e: {total:,} posts loaded in {load_seconds:.1f} s; key latency "
          f"{max(latencies) * 1000:.0f} ms; {len(raw):,} bytes of output checked")
