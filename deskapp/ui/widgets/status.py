"""The status bar: each source's state, posts stored, new since start, time mode, filter."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from deskapp.core.model import SourceHealth
from deskapp.ui.text import one_line

STATE_STYLE = {
    "ok": ("●", "$success"),
    "new": ("○", "$text-muted"),
    "backing off": ("▲", "$warning"),
    "failing": ("✖", "bold $error"),
    "disabled": ("–", "$text-disabled"),
}


def source_label(s: SourceHealth) -> str:
    return one_line(s.label or s.handle or s.name, 40)


def status_content(sources: list[SourceHealth], *, stored: int, new_since_start: int, time_mode: str,
                   poller: str, sources_key: str = "s", max_sources: int = 8, alerts: int = 0,
                   alerts_key: str = "A") -> Content:
    """One line; the filter is shown in the feed's title instead (this line is full enough). Unseen
    alerts come first, where an 80-column line never cuts them off."""
    parts: list[str | tuple[str, str]] = []
    if alerts:
        parts += [(f" ⚑ {alerts:,} alert{'s' if alerts != 1 else ''} ({alerts_key}) ", "bold reverse $error"), " "]
    for s in sources[:max_sources]:
        mark, style = STATE_STYLE.get(s.state, ("?", ""))
        parts += [(mark, style), " ", source_label(s), " ", (s.state, style), "  "]
    if len(sources) > max_sources:
        parts.append((f"+{len(sources) - max_sources} more  ", "dim"))
    if not sources:
        parts.append(("no sources  ", "dim"))
    failing = sum(1 for s in sources if s.state in ("failing", "backing off"))
    if failing:
        parts.append((f"({sources_key}: why)  ", "dim"))
    parts += ["│ ", (f"{stored:,}", "bold"), " stored · ", (f"{new_since_start:,}", "bold"), " new since start · ",
              ("UTC" if time_mode != "local" else "local time", "bold")]
    if poller:
        parts += [" · ", (poller, "dim")]
    return Content.assemble(*parts)


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $text; padding: 0 1; }
    """
