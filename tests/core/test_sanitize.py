"""Untrusted text and URL rules."""

from __future__ import annotations

import pytest

from deskapp.core.sanitize import (
    clean_field,
    clean_line,
    clean_text,
    clean_text_fast,
    clean_url,
    has_control,
    has_invisible_or_space,
    safe_url,
    show_invisible,
    strip_unsafe,
    url_problem,
)


@pytest.mark.parametrize(
    "hostile",
    [
        "\x1b]52;c;ZXZpbA==\x07",  # OSC 52 clipboard write
        "\x1b]8;;https://evil.example/\x1b\\link\x1b]8;;\x1b\\",  # OSC 8 link
        "\x1b]0;new title\x07",  # title change
        "\x1b[2J\x1b[31m",  # CSI
        "\x9b31m",  # C1 CSI
        "\x9d0;t\x9c",  # C1 OSC
        "\x07\x08\x00\x7f",
    ],
)
def test_escape_sequences_and_controls_are_removed(hostile: str) -> None:
    out = clean_text(f"before {hostile} after")
    assert out.startswith("before ") and out.endswith(" after")
    assert not any(ord(c) < 32 and c not in "\n\t" for c in out)
    assert not any(0x7F <= ord(c) <= 0x9F for c in out)
    assert "52;" not in out and "evil" not in out and "title" not in out


def test_text_keeps_newlines_tabs_emoji_and_joiners() -> None:
    text = "line one\nline\ttwo 👨\u200d👩\u200d👧 ‏"
    assert clean_text(text) == "line one\nline\ttwo 👨\u200d👩\u200d👧 "
    assert clean_text("a\r\nb\rc") == "a\nb\nc"


def test_bidi_overrides_are_removed_from_text() -> None:
    assert clean_text("abc\u202edcba\u202c") == "abcdcba"
    assert clean_text("\u2066x\u2069") == "x"


def test_clean_field_is_one_line_and_keeps_typed_spaces() -> None:
    # Cleaned on every key: the space typed before the next word must survive.
    assert clean_field("Sources ") == "Sources "
    assert clean_field("a\x07b\x1b[31mc\x1b]52;c;QUFB\x07d\x9b2Je\u202ef") == "abcdef"
    assert clean_field("one\ntwo\tthree\r\nfour") == "one two three four"
    assert clean_field(None) == ""


def test_clean_line_is_one_line() -> None:
    assert clean_line("  Name\nwith\tbreaks  ") == "Name with breaks"
    assert clean_line(None) == ""


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "data:text/html,<script>",
        "https://t.me/durov/5\u202e19",
        "https://t.me/du\u200brov/519",
        "https://t.me/durov/519\x1b[31m",
        "https://t.me/durov /519",
        "ftp://t.me/x",
        "https:///nohost",
        "",
    ],
)
def test_bad_urls_are_refused_with_a_reason(url: str) -> None:
    assert url_problem(url)
    assert safe_url(url) is None


def test_good_urls_pass() -> None:
    for url in ("https://t.me/durov/519", "http://127.0.0.1:8080/s/x?before=3", "HTTPS://T.ME/X/1"):
        assert url_problem(url) is None and safe_url(url) == url


def test_fast_clean_path_equals_clean_text() -> None:
    # clean_text_fast returns the text untouched when it has no character it screens for; that is
    # only sound if clean_text leaves every other character alone. Check the whole BMP and beyond.
    checked = 0
    for cp in list(range(0, 0x3000)) + list(range(0xF000, 0x10000)) + list(range(0x1F000, 0x1FB00)):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        s = f"a{chr(cp)}b"
        assert clean_text_fast(s) == clean_text(s), hex(cp)
        s = f"line\na{chr(cp)}b\nline"  # the per-line shortcut of text with line breaks
        assert clean_text_fast(s) == clean_text(s), hex(cp)
        checked += 1
    assert checked > 15000
    for s in ["", "plain", "multi\nline\ttab", "\x1b[31mred", "x\r\ny", "\u200e", "\x9b1m", "😀 новости 新闻"]:
        assert clean_text_fast(s) == clean_text(s)


def test_the_printable_shortcuts_of_clean_line_and_clean_url_change_nothing() -> None:
    # clean_line and clean_url return a printable value as it is: sound only if every printable
    # character but the space survives their full rules. Check every character as one would be placed.
    from deskapp.core.sanitize import _URL_BAD

    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp)
        s = f"a{c}b"
        assert clean_line(s) == " ".join(clean_text(s).split()), hex(cp)
        if c.isprintable() and c != " ":
            assert _URL_BAD.search(s) is None, hex(cp)
    for s in ["", " a", "a ", "a  b", "a b", "a\tb", "x\u2028y", "\u00a0z", "é"]:
        assert clean_line(s) == " ".join(clean_text(s).split()), repr(s)
    assert clean_url(" https://x.example/a b ") == "https://x.example/a%20b"
    assert clean_url("https://x.example/\u200bz") == "https://x.example/%E2%80%8Bz"
    assert clean_url("https://x.example/ok") == "https://x.example/ok"


def test_one_class_serves_text_shown_raw_and_messages() -> None:
    hostile = "a\x1b[2Jb\u202ec\u200bd"
    assert strip_unsafe(hostile) == "a[2Jbc\u200bd"  # controls and bidi go; a zero-width space stays
    assert show_invisible(hostile) == "a\\u001b[2Jb\\u202ec\\u200bd"
    assert has_invisible_or_space("durov/519\u200b") and has_invisible_or_space("durov /519")
    assert not has_invisible_or_space("durov/519")
    assert has_control("line\nbreak") and not has_control("one line")
