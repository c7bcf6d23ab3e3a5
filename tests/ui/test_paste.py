"""A bracketed paste never becomes key presses: at the byte level through the real parser, and
through the desk (Pilot) with the events that parser makes. The installed desk in a real terminal is
attacked the same way in tests/hardening/test_paste_terminal.py."""

from __future__ import annotations

import random

import pytest
from textual import events
from textual._xterm_parser import XTermParser

from deskapp.core.sanitize import clean_text
from deskapp.ui import terminal
from deskapp.ui.terminal import PasteSafeDriver, PasteSafeParser
from deskapp.ui.widgets.field import TextField
from tests.ui.conftest import build_store, make_app

START, END = "\x1b[200~", "\x1b[201~"
# What a hostile clipboard can hold: unknown ESC runs, Shift+Tab, a second ESC, desk keys, Ctrl+C and
# Ctrl+Q, a nested paste start, a mouse report, a focus report, a kitty key, a long run past the
# parser's 32-character sequence limit, an OSC that never ends.
PAYLOADS = [
    "harbour\x1b[Z\tXy",
    "\x1b[Z\x1b[ZXyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy",
    "a\x1b\x1bq",
    "a\x1bq\x1bX\x1by",
    "\x03\x11q\x1b[113;5u\x1b[99;5u",
    START + "nested X y" + "\x1b[<0;5;5M\x1b[I\x1b[O",
    "\x1b]52;c;" + "A" * 80,
    "\x1b[" + "1;" * 40 + "Z" + "\tX\ty\rq",
    "line one\rline two\nX\r\ny",
]


class Clock:
    """Textual's parser clock, moved by hand: timeouts happen when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr("textual._parser.get_time", fake)
    return fake


def parse(parser: XTermParser, chunks: list[str], clock: Clock | None = None) -> list[object]:
    """Feed the chunks as reads from a terminal; then (with `clock`) let a second pass, so every
    timeout the parser waits for (an Esc, the end of a paste) has happened."""
    out: list[object] = []
    for chunk in chunks:
        out.extend(parser.feed(chunk))
    if clock is not None:
        clock.now += 1
        out.extend(parser.tick())
    return out


def random_chunks(data: str, rng: random.Random) -> list[str]:
    """`data` cut at random places, as reads from a terminal may cut it."""
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(1, 12))))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


@pytest.mark.parametrize("payload", [p for p in PAYLOADS if "\x1b" in p])  # its trouble starts at an ESC
def test_stock_parser_turns_the_paste_into_keys(payload: str, clock: Clock) -> None:
    """Why PasteSafeParser exists: Textual's own parser presses keys for these, or loses text."""
    got = parse(XTermParser(), [START + payload + END], clock)
    pasted = "".join(e.text for e in got if isinstance(e, events.Paste))
    keys = [e for e in got if isinstance(e, events.Key)]
    assert keys or pasted != payload.replace("\x00", "")


@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_paste_is_one_paste_event_and_no_key(payload: str, clock: Clock) -> None:
    rng = random.Random(payload)
    data = "x" + START + payload + END + "\x1b[A"
    for chunks in ([data], list(data), *(random_chunks(data, rng) for _ in range(20))):
        got = parse(PasteSafeParser(), chunks, clock)
        assert [type(e).__name__ for e in got] == ["Key", "Paste", "Key"], chunks
        assert got[0].key == "x" and got[2].key == "up"  # keys around the paste still work
        assert got[1].text == clean_text(payload)  # all of it, cleaned


@pytest.mark.parametrize("payload", ["\tX y", "\x1b[Z\tXy\x03q", "", END, START + "b"])
def test_an_end_marker_inside_the_paste_ends_nothing(payload: str, clock: Clock) -> None:
    """tmux 3.3's `paste-buffer -p` pastes a buffer verbatim, end marker included: what follows a
    pasted end marker is still pasted text, whatever it holds."""
    data = START + "a" + END + payload + END
    for chunks in ([data], list(data)):
        got = parse(PasteSafeParser(), chunks, clock)
        assert [type(e).__name__ for e in got] == ["Paste"]
        assert got[0].text == clean_text("a" + END + payload)


def test_a_key_after_a_paste_is_a_key(clock: Clock) -> None:
    parser = PasteSafeParser()
    assert parse(parser, [START + "text" + END + "X"]) == []  # held: another end marker may follow
    got = parse(parser, [], clock)
    assert [type(e).__name__ for e in got] == ["Paste", "Key"] and got[1].key == "X"  # delayed, not lost
    assert [e.key for e in parse(parser, ["y"])] == ["y"]
    got = parse(parser, [START + "two" + END], clock)
    assert [e.text for e in got] == ["two"]


def test_escape_key_and_sequences_outside_a_paste_are_unchanged(clock: Clock) -> None:
    data = "j\x1b[Zq\x1b[<0;5;5M\x1b[I"
    assert [repr(e) for e in parse(PasteSafeParser(), [data])] == [repr(e) for e in parse(XTermParser(), [data])]
    parser = PasteSafeParser()
    assert list(parser.feed("\x1b")) == []
    clock.now += 1
    assert [e.key for e in parser.tick()] == ["escape"]  # a lone Esc is the Esc key, after the delay


def test_a_paste_whose_end_never_comes_is_delivered_after_a_stall(clock: Clock) -> None:
    parser = PasteSafeParser()
    assert list(parser.feed(START + "half X y")) == []
    clock.now += terminal.PASTE_STALL - 0.5
    assert list(parser.tick()) == []
    clock.now += 1
    got = list(parser.tick())
    assert [e.text for e in got if isinstance(e, events.Paste)] == ["half X y"]
    assert [e.key for e in parser.feed("q")] == ["q"]  # keys work again
    assert list(parser.feed(END)) == []  # a late end marker is swallowed, not keys


def test_a_huge_paste_is_capped(monkeypatch: pytest.MonkeyPatch, clock: Clock) -> None:
    monkeypatch.setattr(terminal, "PASTE_CAP", 100)
    got = parse(PasteSafeParser(), [START, "y" * 5000, END, "y" * 5000 + END, "k"], clock)
    assert [type(e).__name__ for e in got] == ["Paste", "Key"]
    assert got[0].text == "y" * 100


def test_the_desk_reads_the_terminal_through_the_paste_safe_parser(desk_paths) -> None:
    assert make_app(desk_paths).driver_class is PasteSafeDriver


async def feed_bytes(pilot, data: bytes, clock: Clock) -> None:
    """Bytes from the terminal, through the parser the desk's driver uses, into the running desk."""
    for event in parse(PasteSafeParser(), [data.decode("utf-8")], clock):
        pilot.app._driver.process_message(event)
    await pilot.pause()
    await pilot.pause()


@pytest.mark.parametrize("where", ["search", "feed", "pinboard", "note", "confirm"])
async def test_hostile_paste_into_the_desk_fires_no_action(desk_paths, no_clipboard, clock, where: str) -> None:
    build_store(desk_paths.store, 10)
    app = make_app(desk_paths)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("p", "j", "p", "j", "p")
        app.store.set_pin_note(app.pins[0][0].source, app.pins[0][0].post_id, "first note")
        app.refresh_pins()
        pins = [(p.source, p.post_id, p.note) for p, _ in app.pins]
        if where == "search":
            await pilot.press("slash")
        elif where == "pinboard":
            app.pinboard.focus()
        elif where == "note":
            app.pinboard.focus()
            await pilot.press("e")
        elif where == "confirm":
            await pilot.press("X")  # "Unpin all?" is open: a pasted y must not answer it
        await pilot.pause()
        focused = app.focused
        screens = len(app.screen_stack)
        for payload in PAYLOADS:
            await feed_bytes(pilot, (START + payload + END).encode(), clock)
            await feed_bytes(pilot, (START + "x" + END + payload + END).encode(), clock)
        assert app.is_running and app.return_code is None
        assert app.focused is focused and len(app.screen_stack) == screens  # no Tab, no dialog
        assert [(p.source, p.post_id, p.note) for p, _ in app.pins] == pins
        assert app.store.pins() == app.pins
        if isinstance(focused, TextField):
            assert focused.value and all(ch.isprintable() for ch in focused.value)


def test_the_textual_code_the_guard_wraps_is_the_code_it_was_written_for() -> None:
    """PasteSafeDriver repeats LinuxDriver.run_input_thread, and PasteSafeParser relies on how
    XTermParser.parse treats the paste markers (Textual 8.2.8). A Textual upgrade that changes either
    must be read against deskapp/ui/terminal.py before these fingerprints are updated."""
    import hashlib
    import inspect

    from textual.drivers.linux_driver import LinuxDriver

    def fingerprint(fn: object) -> str:
        return hashlib.sha256(inspect.getsource(fn).encode()).hexdigest()[:16]  # type: ignore[arg-type]

    assert fingerprint(LinuxDriver.run_input_thread) == "d796af6d69db337d"
    assert fingerprint(XTermParser.parse) == "a5834ad1def86544"
