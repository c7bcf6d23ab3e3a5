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
# Bidi embeddings/overrides/isolates and the implicit marks.
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
# Zero-width and invisible formatting characters.
_ZERO_WIDTH = "\u00ad\u180e\u200b-\u200d\u2060-\u2064\ufeff"

_TEXT_STRIP = re.compile(f"[{_CONTROL}{_BIDI}]")
_URL_BAD = re.compile(f"[{_CONTROL}{_BIDI}{_ZERO_WIDTH}\\s]")
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
    return _TEXT_STRIP.sub("", text)


# Text that none of these characters touch is returned unchanged by sanitize.clean_text (its
# escape sequences all start with one of them), so the common clean post skips two regex passes.
# tests/test_store.py checks this equivalence over the whole BMP.
_MAYBE_DIRTY = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def clean_text_fast(text: str | None) -> str:
    """`sanitize.clean_text`, skipping the work when the text has nothing it would remove."""
    if not text:
        return ""
    if _MAYBE_DIRTY.search(text) is None:
        return text
    return clean_text(text)


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
