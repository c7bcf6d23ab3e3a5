"""Fixtures shared by every test folder."""

from __future__ import annotations

import pyperclip
import pytest


@pytest.fixture
def no_clipboard(monkeypatch: pytest.MonkeyPatch) -> None:
    """No system clipboard (as over SSH): pyperclip raises, the desk falls back to OSC 52."""

    def fail(text: str) -> None:
        raise pyperclip.PyperclipException("no clipboard mechanism")

    monkeypatch.setattr(pyperclip, "copy", fail)
