"""Where a copied citation goes: the system clipboard (pyperclip) when one exists, else the terminal's
clipboard through OSC 52 (App.copy_to_clipboard), and in every case a last-citation file, so the
text is never lost on a terminal that ignores OSC 52 (the notification names the file)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(slots=True)
class CopyResult:
    system: bool  # went to the system clipboard (pyperclip)
    osc52: bool  # sent to the terminal (OSC 52)
    file: Path | None  # the last-citation file, when it could be written
    file_error: str = ""

    def message(self) -> str:
        """One readable sentence for the notification."""
        if self.system:
            where = "Copied to the system clipboard"
        elif self.osc52:
            where = "Sent to the terminal clipboard (OSC 52; the terminal must allow it)"
        else:
            where = "Not copied to any clipboard"
        if self.file is not None:
            return f"{where}; also saved in {self.file}"
        return f"{where}; could not save the file: {self.file_error}"


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` so a reader never sees half a file: temp file in the same folder, then
    os.replace (atomic on POSIX and Windows)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class Clipboard:
    """Copies text; learns on first use whether a system clipboard exists and remembers it."""

    def __init__(self, last_citation: Path, osc52: Callable[[str], None]) -> None:
        self.last_citation = last_citation
        self._osc52 = osc52
        self._system: bool | None = None  # None: not tried yet

    def _copy_system(self, text: str) -> bool:
        if self._system is False:
            return False
        try:
            import pyperclip
        except ImportError:
            self._system = False
            return False
        try:
            pyperclip.copy(text)
        except pyperclip.PyperclipException:
            # No xclip/xsel/wl-copy/pbcopy (e.g. over SSH): do not try again this session.
            self._system = False
            return False
        except OSError:
            self._system = False
            return False
        self._system = True
        return True

    def copy_only(self, text: str) -> str:
        """Copy a short text (a permalink) without touching the last-citation file; says where it went."""
        if self._copy_system(text):
            return "system clipboard"
        self._osc52(text)
        return "terminal clipboard, OSC 52"

    def copy(self, text: str) -> CopyResult:
        system = self._copy_system(text)
        osc52 = False
        if not system:
            self._osc52(text)
            osc52 = True
        try:
            # A text file ends with a newline (`cat` then leaves the prompt on a line of its own).
            write_atomic(self.last_citation, text if text.endswith("\n") else text + "\n")
            return CopyResult(system, osc52, self.last_citation)
        except OSError as exc:
            return CopyResult(system, osc52, None, exc.strerror or str(exc))
