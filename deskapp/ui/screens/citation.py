"""The whole citation on one screen: on an 80x24 terminal the compose pane shows a few lines of it,
and the editor must be able to check every pin's line before copying (one key: show_citation)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from deskapp.ui.keys import bindings
from deskapp.ui.screens.modals import dialog_css


class CitationScreen(ModalScreen[None]):
    DEFAULT_CSS = dialog_css("CitationScreen", full=True) + """
    CitationScreen VerticalScroll { height: 1fr; }
    CitationScreen #citation-text { height: auto; }
    """
    BINDINGS = bindings({"citation_back": "close", "copy": "copy"})

    def __init__(self, title: str, text: str, problems: list[str]) -> None:
        super().__init__()
        self.title_text = title
        self.text = text
        self.problems = problems

    def compose(self) -> ComposeResult:
        with Vertical():
            # Plain Content throughout: channel names and notes never parse as markup.
            yield Static(Content(self.title_text), classes="title")
            if self.problems:
                yield Static(Content("\n".join(self.problems)), classes="hint")
            with VerticalScroll():
                yield Static(Content(self.text), id="citation-text")
        yield Footer()

    def action_close(self) -> None:
        self.dismiss(None)

    async def action_copy(self) -> None:
        await self.app.run_action("copy")
