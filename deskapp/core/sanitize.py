"""Rules for untrusted text and URLs, applied at ingest and again before anything is emitted.

Scraped text reaches a terminal: ESC/CSI/OSC sequences and C1 controls would be obeyed by it, so
they are removed before the text is stored. Bidi overrides can disguise what a line says, so they
go too. Zero-width joiners stay in text (emoji sequences and Persian need them) but never in URLs.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# C0 controls except \t and \n, DEL, C1 controls.
_CONTROL = "\x00-\x08\x0b-\x1f\x7f-\x9f"
# Every C0 control (\t and \n too), DEL, C1: what one-line text (a reference, a template) must not hold.
_ALL_CONTROLS = "\x00-\x1f\x7f-\x9f"
# Bidi embeddings/overrides/isolates and the implicit marks.
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
# Zero-width and invisible formatting characters.
_ZERO_WIDTH = "\u00ad\u180e\u200b-\u200d\u2060-\u2064\ufeff"

# The unsafe characters of text: what a terminal would obey, and bidi controls. The one place this
# class is written; clean_text removes these, and text without any of them is already clean.
UNSAFE = re.compile(f"[{_CONTROL}{_BIDI}]")
# What a reader cannot see in a one-line field (controls, bidi, zero-width, line separators).
_INVISIBLE = re.compile(f"[{_ALL_CONTROLS}{_BIDI}{_ZERO_WIDTH}\u2028\u2029]")
_URL_BAD = re.compile(f"[{_ALL_CONTROLS}{_BIDI}{_ZERO_WIDTH}\\s]")
_CONTROLS = re.compile(f"[{_ALL_CONTROLS}]")
# A whole ESC sequence (CSI, OSC up to BEL/ST, or a two-byte escape): removed as one unit so
# that its parameters ("]52;c;...") do not survive as visible junk.
_ESC_SEQ = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])|\x9b[0-?]*[ -/]*[@-~]|\x9d[^\x07\x9c]*[\x07\x9c]?")

# Very long runs are cut when laid out; the store keeps everything.
MAX_FIELD = 200_000


def clean_text(text: str | None) -> str:
    """Text safe to store and show: escape sequences and controls removed, newlines kept."""
    if not text:
        return ""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _ESC_SEQ.sub("", text)
    return UNSAFE.sub("", text)


def clean_text_fast(text: str | None) -> str:
    """`clean_text`, skipping its regex passes when the text holds no UNSAFE character: every
    escape sequence starts with one, so such text comes back unchanged (tests/core/test_sanitize.py
    checks this over the BMP). The common clean post takes this path."""
    if not text:
        return ""
    if UNSAFE.search(text) is None:
        return text
    return clean_text(text)


def strip_unsafe(text: str | None) -> str:
    """Text without any UNSAFE character, for showing text that was not cleaned at ingest (an
    escape sequence's parameters stay, as harmless visible characters)."""
    return UNSAFE.sub("", text) if text else ""


def show_invisible(text: str) -> str:
    """`text` with control, bidi and invisible characters written as \\uXXXX, for messages."""
    return _INVISIBLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def has_invisible_or_space(text: str) -> bool:
    """Whether `text` holds whitespace or anything `show_invisible` would write out."""
    return _URL_BAD.search(text) is not None


def has_control(text: str) -> bool:
    """Whether `text` holds a control character (newlines and tabs included)."""
    return _CONTROLS.search(text) is not None


def clean_line(text: str | None) -> str:
    """A single-line field (names, titles, labels): as `clean_text`, with newlines and tabs as spaces."""
    return " ".join(clean_text(text).split())


def clean_field(text: str | None) -> str:
    """What an editor typed or pasted into a one-line field: as `clean_text`, with each newline or
    tab as one space. Runs of spaces are kept (a field is cleaned on every key, and collapsing
    would eat the space just typed before the next word)."""
    return clean_text(text).replace("\n", " ").replace("\t", " ")


def url_problem(url: str | None) -> str | None:
    """Why a URL must not be emitted, or None when it is an acceptable http(s) URL."""
    if not url:
        return "empty URL"
    if _URL_BAD.search(url):
        return "URL contains control, bidi, zero-width or space characters"
    try:
        parts = urlsplit(url)
    except ValueError:
        return "URL cannot be parsed"
    if parts.scheme.lower() not in ("http", "https"):
        return f"URL scheme {parts.scheme or '(none)'!r} is not http or https"
    if not parts.hostname:
        return "URL has no host"
    return None


def safe_url(url: str | None) -> str | None:
    """The URL if it passes `url_problem`, else None."""
    return url if url and url_problem(url) is None else None
