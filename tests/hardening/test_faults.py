"""Faults beyond the network: names that do not resolve, a full disk, a read-only or corrupt store."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from deskapp.cli import main
from deskapp.config import Settings
from deskapp.core.model import SourceConfig
from deskapp.core.poller import Poller
from deskapp.core.store import Store, StoreError
from deskapp.demo.server import WireServer
from tests.wire import fast_poller, make_channel, settings_for


def test_name_resolution_failure_is_recorded(tmp_path: Path) -> None:
    src = SourceConfig(name="telegram:nowhere", kind="telegram", handle="nowhere",
                       base_url="http://desk-test-host.invalid")  # .invalid never resolves (RFC 2606)
    settings = Settings(sources=[src], poller=fast_poller(timeout=3.0))
    [summary] = asyncio.run(Poller(tmp_path / "s.db", settings).run_once())
    assert not summary.ok
    assert "name resolution failed" in summary.message or "cannot connect" in summary.message


def test_connection_refused_is_recorded(tmp_path: Path) -> None:
    with WireServer() as server:
        url = server.url
    src = SourceConfig(name="telegram:gone", kind="telegram", handle="gone", base_url=url)  # server stopped
    [summary] = asyncio.run(Poller(tmp_path / "s.db", Settings(sources=[src], poller=fast_poller())).run_once())
    assert not summary.ok and "cannot connect" in summary.message


def _limited_open(max_pages: int):
    """Store.open whose connection may not grow past `max_pages`: a real SQLITE_FULL, no root needed."""
    real_open = Store.open.__func__  # type: ignore[attr-defined]

    def open_(cls, path, *, readonly=False):
        store = real_open(cls, path, readonly=readonly)
        store._conn.execute(f"PRAGMA max_page_count = {max_pages}")
        return store

    return classmethod(open_)


def test_full_disk_is_reported_and_polling_goes_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "s.db"
    Store.open(db).close()
    pages = sqlite3.connect(db).execute("PRAGMA page_count").fetchone()[0]
    monkeypatch.setattr(Store, "open", _limited_open(pages + 2))
    with WireServer() as server:
        ch = make_channel("fat_chan", 20)
        for p in ch.posts:
            p.text = "x" * 20_000  # far more than two pages
        server.add(ch)
        server.add(make_channel("other_chan", 1))
        first, second = asyncio.run(Poller(db, settings_for(server, ["fat_chan", "other_chan"],
                                                            backfill_pages=0)).run_once())
    assert not first.ok and "full" in first.message, first.message
    monkeypatch.undo()
    with sqlite3.connect(db) as con:
        assert con.execute("pragma integrity_check").fetchone()[0] == "ok"
        assert con.execute("select count(*) from posts where source = 'telegram:fat_chan'").fetchone()[0] == 0


def test_read_only_store_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "s.db"
    Store.open(db).close()
    real_open = Store.open.__func__  # type: ignore[attr-defined]
    monkeypatch.setattr(Store, "open", classmethod(lambda cls, path, readonly=False: real_open(cls, path, readonly=True)))
    with WireServer() as server:
        server.add(make_channel("ro_chan", 3))
        settings = settings_for(server, ["ro_chan"])
        with pytest.raises(Exception) as info:  # sync_sources cannot write: reported before any fetch
            asyncio.run(Poller(db, settings).run_once())
    assert "readonly" in str(info.value).lower() or "read-only" in str(info.value).lower()


@pytest.mark.parametrize(
    "content",
    [b"this is not a database at all" * 100, b"SQLite format 3\x00" + b"\xff" * 5000],
)
def test_corrupt_store_is_reported_and_never_overwritten(tmp_path: Path, content: bytes,
                                                         capsys: pytest.CaptureFixture) -> None:
    db = tmp_path / "s.db"
    db.write_bytes(content)
    with pytest.raises(StoreError):
        Store.open(db)
    assert main(["--db", str(db), "sources"]) == 1
    err = capsys.readouterr().err
    assert "cannot open the store" in err and str(db) in err and "Traceback" not in err
    assert db.read_bytes() == content
    assert not Path(str(db) + "-wal").exists()


def test_newer_store_is_reported_and_never_overwritten(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    db = tmp_path / "s.db"
    Store.open(db).close()
    with sqlite3.connect(db) as con:
        con.execute("PRAGMA user_version = 999")
    before = db.read_bytes()
    assert main(["--db", str(db), "search", "x"]) == 1
    assert "newer" in capsys.readouterr().err
    assert db.read_bytes() == before


def test_run_reports_an_unwritable_store_instead_of_raising(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "s.db"
    Store.open(db).close()
    real_open = Store.open.__func__  # type: ignore[attr-defined]
    monkeypatch.setattr(Store, "open", classmethod(lambda cls, path, readonly=False: real_open(cls, path, readonly=True)))
    events = []
    with WireServer() as server:
        server.add(make_channel("ro_chan", 3))
        asyncio.run(Poller(db, settings_for(server, ["ro_chan"]), on_event=events.append).run())
    assert [e.kind for e in events] == ["failed", "stopped"]
    assert "poller cannot start" in events[0].message
