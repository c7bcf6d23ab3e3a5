"""The poller against a real HTTP server on 127.0.0.1: new posts, edits, faults, politeness."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from deskapp.core.events import PollEvent, PollEventKind
from deskapp.core.fetch import backoff_delay, parse_retry_after
from deskapp.core.poller import Poller, run_in_thread
from deskapp.core.store import Store
from deskapp.demo.server import Fault, WireServer
from tests.wire import make_channel, settings_for


@pytest.fixture
def server():
    with WireServer() as srv:
        yield srv


def once(db: Path, settings) -> list:
    return asyncio.run(Poller(db, settings).run_once())


def stored_ids(db: Path, source: str) -> list[int]:
    with closing(sqlite3.connect(db)) as conn:
        return sorted(r[0] for r in conn.execute("select post_id from posts where source = ?", [source]))


def source_row(db: Path, name: str) -> dict:
    store = Store.open(db)
    try:
        return store.source_row(name) or {}
    finally:
        store.close()


def test_new_posts_with_first_sight_backfill(server: WireServer, tmp_path: Path) -> None:
    server.add(make_channel("alpha", 45))
    db = tmp_path / "s.db"
    [summary] = once(db, settings_for(server, ["alpha"], backfill_pages=3))
    assert summary.ok, summary.message
    assert summary.new == 45 and summary.pages == 3
    assert stored_ids(db, "telegram:alpha") == list(range(1, 46))
    assert "telegram:alpha: ok, 45 new" in summary.line()
    row = source_row(db, "telegram:alpha")
    assert row["error_count"] == 0 and row["last_success"] and row["backfill_done"]


def test_backfill_depth_is_bounded(server: WireServer, tmp_path: Path) -> None:
    server.add(make_channel("deep", 200))
    db = tmp_path / "s.db"
    [summary] = once(db, settings_for(server, ["deep"], backfill_pages=2))
    assert summary.pages == 3 and summary.new == 60
    # The next poll does not walk history again (backfill done, no gap).
    [again] = once(db, settings_for(server, ["deep"], backfill_pages=2))
    assert again.new == 0 and again.pages == 1


def test_gap_between_polls_is_filled(server: WireServer, tmp_path: Path) -> None:
    ch = make_channel("busy", 20)
    server.add(ch)
    db = tmp_path / "s.db"
    once(db, settings_for(server, ["busy"], backfill_pages=2))
    # 30 posts arrive between two polls: more than one page holds.
    more = make_channel("busy", 30, start_id=21)
    ch.posts.extend(more.posts)
    [summary] = once(db, settings_for(server, ["busy"], backfill_pages=2))
    assert summary.new == 30
    assert stored_ids(db, "telegram:busy") == list(range(1, 51))


def test_edits_keep_revisions(server: WireServer, tmp_path: Path) -> None:
    ch = make_channel("beta", 5)
    server.add(ch)
    db = tmp_path / "s.db"
    once(db, settings_for(server, ["beta"]))
    ch.posts[2].text = "corrected text"
    ch.posts[2].edited = True
    [summary] = once(db, settings_for(server, ["beta"]))
    assert (summary.new, summary.changed) == (0, 1)
    store = Store.open(db)
    try:
        sp = store.get("telegram:beta", 3)
        assert sp is not None and sp.post.text == "corrected text" and sp.post.edited
        assert sp.revisions == 1
        [(old_text, _captured, _replaced)] = store.revisions_of("telegram:beta", 3)
        assert old_text.startswith("beta post number 3")
    finally:
        store.close()


def test_conditional_request_gets_304(server: WireServer, tmp_path: Path) -> None:
    server.add(make_channel("gamma", 3))
    db = tmp_path / "s.db"
    once(db, settings_for(server, ["gamma"]))
    [summary] = once(db, settings_for(server, ["gamma"]))
    assert summary.ok and summary.message == "not modified"
    assert "If-None-Match" in server.hits_for("gamma")[-1].headers


def test_channel_without_preview_is_a_readable_failure(server: WireServer, tmp_path: Path) -> None:
    server.add(make_channel("hidden", 3))
    server.no_preview.add("hidden")
    db = tmp_path / "s.db"
    [summary] = once(db, settings_for(server, ["hidden"]))
    assert not summary.ok and "no public preview" in summary.message
    row = source_row(db, "telegram:hidden")
    assert row["error_count"] == 1 and "no public preview" in row["error_text"]


@pytest.mark.parametrize(
    ("fault", "expect"),
    [
        (Fault("status", code=503), "HTTP 503"),
        (Fault("status", code=404), "HTTP 404"),
        (Fault("hang", seconds=2.0), "no answer within"),
        (Fault("truncate"), "mid-response"),
        (Fault("reset"), "connection"),
        (Fault("oversize", size=300_000), "too large"),
        (Fault("empty"), "suspiciously empty"),
        (Fault("landing"), "no public preview"),
    ],
)
def test_faults_are_recorded_and_others_go_on(server: WireServer, tmp_path: Path, fault: Fault,
                                              expect: str) -> None:
    server.add(make_channel("bad", 3))
    server.add(make_channel("good", 3))
    server.fault("bad", fault)
    db = tmp_path / "s.db"
    settings = settings_for(server, ["bad", "good"], timeout=0.5, backfill_pages=0)
    settings.poller.max_body = 200_000
    t0 = time.monotonic()
    bad, good = once(db, settings)
    assert time.monotonic() - t0 < 5
    assert not bad.ok and expect in bad.message, bad.message
    assert good.ok and good.new == 3
    row = source_row(db, "telegram:bad")
    assert expect in row["error_text"] and row["error_count"] == 1 and row["next_poll"]


def test_429_pauses_the_whole_host(server: WireServer, tmp_path: Path) -> None:
    server.add(make_channel("one", 2))
    server.add(make_channel("two", 2))
    server.fault("one", Fault("status", code=429, retry_after="1"))
    db = tmp_path / "s.db"
    first, second = once(db, settings_for(server, ["one", "two"], backfill_pages=0))
    assert not first.ok and "rate limited (HTTP 429)" in first.message
    assert second.ok
    t_one = server.hits_for("one")[0].at
    t_two = server.hits_for("two")[0].at
    assert t_two - t_one >= 0.95  # the other channel on the same host waited out Retry-After


def test_requests_to_one_host_keep_the_minimum_gap(server: WireServer, tmp_path: Path) -> None:
    for h in ("c1", "c2", "c3"):
        server.add(make_channel(h, 2))
    db = tmp_path / "s.db"
    once(db, settings_for(server, ["c1", "c2", "c3"], min_gap=0.2, backfill_pages=0))
    times = sorted(h.at for h in server.hits)
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert len(times) == 3 and min(gaps) >= 0.19


def test_looping_cursor_ends(server: WireServer, tmp_path: Path) -> None:
    server.add(make_channel("loop", 30))
    server.fault("loop", Fault("loop"), Fault("loop"), Fault("loop"), Fault("loop"))
    db = tmp_path / "s.db"
    [summary] = once(db, settings_for(server, ["loop"], backfill_pages=10))
    assert summary.ok
    assert len(server.hits_for("loop")) <= 3


def test_redirects_are_followed_and_checked(server: WireServer, tmp_path: Path) -> None:
    server.add(make_channel("moved", 2))
    server.add(make_channel("Target", 2))
    server.fault("moved", Fault("redirect", location="/s/Target"), Fault("redirect", location="/moved"),
                 Fault("redirect", location="/s/MOVED"))
    db = tmp_path / "s.db"
    # Another channel's page is not the one asked for: refused, nothing filed under @moved.
    [other] = once(db, settings_for(server, ["moved"], backfill_pages=0))
    assert not other.ok and "@moved" in other.message and "@Target" in other.message
    # A redirect away from /s/ (to the landing card) means: no public preview.
    [bad] = once(db, settings_for(server, ["moved"], backfill_pages=0))
    assert not bad.ok and "no public preview" in bad.message
    # The same channel in other letters is the same channel (data-post keeps Telegram's spelling).
    server.channels.pop("moved")
    server.add(make_channel("MOVED", 2))
    [same] = once(db, settings_for(server, ["moved"], backfill_pages=0))
    assert same.ok and same.new == 2
    with Store.open(db, readonly=True) as store:
        assert [s.name for s in store.sources() if s.posts] == ["telegram:moved"]


def test_run_and_stop_from_another_thread(server: WireServer, tmp_path: Path) -> None:
    ch = make_channel("live", 3)
    server.add(ch)
    db = tmp_path / "s.db"
    events: list[PollEvent] = []
    poller = Poller(db, settings_for(server, ["live"], interval=0.2), on_event=events.append)
    th = threading.Thread(target=run_in_thread, args=(poller,))
    th.start()
    try:
        deadline = time.monotonic() + 5
        while not any(e.kind is PollEventKind.STORED and e.new for e in events) and time.monotonic() < deadline:
            time.sleep(0.05)
        ch.posts.append(make_channel("live", 1, start_id=4).posts[0])
        while stored_ids(db, "telegram:live") != [1, 2, 3, 4] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert stored_ids(db, "telegram:live") == [1, 2, 3, 4]
    finally:
        poller.stop()
        th.join(timeout=5)
    assert not th.is_alive()
    assert events[-1].kind is PollEventKind.STOPPED
    stored = [e for e in events if e.kind is PollEventKind.STORED]
    assert sum(e.new for e in stored) == 4 and all(e.max_key > 0 for e in stored if e.new)


def test_retry_after_and_backoff() -> None:
    assert parse_retry_after("120") == 120.0
    now = datetime(2026, 1, 1, tzinfo=UTC)
    later = (now + timedelta(seconds=30)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert parse_retry_after(later, now) == pytest.approx(30.0)
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
    for n in range(1, 12):
        d = backoff_delay(n, 30.0, 3600.0)
        assert 15.0 <= d <= min(3600.0, 30.0 * 2 ** (n - 1))
