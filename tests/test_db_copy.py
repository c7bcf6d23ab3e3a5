"""`desk db copy` SQLite -> PostgreSQL -> SQLite, and `desk db migrate`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from deskapp.cli import main
from deskapp.core.backend import open_store
from deskapp.core.model import ChannelInfo, Post, SourceConfig
from deskapp.core.pg.copy import TABLES, checksum

FETCHED = datetime(2024, 3, 2, 8, 0, 0, tzinfo=UTC)
T0 = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)


def post(source: str, pid: int, text: str) -> Post:
    handle = source.split(":", 1)[1]
    return Post(source=source, channel=handle, id=pid, url=f"https://t.me/{handle}/{pid}",
                published=T0 + timedelta(minutes=pid), text=text, views="1K", views_count=1000, media=["photo"])


def fill(path: Path) -> None:
    with open_store(path, desk="anna") as s:
        s.sync_sources([SourceConfig(name="telegram:a", kind="telegram", handle="a", label="Wire A", interval=90.5)])
        s.ingest_page("telegram:a", [post("telegram:a", i, f"flood report {i} 現場からの情報") for i in range(1, 40)],
                      fetched_at=FETCHED, channel=ChannelInfo(title="A", subscribers="2K", subscribers_count=2000))
        s.ingest_page("telegram:a", [post("telegram:a", 3, "flood report 3, corrected")], fetched_at=FETCHED,
                      capture=("fetched", "https://t.me/s/a"))
        s.ingest_page("telegram:b", [post("telegram:b", 1, "quoted 'text' with \\ and \t tab")], fetched_at=FETCHED)
        s.record_failure("telegram:b", at=FETCHED, reason="HTTP 502", next_poll=FETCHED)
        s.pin("telegram:a", 3, "lead")
        s.pin("telegram:b", 1)
        s.set_desk_prefs(format="md")
        s.desk = "ben"
        s.pin("telegram:a", 5, "ben's")


def sums(target: object) -> dict[str, tuple[int, str]]:
    with open_store(target) as s:  # type: ignore[arg-type]
        return {t: checksum(s, t) for t in TABLES}


def test_copy_there_and_back(tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    monkeypatch.delenv("DESK_CONFIG", raising=False)
    first, back = tmp_path / "first.db", tmp_path / "back.db"
    fill(first)
    assert main(["db", "copy", str(first), pg_url]) == 0
    out = capsys.readouterr().out
    assert "posts" in out and "40 rows" in out and "revisions" in out and "every table's rows and checksum match" in out
    original = sums(first)
    assert sums(pg_url) == original and original["pins"][0] == 3 and original["revisions"][0] == 1
    assert main(["db", "copy", pg_url, f"sqlite:{back}"]) == 0
    assert sums(back) == original
    for target in (pg_url, back):
        with open_store(target, desk="anna") as s:
            assert [p.post.id for p in s.search("corrected")] == [3]
            assert len(s.search("現場", limit=100)) == 38  # (not post 3, corrected) the CJK/Thai index came across too
            assert [p.post_id for p, _ in s.pins()] == [3, 1] and s.desk_prefs() == {"format": "md"}
            assert s.revisions_of("telegram:a", 3)[0][0] == "flood report 3 現場からの情報"
            assert {h.name: h.posts for h in s.sources()} == {"telegram:a": 39, "telegram:b": 1}
            # The copy goes on working as a store: a new revision, a new post.
            s.ingest_page("telegram:a", [post("telegram:a", 3, "third text"), post("telegram:a", 99, "new")],
                          fetched_at=FETCHED)
            assert s.get("telegram:a", 3).revisions == 2 and s.count_posts() == 41  # type: ignore[union-attr]
    # Never into a store that holds posts.
    assert main(["db", "copy", str(first), pg_url]) == 1
    err = capsys.readouterr().err
    assert "already holds sources or posts" in err and "Traceback" not in err
    assert main(["db", "copy", str(tmp_path / "missing.db"), pg_url]) == 2
    assert main(["--db", pg_url, "db", "migrate"]) == 0
    from deskapp.core.pg.schema import MIGRATIONS

    assert f"schema version {len(MIGRATIONS)} (up to date)" in capsys.readouterr().out
