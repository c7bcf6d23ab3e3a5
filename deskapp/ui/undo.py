"""What the undo key can put back: the pins taken off by each unpin or clear, newest last.

Kept in a file in the state folder too, per store and desk, so a stray `X`, `y`, `q` (or a
terminal without bracketed paste typing a pasted `Xyq`) loses nothing: the next desk on that store
can still put the pins back. A state folder that cannot be written only costs that.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from deskapp.core.model import Pin, parse_utc_iso, utc_iso
from deskapp.ui.clipboard import write_atomic

UNDO_DEPTH = 50  # unpins and clears the undo key can take back
_FILE_CAP = 5_000_000  # bytes read of the undo file (it is ours, but the state folder is shared)


class UndoStack:
    """`UndoStack(state / "undo.json", key)`: push(pins), peek(), pop(); saved after each change."""

    def __init__(self, path: Path | None, key: str) -> None:
        self.path, self.key = path, key
        self.items: list[list[Pin]] = self._load()

    def __len__(self) -> int:
        return len(self.items)

    def push(self, pins: list[Pin]) -> None:
        self.items.append(pins)
        del self.items[:-UNDO_DEPTH]
        self._save()

    def peek(self) -> list[Pin] | None:
        return self.items[-1] if self.items else None

    def pop(self) -> None:
        if self.items:
            self.items.pop()
            self._save()

    def _all(self) -> dict[str, Any]:
        if self.path is None:
            return {}
        try:
            with self.path.open("rb") as fh:
                data = json.loads(fh.read(_FILE_CAP))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _load(self) -> list[list[Pin]]:
        out: list[list[Pin]] = []
        entries = self._all().get(self.key)
        for entry in entries if isinstance(entries, list) else []:
            try:
                out.append([Pin(str(p["source"]), int(p["post_id"]), int(p["position"]), str(p["note"]),
                                parse_utc_iso(str(p["pinned_at"]))) for p in entry])
            except (KeyError, TypeError, ValueError):
                continue  # a damaged entry costs that entry
        return out[-UNDO_DEPTH:]

    def _save(self) -> None:
        if self.path is None:
            return
        data = self._all()
        data[self.key] = [[{"source": p.source, "post_id": p.post_id, "position": p.position, "note": p.note,
                            "pinned_at": utc_iso(p.pinned_at)} for p in entry] for entry in self.items]
        if not data[self.key]:
            del data[self.key]
        with contextlib.suppress(OSError):
            write_atomic(self.path, json.dumps(data, ensure_ascii=False))
