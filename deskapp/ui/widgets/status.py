"""The status bar: unseen alerts, each source's state, posts stored, new since start, time zone, poller.

The line is laid out for the width it has: the longest form that fits, shortened in order of what
matters least (healthy sources first, then wording), so at 80 columns the alerts, the sources in
trouble, the zone and the poller's state always show.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.content import Content
from textual.widget import Widget

from deskapp.core.model import SourceHealth
from deskapp.ui.text import one_line

STATE_STYLE = {
    "ok": ("●", "$success"),
    "new": ("○", "$text-muted"),
    "backing off": ("▲", "$warning"),
    "failing": ("✖", "bold $error"),
    "disabled": ("–", "$text-disabled"),
}
TROUBLE = ("failing", "backing off")

Parts = list[str | tuple[str, str]]


def source_label(s: SourceHealth) -> str:
    return one_line(s.label or s.handle or s.name, 40)


@dataclass(frozen=True, slots=True)
class _Form:
    """How much one layout says (the first form is the longest)."""

    sources: str  # "all": every source with its state; "trouble": healthy ones counted; "counts": marks and counts
    state_words: bool = True  # "failing" after a source's name
    counts: str = "long"  # "long" (stored · new since start), "short" (stored · new), "stored"
    zone: str = "long"  # "UTC" / "local time", or "local"
    alerts: str = "long"  # "⚑ 2 alerts (A)" or "⚑ 2 (A)"


_FORMS = (
    _Form("all"),
    _Form("all", counts="short"),
    _Form("all", state_words=False, counts="short", zone="short"),
    _Form("trouble", counts="short"),
    _Form("trouble", state_words=False, counts="short", zone="short"),
    _Form("trouble", state_words=False, counts="stored", zone="short", alerts="short"),
    _Form("counts", counts="short", zone="short"),
    _Form("counts", counts="stored", zone="short", alerts="short"),
)


def _source_parts(sources: list[SourceHealth], form: _Form, max_sources: int, sources_key: str) -> Parts:
    parts: Parts = []
    if not sources:
        return [("no sources  ", "dim")]
    if form.sources == "counts":
        for state, (mark, style) in STATE_STYLE.items():
            n = sum(1 for s in sources if s.state == state)
            if n:
                parts += [(mark, style), f" {n:,}  "]
    else:
        # Sources in trouble first: the ones past max_sources are only counted.
        shown = sorted((s for s in sources if form.sources == "all" or s.state != "ok"),
                       key=lambda s: s.state not in TROUBLE)
        for s in shown[:max_sources]:
            mark, style = STATE_STYLE.get(s.state, ("?", ""))
            parts += [(mark, style), " ", source_label(s)]
            parts += [" ", (s.state, style), "  "] if form.state_words else ["  "]
        if len(shown) > max_sources:
            parts.append((f"+{len(shown) - max_sources} more  ", "dim"))
        healthy = len(sources) - len(shown)
        if healthy:
            mark, style = STATE_STYLE["ok"]
            parts += [(mark, style), f" {healthy:,} ok  "]
    if any(s.state in TROUBLE for s in sources):
        parts.append((f"({sources_key}: why)  ", "dim"))
    return parts


def status_content(sources: list[SourceHealth], *, stored: int, new_since_start: int, time_mode: str,
                   poller: str, sources_key: str = "s", max_sources: int = 8, alerts: int = 0,
                   alerts_key: str = "A", width: int | None = None) -> Content:
    """One line, in the longest form that fits `width` cells (None: no limit). The filter is shown in
    the feed's title instead. Unseen alerts come first, where a narrow line never cuts them off."""
    content = Content("")
    cap = max(24, width // 2) if width is not None else 0
    if cap and len(poller) > cap:
        poller = poller[: cap - 1] + "…"  # a long stop reason would push every source out
    for form in _FORMS:
        content = _assemble(sources, form, stored=stored, new_since_start=new_since_start, time_mode=time_mode,
                            poller=poller, sources_key=sources_key, max_sources=max_sources, alerts=alerts,
                            alerts_key=alerts_key)
        if width is None or content.cell_length <= width:
            return content
    # Still too long (a long poller reason, a very narrow terminal): the reason is cut first.
    keep = max(12, len(poller) - (content.cell_length - (width or 0)) - 1)
    short = poller[:keep] + "…" if keep < len(poller) else poller
    return _assemble(sources, _FORMS[-1], stored=stored, new_since_start=new_since_start, time_mode=time_mode,
                     poller=short, sources_key=sources_key, max_sources=max_sources, alerts=alerts,
                     alerts_key=alerts_key)


def _assemble(sources: list[SourceHealth], form: _Form, *, stored: int, new_since_start: int, time_mode: str,
              poller: str, sources_key: str, max_sources: int, alerts: int, alerts_key: str) -> Content:
    parts: Parts = []
    if alerts:
        label = (f" ⚑ {alerts:,} alert{'s' if alerts != 1 else ''} ({alerts_key}) " if form.alerts == "long"
                 else f" ⚑ {alerts:,} ({alerts_key}) ")
        parts += [(label, "bold reverse $error"), " "]
    parts += _source_parts(sources, form, max_sources, sources_key)
    parts += ["│ ", (f"{stored:,}", "bold"), " stored"]
    if form.counts != "stored":
        parts += [" · ", (f"{new_since_start:,}", "bold"),
                  " new since start" if form.counts == "long" else " new"]
    local = "local time" if form.zone == "long" else "local"
    parts += [" · ", ("UTC" if time_mode != "local" else local, "bold")]
    if poller:
        parts += [" · ", (poller, "dim")]
    return Content.assemble(*parts)


class StatusBar(Widget):
    """Keeps what the line says and lays it out again for each width it is given."""

    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 (Textual's name)
        super().__init__(id=id)
        self._fields: dict[str, Any] | None = None
        self._message: Content = Content("")

    def show(self, sources: list[SourceHealth], **fields: Any) -> None:
        """The line from these facts (status_content's arguments but `width`)."""
        self._fields = {"sources": sources, **fields}
        self.refresh()

    def update(self, message: Content | str) -> None:
        """One message instead of the facts (the store cannot be read)."""
        self._fields = None
        self._message = message if isinstance(message, Content) else Content(message)
        self.refresh()

    def render(self) -> Content:
        if self._fields is None:
            return self._message
        width = self.content_size.width
        return status_content(**self._fields, width=width if width > 0 else None)
