"""Small modals: confirm, one line of text, pick a source. Their own keys only (modal bindings)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList
from textual.widgets.option_list import Option

from deskapp.ui.keys import bindings
from deskapp.ui.widgets.field import TextField


def dialog_css(screen: str, *, full: bool = False) -> str:
    """A bordered dialog in the middle of the screen (`full`: as large as the screen, for tables).

    Textual scopes a widget's DEFAULT_CSS: a rule that does not start with the class's own name is
    prefixed with it ("ConfirmModal ModalScreen > Vertical"), which never matches. So every rule
    here starts with the screen's name.
    """
    size = "width: 100%; height: 1fr;" if full else "width: 70; max-width: 100%; height: auto; max-height: 90%;"
    return f"""
{screen} {{ align: center middle; background: $background 60%; }}
{screen} > Vertical {{
    {size}
    border: round $accent; border-title-color: $text; background: $surface; padding: 0 1;
}}
{screen} .title {{ height: auto; text-style: bold; color: $accent; margin-bottom: 1; }}
{screen} Label {{ width: 1fr; margin-bottom: 1; }}
{screen} .hint {{ color: $text-muted; margin-bottom: 0; }}
{screen} Horizontal {{ height: auto; align-horizontal: right; }}
{screen} Button {{ margin-left: 2; }}
{screen} OptionList {{ height: auto; max-height: 16; }}
"""


class ConfirmModal(ModalScreen[bool]):
    """Yes / no. `y` or Enter on Yes confirms; `n` or Esc cancels."""

    DEFAULT_CSS = dialog_css("ConfirmModal")
    BINDINGS = bindings({"confirm_no": "cancel", "confirm_yes": "confirm"})

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

    DEFAULT_CSS = dialog_css("TextModal")
    BINDINGS = bindings({"dialog_cancel": "cancel"})

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


# Rows that pick every source of one kind ("All of Bluesky"); source names never start with a space.
KIND_PREFIX = " kind:"
KIND_LABEL = {"telegram": "Telegram", "rss": "RSS", "bluesky": "Bluesky", "mastodon": "Mastodon"}


class SourcePicker(ModalScreen[list[str] | None]):
    """Pick one source to show, or all. Returns [] for all, [name] for one, None when cancelled."""

    DEFAULT_CSS = dialog_css("SourcePicker")
    BINDINGS = bindings({"dialog_cancel": "cancel"})

    def __init__(self, sources: list[tuple[str, str, int]], current: list[str] | None) -> None:
        """`sources`: (name, label, posts)."""
        super().__init__()
        self.sources = sources
        self.current = current

    def _kinds(self) -> dict[str, list[str]]:
        """Source names by kind, when the desk watches more than one kind (else no kind rows)."""
        kinds: dict[str, list[str]] = {}
        for name, _, _ in self.sources:
            kinds.setdefault(name.split(":", 1)[0] if ":" in name else "telegram", []).append(name)
        return kinds if len(kinds) > 1 else {}

    def compose(self) -> ComposeResult:
        options = [Option(Content("All sources"), id=ALL_SOURCES)]
        for kind, names in self._kinds().items():
            options.append(Option(Content.assemble(f"All of {KIND_LABEL.get(kind, kind)}",
                                                   (f"  {len(names)} source{'s' if len(names) != 1 else ''}", "dim")),
                                  id=f"{KIND_PREFIX}{kind}"))
        for name, label, posts in self.sources:
            options.append(Option(Content.assemble(label, (f"  {name} · {posts:,} posts", "dim")), id=name))
        with Vertical():
            yield Label(Content("Show the feed of"))
            yield OptionList(*options, id="sources")

    def on_mount(self) -> None:
        olist = self.query_one(OptionList)
        kinds = self._kinds()
        olist.highlighted = 0
        if self.current and len(self.current) == 1:
            for i, (name, _, _) in enumerate(self.sources, start=1 + len(kinds)):
                if name == self.current[0]:
                    olist.highlighted = i
        elif self.current:
            for i, names in enumerate(kinds.values(), start=1):
                if sorted(names) == sorted(self.current):
                    olist.highlighted = i

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        picked = event.option.id
        if picked is not None and picked.startswith(KIND_PREFIX):
            self.dismiss(self._kinds().get(picked[len(KIND_PREFIX):], []))
            return
        self.dismiss([] if picked == ALL_SOURCES or picked is None else [picked])

    def action_cancel(self) -> None:
        self.dismiss(None)
