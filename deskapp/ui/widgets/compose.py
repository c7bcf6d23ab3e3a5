"""The compose pane: a live preview of the citation block for the pins."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Static

from deskapp.ui.citing import Rendered


class ComposePane(Vertical):
    DEFAULT_CSS = """
    ComposePane { height: 1fr; }
    ComposePane > #compose-info { height: auto; color: $text-muted; padding: 0 1; }
    ComposePane > #compose-checks { height: auto; padding: 0 1; }
    ComposePane > #compose-problem { height: auto; color: $error; padding: 0 1; display: none; }
    ComposePane > #compose-problem.shown { display: block; }
    ComposePane > VerticalScroll { height: 1fr; padding: 0 1; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="compose-info")
        yield Static(id="compose-checks")
        yield Static(id="compose-problem")
        with VerticalScroll(id="compose-scroll"):
            yield Static(id="compose-preview")

    def show(self, rendered: Rendered, heading: str, keys: dict[str, str], *, checks: Content | None = None) -> None:
        """Every part is plain Content: headings, channel names and notes never parse as markup.
        `checks`: one line on the pins' last re-checks (empty: no line)."""
        n = rendered.count
        info = Content.assemble(
            (rendered.fmt, "bold"), (f" ({keys.get('cite_format', 'F')}) · ", "dim"),
            (heading or "(no heading)", "bold"), (f" ({keys.get('edit_heading', 'H')}) · ", "dim"),
            f"{n} post{'s' if n != 1 else ''}", (f" · {keys.get('copy', 'c')} copies", "dim"),
        )
        self.query_one("#compose-info", Static).update(info)
        line = self.query_one("#compose-checks", Static)
        line.update(checks or Content(""))
        line.display = bool(checks and checks.plain)
        problems = [p for p in [rendered.problem, *rendered.refused] if p]
        problem = self.query_one("#compose-problem", Static)
        problem.update(Content("\n".join(problems)))
        problem.set_class(bool(problems), "shown")
        self.query_one("#compose-preview", Static).update(Content(rendered.text))
