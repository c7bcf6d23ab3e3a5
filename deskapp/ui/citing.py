"""The compose pane's citation: settings -> deskapp.core.cite, with the editor's format and heading.

The renderer is pure and fast (a few pins), so the preview is re-rendered on every change. Options
and templates come from `config.cite_objects` (the same helper the CLI uses), so the desk and
`desk cite` agree on what a setting means.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from deskapp.config import ConfigError, Settings, cite_objects
from deskapp.core import cite
from deskapp.core.desks import CITE_OPTIONS, cite_overrides
from deskapp.core.model import StoredPost
from deskapp.core.sanitize import clean_field

FORMATS: tuple[str, ...] = cite.FORMATS
DEFAULT_HEADING = cite.CiteTemplates().heading
# What each citation option adds, in the options dialog (O); the names are core.desks.CITE_OPTIONS.
_LABELS = {
    "notes": "the pin notes",
    "excerpt": "an excerpt of each post",
    "views": "view counts",
    "edited": "edited marks",
    "forwards": "the origin of a forwarded post",
    "replies": "the post a reply answers",
    "archive": "the archive snapshot (desk archive)",
    "sha256": "the SHA-256 of the captured text",
    "checked": "when each post was last re-checked (v)",
    "earliest": "the earliest post of the same news (E)",
    "chronological": "oldest first, instead of the pinboard's order",
}
OPTIONS: tuple[tuple[str, str], ...] = tuple((name, _LABELS[name]) for name in CITE_OPTIONS)


@dataclass(slots=True)
class Rendered:
    text: str
    count: int
    fmt: str
    refused: list[str] = field(default_factory=list)  # readable, one per refused URL
    problem: str = ""  # a settings problem (the block then uses the defaults)


class Citer:
    """Renders the pins with the configured options, the chosen format and the edited heading."""

    def __init__(self, settings: Settings, now: Callable[[], datetime] | None = None) -> None:
        self.settings = settings
        self.now = now
        self.fmt = settings.cite.format if settings.cite.format in FORMATS else FORMATS[0]
        self._heading: str | None = settings.cite.heading  # None: the renderer's default
        self.options: dict[str, bool] = {}  # the desk's choices over the settings' [cite] options

    def option(self, name: str) -> bool:
        """Whether the citation carries `name` (OPTIONS): the desk's choice, else the settings'."""
        if name in self.options:
            return self.options[name]
        if name == "chronological":
            return self.settings.cite.options.get("order") == "chronological"
        default = getattr(cite.CiteOptions(), name)
        value = self.settings.cite.options.get(name, default)
        return value if isinstance(value, bool) else default

    def set_option(self, name: str, on: bool) -> None:
        if name in CITE_OPTIONS:
            self.options[name] = on

    @property
    def earliest(self) -> bool:
        return self.option("earliest")

    @property
    def heading(self) -> str | None:
        return self._heading

    @heading.setter
    def heading(self, value: str | None) -> None:
        # Typed or pasted: a control character would make the template invalid at every render.
        self._heading = None if value is None else clean_field(value)

    @property
    def heading_text(self) -> str:
        return DEFAULT_HEADING if self.heading is None else self.heading

    def next_format(self) -> str:
        i = FORMATS.index(self.fmt) if self.fmt in FORMATS else -1
        self.fmt = FORMATS[(i + 1) % len(FORMATS)]
        return self.fmt

    def _objects(self) -> tuple[cite.CiteOptions, cite.CiteTemplates, str]:
        try:
            options, templates = cite_objects(self.settings, self._overrides())
            problem = ""
        except ConfigError as exc:  # settings built in code, not through config.load
            options, templates = cite.CiteOptions(**self._overrides()), cite.CiteTemplates()
            problem = f"{exc} (using the default citation settings)"
        if self.heading is not None:
            problem = cite.set_heading(templates, self.heading) or problem
        return options, templates, problem

    def _overrides(self) -> dict[str, object]:
        return {"fmt": self.fmt, **cite_overrides(self.options)}

    def render(self, posts: list[StoredPost], verified: dict | None = None, earliest: dict | None = None) -> Rendered:
        """`verified`: the pins' re-check and archive facts (cite.Verification by (source, id));
        `earliest`: the first post of the same news, by (source, id), named when `self.earliest`."""
        options, templates, problem = self._objects()
        result = cite.render(posts, options, templates, now=self.now() if self.now else None, verified=verified,
                             earliest=earliest)
        refused = [f"{r.post}: {r.what} refused ({r.reason})" for r in result.refused]
        return Rendered(result.text, result.count, result.fmt, refused, problem)
