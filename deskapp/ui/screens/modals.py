"""Small modals: confirm, one line of text, pick a source. Their own keys only (modal bindings)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList
from textual.widgets.option_list import Option

from deskapp.ui.widgets.field import TextField

MODAL_CSS = """
ModalScreen { align: center middle; }
ModalScreen > Vertical {
    width: 70; max-width: 90%; height: auto; max-height: 80%;
    border: thick $accent; background: $surface; padding: 1 2;
}
ModalScreen Label { width: 1fr; margin-bottom: 1; }
ModalScreen Horizontal { height: auto; align-horizontal: right; }
ModalScreen Button { margin-left: 2; }
ModalScreen OptionList { height: auto; max-height: 20; }
"""


class ConfirmModal(ModalScreen[bool]):
    """Yes / no. `y` or Enter on Yes confirms; `n` or Esc cancels."""

    DEFAULT_CSS = MODAL_CSS
    BINDINGS = [
        Binding("escape,n", "cancel", "Cancel"),
        Binding("y", "confirm", "Yes"),
    ]

    def __init__(self, question: str, *, yes: str = "Yes", no: str = "Cancel") -> None:
        super().__init__()
        self.question = question
        self.yes, self.no = yes, no

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Content(self.question))
            with Horizontal():
                yield Button(Content(self.no), id="no")
                yield Button(Content(self.yes), id="yes", variant="error")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()  # the safe choice has the focus

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_cancel(self) -> None:
        self.dismiss(False)

    def action_confirm(self) -> None:
        self.dismiss(True)


class TextModal(ModalScreen[str | None]):
    """One line of text (a pin note, the heading). Enter keeps it; Esc cancels (None)."""

    DEFAULT_CSS = MODAL_CSS
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, value: str = "", *, placeholder: str = "", max_length: int = 1000) -> None:
        super().__init__()
        self.title_text = title
        self.value = value
        self.placeholder = placeholder
        self.max_length = max_length

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Content(self.title_text))
            yield TextField(self.value, placeholder=self.placeholder, max_length=self.max_length, id="text")
            yield Label(Content("Enter to keep, Esc to cancel"), classes="hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


ALL_SOURCES = "__all__"


class SourcePicker(ModalScreen[list[str] | None]):
    """Pick one source to show, or all. Returns [] for all, [name] for one, None when cancelled."""

    DEFAULT_CSS = MODAL_CSS
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, sources: list[tuple[str, str, int]], current: list[str] | None) -> None:
        """`sources`: (name, label, posts)."""
        super().__init__()
        self.sources = sources
        self.current = current

    def compose(self) -> ComposeResult:
        options = [Option(Content("All sources"), id=ALL_SOURCES)]
        for name, label, posts in self.sources:
            options.append(Option(Content.assemble(label, (f"  {name} · {posts:,} posts", "dim")), id=name))
        with Vertical():
            yield Label(Content("Show the feed of"))
            yield OptionList(*options, id="sources")

    def on_mount(self) -> None:
        olist = self.query_one(OptionList)
        if self.current and len(self.current) == 1:
            for i, (name, _, _) in enumerate(self.sources, start=1):
                if name == self.current[0]:
                    olist.highlighted = i
        else:
            olist.highlighted = 0

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        picked = event.option.id
        self.dismiss([] if picked == ALL_SOURCES or picked is None else [picked])

    def action_cancel(self) -> None:
        self.dismiss(None)
