"""The feed without muted posts: every path of the store's feed (no filter, one or many sources, words,
words in one source, an OR over both indexes, exclusions, dates) gives the full feed less the muted
posts, in windows, counts and random access alike; search still finds muted posts. On both stores
(`any_store`: SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from deskapp.core.model import Post
from deskapp.core.store import Store

T0 = datetime(2026, 5, 1, tzinfo=UTC)
WORDS = ["harbour fire", "promo code", "strike vote", "市场 火灾 harbour", "weather"]


@pytest.fixture
def store(any_store):
    s = any_store
    for c in range(4):
        source = f"telegram:ch{c}"
        posts = [Post(source=source, channel=f"ch{c}", id=i, url=f"https://t.me/ch{c}/{i}",
                      published=T0 + timedelta(minutes=4 * i + c), text=f"{WORDS[(i + c) % len(WORDS)]} {i}")
                 for i in range(1, 151)]
        s.ingest_page(source, posts, fetched_at=T0 + timedelta(days=1))
    keys = [k for (k,) in s._read(lambda c: c.execute("SELECT key FROM posts ORDER BY key").fetchall())]
    muted = keys[::7] + keys[-5:]  # spread out, and the newest few
    s._write(lambda c: c.executemany("INSERT INTO muted (key, rule) VALUES (?, 'ads') ON CONFLICT DO NOTHING",
                                     [(k,) for k in muted]))
    return s


FILTERS = [
    {},
    {"sources": ["telegram:ch1"]},
    {"sources": ["telegram:ch1", "telegram:ch2"]},
    {"query": "harbour"},
    {"query": "harbour source:ch2"},
    {"query": "火灾 OR strike"},
    {"query": "-promo"},
    {"query": "since:2026-05-01T05:00Z"},
]


@pytest.mark.parametrize("filt", FILTERS, ids=[str(f) for f in FILTERS])
def test_the_feed_without_muted_posts_is_the_full_feed_less_them(store: Store, filt: dict) -> None:
    muted = {k for (k,) in store._read(lambda c: c.execute("SELECT key FROM muted").fetchall())}
    full = [r.key for r in store.feed(10_000, **filt)]
    want = [k for k in full if k not in muted]
    assert want and len(want) < len(full)
    assert [r.key for r in store.feed(10_000, hide_muted=True, **filt)] == want
    assert store.feed_count(hide_muted=True, **filt) == len(want)
    assert store.muted_in(**filt) == len(full) - len(want)
    mid = want[len(want) // 2]
    assert [r.key for r in store.feed(10, before_key=mid, hide_muted=True, **filt)] == [k for k in want if k < mid][:10]
    assert [r.key for r in store.feed(10, after_key=mid, hide_muted=True, **filt)] == [k for k in want if k > mid][-10:]
    assert store.feed_count(after_key=mid, hide_muted=True, **filt) == want.index(mid)
    for offset in (0, 7, len(want) - 3):
        assert [r.key for r in store.feed_at(offset, 5, hide_muted=True, **filt)] == want[offset:offset + 5]


def test_muted_posts_stay_in_search(store: Store) -> None:
    muted = {k for (k,) in store._read(lambda c: c.execute("SELECT key FROM muted").fetchall())}
    assert muted & {p.key for p in store.search("promo", limit=1000)}
