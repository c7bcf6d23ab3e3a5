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
        attend(s)


def attend(s) -> None:
    """Alerts, a mute, a desk rule, duplicate groups, a read mark, posts still queued, and evidence
    (an exchange with a body, a check naming it, an archive snapshot): every table has rows."""
    from deskapp.core.alerts import Rule, RuleAction
    from deskapp.core.attention import Attention
    from deskapp.core.evidence import Check, EvidenceLog, Exchange, Result
    from deskapp.core.model import CheckKind
    from deskapp.core.settings import AttentionSettings

    s.add_rule(Rule("quiet", action=RuleAction.MUTE, words=("tab",)))
    s.ingest_page("telegram:b", [post("telegram:b", 50, "flood report 2 現場からの情報")], fetched_at=FETCHED)  # a copy
    Attention(s, AttentionSettings(rules=[Rule("floods", words=("flood",))], notify=False)).drain_all()
    s.desk = "anna"
    s.set_read_mark(s.get("telegram:a", 20).key)
    s.ingest_page("telegram:c", [post("telegram:c", 1, "queued, not attended to yet")], fetched_at=FETCHED)
    ex = Exchange(url="https://t.me/s/a/3", requested=FETCHED, request_headers=[("User-Agent", "desk")], status=200,
                  reason="OK", headers=[("Content-Type", "text/html")], body=b"<html>\x00\xff flood</html>")
    EvidenceLog(s).record([[ex]], [(Check("telegram:a", 3, CheckKind.CAPTURE, Result.CAPTURED, FETCHED,
                                          text="flood report 3, corrected", url=ex.url), [ex])])
    s._write(lambda c: c.execute("INSERT INTO snapshots (source, post_id, url, requested, snapshot, error, fetch_id) "
                                 "VALUES (?, ?, ?, ?, ?, ?, ?)", ("telegram:a", 3, "https://t.me/a/3",
                                                                  "2024-03-02T08:00:00.000Z", "https://web.archive.org/"
                                                                  "web/1/https://t.me/a/3", None, ex.id)))


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
    assert "posts" in out and "42 rows" in out and "revisions" in out and "every table's rows and checksum match" in out
    original = sums(first)
    assert sums(pg_url) == original and original["pins"][0] == 3 and original["revisions"][0] == 1
    assert [t for t, (n, _) in original.items() if not n] == []  # every table had rows to copy
    assert "attention_queue" in out and "dup_groups" in out and "fetches" in out
    assert main(["db", "copy", pg_url, f"sqlite:{back}"]) == 0
    assert sums(back) == original
    for target in (pg_url, back):
        with open_store(target, desk="anna") as s:
            assert [p.post.id for p in s.search("corrected")] == [3]
            assert len(s.search("現場", limit=100)) == 39  # (not post 3, corrected; b/50 repeats a/2) the CJK/Thai index came across too
            assert [p.post_id for p, _ in s.pins()] == [3, 1] and s.desk_prefs()["format"] == "md"
            assert s.revisions_of("telegram:a", 3)[0][0] == "flood report 3 現場からの情報"
            assert {h.name: h.posts for h in s.sources()} == {"telegram:a": 39, "telegram:b": 2, "telegram:c": 1}
            rules = [a.rule for a in s.alerts()]
            assert (rules.count("floods"), rules.count("pinned post edited")) == (39, 1) and s.muted_count() == 1
            assert s.read_mark() == s.get("telegram:a", 20).key and [r.name for _, r in s.rules()] == ["quiet"]
            orig, copy = s.get("telegram:a", 2).key, s.get("telegram:b", 50).key  # type: ignore[union-attr]
            assert s.attention_backlog() == 1 and s.duplicate_group(copy) == [(orig, 1.0), (copy, 1.0)]
            from deskapp.core.evidence import EvidenceLog

            [check] = EvidenceLog(s).checks_of("telegram:a", 3)
            assert EvidenceLog(s).chain(check.fetch_id)[0].body == b"<html>\x00\xff flood</html>"
            # The copy goes on working as a store: a new revision, a new post.
            s.ingest_page("telegram:a", [post("telegram:a", 3, "third text"), post("telegram:a", 99, "new")],
                          fetched_at=FETCHED)
            assert s.get("telegram:a", 3).revisions == 2 and s.count_posts() == 43  # type: ignore[union-attr]
    # Never into a store that holds posts.
    assert main(["db", "copy", str(first), pg_url]) == 1
    err = capsys.readouterr().err
    assert "already holds sources or posts" in err and "Traceback" not in err
    assert main(["db", "copy", str(tmp_path / "missing.db"), pg_url]) == 2
    assert main(["--db", pg_url, "db", "migrate"]) == 0
    from deskapp.core.pg.schema import MIGRATIONS

    assert f"schema version {len(MIGRATIONS)} (up to date)" in capsys.readouterr().out


def test_copy_into_a_server_that_sorts_text_by_language(tmp_path: Path, pg_server) -> None:
    """A server whose collation puts 'a' before 'B' and ignores '_' (ICU 'en') still hashes the rows
    in SQLite's byte order, so the checksums compare like with like."""
    import os

    import psycopg

    from deskapp.core.pg.copy import copy_store

    name = f"desk_icu_{os.getpid()}"
    with psycopg.connect(pg_server.url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en' "
                     "LOCALE 'C.UTF-8'")
    url = pg_server.url.rsplit("/", 1)[0] + "/" + name
    src = tmp_path / "s.db"
    with open_store(src, desk="Zed") as s:
        for handle in ("B", "a", "_z"):
            s.ingest_page(f"telegram:{handle}", [post(f"telegram:{handle}", 1, f"text of {handle}")],
                          fetched_at=FETCHED)
            s.pin(f"telegram:{handle}", 1)
        s.desk = "anna"
        s.pin("telegram:a", 1)
    with open_store(src) as s, open_store(url) as d:
        copied = copy_store(s, d)
        assert {t.table: t.rows for t in copied}["pins"] == 4
