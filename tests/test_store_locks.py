"""Opening a second Store on a file this process already holds must not drop the process's locks.

POSIX advisory locks belong to the process: closing any descriptor of the file drops them all.
Store.open used to read the file header with a descriptor of its own; with a desk's poller, its
attention thread and CLI runs on one store that let another process take the file as the last
user, checkpoint and delete the WAL under us ("database disk image is malformed").
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from deskapp.core.model import Post
from deskapp.core.store import Store

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _other_process_opens_and_closes(db: Path) -> None:
    code = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
            "c.execute('SELECT count(*) FROM posts').fetchone(); c.close()")
    subprocess.run([sys.executable, "-c", code, str(db)], check=True, timeout=60)


def test_a_second_open_in_the_same_process_keeps_the_first_ones_locks(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    first = Store.open(db)
    first.ingest_page("telegram:a", [Post(source="telegram:a", channel="a", id=1, url="https://t.me/a/1",
                                          published=NOW, text="kept in the WAL")], fetched_at=NOW)
    wal = Path(str(db) + "-wal")
    assert wal.exists()
    second = Store.open(db)  # another thread's Store, as the poller's attention thread opens
    try:
        _other_process_opens_and_closes(db)
        # Had our shared lock been dropped, that process would have been the file's last user:
        # it would have checkpointed and deleted the WAL that our connections still use.
        assert wal.exists()
        assert first.get("telegram:a", 1) is not None and second.get("telegram:a", 1) is not None
        with sqlite3.connect(db) as conn:
            assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    finally:
        second.close()
        first.close()


def test_the_header_is_still_checked_when_no_store_holds_the_file(tmp_path: Path) -> None:
    db = tmp_path / "not-a-store.db"
    db.write_bytes(b"hello, this is not SQLite at all" * 4)
    import pytest

    from deskapp.core.store import StoreError

    with pytest.raises(StoreError, match="not a SQLite database"):
        Store.open(db)
