"""Prefix search (`rep*`) through the prefix indexes (schema v9) and the walk of longer prefixes
(core/prefix_walk.py): the same posts, in the same order, as FTS5's own prefix query."""

from __future__ import annotations

import io
import sqlite3
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from deskapp.core import prefix_walk, store_schema
from deskapp.core.model import Post, SourceConfig
from deskapp.core.store import MIGRATIONS, Store

FETCHED = datetime(2025, 1, 1, tzinfo=UTC)
DAY0 = datetime(2024, 5, 1, tzinfo=UTC)
# Words sharing their first three letters, in many cases and with diacritics, so a cut prefix
# (`rep*`) finds far more than the typed one (`repe*`).
WORDS = ["report", "Reported", "REPORTS", "reply", "repeal", "Répondre", "river", "bank", "bankrupt", "city",
         "the", "e-mail", "emails", "новости", "новый"]


def _post(source: str, pid: int, text: str, at: datetime) -> Post:
    handle = source.split(":", 1)[1]
    return Post(source=source, channel=handle, id=pid, url=f"https://t.me/{handle}/{pid}", published=at, text=text)


def _text(i: int) -> str:
    # Deterministic mixes; `repeal` and `Répondre` are rare, the others common.
    picks = [WORDS[(i * 7 + j * 3) % len(WORDS)] for j in range(4)]
    picks = [w for w in picks if w not in ("repeal", "Répondre") or i % 37 == 0]
    if i % 11 == 0:
        picks.append('"river bank" flooded')
    return " ".join(picks) + f" item{i}"


@pytest.fixture
def store(tmp_path: Path):
    with Store.open(tmp_path / "desk.db") as s:
        s.sync_sources([SourceConfig(name="telegram:alpha", kind="telegram", handle="alpha"),
                        SourceConfig(name="telegram:beta", kind="telegram", handle="beta")])
        for i in range(1, 401):
            src = "telegram:alpha" if i % 3 else "telegram:beta"
            s.ingest_page(src, [_post(src, i, _text(i), DAY0 + timedelta(hours=i))], fetched_at=FETCHED)
        yield s


QUERIES = ["rep*", "repo*", "repor*", "reporte*", "repe*", "répo*", "Repl*", "r*", "re*", "ban*", "bank*",
           "bankr*", '"river bank"*', '"river ban"*', "repo* -city", "repo* -bank*", "repe* OR bankr*",
           "the repo*", "repo* source:beta", "repo* since:2024-05-05 until:2024-05-12", "e-ma*", "email*",
           "новос*", "нов*", "zzzz*", "repo* -repor*"]


def _exact(store: Store, monkeypatch: pytest.MonkeyPatch, **kw: object) -> list[int]:
    """The same search with no prefix cut: FTS5's own prefix query."""
    with monkeypatch.context() as m:
        m.setattr(prefix_walk, "INDEXED", 1_000)
        return [r.post_id for r in store.feed(**kw)]  # type: ignore[arg-type]


def test_walked_prefixes_find_what_fts5_finds(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    batches: list[int] = []
    matching = prefix_walk.Checker.matching

    def spy(self, rows, match):  # type: ignore[no-untyped-def]
        batches.append(len(rows))
        return matching(self, rows, match)

    monkeypatch.setattr(prefix_walk.Checker, "matching", spy)
    for q in QUERIES:
        for limit in (3, 20, 500):
            want = _exact(store, monkeypatch, limit=limit, query=q)
            assert [r.post_id for r in store.feed(limit, query=q)] == want, q
            assert [sp.post.id for sp in store.search(q, limit=limit)] == want, q
        if not want:
            continue
        # Windows below and above a post in the middle, as the feed scrolls.
        key = store.get(*(("telegram:alpha", want[len(want) // 2]) if want[len(want) // 2] % 3
                          else ("telegram:beta", want[len(want) // 2]))).key
        for kw in ({"before_key": key}, {"after_key": key}):
            got = [r.post_id for r in store.feed(5, query=q, **kw)]  # type: ignore[arg-type]
            assert got == _exact(store, monkeypatch, limit=5, query=q, **kw), (q, kw)
    assert batches  # the long prefixes were walked
    # Small batches: walks of several batches, each below the last (or above, for after_key).
    monkeypatch.setattr(prefix_walk, "WALK_FIRST", 4)
    several = 0
    for q in QUERIES:
        for limit in (3, 6):
            batches.clear()
            assert [r.post_id for r in store.feed(limit, query=q)] == _exact(store, monkeypatch, limit=limit, query=q)
            several += len(batches) >= 2
    assert several


def test_a_prefix_rare_lately_gives_way_to_fts5s_own_query(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prefix_walk, "WALK_MAX", 100)
    monkeypatch.setattr(prefix_walk, "WALK_FIRST", 8)
    walked: list[int] = []
    matching = prefix_walk.Checker.matching
    monkeypatch.setattr(prefix_walk.Checker, "matching",
                        lambda self, rows, match: walked.append(len(rows)) or matching(self, rows, match))
    # `repe*` (repeal) is in 1 post in 37: 100 `rep*` candidates hold too few for 20 posts.
    want = _exact(store, monkeypatch, limit=20, query="repe*")
    assert 3 <= len(want) < 20
    assert [sp.post.id for sp in store.search("repe*", limit=20)] == want
    # The first batch's rate said the budget would not hold 20: the exact query answered.
    assert walked == [20]


def _as_version_8(path: Path) -> None:
    """The index without prefixes, as a store from before version 9."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("DROP TABLE posts_fts")
    conn.execute(store_schema.V1[store_schema.V1.index("CREATE VIRTUAL TABLE posts_fts"):
                                 store_schema.V1.index("-- The sqlite-utils trigger")].strip().rstrip(";"))
    conn.execute("INSERT INTO posts_fts (posts_fts) VALUES ('rebuild')")
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) - 1}")
    conn.close()


def _stored(path: Path, n: int) -> None:
    with Store.open(path) as s:
        for i in range(1, n + 1):
            s.ingest_page("telegram:alpha", [_post("telegram:alpha", i, _text(i), DAY0 + timedelta(hours=i))],
                          fetched_at=FETCHED)


def test_version_9_rebuilds_the_index_and_tells_how_far_it_got(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "desk.db"
    _stored(path, 120)
    with Store.open(path) as s:
        before = {q: [sp.post.id for sp in s.search(q, limit=200)] for q in QUERIES if "source:" not in q}
    _as_version_8(path)
    monkeypatch.setattr(store_schema, "FTS_REBUILD_CHUNK", 25)
    told: list[tuple[str, int, int]] = []
    with Store.open(path, progress=lambda what, done, total: told.append((what, done, total))) as s:
        assert s.schema_version == len(MIGRATIONS)
        assert [done for _, done, _ in told] == [25, 50, 75, 100, 120] and {t for _, _, t in told} == {120}
        sql = s._conn.execute("SELECT sql FROM sqlite_master WHERE name = 'posts_fts'").fetchone()[0]
        assert "prefix='1 2 3'" in sql
        assert {q: [sp.post.id for sp in s.search(q, limit=200)] for q in before} == before
        # Later posts are indexed with their prefixes too (the triggers find the new table).
        s.ingest_page("telegram:alpha", [_post("telegram:alpha", 500, "repealed today", DAY0 + timedelta(days=60))],
                      fetched_at=FETCHED)
        assert [sp.post.id for sp in s.search("repe*", limit=1)] == [500]


def test_the_rebuild_shows_its_progress_on_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whoever starts the desk on an older store sees the rebuild at work (before the screen starts)."""
    path = tmp_path / "desk.db"
    _stored(path, 60)
    _as_version_8(path)
    monkeypatch.setattr(store_schema, "FTS_REBUILD_CHUNK", 25)

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    shown = Terminal()
    monkeypatch.setattr(sys, "stderr", shown)
    with Store.open(path) as s:
        assert s.schema_version == len(MIGRATIONS)
    assert shown.getvalue() == "".join(f"\rdesk: rebuilding the search index for prefix search: {n} of 60 posts"
                                       for n in (25, 50, 60)) + "\n"
