"""Adding a channel from the desk, and what a first run without settings says."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from deskapp.config import MINIMAL_EXAMPLE, ConfigError
from deskapp.core.model import SourceConfig
from deskapp.ui.keys import bindings
from deskapp.ui.screens.modals import dialog_css
from deskapp.ui.widgets.field import TextField


def first_run_text(config: Path, *, exists: bool) -> str:
    where = f"Settings file: {config}" + ("" if exists else " (not created yet)")
    return (f"No channels to watch yet.\n{where}\nA minimal one:\n\n{MINIMAL_EXAMPLE}\n"
            "Or quit (q) and run `desk --demo` to try the desk on a built-in demo wire.")


class AddChannelModal(ModalScreen[SourceConfig | None]):
    """Type a channel; `add(text)` validates it and writes it to the settings file (ConfigError:
    the reason is shown and the editor can correct it). Esc closes without adding."""

    DEFAULT_CSS = dialog_css("AddChannelModal") + """
AddChannelModal > Vertical { width: 90%; max-width: 110; }
AddChannelModal #problem { color: $error; }
AddChannelModal #intro { margin-bottom: 1; }
"""
    BINDINGS = bindings({"dialog_cancel": "cancel"})

    def __init__(self, add: Callable[[str], SourceConfig], config: Path, *, intro: str = "") -> None:
        super().__init__()
        self.add = add
        self.config = config
        self.intro = intro

    def compose(self) -> ComposeResult:
        with Vertical():
            if self.intro:
                yield Label(Content(self.intro), id="intro")
            yield Label(Content("Channel to add to the settings file (name, @name or t.me link):"))
            yield TextField("", placeholder="durov", max_length=200, id="channel")
            yield Label(Content(""), id="problem")
            yield Label(Content("Enter to add, Esc to close"), classes="hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            added = self.add(event.value)
        except ConfigError as exc:
            self.query_one("#problem", Label).update(Content(exc.problem))
            return
        except OSError as exc:
            self.query_one("#problem", Label).update(Content(f"cannot write the settings file: {exc.strerror or exc}"))
            return
        self.dismiss(added)

    def action_cancel(self) -> None:
        self.dismiss(None)
