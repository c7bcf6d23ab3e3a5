"""Capture on pin and re-check, against a loopback server whose posts change and vanish between fetches."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest

from deskapp.core.evidence import EvidenceLog, FetchLimits, PostFetcher, Result
from deskapp.core.poller import Poller
from deskapp.core.store import Store
from deskapp.core.verify import Verifier, base_resolver, covers, post_view_url, targets_for, word_diff
from deskapp.demo.server import Fault, WireServer
from deskapp.demo.tme import context_window
from tests.samples import needs_samples, sample
from tests.wire import make_channel, settings_for

FAST = FetchLimits(min_gap=0.0, gap_jitter=0.0, timeout=2.0, backoff_base=60.0)


@pytest.fixture
def server():
    with WireServer() as srv:
        yield srv


@pytest.fixture(params=["sqlite", "postgresql"])
def reopen(request):
    """Opens the polled SQLite file as the test's store: itself, or (PostgreSQL) a new database on the
    session's throwaway server that `desk db copy` filled from it."""
    def opener(db: Path):
        if request.param == "sqlite":
            return Store.open(db)
        from deskapp.core.backend import open_store
        from deskapp.core.pg.copy import copy_store
        from tests.conftest import new_pg_database

        url = new_pg_database(request.getfixturevalue("pg_server"))
        with Store.open(db) as src, open_store(url) as dst:
            copy_store(src, dst)
        return open_store(url)

    return opener


def polled(server: WireServer, tmp_path: Path, handles: dict[str, int], reopen=Store.open) -> tuple[Store, object]:
    for h, n in handles.items():
        server.add(make_channel(h, n))
    settings = settings_for(server, list(handles), backfill_pages=5)
    db = tmp_path / "s.db"
    asyncio.run(Poller(db, settings).run_once())
    return reopen(db), settings


def targets(store: Store, settings, refs: list[tuple[str, int]]):
    base_of = base_resolver(store, settings.sources, settings.base_url)
    return targets_for([store.get(s, i) for s, i in refs], base_of)


def run(coro):
    return asyncio.run(coro)


def test_capture_keeps_the_exchange(server: WireServer, tmp_path: Path, reopen) -> None:
    store, settings = polled(server, tmp_path, {"alpha": 30}, reopen)
    try:
        [check] = run(Verifier(store, FAST).capture(targets(store, settings, [("telegram:alpha", 12)])))
        assert check.result is Result.CAPTURED and check.kind == "capture"
        assert check.url == f"{server.url}/s/alpha/12"
        assert check.text == "alpha post number 12\nsecond line"
        assert check.text_sha256 == hashlib.sha256(check.text.encode()).hexdigest()
        [ex] = EvidenceLog(store).chain(check.fetch_id)
        assert ex.status == 200 and ex.url == check.url and ex.body.startswith(b"<!DOCTYPE html>")
        assert ex.sha256 == hashlib.sha256(ex.body).hexdigest()
        assert ("User-Agent", settings.poller.user_agent) in ex.request_headers
        assert ex.header("etag") and ex.requested <= check.checked
        assert server.hits[-1].path == "/s/alpha/12"
    finally:
        store.close()


def test_recheck_says_unchanged_edited_deleted_and_channel_gone(server: WireServer, tmp_path: Path, reopen) -> None:
    store, settings = polled(server, tmp_path, {"alpha": 30, "beta": 5}, reopen)
    try:
        refs = [("telegram:alpha", 5), ("telegram:alpha", 6), ("telegram:alpha", 7), ("telegram:beta", 2)]
        ts = targets(store, settings, refs)
        run(Verifier(store, FAST).capture(ts))
        alpha = server.channels["alpha"]
        alpha.posts[5].text = "alpha post number 6\nsecond line, corrected"  # id 6
        alpha.posts = [p for p in alpha.posts if p.id != 7]
        server.no_preview.add("beta")
        v = Verifier(store, FAST)
        checks = {c.post_id if c.source.endswith("alpha") else -c.post_id: c for c in run(v.recheck(ts))}
        assert checks[5].result is Result.UNCHANGED
        assert checks[6].result is Result.EDITED and checks[6].detail.endswith("[-line-] {+line, corrected+}")
        assert checks[7].result is Result.DELETED and "no longer shows" in checks[7].detail
        assert checks[-2].result is Result.CHANNEL_GONE
        # alpha/5, 6 and 7 were decided by one context page; beta asked once (and followed the redirect).
        assert v.requests == 3
        assert [h.path for h in server.hits[-3:]] == ["/s/alpha/5", "/s/beta/2", "/beta"]
        latest = EvidenceLog(store).latest(refs)
        assert latest[("telegram:alpha", 7)].result is Result.DELETED
        gone = EvidenceLog(store).chain(latest[("telegram:beta", 2)].fetch_id)
        assert [e.status for e in gone] == [302, 200] and gone[1].redirected_from == gone[0].id
    finally:
        store.close()


def test_recheck_compares_with_the_capture_not_the_store(server: WireServer, tmp_path: Path, reopen) -> None:
    store, settings = polled(server, tmp_path, {"alpha": 3}, reopen)
    try:
        ts = targets(store, settings, [("telegram:alpha", 2)])
        server.channels["alpha"].posts[1].text = "changed before the pin's capture"
        run(Verifier(store, FAST).capture(ts))
        [check] = run(Verifier(store, FAST).recheck(ts))
        assert check.result is Result.UNCHANGED
        # Never captured: the stored text is the baseline.
        [other] = run(Verifier(store, FAST).recheck(targets(store, settings, [("telegram:alpha", 1)])))
        assert other.result is Result.UNCHANGED
    finally:
        store.close()


def test_could_not_check_says_why(server: WireServer, tmp_path: Path, reopen) -> None:
    store, settings = polled(server, tmp_path, {"alpha": 30, "gamma": 30}, reopen)
    try:
        ts = targets(store, settings, [("telegram:alpha", 3), ("telegram:alpha", 29), ("telegram:gamma", 4)])
        server.fault("alpha", Fault("status", code=429, retry_after="120"))
        server.fault("gamma", Fault("status", code=503))
        v = Verifier(store, FAST)
        checks = run(v.recheck(ts))
        assert [c.result for c in checks] == [Result.UNCHECKED] * 3
        assert "rate limited (HTTP 429); host paused for 120 s" in checks[0].detail
        # The host asked for 120 s: the next pin on it is not asked for at all.
        assert "asked us to wait" in checks[1].detail and checks[1].fetch_id is None
        # gamma is on the same host (politeness is per host): not asked either.
        assert "asked us to wait" in checks[2].detail
        assert v.requests == 1
        [recheck] = run(Verifier(store, FAST).recheck(ts[2:]))  # a new run: the 503 is next in gamma's queue
        assert recheck.result is Result.UNCHECKED and recheck.detail == "HTTP 503 Service Unavailable"
    finally:
        store.close()


def test_transport_failure_is_recorded_without_a_body(tmp_path: Path, reopen) -> None:
    with WireServer() as server:
        store, settings = polled(server, tmp_path, {"alpha": 3}, reopen)
        ts = targets(store, settings, [("telegram:alpha", 2)])
    try:  # the server is gone now
        [check] = run(Verifier(store, FAST).capture(ts))
        assert check.result is Result.UNCHECKED and "cannot connect" in check.detail
        [ex] = EvidenceLog(store).chain(check.fetch_id)
        assert ex.status is None and ex.body == b"" and ex.error
    finally:
        store.close()


def test_context_window_and_cover() -> None:
    ch = make_channel("x", 50)
    ids = [p.id for p in context_window(ch.posts, 25, 20)]
    assert ids == list(range(15, 35))
    assert [p.id for p in context_window(ch.posts, 49, 20)] == list(range(31, 51))
    assert [p.id for p in context_window(ch.posts, 2, 20)] == list(range(1, 21))
    assert post_view_url("https://t.me/", "Durov", 519) == "https://t.me/s/Durov/519"


def test_word_diff() -> None:
    assert word_diff("a b c", "a x c") == "a [-b-] {+x+} c"
    assert word_diff("one two", "one two three") == "one two {+three+}"
    assert word_diff("x", "x") == "x"
    long_old = " ".join(str(i) for i in range(20))
    assert word_diff(long_old, long_old + " new") == "0 1 2 … 17 18 19 {+new+}"


def test_covers_needs_posts_on_both_sides(server: WireServer) -> None:
    from deskapp.core.sources import telegram
    from deskapp.demo.tme import render_page

    ch = make_channel("c", 10)
    page = telegram.parse_page(render_page(ch, [p for p in ch.posts if p.id != 5]), url="https://t.me/s/c/4")
    assert covers(page, 4) and covers(page, 5) and covers(page, 10) and not covers(page, 11)


def test_other_kinds_are_not_checked_and_say_so(tmp_path: Path) -> None:
    from deskapp.core.verify import Target

    with Store.open(tmp_path / "s.db") as store:
        v = Verifier(store, FAST)
        [check] = run(v.recheck([Target("rss:example", 7, "example", "http://127.0.0.1:9", "x")]))
        assert check.result is Result.UNCHECKED and check.detail == "re-checking rss posts is not supported"  # a target without its post
        assert v.requests == 0 and EvidenceLog(store).latest()[("rss:example", 7)].fetch_id is None


@pytest.mark.samples
@needs_samples
def test_real_pages_classify_as_the_context_page_would() -> None:
    """The real /s/ captures stand in for context-page answers: the same parser, the same decisions."""
    from datetime import UTC, datetime

    from deskapp.core.sources import telegram
    from deskapp.core.verify import Target, classify

    body = sample("durov_sherlock.html").read_bytes()
    page = telegram.parse_page(body, url="https://t.me/s/durov/519", final_url="https://t.me/s/durov/519")
    when = datetime(2026, 8, 9, 12, 10, tzinfo=UTC)
    post = next(p for p in page.posts if p.id == 525)

    def target(i: int, text: str = "") -> Target:
        return Target("telegram:durov", i, "durov", "https://t.me", text)

    captured = classify(page, "", target(525), None, kind="capture", checked=when, url="u")
    assert captured.result is Result.CAPTURED and captured.text and captured.text.split()[:3] == post.text.split()[:3]
    same = classify(page, "", target(525), captured.text, kind="recheck", checked=when, url="u")
    assert same.result is Result.UNCHANGED
    edited = classify(page, "", target(525), captured.text + " (since removed)", kind="recheck", checked=when, url="u")
    assert edited.result is Result.EDITED and edited.detail.endswith("[-(since removed)-]")
    # 530 is missing between 529 and 531 on the real page: deleted or hidden.
    assert covers(page, 530)
    gone = classify(page, "", target(530), "x", kind="recheck", checked=when, url="u")
    assert gone.result is Result.DELETED
    # A landing card instead of the preview: the channel is gone.
    card = sample("durov_tmepage_channel_sherlock.html").read_bytes()
    landing = telegram.parse_page(card, url="https://t.me/s/durov/519", final_url="https://t.me/durov")
    assert classify(landing, "", target(519), "x", kind="recheck", checked=when,
                    url="u").result is Result.CHANNEL_GONE


def test_gates_on_one_clock_take_turns_across_threads_and_loops() -> None:
    """The desk's poller and its re-checks run in different threads and loops: one clock per host
    gives one request at a time and the gap between any two of them (a forced interleaving)."""
    import threading
    import time

    from deskapp.core.fetch import HostClocks, HostGate

    clocks = HostClocks()
    clock = clocks.get("http://127.0.0.1:1")
    a_inside, a_release, b_done = threading.Event(), threading.Event(), threading.Event()
    log: list[tuple[str, float]] = []

    async def first() -> None:
        async with HostGate(0.2, 0.0, clock):
            log.append(("a-in", time.monotonic()))
            a_inside.set()
            await asyncio.to_thread(a_release.wait, 5)
            log.append(("a-out", time.monotonic()))

    async def second() -> None:
        async with HostGate(0.2, 0.0, clock):
            log.append(("b-in", time.monotonic()))
        b_done.set()

    ta = threading.Thread(target=asyncio.run, args=(first(),))
    ta.start()
    assert a_inside.wait(5)
    tb = threading.Thread(target=asyncio.run, args=(second(),))
    tb.start()
    assert clock.try_acquire(0.0) > 0  # the host is held: nobody else may send
    a_release.set()
    assert b_done.wait(5)
    ta.join(5)
    tb.join(5)
    names = [n for n, _ in log]
    assert names == ["a-in", "a-out", "b-in"]
    assert log[2][1] - log[1][1] >= 0.19  # the gap after the other thread's request

    # A 429 seen through one gate pauses the host for every gate on the clock.
    HostGate(0.0, 0.0, clock).pause(60)
    assert PostFetcher(FAST).paused_for("http://127.0.0.1:1/x") == 0  # not on the clock: not told
    assert PostFetcher(FAST, clocks=clocks).paused_for("http://127.0.0.1:1/x") > 50


def test_other_kinds_capture_and_recheck_through_their_own_views(server: WireServer, tmp_path: Path) -> None:
    """Mastodon's /api/v1/statuses/<id>, Bluesky's getPosts, the RSS feed again: captured, then edited,
    deleted, or (a feed item) no longer listed, which proves nothing."""
    from datetime import UTC, datetime

    from deskapp.config import parse
    from deskapp.demo.others import Account, Item

    t0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    masto = server.others.add(Account("mastodon", "fire@social.example", "Fire",
                                      [Item(1000 + i, t0, f"status {i}") for i in range(3)]))
    bsky = server.others.add(Account("bluesky", "alerts.example.org", "Alerts",
                                     [Item(i, t0, f"skeet {i}") for i in range(1, 4)]))
    rss = server.others.add(Account("rss", "cp", "CP", [Item(i, t0, f"item {i}") for i in range(1, 3)]))
    settings = parse({"rss": {"feeds": ["https://cp.example.gov/feeds/cp.xml"], "base_url": server.url},
                      "bluesky": {"accounts": ["alerts.example.org"], "base_url": server.url},
                      "mastodon": {"accounts": [{"name": "@fire@social.example", "base_url": server.url}]}})
    settings.poller = settings_for(server, []).poller
    db = tmp_path / "s.db"
    run(Poller(db, settings).run_once())
    with Store.open(db) as store:
        posts = [store.get_by_url(u) for u in ("https://social.example/@fire/1001",
                                               "https://social.example/@fire/1002")]
        posts += [sp for sp in (store.get(r.source, r.post_id) for r in store.feed(50))
                  if sp is not None and not sp.post.source.startswith("mastodon:")]
        base_of = base_resolver(store, settings.sources, server.url)
        targets_ = targets_for([p for p in posts if p is not None], base_of)
        v = Verifier(store, FAST)
        captured = run(v.capture(targets_))
        assert {c.result for c in captured} == {Result.CAPTURED}, [(c.source, c.detail) for c in captured]
        # Then: one status edited, one deleted; one skeet deleted; one feed item dropped from the feed.
        masto.items[1].text = "status 1, corrected"
        masto.items = [i for i in masto.items if i.id != 1002]
        bsky.items = [i for i in bsky.items if i.id != 2]
        rss.items = [i for i in rss.items if i.id != 1]
        by_key = {(c.source, c.post_id): c for c in run(v.recheck(targets_))}
    results = {k: c.result for k, c in by_key.items()}
    assert results[("mastodon:fire@social.example", 1001)] is Result.EDITED
    assert results[("mastodon:fire@social.example", 1002)] is Result.DELETED
    bsky_results = sorted(c.result.value for k, c in by_key.items() if k[0].startswith("bluesky:"))
    assert bsky_results.count(Result.DELETED.value) == 1 and bsky_results.count(Result.UNCHANGED.value) == 2
    rss_checks = [c for k, c in by_key.items() if k[0].startswith("rss:")]
    assert sorted(c.result.value for c in rss_checks) == sorted([Result.UNCHANGED.value, Result.UNCHECKED.value])
    assert any("not proof of deletion" in c.detail for c in rss_checks)



def test_file_clock_takes_turns_with_another_process(tmp_path: Path) -> None:
    """`desk poll` and `desk verify` are different processes: the state folder's clock makes them take
    turns at a host (forced order: the other process holds the host, then lets go)."""
    import subprocess
    import sys
    import time

    from deskapp.core.fetch import HostClocks

    folder = tmp_path / "hosts"
    host = "https://t.me"
    child = subprocess.Popen(
        [sys.executable, "-c",
         "import sys; from pathlib import Path; from deskapp.core.fetch import HostClocks\n"
         f"c = HostClocks(Path({str(folder)!r})).get({host!r})\n"
         "assert c.try_acquire(0.0) == 0.0\nprint('holding', flush=True)\nsys.stdin.readline()\n"
         "c.release()\nc.pause(90)\nprint('released', flush=True)\n"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2])
    try:
        assert child.stdout is not None and child.stdin is not None
        assert child.stdout.readline().strip() == "holding"
        mine = HostClocks(folder).get(host)
        assert mine.try_acquire(0.0) > 0  # the other process has a request out
        child.stdin.write("\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "released"
        # Its request ended just now and the host paused everyone for 90 s: we wait too.
        assert 85 < mine.try_acquire(2.0) <= 90
        assert 85 < mine.shared_pause() <= 90
    finally:
        child.kill()
        child.wait(10)
    # Two clocks on one folder in one process behave the same (separate open files).
    other = HostClocks(folder).get("https://example.org")
    again = HostClocks(folder).get("https://example.org")
    assert other.try_acquire(0.5) == 0.0
    assert again.try_acquire(0.5) > 0
    other.release()
    started = time.monotonic()
    while (wait := again.try_acquire(0.5)) > 0:
        time.sleep(wait)
    assert time.monotonic() - started >= 0.45  # the gap after the other's request
    again.release()


def test_a_pause_through_the_state_folder_is_seen_by_every_gate(tmp_path: Path) -> None:
    from deskapp.core.fetch import HostClocks, HostGate

    host = "https://t.me"
    HostClocks(tmp_path).get(host).pause(600)  # as another process's 429 would
    gate = HostGate(2.0, 0.0, HostClocks(tmp_path).get(host))
    import time

    assert 590 < gate.paused_until - time.monotonic() <= 600  # what `desk poll --once` reports
    assert HostGate(2.0, 0.0).paused_until == 0.0


def test_a_process_killed_mid_request_does_not_hold_the_host(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    from deskapp.core.fetch import HostClocks

    host = "https://t.me"
    child = subprocess.Popen(
        [sys.executable, "-c",
         "import sys; from pathlib import Path; from deskapp.core.fetch import HostClocks\n"
         f"c = HostClocks(Path({str(tmp_path)!r})).get({host!r})\n"
         "assert c.try_acquire(0.0) == 0.0\nprint('holding', flush=True)\nsys.stdin.readline()\n"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2])
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "holding"
        mine = HostClocks(tmp_path).get(host)
        assert mine.try_acquire(0.0) > 0  # its request is out
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        assert mine.try_acquire(0.0) == 0.0  # the claim died with it
        mine.release()
    finally:
        child.kill()
        child.wait(10)
