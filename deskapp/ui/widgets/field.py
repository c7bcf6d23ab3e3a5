"""The one text field of the desk: the search box and every dialog's line of text.

Whatever reaches its value (a key, a terminal paste, Ctrl+V from the app's clipboard, a value set in
code) goes through `sanitize.clean_field`, so a control character or an escape sequence in a pasted
heading or note never reaches the citation renderer, the store or the screen.
"""

from __future__ import annotations

from textual.widgets import Input

from deskapp.core.sanitize import clean_field


class TextField(Input):
    """An `Input` that keeps only clean, one-line text."""

    def validate_value(self, value: str) -> str:
        # Textual's reactive hook: every assignment to `value` passes here.
        return clean_field(value)

    def replace(self, text: str, start: int, end: int) -> None:
        # Cleaned before Input places the cursor after it, so the cursor counts what is kept.
        super().replace(clean_field(text), start, end)
