"""Behaviour both stores share (SQLite and PostgreSQL, the `any_store` fixture), and what the
PostgreSQL store and the CLI say about what it does not do yet. More shared tests are in
test_store.py (those taking `any_store`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from deskapp.cli import main
from deskapp.core.backend import is_pg_url, shown_url, sqlite_path
from deskapp.core.model import Post
from deskapp.core.store import StoreError

T0 = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)
FETCHED = datetime(2024, 3, 2, 8, 0, 0, tzinfo=UTC)


def post(source: str, pid: int, text: str, *, minutes: int | None = None) -> Post:
    handle = source.split(":", 1)[1]
    return Post(source=source, channel=handle, id=pid, url=f"https://t.me/{handle}/{pid}",
                published=T0 + timedelta(minutes=pid if minutes is None else minutes), text=text)


def test_urls_name_the_backend() -> None:
    assert is_pg_url("postgresql://desk@db/news") and is_pg_url("postgres://x")
    assert not is_pg_url("/tmp/desk.db") and not is_pg_url("sqlite:/tmp/desk.db") and not is_pg_url(None)
    assert sqlite_path("sqlite:/tmp/a.db") == Path("/tmp/a.db") and sqlite_path("sqlite:///tmp/a.db") == Path("/tmp/a.db")
    assert shown_url("postgresql://ann:secret@db:5432/news") == "postgresql://ann:***@db:5432/news"


def test_search_languages_exclusions_and_filters(any_store) -> None:
    s = any_store
    s.ingest_page("telegram:asia", [
        post("telegram:asia", 1, "現場からの情報です"),
        post("telegram:asia", 2, "Наводнение в городе, river bank"),
        post("telegram:asia", 3, "flood on the river bank, rumour"),
        post("telegram:asia", 4, "น้ำท่วมหนักในกรุงเทพ"),
    ], fetched_at=FETCHED)
    s.ingest_page("telegram:wire", [post("telegram:wire", 9, "river levels at the bank", minutes=30)],
                  fetched_at=FETCHED)
    ids = lambda q, **kw: [p.post.id for p in s.search(q, limit=50, **kw)]  # noqa: E731
    assert ids("現場") == [1] and ids("น้ำท่วม") == [4]
    assert ids("наводнение") == [2]  # case-folded outside ASCII
    assert ids("river") == [9, 3, 2]  # newest first
    assert ids('"river bank"') == [3, 2] and ids("river -rumour") == [9, 2]
    assert ids("river source:wire") == [9] and ids("river", sources=["telegram:asia"]) == [3, 2]
    assert ids("flood OR Наводнение") == [3, 2]
    assert ids("riv", prefix=True) == [9, 3, 2] and ids("riv") == []
    assert ids("river until:2024-03-01T12:03") == [2] and ids("river since:2024-03-01T12:03") == [9, 3]
    assert s.feed_count(query="river") == 3 and s.feed_count(query="river -rumour") == 2


def test_pins_per_desk_and_prefs(any_store) -> None:
    s = any_store
    s.ingest_page("telegram:a", [post("telegram:a", i, f"text {i}") for i in range(1, 5)], fetched_at=FETCHED)
    s.desk = "anna"
    for i in (1, 2, 3):
        s.pin("telegram:a", i, f"note {i}")
    s.pin("telegram:a", 1)  # already pinned: nothing changes
    s.move_pin("telegram:a", 3, -5)
    assert [(p.post_id, p.position, p.note) for p, _ in s.pins()] == [(3, 0, "note 3"), (1, 1, "note 1"),
                                                                      (2, 2, "note 2")]
    s.unpin("telegram:a", 1)
    s.set_pin_note("telegram:a", 2, "new")
    assert [(p.post_id, p.position, p.note) for p, _ in s.pins()] == [(3, 0, "note 3"), (2, 1, "new")]
    with pytest.raises(KeyError):
        s.pin("telegram:a", 99)
    assert s.set_desk_prefs(format="md", heading="x") == {"format": "md", "heading": "x"}
    s.set_desk_prefs(heading=None)
    s.desk = "ben"
    assert s.pins() == [] and s.desk_prefs() == {}
    assert [r.post_id for r in s.feed(10) if r.pinned] == []
    s.pin("telegram:a", 4)
    assert s.desks() == [("anna", 2), ("ben", 1)] and s.clear_pins() == 1
    s.desk = "anna"
    assert s.desk_prefs() == {"format": "md"} and [r.post_id for r in s.feed(10) if r.pinned] == [3, 2]


def test_undo_read_marks_and_forgetting_a_source(any_store) -> None:
    """What the desk's undo key, read mark and sources screen need, on both stores."""
    from deskapp.core.model import Pin

    s = any_store
    s.ingest_page("telegram:a", [post("telegram:a", i, f"text {i}") for i in range(1, 5)], fetched_at=FETCHED)
    s.ingest_page("telegram:b", [post("telegram:b", 9, "other")], fetched_at=FETCHED)
    s.desk = "anna"
    for i in (1, 2, 3):
        s.pin("telegram:a", i, note=f"n{i}")
    board = [pin for pin, _ in s.pins()]
    s.unpin("telegram:a", 2)
    s.clear_pins()
    assert s.restore_pins(board + [Pin("telegram:a", 99, 0, "", board[0].pinned_at)]) == 3  # 99: no such post
    assert [(p.post_id, p.note) for p, _ in s.pins()] == [(1, "n1"), (2, "n2"), (3, "n3")]
    assert s.read_mark() is None and s.unread_by_source() == {"telegram:a": 4, "telegram:b": 1}
    s.set_read_mark(s.get("telegram:a", 3).key)
    assert s.read_mark() == s.get("telegram:a", 3).key
    assert s.unread_by_source() == {"telegram:a": 1, "telegram:b": 1}
    with pytest.raises(ValueError, match="pinned"):
        s.forget_source("telegram:a")
    assert s.forget_source("telegram:b") == 1 and s.get("telegram:b", 9) is None
    assert "telegram:b" not in [h.name for h in s.sources()]
    assert s.feed_count(hide_muted=True) == 4 and len(s.feed(10, hide_muted=True)) == 4


def test_snapshot_reads_one_state(any_store) -> None:
    """Reads inside snapshot() do not see a commit made meanwhile by another connection (the feed's
    count, anchor and rows must agree)."""
    from deskapp.core.backend import open_store

    s = any_store
    s.ingest_page("telegram:a", [post("telegram:a", 1, "one")], fetched_at=FETCHED)
    other = open_store(getattr(s, "url", s.path))  # another connection, as another process would have
    try:
        with s.snapshot():
            assert s.feed_count() == 1
            other.ingest_page("telegram:a", [post("telegram:a", 2, "two")], fetched_at=FETCHED)
            assert s.feed_count() == 1 and len(s.feed(10)) == 1
        assert s.feed_count() == 2
    finally:
        other.close()


def test_postgresql_says_what_it_does_not_do_yet(pg_url: str) -> None:
    from deskapp.core.backend import open_store
    from deskapp.core.pg.store import NotSupported

    with open_store(pg_url, desk="anna") as s:
        assert s.schema_version >= 1
        with pytest.raises(NotSupported, match="not supported on PostgreSQL yet") as err:
            s.check()  # SQLite's page check of the open file; `desk check` on a server is core/pg/upkeep.py
        assert isinstance(err.value, StoreError)
        with pytest.raises(AttributeError):
            s.no_such_method  # noqa: B018
        v0 = s.data_version()
        s.ingest_page("telegram:a", [post("telegram:a", 1, "x")], fetched_at=FETCHED)
        assert s.data_version() != v0 and s.count_posts() == 1 and s.max_post_id("telegram:a") == 1


def test_newer_schema_is_refused(pg_url: str) -> None:
    import psycopg

    from deskapp.core.backend import open_store

    open_store(pg_url).close()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("UPDATE desk_schema SET version = 999")
    with pytest.raises(StoreError, match="newer than this desk"):
        open_store(pg_url)


def test_cli_on_postgresql(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                           capsys: pytest.CaptureFixture) -> None:
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    monkeypatch.delenv("DESK_CONFIG", raising=False)
    from deskapp.core.backend import open_store

    with open_store(pg_url) as s:
        s.ingest_page("telegram:a", [post("telegram:a", 7, "flood warning")], fetched_at=FETCHED)
    assert main(["--db", pg_url, "search", "flood"]) == 0
    assert "t.me/a/7" in capsys.readouterr().out
    cfg = tmp_path / "desk.toml"
    cfg.write_text(f'[store]\nurl = "{pg_url}"\n')
    assert main(["--config", str(cfg), "pin", "--no-capture", "https://t.me/a/7"]) == 0
    assert "pinned 1 post on desk" in capsys.readouterr().out
    with open_store(pg_url) as s:
        assert [p.post_id for p, _ in s.pins()] == [7]
    assert main(["--db", pg_url, "cite", "https://t.me/a/7"]) == 0
    assert "t.me/a/7" in capsys.readouterr().out
    assert main(["--db", pg_url, "sources"]) == 0
    assert "telegram:a" in capsys.readouterr().out
    assert main(["--db", pg_url, "unpin", "https://t.me/a/7"]) == 0
    capsys.readouterr()
    cfg.write_text('[store]\nurl = "mysql://x"\n')
    assert main(["--config", str(cfg), "sources"]) == 2
    assert "store.url" in capsys.readouterr().err
    # A path or sqlite: keeps the file store.
    assert main(["--db", f"sqlite:{tmp_path / 'f.db'}", "sources"]) == 0 and (tmp_path / "f.db").exists()
    # Alerts are listed from the server too (tests/core/test_attention.py raises them there).
    assert main(["--db", pg_url, "alerts"]) == 0
    assert "no alerts" in capsys.readouterr().err


_LISTENER = """
import sys, time
from deskapp.core.pg.store import PgStore
with PgStore.open(sys.argv[1]) as s, s.listening() as wait:
    print("ready", flush=True)
    key = wait(30)
    print(key, time.time(), flush=True)
"""


def test_a_desk_on_another_connection_hears_each_committed_page(pg_url: str) -> None:
    import subprocess
    import sys
    import time

    from deskapp.core.backend import open_store

    root = Path(__file__).resolve().parents[1]
    with open_store(pg_url) as s:
        with s.listening() as wait:
            assert wait(0.05) is None  # nothing committed: no wake-up
            s.ingest_page("telegram:a", [post("telegram:a", 1, "x")], fetched_at=FETCHED)
            assert wait(5) == s.max_key()
            s.ingest_page("telegram:a", [post("telegram:a", 1, "x")], fetched_at=FETCHED)
            assert wait(0.2) is None  # an unchanged page is not news
        # Another process (another desk), woken by the commit.
        proc = subprocess.Popen([sys.executable, "-c", _LISTENER, pg_url], stdout=subprocess.PIPE, text=True,
                                cwd=root)
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
            committed = time.time()
            r = s.ingest_page("telegram:a", [post("telegram:a", 2, "y")], fetched_at=FETCHED)
            key, heard = proc.stdout.readline().split()
            assert int(key) == r.max_key
            print(f"commit-to-desk across processes: {(float(heard) - committed) * 1000:.1f} ms")
            assert proc.wait(timeout=30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_import_and_check_on_postgresql(pg_url: str, home: Path, capsys: pytest.CaptureFixture) -> None:
    import psycopg

    from deskapp.core.backend import open_store
    from deskapp.core.pg.upkeep import TRGM_PROBE, TSV_PROBE, like_pattern
    from deskapp.demo.tme import render_page
    from tests.wire import make_channel

    ch = make_channel("harbour", 3)
    page = home / "harbour.html"
    page.write_text(render_page(ch, ch.posts), encoding="utf-8")
    assert main(["--db", pg_url, "import", str(page)]) == 0
    assert "imported: 3 new" in capsys.readouterr().out
    assert main(["--db", pg_url, "check"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and ": ok (3 posts; " in out and "answer for the newest 3 posts" in out
    assert "b-tree indexes checked against their tables (amcheck)" in out  # the test server's user may add it
    with psycopg.connect(pg_url, autocommit=True) as conn:
        # The probes reach the posts through the search indexes alone.
        with conn.transaction():
            for setting in ("enable_seqscan", "enable_indexscan", "enable_indexonlyscan"):
                conn.execute(f"SET LOCAL {setting} = off")
            key = conn.execute("SELECT max(key) FROM posts").fetchone()[0]
            plan = " ".join(r[0] for r in conn.execute("EXPLAIN " + TSV_PROBE, ("harbour", key)))
            assert "posts_tsv" in plan
            plan = " ".join(r[0] for r in conn.execute("EXPLAIN " + TRGM_PROBE, (like_pattern("harbour"), key)))
            assert "posts_trgm" in plan
        conn.execute("UPDATE sources SET post_count = 99")
        conn.execute("DROP INDEX posts_tsv")
    assert main(["--db", pg_url, "check"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert any("indexes: missing: posts_tsv; `desk check --repair` rebuilds it" in line for line in lines)
    assert any("post counts: 1 source(s) show a wrong number of posts" in line for line in lines)
    assert main(["--db", pg_url, "check", "--repair"]) == 0
    assert capsys.readouterr().out.count(": repaired") == 2
    assert main(["--db", pg_url, "check"]) == 0
    assert ": ok (3 posts" in capsys.readouterr().out
    with open_store(pg_url) as s:
        assert s.count_posts() == 3 and [p.post.id for p in s.search("harbour", limit=5)] == [3, 2, 1]


def test_each_earlier_text_says_how_it_was_captured(any_store) -> None:
    s = any_store
    s.ingest_page("telegram:a", [post("telegram:a", 1, "first")], fetched_at=FETCHED, capture=("fetched", "https://t.me/s/a"))
    s.ingest_page("telegram:a", [post("telegram:a", 1, "second")], fetched_at=FETCHED + timedelta(hours=1),
                  capture=("imported", "/tmp/a.html"))
    [how] = s.revision_captures("telegram:a", 1)
    assert how is not None and (how.how, how.where, how.at) == ("fetched", "https://t.me/s/a", FETCHED)
    assert [t for t, _, _ in s.revisions_of("telegram:a", 1)] == ["first"]


def test_check_by_a_user_who_cannot_add_amcheck(pg_server, home: Path, capsys: pytest.CaptureFixture) -> None:
    """A newsroom's own database user is no superuser: the b-tree check is left out and said so, the
    rest of the check runs."""
    import os

    import psycopg

    name = f"desk_editor_{os.getpid()}"
    with psycopg.connect(pg_server.url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'desk_editor'").fetchone():
            conn.execute("CREATE ROLE desk_editor LOGIN NOSUPERUSER")
        conn.execute(f"CREATE DATABASE {name} OWNER desk_editor")
    url = f"postgresql://desk_editor@127.0.0.1:{pg_server.port}/{name}"
    from deskapp.core.backend import open_store

    with open_store(url) as s:
        s.ingest_page("telegram:a", [post("telegram:a", 1, "harbour fire")], fetched_at=FETCHED)
    assert main(["--db", url, "check"]) == 0
    out = capsys.readouterr().out
    assert ": ok (1 posts; " in out and "b-tree indexes not checked (the amcheck extension is not installed" in out
