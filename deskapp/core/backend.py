"""Which store a --db value or [store] url names: a PostgreSQL URL opens the PostgreSQL store
(core/pg/), anything else (a path, `sqlite:PATH`) today's SQLite file.

Both have the same methods for what the PostgreSQL store implements (see core/pg/store.py); the
rest raise a one-line "not supported on PostgreSQL yet" StoreError there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from deskapp.core.pg.urls import shown_url

__all__ = ["is_pg_url", "open_store", "shown_url", "sqlite_path"]


def is_pg_url(target: object) -> bool:
    """Whether a --db value or [store] url names a PostgreSQL server."""
    return isinstance(target, str) and target.split(":", 1)[0].lower() in ("postgresql", "postgres")


def sqlite_path(target: str | Path) -> Path:
    """The file a path or `sqlite:PATH` value names."""
    text = str(target)
    if text.startswith("sqlite:"):
        text = text[len("sqlite:"):]
        if text.startswith("//"):
            text = text[2:]
    return Path(text).expanduser()


def open_store(target: str | Path, *, readonly: bool = False, desk: str | None = None) -> Any:
    """The store `target` names, open: a PgStore for a postgresql:// URL, else a SQLite Store."""
    if is_pg_url(target):
        from deskapp.core.pg.store import PgStore

        return PgStore.open(str(target), readonly=readonly, desk=desk)
    from deskapp.core.store import Store

    return Store.open(sqlite_path(target), readonly=readonly, desk=desk)
