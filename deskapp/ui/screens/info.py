"""Help (every key, from the keymap) and the sources screen (health and error texts)."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Static

from deskapp.core.model import SourceHealth
from deskapp.keymap import KeySpec
from deskapp.ui.keys import display_keys
from deskapp.ui.screens.modals import dialog_css
from deskapp.ui.text import fmt_time, one_line

# Keys the desk has besides the keymap table (fixed by Textual or by a screen).
EXTRA_KEYS = [
    ("ctrl+p", "Command palette: every action by name"),
    ("Esc", "Close a screen or a dialog"),
    ("mouse", "Click a post to put the cursor on it; double-click for the whole post"),
]


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = dialog_css("HelpScreen", full=True)
    BINDINGS = [Binding("escape,q,question_mark", "close", "Back")]

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
    DEFAULT_CSS = dialog_css("SourcesScreen", full=True)
    BINDINGS = [Binding("escape,q,s", "close", "Back")]

    def __init__(self, sources: list[SourceHealth]) -> None:
        super().__init__()
        self.sources = sources

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Content(f"Sources ({len(self.sources)})"), classes="title")
            table: DataTable = DataTable(cursor_type="row", zebra_stripes=True, id="sources-table")
            for label in ("Source", "State", "Posts", "Last success", "Errors", "Last error", "Next poll", "Reason"):
                table.add_column(Text(label), key=label.lower())
            for s in self.sources:
                table.add_row(
                    Text(one_line(s.label or s.title or s.handle, 30)),
                    Text(s.state),
                    Text(f"{s.posts:,}"),
                    Text(_when(s.last_success)),
                    Text(str(s.error_count)),
                    Text(_when(s.last_error)),
                    Text(_when(s.next_poll)),
                    Text(one_line(s.error_text, 500) or "—"),
                    key=s.name,
                )
            yield table
            failing = [s for s in self.sources if s.error_text]
            if failing:
                yield Static(Content("Reasons in full"), classes="title")
                for s in failing:
                    yield Static(Content.assemble((s.name, "bold"), f" ({s.state}): ", one_line(s.error_text, 2000)),
                                 classes="hint")
            if not self.sources:
                yield Static(Content("No sources yet: add channels to the [telegram] table of the settings."),
                             classes="hint")
        yield Footer()

    def action_close(self) -> None:
        self.dismiss(None)
