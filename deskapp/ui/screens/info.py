"""Help (every key, from the keymap) and the sources screen (health and error texts)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Static

from deskapp.core.model import SourceHealth
from deskapp.keymap import KeySpec
from deskapp.ui.keys import bindings, display_keys
from deskapp.ui.screens.modals import ConfirmModal, dialog_css
from deskapp.ui.text import fmt_time, one_line

# Keys the desk has besides the keymap table (fixed by Textual or by a screen).
EXTRA_KEYS = [
    ("ctrl+p", "Command palette: every action by name"),
    ("Esc", "Close a screen or a dialog"),
    ("mouse", "Click a post to put the cursor on it; double-click for the whole post"),
    ("read mark", "“▲ read up to here” marks the newest post read (kept per desk): it moves to the newest post "
                  "on screen when you go to the top (n, g) and when you quit"),
]


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = dialog_css("HelpScreen", full=True)
    BINDINGS = bindings({"help_back": "close"})

    def __init__(self, keys: list[KeySpec]) -> None:
        super().__init__()
        self.keys = keys

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Content("Keys (remap them by id in the [keys] table of the settings)"), classes="title")
            table: DataTable = DataTable(cursor_type="row", zebra_stripes=True, id="help-keys")
            table.add_column(Text("Id"), key="id")
            table.add_column(Text("Keys"), key="keys")
            table.add_column(Text("What it does"), key="what")
            for spec in self.keys:
                table.add_row(Text(spec.id), Text(display_keys(spec.keys)), Text(spec.description), key=spec.id)
            for keys, what in EXTRA_KEYS:
                table.add_row(Text("—"), Text(keys), Text(what))
            yield table
        yield Footer()

    def action_close(self) -> None:
        self.dismiss(None)


def _when(ts: datetime | None) -> str:
    return fmt_time(ts, "utc") if ts else "—"


class SourcesScreen(ModalScreen[None]):
    """Every source with its health. A source no longer in the settings says so, and `d` forgets it
    (through `forget(name)`, after a confirm; the table is then re-read through `reread()`)."""

    DEFAULT_CSS = dialog_css("SourcesScreen", full=True)
    BINDINGS = bindings({"sources_back": "close", "forget_source": "forget"})

    def __init__(self, sources: list[SourceHealth], configured: set[str] | None = None,
                 forget: Callable[[str], None] | None = None,
                 reread: Callable[[], list[SourceHealth] | None] | None = None,
                 unread: Callable[[], dict[str, int]] | None = None) -> None:
        """`unread()`: posts above this desk's read mark, per source."""
        super().__init__()
        self.unread = unread
        self.sources = sources
        self.configured = configured
        self.forget = forget
        self.reread = reread

    def _state(self, s: SourceHealth) -> str:
        if self.configured is not None and s.name not in self.configured:
            return "not in settings"
        return s.state

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Content(f"Sources ({len(self.sources)})"), classes="title")
            table: DataTable = DataTable(cursor_type="row", zebra_stripes=True, id="sources-table")
            for label in ("Source", "State", "Posts", "Unread", "Last success", "Errors", "Last error", "Next poll", "Reason"):
                table.add_column(Text(label), key=label.lower())
            yield table
            yield Vertical(id="reasons")
        yield Footer()

    def on_mount(self) -> None:
        self._fill()

    def _fill(self) -> None:
        table = self.query_one("#sources-table", DataTable)
        table.clear()
        unread = self.unread() if self.unread is not None else {}
        for s in self.sources:
            table.add_row(
                Text(one_line(s.label or s.title or s.handle, 30)),
                Text(self._state(s)),
                Text(f"{s.posts:,}"),
                Text(f"{unread.get(s.name, 0):,}"),
                Text(_when(s.last_success)),
                Text(str(s.error_count)),
                Text(_when(s.last_error)),
                Text(_when(s.next_poll)),
                # A source polled fine since its last error is healthy: the old error is history.
                Text(one_line(_reason(s), 500) or "—"),
                key=s.name,
            )
        self.query_one(".title", Static).update(Content(f"Sources ({len(self.sources)})"))
        reasons = self.query_one("#reasons", Vertical)
        reasons.remove_children()
        failing = [s for s in self.sources if _reason(s)]
        hints: list[Static] = []
        if failing:
            hints.append(Static(Content("Reasons in full"), classes="title"))
            for s in failing:
                hints.append(Static(Content.assemble((s.name, "bold"), f" ({s.state}): ", one_line(_reason(s), 4000)),
                                    classes="hint"))
        if any(self._state(s) == "not in settings" for s in self.sources):
            hints.append(Static(Content("Not in settings: removed from the settings file (or only imported). "
                                        "d forgets the selected one and its stored posts."), classes="hint"))
        if not self.sources:
            hints.append(Static(Content("No sources yet: add channels to the [telegram] table of the settings "
                                        "(or press a on the desk)."), classes="hint"))
        reasons.mount_all(hints)

    def action_forget(self) -> None:
        table = self.query_one("#sources-table", DataTable)
        if self.forget is None or not self.sources:
            return
        s = self.sources[min(table.cursor_row, len(self.sources) - 1)]
        if self._state(s) != "not in settings":
            self.notify(f"{s.name} is in the settings: remove it there first, then forget it here.",
                        markup=False, timeout=6)
            return
        forget = self.forget

        def done(yes: bool | None) -> None:
            if not yes:
                return
            forget(s.name)
            fresh = self.reread() if self.reread is not None else None
            if fresh is not None:
                self.sources = fresh
                self._fill()

        self.app.push_screen(ConfirmModal(f"Forget {s.name} and its {s.posts:,} stored posts?", yes="Forget"), done)

    def action_close(self) -> None:
        self.dismiss(None)


def _reason(s: SourceHealth) -> str:
    """Its error while the source fails, and its last refusal (posts of another channel, an id
    twice, ...) with its time."""
    parts = [s.reason] if s.reason else []
    if s.warning:
        parts.append(f"warning {_when(s.warning_at)}: {s.warning}")
    return "; ".join(parts)
