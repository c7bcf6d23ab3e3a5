"""`desk import` underneath: saved pages parsed (in worker processes for many files) and written in bulk,
into either store (`any_store`: SQLite and PostgreSQL)."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

import pytest

from deskapp.core import importer
from deskapp.core.parse_pool import ParseJobError
from deskapp.demo.tme import render_page
from tests.wire import make_channel


def save(tmp_path: Path, name: str, handle: str, n: int, *, start_id: int = 1, text: str | None = None) -> Path:
    ch = make_channel(handle, n, start_id=start_id)
    if text is not None:
        ch.posts[0].text = text
    path = tmp_path / f"{name}.html"
    path.write_text(render_page(ch, ch.posts), encoding="utf-8")
    return path


def test_many_files_go_through_the_parse_pool(tmp_path: Path, any_store) -> None:
    files = [save(tmp_path, f"p{i:02d}", f"chan_{i % 5}", 4, start_id=1 + (i // 5) * 10)
             for i in range(importer.POOL_MIN_FILES + 4)]
    heard: list[Path] = []
    with nullcontext(any_store) as store:
        res = importer.import_files(store, files, workers=2, on_file=lambda path, page: heard.append(path))
        assert res.new == 4 * len(files) and res.changed == 0
        assert store.count_posts() == res.new
        titles = {s.name: s.title for s in store.sources()}
    assert heard == files  # progress in the order given
    assert titles["telegram:chan_3"] == "Chan 3"  # the channel info of the pages is kept


def test_a_post_saved_twice_with_new_text_keeps_the_old_text_as_a_revision(tmp_path: Path, any_store) -> None:
    old = save(tmp_path, "old", "twice_chan", 3, text="first wording")
    new = save(tmp_path, "new", "twice_chan", 3, text="second wording")
    with nullcontext(any_store) as store:
        res = importer.import_files(store, [old, new])
        assert (res.new, res.changed, res.unchanged) == (3, 1, 2)
        assert store.get("telegram:twice_chan", 1).post.text == "second wording"
        assert [t for t, _, _ in store.revisions_of("telegram:twice_chan", 1)] == ["first wording"]


def test_an_unreadable_file_stops_the_import_after_storing_the_files_before_it(tmp_path: Path, any_store) -> None:
    a = save(tmp_path, "a", "alpha_chan", 2)
    b = save(tmp_path, "b", "beta_chan", 2)
    c = save(tmp_path, "c", "gamma_chan", 2)
    with nullcontext(any_store) as store:
        with pytest.raises(ParseJobError, match=r"missing\.html: cannot read"):
            importer.import_files(store, [a, b, tmp_path / "missing.html", c])
        assert {s.name for s in store.sources() if s.posts} == {"telegram:alpha_chan", "telegram:beta_chan"}


def test_many_files_of_mixed_kinds_each_parse_as_their_kind_in_the_pool(tmp_path: Path, any_store) -> None:
    from datetime import UTC, datetime

    from deskapp.demo.others import Account, Item, render_bluesky, render_rss

    items = [Item(i, datetime(2026, 12, 1, 9, i, tzinfo=UTC), f"update {i} on the storm") for i in range(1, 4)]
    rss = tmp_path / "feed.saved"
    rss.write_bytes(render_rss(Account("rss", "alerts", "Alerts", items), "https://alerts.example.gov"))
    bsky = tmp_path / "bsky.saved"
    bsky.write_bytes(render_bluesky(Account("bluesky", "alerts.example.org", "Alerts", items), None))
    junk = tmp_path / "junk.txt"
    junk.write_text("hello")
    pages = [save(tmp_path, f"p{i:02d}", f"chan_{i}", 2) for i in range(importer.POOL_MIN_FILES)]
    files = [pages[0], rss, junk, *pages[1:], bsky]
    heard: dict[Path, tuple[str, int, str]] = {}
    with nullcontext(any_store) as store:
        res = importer.import_files(store, files, workers=2,
                                    on_file=lambda path, page: heard.setdefault(path, (page.kind.value, len(page.posts),
                                                                                      page.reason)))
        assert res.new == 2 * len(pages) + 3 + 3
        found = store.get("rss:https://alerts.example.gov/", store.max_post_id("rss:https://alerts.example.gov/"))
        assert found is not None and found.post.native_id  # the feed's guid, kept as with one file
        assert store.max_post_id("bluesky:alerts.example.org") is not None
    assert list(heard) == files
    assert heard[junk][0] == "suspicious_empty" and "name the kind with --kind" in heard[junk][2]
    assert heard[rss][:2] == ("ok", 3)


def test_imported_posts_are_queued_for_grouping_and_alerts(tmp_path: Path, any_store) -> None:
    from deskapp.core.alerts import Rule
    from deskapp.core.attention import Attention
    from deskapp.core.settings import AttentionSettings

    story = "Port authority reports a fire in a warehouse near the east quay; no injuries so far, crews on site."
    first = save(tmp_path, "first", "harbour_watch", 3, text=story)
    copy = save(tmp_path, "copy", "city_desk", 3, start_id=40, text="Via Harbour Watch: " + story)
    others = [save(tmp_path, f"p{i:02d}", f"chan_{i}", 2) for i in range(importer.POOL_MIN_FILES)]
    with nullcontext(any_store) as store:
        res = importer.import_files(store, [first, *others, copy], workers=2)  # the pool's bulk path
        assert store.attention_backlog() == res.new  # every imported post waits for the poller's worker
        rules = [Rule("fires", words=("warehouse",))]
        assert Attention(store, AttentionSettings(rules=rules, notify=False)).drain_all() == 2
        assert {(a.source, a.post_id) for a in store.alerts()} == {("telegram:harbour_watch", 1),
                                                                   ("telegram:city_desk", 40)}
        first_key = store.get("telegram:harbour_watch", 1).key
        assert [k for k, _ in store.duplicate_group(first_key)] == [first_key, store.get("telegram:city_desk", 40).key]


def test_the_parse_workers_are_started_by_the_importing_thread(tmp_path: Path, any_store,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # Workers are forked only while the process runs one thread; ingest_many's staging thread, which
    # reads the parsed pages, must not be the one that starts them (they would all start fresh, ~0.3 s).
    import threading

    from deskapp.core import parse_pool

    started_by: list[threading.Thread] = []
    real_init = parse_pool._Worker.__init__

    def init(self: parse_pool._Worker, *, fork: bool = False) -> None:
        started_by.append(threading.current_thread())
        real_init(self, fork=fork)

    monkeypatch.setattr(parse_pool._Worker, "__init__", init)
    files = [save(tmp_path, f"p{i:02d}", f"chan_{i}", 2) for i in range(importer.POOL_MIN_FILES)]
    with nullcontext(any_store) as store:
        assert importer.import_files(store, files, workers=2).new == 2 * len(files)
    assert started_by == [threading.current_thread()] * 2
