"""What the citation carries, switched on and off for this desk (O). Each change shows in the compose
pane and is kept for the desk at once; Esc (or O) closes."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Label, SelectionList
from textual.widgets.selection_list import Selection

from deskapp.ui.keys import bindings
from deskapp.ui.screens.modals import dialog_css


class CiteOptionsModal(ModalScreen[None]):
    """`options`: (name, what it adds, on) in the order shown; `switch(name, on)` hears each change."""

    DEFAULT_CSS = dialog_css("CiteOptionsModal") + """
    CiteOptionsModal SelectionList { height: auto; max-height: 14; }
    """
    BINDINGS = bindings({"cite_options_back": "close"})

    def __init__(self, options: list[tuple[str, str, bool]], switch: Callable[[str, bool], None], *,
                 desk: str) -> None:
        super().__init__()
        self.options = options
        self.switch = switch
        self.desk = desk
        self._on = {name for name, _, on in options if on}

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = Content(f"Citation options · desk {self.desk}")
            yield SelectionList[str](*(Selection(Content(label), name, on) for name, label, on in self.options))
            yield Label(Content("Space or Enter switches one (kept for this desk) · Esc closes"), classes="hint")

    def on_selection_list_selected_changed(self, event: SelectionList.SelectedChanged) -> None:
        now = set(event.selection_list.selected)
        for name in sorted(now ^ self._on):
            self.switch(name, name in now)
        self._on = now

    def action_close(self) -> None:
        self.dismiss(None)
