"""Desk names: each desk has its own pinboard and kept preferences in one shared store."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from deskapp.core import desks
from deskapp.core.model import Post
from deskapp.core.store import MIGRATIONS, Store

FETCHED = datetime(2025, 1, 1, tzinfo=UTC)


def _posts(n: int) -> list[Post]:
    return [Post(source="telegram:alpha", channel="alpha", id=i, url=f"https://t.me/alpha/{i}",
                 published=datetime(2024, 5, 1, 12, 0, i, tzinfo=UTC), text=f"post {i}") for i in range(1, n + 1)]


def test_desk_names_fold_case_and_refuse_garbage(monkeypatch: pytest.MonkeyPatch) -> None:
    assert desks.desk_name(" Anna ") == "anna"
    assert desks.desk_name("night.desk-2") == "night.desk-2"
    for bad in ("", "a b", "x" * 41, "semi;colon", "quo'te"):
        with pytest.raises(desks.DeskNameError):
            desks.desk_name(bad)
    monkeypatch.setattr(desks.getpass, "getuser", lambda: "Jane Doe")
    assert desks.default_desk() == "jane-doe"
    monkeypatch.setattr(desks.getpass, "getuser", lambda: "!!!")
    assert desks.default_desk() == desks.FALLBACK


def test_two_desks_on_one_store_have_their_own_pinboards(tmp_path: Path) -> None:
    path = tmp_path / "desk.db"
    with Store.open(path, desk="anna") as anna, Store.open(path, desk="Ben") as ben:
        anna.ingest_page("telegram:alpha", _posts(5), fetched_at=FETCHED)
        anna.pin("telegram:alpha", 1)
        anna.pin("telegram:alpha", 2, "anna's note")
        ben.pin("telegram:alpha", 2, "ben's note")
        ben.pin("telegram:alpha", 3)
        assert [(p.post_id, p.note) for p, _ in anna.pins()] == [(1, ""), (2, "anna's note")]
        assert [(p.position, p.post_id, p.note) for p, _ in ben.pins()] == [(0, 2, "ben's note"), (1, 3, "")]
        # The pinned marks and notes a desk sees are its own.
        assert {r.post_id for r in anna.feed(10) if r.pinned} == {1, 2}
        assert {r.post_id for r in ben.feed(10) if r.pinned} == {2, 3}
        got = ben.get("telegram:alpha", 2)
        assert got is not None and got.pin_note == "ben's note"
        assert [sp.post.id for sp in anna.search("post", limit=10) if sp.pinned] == [2, 1]
        anna.move_pin("telegram:alpha", 2, -1)
        ben.unpin("telegram:alpha", 2)
        assert [p.post_id for p, _ in anna.pins()] == [2, 1]
        assert [(p.position, p.post_id) for p, _ in ben.pins()] == [(0, 3)]
        # One desk's clear-all leaves the other's pins.
        assert ben.clear_pins() == 1
        assert ben.pins() == [] and [p.post_id for p, _ in anna.pins()] == [2, 1]
        assert anna.desks() == [("anna", 2)]
    with Store.open(path, desk="ANNA") as again:  # kept across restarts, name case-insensitive
        assert [p.post_id for p, _ in again.pins()] == [2, 1]


def test_desk_preferences_are_per_desk_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "desk.db"
    with Store.open(path, desk="anna") as anna, Store.open(path, desk="ben") as ben:
        assert anna.desk_prefs() == {}
        anna.set_desk_prefs(format="markdown", heading="Sources ({count})")
        ben.set_desk_prefs(format="html")
        anna.set_desk_prefs(heading=None, options={"excerpt": True})
    with Store.open(path, desk="anna") as anna, Store.open(path, desk="ben") as ben:
        assert anna.desk_prefs() == {"format": "markdown", "options": {"excerpt": True}}
        assert ben.desk_prefs() == {"format": "html"}
        assert [name for name, _ in anna.desks()] == ["anna", "ben"]
        anna._conn.execute("UPDATE desks SET prefs = 'not json' WHERE name = 'anna'")
        assert anna.desk_prefs() == {}  # a hand-edited row gives defaults, not a crash


def test_upgrade_gives_old_pins_to_the_users_desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "desk.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    MIGRATIONS[0](conn)  # type: ignore[operator]
    conn.execute(MIGRATIONS[1].split(";")[0])  # type: ignore[union-attr]  # v2's column, enough for pins
    conn.execute("PRAGMA user_version = 2")  # before desks (v4)
    conn.execute("COMMIT")
    conn.execute("INSERT INTO posts (key, source, post_id, published, text, first_seen, last_seen) VALUES "
                 "(1, 'telegram:alpha', 7, '2024-01-01T00:00:00Z', 'old post', '2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z')")
    conn.execute("INSERT INTO pins VALUES ('telegram:alpha', 7, 0, 'kept note', '2024-01-02T00:00:00Z')")
    conn.close()
    monkeypatch.setattr(desks.getpass, "getuser", lambda: "Olga")
    with Store.open(path, desk="someone-else") as other:
        assert other.pins() == []
    with Store.open(path) as mine:
        assert mine.desk == "olga"
        assert [(p.post_id, p.note) for p, _ in mine.pins()] == [(7, "kept note")]


def test_forget_source_removes_its_posts_unless_pinned(tmp_path: Path) -> None:
    with Store.open(tmp_path / "desk.db", desk="anna") as store:
        store.ingest_page("telegram:alpha", _posts(3), fetched_at=FETCHED)
        other = [Post(source="telegram:beta", channel="beta", id=1, url="https://t.me/beta/1",
                      published=datetime(2024, 5, 1, tzinfo=UTC), text="現場 beta")]
        store.ingest_page("telegram:beta", other, fetched_at=FETCHED)
        store.pin("telegram:alpha", 2)
        with pytest.raises(ValueError, match="1 of its posts are pinned"):
            store.forget_source("telegram:alpha")
        assert store.forget_source("telegram:beta") == 1
        assert [s.name for s in store.sources()] == ["telegram:alpha"] and store.count_posts() == 3
        assert store.search("現場") == [] and store.search("beta") == []
