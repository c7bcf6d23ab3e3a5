"""Rules for untrusted text and URLs, applied at ingest and again before anything is emitted.

Scraped text reaches a terminal: ESC/CSI/OSC sequences and C1 controls would be obeyed by it, so
they are removed before the text is stored. Bidi overrides can disguise what a line says, so they
go too. Zero-width joiners stay in text (emoji sequences and Persian need them) but never in URLs.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import unquote, urlsplit

from deskapp.core.model import ChannelInfo, ForwardedFrom, Post

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
_URL_HIDDEN = re.compile(f"[{_ALL_CONTROLS}{_BIDI}{_ZERO_WIDTH}]")
# A whole ESC sequence (CSI, OSC up to BEL/ST, or a two-byte escape): removed as one unit so
# that its parameters ("]52;c;...") do not survive as visible junk.
_ESC_SEQ = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])|\x9b[0-?]*[ -/]*[@-~]|\x9d[^\x07\x9c]*[\x07\x9c]?")

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
    if UNSAFE.search(text) is None:  # (str.isprintable is no faster once a text has line breaks)
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
    if text and text.isprintable() and "  " not in text and text[0] != " " != text[-1]:
        # The common clean name, checked in C: a printable str holds no control, format (bidi,
        # zero-width) or separator character but the plain space, so nothing below would change it.
        return text
    return " ".join(clean_text_fast(text).split())


def clean_field(text: str | None) -> str:
    """What an editor typed or pasted into a one-line field: as `clean_text`, with each newline or
    tab as one space. Runs of spaces are kept (a field is cleaned on every key, and collapsing
    would eat the space just typed before the next word)."""
    return clean_text(text).replace("\n", " ").replace("\t", " ")


# ---------------------------------------------------------------------------------- the store's gate
#
# Everything a source or a file supplies passes `clean_post` / `clean_channel` before it is stored or
# printed (the parser's output, `desk parse`, the store's ingest), so every column of the store is
# safe to show and every number fits SQLite's INTEGER. One bad value costs that value, never the post:
# a count that cannot be stored becomes absent; only a post that cannot be named (its id) or placed in
# time is refused, by `post_problem`.

INT64_MAX = 2**63 - 1
# Header validators (ETag, Last-Modified) are echoed back in requests: printable ASCII only.
_HEADER_OK = re.compile(r"[ -~]{1,512}")


def clean_url(url: str | None) -> str | None:
    """A URL field as stored: control, bidi, zero-width and space characters percent-encoded (what a
    browser would send), so the link stays what was published while nothing in it can drive a terminal
    or disguise itself; None when empty."""
    if not url:
        return None
    if url.isprintable() and " " not in url:
        return url  # as clean_line: no character of _URL_BAD is printable but the space
    url = url.strip()
    if _URL_BAD.search(url):
        url = _URL_BAD.sub(lambda m: "".join(f"%{b:02X}" for b in m.group(0).encode()), url)
    return url or None


def clean_count(n: int | None) -> int | None:
    """A counter that fits SQLite's INTEGER (0..2^63-1), else None."""
    if n is None or isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= INT64_MAX:
        return None
    return n


def clean_header(value: str | None) -> str | None:
    """A validator header worth sending back (printable ASCII, at most 512 characters), else None."""
    if value is None:
        return None
    value = value.strip()
    return value if _HEADER_OK.fullmatch(value) else None


def post_problem(post: Post) -> str | None:
    """Why a post cannot be stored at all, or None: its id must fit SQLite's INTEGER (0..2^63-1) and
    its time must have a UTC equivalent (year 1 at +05:00 has none; a naive time is taken as UTC)."""
    if clean_count(post.id) is None:
        return f"post id {str(post.id)[:40]} is outside 0..2^63-1"
    if not isinstance(post.published, datetime):
        return "no publication time"
    if post.published.tzinfo is not None and post.published.tzinfo is not UTC:
        try:
            post.published.astimezone(UTC)
        except (OverflowError, ValueError):
            return f"publication time {post.published.isoformat()} has no UTC equivalent"
    return None


def _opt_line(text: str | None) -> str | None:
    return (clean_line(text) or None) if text is not None else None


def clean_post(post: Post) -> Post:
    """The post with every field clean: text without escapes or controls, one-line fields on one
    line, URLs percent-encoded where unsafe, counts and album ids that fit an int64."""
    return clean_post_fields(
        post.source, post.channel, post.id, post.url, post.published, post.text, post.author, post.views,
        post.views_count, post.edited, post.forwarded_from, post.reply_to, post.album_ids, post.media,
        post.service, post.channel_title, post.native_id, post.reposted_by, post.quote_of)


def clean_post_fields(source: str, channel: str, id: int, url: str, published: datetime, text: str = "",
                      author: str | None = None, views: str | None = None, views_count: int | None = None,
                      edited: bool = False, fwd: ForwardedFrom | None = None, reply_to: str | None = None,
                      album_ids: list[int] | None = None, media: list[str] | None = None,
                      service: bool = False, channel_title: str | None = None, native_id: str | None = None,
                      reposted_by: str | None = None, quote_of: str | None = None, *,
                      strip_text: bool = False) -> Post:
    """`clean_post` of the post these fields make (Post's fields, in its order), built once: a parser
    that passes its fields here has every one through the gate without making the Post twice.
    `strip_text`: the text also loses its outer whitespace, after cleaning (text read from markup)."""
    if fwd is not None:
        fwd = ForwardedFrom(clean_line(fwd.name), clean_url(fwd.url))
    # Views keep their own spacing ("1\u202f234" as shown); only controls and line breaks go.
    if views is not None:
        views = clean_text_fast(views).replace("\n", " ").strip() or None
    # Positional, in Post's field order: this runs for every post of a bulk import.
    return Post(
        clean_line(source),
        clean_line(channel),
        id,
        clean_url(url) or "",
        published,
        clean_text_fast(text).strip() if strip_text else clean_text_fast(text),
        _opt_line(author),
        views,
        clean_count(views_count) if views is not None else None,
        bool(edited),
        fwd,
        clean_url(reply_to),
        [i for i in album_ids if clean_count(i)] if album_ids else [],
        [m for m in map(clean_line, media) if m] if media else [],
        bool(service),
        _opt_line(channel_title),
        _opt_line(native_id),
        _opt_line(reposted_by),
        clean_url(quote_of),
    )


def clean_channel(channel: ChannelInfo) -> ChannelInfo:
    """Channel header fields, clean as `clean_post` makes a post's."""
    subscribers = _opt_line(channel.subscribers)
    return ChannelInfo(
        username=_opt_line(channel.username),
        title=_opt_line(channel.title),
        description=(clean_text(channel.description).strip() or None) if channel.description is not None else None,
        subscribers=subscribers,
        subscribers_count=clean_count(channel.subscribers_count) if subscribers is not None else None,
    )


def url_problem(url: str | None) -> str | None:
    """Why a URL must not be emitted, or None when it is an acceptable http(s) URL."""
    if not url:
        return "empty URL"
    if _URL_BAD.search(url):
        return "URL contains control, bidi, zero-width or space characters"
    if "%" in url and _URL_HIDDEN.search(unquote(url)):
        # The store keeps such links percent-encoded (faithful, and harmless on a screen); a link
        # that would still disguise itself once a browser decodes it is not vouched for either.
        return "URL hides control, bidi or zero-width characters (percent-encoded)"
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
