"""The one text field of the desk: the search box and every dialog's line of text.

Whatever reaches its value (a key, a terminal paste, Ctrl+V from the app's clipboard, a value set in
code) goes through `sanitize.clean_field`, so a control character or an escape sequence in a pasted
heading or note never reaches the citation renderer, the store or the screen. A field with a
`max_length` keeps the first characters of a paste that would not fit (Textual's Input refuses the
whole paste), and never holds more: a long article pasted into the search box by mistake must not
become a query that keeps the store busy for minutes.
"""

from __future__ import annotations

from textual.widgets import Input

from deskapp.core.sanitize import clean_field


class TextField(Input):
    """An `Input` that keeps only clean, one-line text, at most `max_length` characters (0: any)."""

    def validate_value(self, value: str) -> str:
        # Textual's reactive hook: every assignment to `value` passes here.
        return clean_field(value)[: self.max_length or None]

    def replace(self, text: str, start: int, end: int) -> None:
        # Cleaned before Input places the cursor after it, so the cursor counts what is kept.
        text = clean_field(text)
        if self.max_length:
            value = self.value
            start, end = sorted((max(0, start), min(len(value), end)))
            text = text[: max(0, self.max_length - (len(value) - (end - start)))]
        super().replace(text, start, end)
