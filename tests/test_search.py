"""The search language (core/query.py) over a real store: phrases, prefixes, OR, exclusions,
source: and since:/until: filters, and words inside CJK and Thai text (core/grams.py)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from deskapp.core import store_feed
from deskapp.core.model import Post, SourceConfig
from deskapp.core.query import QueryError
from deskapp.core.query import parse as parse_query
from deskapp.core.store import MIGRATIONS, Store

FETCHED = datetime(2025, 1, 1, tzinfo=UTC)
DAY0 = datetime(2024, 5, 1, tzinfo=UTC)

TEXTS = {
    1: "river bank flooded near the bridge",
    2: "the bank of the river is safe",
    3: "evacuation ordered in the valley",
    4: "evacuees return home",
    5: "strike on the depot, a rumour says",
    6: "attack reported at dawn",
    7: "現場からの情報です",
    8: "東京の現場で火災",
    9: "ข่าวด่วนวันนี้ที่กรุงเทพ",
    10: "GDP成長率が上昇 report",
    11: "情報 only, spaced",
    12: "nothing to see here",
}


def _post(source: str, pid: int, text: str, at: datetime) -> Post:
    handle = source.split(":", 1)[1]
    return Post(source=source, channel=handle, id=pid, url=f"https://t.me/{handle}/{pid}", published=at, text=text)


@pytest.fixture(params=["page", "bulk"])
def store(tmp_path: Path, request: pytest.FixtureRequest):
    """The same posts stored by ingest_page, or by ingest_many (its bulk path keeps posts_grams
    from bigrams its worker thread computed): every search must find the same."""
    with Store.open(tmp_path / "desk.db") as s:
        s.sync_sources([SourceConfig(name="telegram:alpha", kind="telegram", handle="Alpha", label="Wire A"),
                        SourceConfig(name="telegram:beta", kind="telegram", handle="beta")])
        # Odd ids on alpha, even on beta; post i published on 2024-05-(1+i) at i:00 UTC.
        pages = []
        for pid, text in TEXTS.items():
            src = "telegram:alpha" if pid % 2 else "telegram:beta"
            pages.append((src, [_post(src, pid, text, DAY0 + timedelta(days=pid, hours=pid))]))
        if request.param == "bulk":
            s.ingest_many(pages, fetched_at=FETCHED)
        else:
            for src, posts in pages:
                s.ingest_page(src, posts, fetched_at=FETCHED)
        yield s


def ids(store: Store, q: str, **kw: object) -> list[int]:
    """Ids found newest first, checked against feed, feed_count and feed_at for the same text."""
    found = [sp.post.id for sp in store.search(q, limit=100, **kw)]  # type: ignore[arg-type]
    assert [r.post_id for r in store.feed(100, query=q, **kw)] == found  # type: ignore[arg-type]
    assert store.feed_count(query=q, **kw) == len(found)  # type: ignore[arg-type]
    if found:
        assert [r.post_id for r in store.feed_at(len(found) - 1, 5, query=q, **kw)] == found[-1:]  # type: ignore[arg-type]
    return found


def test_words_phrases_prefixes_or_and_exclusions(store: Store) -> None:
    assert ids(store, "river bank") == [2, 1]
    assert ids(store, '"river bank"') == [1]  # together and in order
    assert ids(store, '"bank river"') == []
    assert ids(store, "evac*") == [4, 3]
    assert ids(store, "evac") == []  # whole words unless asked
    assert ids(store, "strike OR attack") == [6, 5]
    assert ids(store, "the strike OR attack") == [5]  # OR binds tighter than the implicit AND
    assert ids(store, "river -bridge") == [2]
    assert ids(store, 'river -"bridge"') == [2]
    assert ids(store, "the -river -depot") == [3]
    assert ids(store, "-river -the -現場")[:3] == [12, 11, 10]  # exclusions alone: everything else
    # ... counted as the posts in range less the matches (each checked against the rows above)
    assert ids(store, "-the since:2024-05-05 source:alpha") == [11, 9, 7]
    assert ids(store, "-現場 -bank until:2024-05-05") == [4, 3]
    assert ids(store, "or") == []  # a lower-case or is a word
    assert ids(store, "evacuees OR") == [4]  # a dangling OR is ignored


def test_source_and_date_filters(store: Store) -> None:
    assert ids(store, "the source:alpha") == [5, 3, 1]  # by handle, any case
    assert ids(store, "the source:telegram:beta") == [2]
    assert ids(store, 'source:"wire a"') == ids(store, "source:Alpha")  # a label, quoted
    assert ids(store, "source:@alpha source:beta the") == [5, 3, 2, 1]  # several widen
    assert ids(store, "source:alpha")[:2] == [11, 9]  # a source alone is the source's feed
    assert ids(store, "the", sources=["telegram:beta"]) == [2]
    assert ids(store, "the source:alpha", sources=["telegram:beta"]) == []  # both filters apply
    assert ids(store, "the since:2024-05-03") == [5, 3, 2]
    assert ids(store, "the until:2024-05-03") == [2, 1]  # until a day: to the end of that day
    assert ids(store, "the since:2024-05-02T02:00 until:2024-05-04") == [3, 2]
    assert ids(store, "since:2024-05-11") == [12, 11, 10]
    assert ids(store, "the until:2024-05-06T05:00Z") == [3, 2, 1]  # a time: before it
    now = DAY0 + timedelta(days=12, hours=12)
    q = parse_query("since:2d", now=now)
    assert q.since == now - timedelta(days=2)
    for bad, says in (("since:yesterday", "cannot read 'yesterday' as a date"), ("until:", "until: needs a value"),
                      ("since:2024-05-03 until:2024-05-02", "since: is not before until:")):
        with pytest.raises(QueryError, match=says):
            store.search(bad)
    with pytest.raises(QueryError, match=r"source:nope: no such source \(sources: Alpha, beta\)"):
        store.feed(10, query="the source:nope")


def test_words_inside_cjk_and_thai_text(store: Store) -> None:
    assert ids(store, "現場") == [8, 7]  # inside 現場からの情報です: found now
    assert ids(store, "からの情報") == [7]
    assert ids(store, "情報") == [11, 7]  # spaced or not
    assert ids(store, "場か") == [7]  # substrings of a run, like the editor's eye sees them
    assert ids(store, "現場で") == [8]
    assert ids(store, "情報現場") == []  # characters of two places are not a word
    assert ids(store, "火") == [8]  # one character
    assert ids(store, "す") == [7]  # the last character of a run
    assert ids(store, "ข่าว") == [9] and ids(store, "วันนี้") == [9] and ids(store, "กรุงเทพ") == [9]
    assert ids(store, "成長 report") == [10]  # both indexes at once
    assert ids(store, "GDP成長") == [10]  # one typed word across scripts
    assert ids(store, "現場 -東京") == [7]
    assert ids(store, "report -成長") == []
    assert ids(store, "東京 OR attack") == [8, 6]  # a union of both indexes, newest first
    assert ids(store, "東京 OR attack source:beta") == [8, 6]
    assert ids(store, "東京 OR attack source:alpha") == []
    assert ids(store, "東京 OR attack until:2024-05-07") == [6]
    assert ids(store, '"現場"') == [8, 7]


def test_an_edit_reindexes_cjk_words(store: Store) -> None:
    edited = _post("telegram:alpha", 7, "別の記事です", DAY0 + timedelta(days=7, hours=7))
    res = store.ingest_page("telegram:alpha", [edited], fetched_at=FETCHED)
    assert res.changed == 1
    assert ids(store, "現場") == [8] and ids(store, "別の記") == [7]
    assert store.rebuild_search_index() == 5  # posts with such text: 7, 8, 9, 10, 11
    assert ids(store, "現場") == [8] and ids(store, "記事") == [7]


def test_search_within_a_source_with_many_posts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_feed, "SOURCE_FIRST", 10)
    with Store.open(tmp_path / "desk.db") as s:
        posts = [_post("telegram:big", i, "common word" + (" rare" if i in (3, 40) else ""), DAY0 + timedelta(minutes=i))
                 for i in range(1, 61)]
        s.ingest_page("telegram:big", posts, fetched_at=FETCHED)
        s.ingest_page("telegram:other", [_post("telegram:other", 1, "rare common", DAY0)], fetched_at=FETCHED)
        # The newest 10 of the source hold no 'rare': the search goes on to the older posts.
        assert [sp.post.id for sp in s.search("rare source:big")] == [40, 3]
        assert [sp.post.id for sp in s.search("common source:big", limit=3)] == [60, 59, 58]
        assert [r.post_id for r in s.feed(2, query="common source:big", before_key=s.get("telegram:big", 59).key)] == [58, 57]
        # Counted by testing each post of the source, or by walking the matches: the same answer.
        counts = [s.feed_count(query="rare source:big"), s.feed_count(query="common source:big")]
        monkeypatch.setattr(store_feed, "SOURCE_SCAN_MAX", 0)
        assert counts == [2, 60] == [s.feed_count(query="rare source:big"), s.feed_count(query="common source:big")]


def test_upgrade_indexes_existing_cjk_posts(tmp_path: Path) -> None:
    path = tmp_path / "desk.db"
    with Store.open(path) as s:
        s.ingest_page("telegram:alpha", [_post("telegram:alpha", 1, "現場からの情報です", DAY0)], fetched_at=FETCHED)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("DROP TABLE posts_grams")  # as a store from before version 5
    # Version 5's migration over it (the runner itself is tested in test_store.py; setting
    # user_version back would re-run every later migration too).
    conn.execute("BEGIN")
    MIGRATIONS[4](conn)
    conn.execute("COMMIT")
    conn.close()
    with Store.open(path) as s:
        assert [sp.post.id for sp in s.search("現場")] == [1]
