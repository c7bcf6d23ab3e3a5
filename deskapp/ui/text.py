"""Scraped text made safe and small enough to lay out.

Everything here treats its input as plain text: nothing is ever parsed as Textual or Rich markup, so a
post containing `[@click=app.quit]` is shown as those characters and never acts. Control characters are
removed again (the store already strips them at ingest; the renderer must not trust that), and long
texts are cut before they reach the layout engine so one huge post cannot freeze the UI.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime

from rich.style import Style
from textual.content import Content, Span

from deskapp.core.sanitize import strip_unsafe

FEED_TEXT_CAP = 2_000  # characters of a post laid out in one feed line
DETAIL_TEXT_CAP = 100_000  # characters of a post laid out on the details screen

_SPACE_RUN = re.compile(r"\s+")
URL_RE = re.compile(r"https?://[^\s<>\"'\]\)]+", re.IGNORECASE)


def plain(text: str | None) -> str:
    """Text without any control or bidi character, newlines and tabs kept."""
    return strip_unsafe(text)


def one_line(text: str | None, cap: int = FEED_TEXT_CAP) -> str:
    """The first `cap` characters of a text, on one line (whitespace runs become one space)."""
    if not text:
        return ""
    cut = text[: cap + 1]
    line = _SPACE_RUN.sub(" ", plain(cut)).strip()
    if len(text) > cap:
        line = line[:cap] + " …"
    return line


FIELD_CAP = 2_000  # characters of one field (name, URL, note, reason) laid out on a line


def field_text(value: object, cap: int = FIELD_CAP) -> str:
    """The one way a field of a post or a source is shown: plain, on one line, capped. Every value
    goes through here, whatever the store promises (a store from before the gate, another tool)."""
    return one_line(value if isinstance(value, str) else str(value), cap)


def capped(text: str | None, cap: int = DETAIL_TEXT_CAP) -> tuple[str, bool]:
    """(text cut to `cap` characters, whether it was cut)."""
    if not text:
        return "", False
    if len(text) <= cap:
        return plain(text), False
    return plain(text[:cap]), True


def watch_pattern(words: list[str]) -> re.Pattern[str] | None:
    """One case-insensitive pattern for the watch list (None when it is empty)."""
    words = [w.strip() for w in words if w and w.strip()]
    if not words:
        return None
    # Longest first so "strike" wins over "strik" when both are listed.
    words.sort(key=len, reverse=True)
    return re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)


def highlight_segments(text: str, pattern: re.Pattern[str] | None, base: Style,
                       hit: Style) -> list[tuple[str, Style]]:
    """Split plain `text` into (piece, style) runs, watch words in `hit`."""
    if pattern is None or not text:
        return [(text, base)] if text else []
    out: list[tuple[str, Style]] = []
    pos = 0
    for m in pattern.finditer(text):
        if m.start() == m.end():
            continue
        if m.start() > pos:
            out.append((text[pos : m.start()], base))
        out.append((m.group(0), hit))
        pos = m.end()
    if pos < len(text):
        out.append((text[pos:], base))
    return out


def highlighted_content(text: str, pattern: re.Pattern[str] | None, style: str = "bold reverse") -> Content:
    """A Content of plain `text` with watch words styled (spans, never markup)."""
    content = Content(text)
    if pattern is None:
        return content
    spans = [Span(m.start(), m.end(), style) for m in pattern.finditer(text) if m.end() > m.start()]
    return Content(text, spans) if spans else content


def local_time(ts: datetime) -> datetime | None:
    """`ts` in the machine's local time; None when it has none: a time at the edge of the calendar
    (year 1 or 9999) whose offset crosses into year 0 or 10000, or past what the C library converts."""
    try:
        return ts.astimezone()
    except (OverflowError, OSError, ValueError):
        return None


def _shown(ts: datetime, mode: str) -> tuple[datetime, bool]:
    """(the time to show, whether it is local): UTC when asked, or when there is no local time."""
    if mode == "local" and (local := local_time(ts)) is not None:
        return local, True
    try:
        return ts.astimezone(UTC), False
    except (OverflowError, OSError, ValueError):
        return ts, False  # an offset that crosses the calendar's edge: shown as given


def fmt_time(ts: datetime, mode: str, *, with_date: bool = True, seconds: bool = False) -> str:
    """A post time for display: UTC (marked Z) or the machine's local time (UTC, marked Z, when the
    time has no local equivalent)."""
    when, local = _shown(ts, mode)
    # The year by hand: strftime's %Y writes year 1 as "1" on glibc.
    fmt = (f"{when.year:04d}-%m-%d " if with_date else "") + ("%H:%M:%S" if seconds else "%H:%M")
    return when.strftime(fmt) + ("" if local else "Z")


# Month names spelled out (never the locale's, never a number): "02-12" is 2 December to one reader
# and 12 February to another; "2 Dec" is the same to both.
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
FEED_TIME_WIDTH = 12


def feed_time(ts: datetime, mode: str, *, now: datetime | None = None) -> str:
    """Compact time column, FEED_TIME_WIDTH cells: ' 2 Dec 14:05' this year, '2025-12-02' (ISO date)
    for another year, so no date is read with the wrong year or with day and month swapped. The
    zone is not repeated on every line: each pane names it (`zone_label`)."""
    when, _ = _shown(ts, mode)
    this_year = _shown(now or datetime.now(UTC), mode)[0].year
    if when.year != this_year:
        return f"{when.year:04d}-{when.month:02d}-{when.day:02d}".ljust(FEED_TIME_WIDTH)
    return f"{when.day:2d} {MONTHS[when.month - 1]} {when.hour:02d}:{when.minute:02d}"


def zone_label(mode: str) -> str:
    """What the times on screen are in: 'UTC', or 'local time (CET, UTC+01:00)'."""
    if mode != "local":
        return "UTC"
    now = datetime.now().astimezone()
    offset = now.strftime("%z")
    offset = f"UTC{offset[:3]}:{offset[3:]}" if offset else "UTC"
    name = now.tzname() or ""
    return f"local time ({name}, {offset})" if name and not name.startswith(("+", "-")) else f"local time ({offset})"


# Media kinds as an editor names them (the parser's kinds: core/sources/telegram.py).
MEDIA_NAMES = {"document": "file", "round_video": "video", "voice": "voice message"}


def post_marks(*, forwarded: bool, reply: bool, edited: bool, media: Sequence[str]) -> list[str]:
    """What a line marks besides its text: ['fwd', 'reply', 'edited', '3 photos', 'poll']."""
    out = [m for m, on in (("fwd", forwarded), ("reply", reply), ("edited", edited)) if on]
    counts: dict[str, int] = {}
    for kind in media:
        name = MEDIA_NAMES.get(kind, kind.replace("_", " "))
        counts[name] = counts.get(name, 0) + 1
    out += [name if n == 1 else f"{n} {name}s" for name, n in counts.items()]
    return out


def line_text(snippet: str, *, service: bool, has_media: bool, cap: int = FEED_TEXT_CAP) -> str:
    """The text part of a one-line post: a post of media only says so rather than '(no text)'."""
    text = one_line(snippet, cap)
    if text:
        return text
    if service:
        return "(service message)"
    return "(no caption)" if has_media else "(no text)"


def links_in(text: str) -> list[str]:
    """http(s) links written in a text, in order, without duplicates."""
    seen: dict[str, None] = {}
    for m in URL_RE.finditer(text or ""):
        seen.setdefault(m.group(0).rstrip(".,;:!?"), None)
    return list(seen)
