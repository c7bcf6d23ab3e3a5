"""Alert and mute rules from the desk: the list (the store's rules, deletable, and the settings file's,
read-only) and the dialog that adds one (checked as typed in: a wrong one is one line saying why)."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Input, Label, Static

from deskapp.core.alerts import Rule, RuleAction, RuleError, rule_from_text
from deskapp.ui.keys import bindings
from deskapp.ui.screens.modals import ConfirmModal, dialog_css
from deskapp.ui.text import one_line
from deskapp.ui.widgets.field import TextField

FIELD_CAP = 2_000


def _limits(rule: Rule) -> str:
    return " ".join([*rule.sources, *(f"kind:{k}" for k in rule.kinds)]) or "all sources"


class RuleDialog(ModalScreen[Rule | None]):
    """Name, alert or mute, what it matches, what it is limited to. Enter in any field adds the rule
    when it is valid; else the error line says why and the dialog stays."""

    DEFAULT_CSS = dialog_css("RuleDialog") + """
RuleDialog TextField { margin-bottom: 1; }
RuleDialog #rule-error { color: $error; margin-bottom: 0; }
"""
    BINDINGS = bindings({"dialog_cancel": "cancel"})

    def __init__(self, taken: set[str], action: RuleAction = RuleAction.ALERT) -> None:
        super().__init__()
        self.taken = taken
        self.action = action

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Content("Add a rule (Enter adds it, Esc cancels)"), classes="title")
            yield TextField(placeholder="name, e.g. evacuations", max_length=100, id="rule-name")
            yield TextField(str(self.action), placeholder="alert or mute", max_length=10, id="rule-action")
            yield TextField(placeholder='words "a phrase" /a regex/', max_length=FIELD_CAP, id="rule-match")
            yield TextField(placeholder="limit (optional): telegram:harbour_watch kind:rss", max_length=FIELD_CAP,
                            id="rule-limit")
            yield Label(Content(""), id="rule-error")

    def _value(self, field_id: str) -> str:
        return self.query_one(f"#{field_id}", TextField).value

    def build(self) -> Rule:
        name = self._value("rule-name").strip()
        if name in self.taken:
            raise RuleError(f"rule {name!r}: the name is used by another rule")
        try:
            action = RuleAction(self._value("rule-action").strip().lower() or "alert")
        except ValueError:
            raise RuleError("the action is alert or mute") from None
        return rule_from_text(name, action, self._value("rule-match"), self._value("rule-limit"))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            rule = self.build()
        except RuleError as exc:
            self.query_one("#rule-error", Label).update(Content(one_line(str(exc), 300)))
            return
        self.dismiss(rule)

    def action_cancel(self) -> None:
        self.dismiss(None)


class RulesScreen(ModalScreen[None]):
    """Every rule: the desk's own (a adds, d deletes) and the settings file's (read-only)."""

    DEFAULT_CSS = dialog_css("RulesScreen", full=True)
    BINDINGS = bindings({"rules_back": "close", "rule_add": "add", "rule_delete": "delete"})

    def __init__(self, stored: Callable[[], list[tuple[int, Rule]] | None], settings_rules: list[Rule],
                 add: Callable[[Rule], None], remove: Callable[[int], None]) -> None:
        super().__init__()
        self.stored = stored
        self.settings_rules = settings_rules
        self.add_rule, self.remove_rule = add, remove
        self.rows: list[tuple[int | None, Rule]] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Content("Rules"), classes="title")
            table: DataTable = DataTable(cursor_type="row", zebra_stripes=True, id="rules-table")
            for label in ("Name", "Action", "Matches", "Limited to", "From"):
                table.add_column(Text(label), key=label.lower())
            yield table
            yield Static(Content("a adds a rule, d deletes one added here; rules from the settings file are "
                                 "changed there ([[alert]], [[mute]]). A mute also hides recent posts it matches."),
                         classes="hint")
        yield Footer()

    def on_mount(self) -> None:
        self._fill()

    def _fill(self) -> None:
        stored = self.stored() or []
        self.rows = [*stored, *((None, r) for r in self.settings_rules)]
        table = self.query_one("#rules-table", DataTable)
        table.clear()
        for rid, rule in self.rows:
            table.add_row(Text(one_line(rule.name, 40)), Text(str(rule.action)), Text(one_line(rule.describe(), 200)),
                          Text(one_line(_limits(rule), 80)), Text("desk" if rid is not None else "settings"))
        self.query_one(".title", Static).update(Content(f"Rules ({len(self.rows)})"))

    def action_add(self) -> None:
        def done(rule: Rule | None) -> None:
            if rule is not None:
                self.add_rule(rule)
                self._fill()

        self.app.push_screen(RuleDialog({r.name for _, r in self.rows}), done)

    def action_delete(self) -> None:
        if not self.rows:
            return
        table = self.query_one("#rules-table", DataTable)
        rid, rule = self.rows[min(table.cursor_row, len(self.rows) - 1)]
        if rid is None:
            self.notify(f"{rule.name} is in the settings file: change it there.", markup=False, timeout=5)
            return

        def done(yes: bool | None) -> None:
            if yes:
                self.remove_rule(rid)
                self._fill()

        self.app.push_screen(ConfirmModal(f"Delete the rule {rule.name}? Posts it muted show again.",
                                          yes="Delete"), done)

    def action_close(self) -> None:
        self.dismiss(None)
