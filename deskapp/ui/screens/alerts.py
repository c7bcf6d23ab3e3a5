"""The alerts screen: every recorded match, newest first, with its rule, UTC time, channel and text.
Enter on one closes the screen with that post's key (the desk then puts the feed's cursor on it)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Static

from deskapp.core.alerts import AlertRow
from deskapp.ui.alerting import alert_what, channel_of
from deskapp.ui.keys import bindings
from deskapp.ui.screens.modals import dialog_css
from deskapp.ui.text import fmt_time, one_line


class AlertsScreen(ModalScreen[int | None]):
    DEFAULT_CSS = dialog_css("AlertsScreen", full=True)
    BINDINGS = bindings({"alerts_back": "close", "alerts_jump": "jump"})

    def __init__(self, alerts: list[AlertRow]) -> None:
        super().__init__()
        self.alerts = sorted(alerts, key=lambda a: a.id, reverse=True)  # newest first

    def compose(self) -> ComposeResult:
        with Vertical():
            n = len(self.alerts)
            yield Static(Content(f"Alerts ({n:,}) · newest first · times UTC · Enter shows the post in the feed"
                                 if n else "Alerts · none yet: rules are [[alert]] in the settings"),
                         classes="title")
            table: DataTable = DataTable(cursor_type="row", zebra_stripes=True, id="alerts-table")
            for label in ("Rule", "Time (UTC)", "Channel", "Text"):
                table.add_column(Text(label), key=label.lower())
            for a in self.alerts:
                table.add_row(Text(one_line(alert_what(a), 30)), Text(fmt_time(a.at, "utc")), Text(channel_of(a)),
                              Text(one_line(a.text, 300) or a.url), key=str(a.id))
            yield table
        yield Footer()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_jump()

    def action_jump(self) -> None:
        if not self.alerts:
            return
        table = self.query_one("#alerts-table", DataTable)
        self.dismiss(self.alerts[min(table.cursor_row, len(self.alerts) - 1)].key)

    def action_close(self) -> None:
        self.dismiss(None)
