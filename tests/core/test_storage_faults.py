"""Storage faults and bad arguments say what happened: `desk check [--repair]`, a full disk during
import, `--db ""`, arguments that are not text, absurd limits, files that never end."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from deskapp.cli import main
from deskapp.core.store import Store
from deskapp.demo.tme import render_page
from tests.wire import make_channel


def _page(tmp_path: Path, handle: str, n: int, name: str = "page.html", **text: str) -> Path:
    ch = make_channel(handle, n)
    for p in ch.posts:
        p.text = text.get("text", p.text)
    path = tmp_path / name
    path.write_text(render_page(ch, ch.posts), encoding="utf-8")
    return path


def _store(tmp_path: Path, n: int = 20) -> Path:
    db = tmp_path / "s.db"
    assert main(["--db", str(db), "import", str(_page(tmp_path, "fts_chan", n))]) == 0
    return db


def _one_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_check_finds_and_repairs_a_damaged_search_index(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    db = _store(tmp_path)
    capsys.readouterr()
    assert main(["--db", str(db), "check"]) == 0
    assert "ok (20 posts" in capsys.readouterr().out
    with sqlite3.connect(db) as con:  # the index's blocks overwritten: searches find nothing or fail
        con.execute("UPDATE posts_fts_data SET block = zeroblob(length(block)) WHERE id > 10")
    assert main(["--db", str(db), "check"]) == 1
    line = _one_line(capsys.readouterr().out)
    assert "search index" in line and "desk check --repair" in line
    assert main(["--db", str(db), "check", "--repair"]) == 0
    assert "repaired" in capsys.readouterr().out
    assert main(["--db", str(db), "check"]) == 0
    capsys.readouterr()
    assert main(["--db", str(db), "search", "number"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 20


def test_check_finds_wrong_counters_and_a_damaged_file(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    db = _store(tmp_path)
    capsys.readouterr()
    with sqlite3.connect(db) as con:
        con.execute("UPDATE sources SET post_count = 7")
    assert main(["--db", str(db), "check"]) == 1
    assert "post counts" in _one_line(capsys.readouterr().out)
    assert main(["--db", str(db), "check", "--repair"]) == 0
    with Store.open(db, readonly=True) as store:
        assert [s.posts for s in store.sources()] == [20]
    capsys.readouterr()
    raw = bytearray(db.read_bytes())
    raw[4096 * 2: 4096 * 2 + 512] = b"\xa5" * 512  # a b-tree page scribbled over
    db.write_bytes(bytes(raw))
    before = db.read_bytes()
    code = main(["--db", str(db), "check", "--repair"])
    out, err = capsys.readouterr()
    assert code == 1 and "Traceback" not in out + err
    assert "damaged" in (out + err)
    assert db.read_bytes() == before  # never written


def test_check_of_a_missing_store_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["--db", str(tmp_path / "none.db"), "check"]) == 1
    assert "no such file" in _one_line(capsys.readouterr().err)


def test_full_disk_during_import_says_so_and_keeps_what_was_stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture) -> None:
    db = tmp_path / "s.db"
    small = _page(tmp_path, "small_chan", 3, "a.html")
    fat = _page(tmp_path, "fat_chan", 20, "b.html", text="x" * 20_000)
    Store.open(db).close()
    pages = sqlite3.connect(db).execute("PRAGMA page_count").fetchone()[0]
    real_open = Store.open.__func__  # type: ignore[attr-defined]

    def open_(cls, path, **kw):  # a real SQLITE_FULL, no root needed
        store = real_open(cls, path, **kw)
        store._conn.execute(f"PRAGMA max_page_count = {pages + 8}")
        return store

    monkeypatch.setattr(Store, "open", classmethod(open_))
    assert main(["--db", str(db), "import", str(small), str(fat)]) == 1
    line = _one_line(capsys.readouterr().err)
    assert "disk is full" in line and str(fat) in line and "3 new" in line
    monkeypatch.undo()
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("SELECT count(*) FROM posts").fetchone()[0] == 3


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--db", "", "search", "x"], "--db: empty path"),
        (["--db", "  ", "sources"], "--db: empty path"),
        (["--config", "", "locate"], "--config: empty path"),
        (["search", "a\udcffb"], "not valid text"),
        (["search", "\ud800"], "not valid text"),
        (["search", "x" * 20_000], "too long"),
        (["search", "x", "--limit", "0"], "--limit must be between 1 and"),
        (["search", "x", "--limit", str(10**30)], "--limit must be between 1 and"),
        (["search", "x", "--limit", "-5"], "--limit must be between 1 and"),
        (["cite", "https://t.me/chan/\udcff"], "not valid text"),
        (["--db", "bad\udcffname.db", "search", "x"], "not valid text"),
    ],
)
def test_bad_arguments_are_one_line_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture, argv: list[str], needle: str) -> None:
    db = _store(tmp_path, 3)
    capsys.readouterr()
    if "--db" not in argv:
        argv = ["--db", str(db), *argv]
    assert main(argv) == 2
    assert needle in _one_line(capsys.readouterr().err)


@pytest.mark.parametrize("command", ["import", "parse"])
def test_endless_or_huge_files_are_refused_in_bounded_memory(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                             command: str) -> None:
    big = tmp_path / "big.html"
    with big.open("wb") as fh:
        fh.truncate(50_000_000)  # sparse: 50 MB of zeros without using the disk
    for path in ("/dev/zero", str(big)):
        assert main(["--db", str(tmp_path / "s.db"), command, path]) == 1
        line = _one_line(capsys.readouterr().err)
        assert path in line and "page cap" in line
