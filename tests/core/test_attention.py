"""Attention end to end: queued by the store, drained with rules and grouping, raised by the poller."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from deskapp import config as config_mod
from deskapp.config import ConfigError
from deskapp.core.alerts import AlertKind, Rule, RuleAction
from deskapp.core.attention import Attention
from deskapp.core.backend import open_store
from deskapp.core.model import Copies, Post
from deskapp.core.poller import Poller
from deskapp.core.settings import AttentionSettings
from deskapp.core.store import Store
from deskapp.demo.server import WireServer
from deskapp.demo.tme import FakePost
from tests.wire import T0, make_channel, settings_for

FIRE = "Port authority reports a fire in a warehouse near the east quay; no injuries so far."
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
RULES = [Rule("raid", phrases=("air raid",)), Rule("ads", action=RuleAction.MUTE, words=("promo",))]


def post(source: str, pid: int, text: str, minute: int = 0) -> Post:
    handle = source.partition(":")[2]
    return Post(source=source, channel=handle, id=pid, url=f"https://t.me/{handle}/{pid}",
                published=NOW + timedelta(minutes=minute or pid), text=text)


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request, tmp_path: Path) -> str:
    """Where the store is, as --db takes it: a SQLite file, or a new database on the session's
    throwaway PostgreSQL server (skipped with a reason where there is none)."""
    if request.param == "sqlite":
        return str(tmp_path / "s.db")
    from tests.conftest import new_pg_database

    return new_pg_database(request.getfixturevalue("pg_server"))


@pytest.fixture
def store(target: str):
    s = open_store(target, desk="night")
    yield s
    s.close()


def test_every_new_post_is_queued_with_the_page_and_drained_once(store: Store) -> None:
    store.ingest_page("telegram:a", [post("telegram:a", 1, FIRE), post("telegram:a", 2, "Air raid warning")],
                      fetched_at=NOW)
    assert store.attention_backlog() == 2
    raised = Attention(store, AttentionSettings(rules=RULES)).drain()
    assert [(a.rule, a.what, a.kind, a.post_id) for a in raised] == [("raid", "air raid", AlertKind.RULE, 2)]
    assert store.attention_backlog() == 0
    assert Attention(store, AttentionSettings(rules=RULES)).drain() == []  # nothing twice
    assert [a.id for a in store.alerts()] == [raised[0].id]


def test_mutes_hide_and_copies_group_under_the_earliest(store: Store) -> None:
    store.ingest_page("telegram:a", [post("telegram:a", 1, FIRE)], fetched_at=NOW)
    store.ingest_page("telegram:b", [post("telegram:b", 7, "Via Harbour Watch: " + FIRE, minute=9),
                                     post("telegram:b", 8, "promo code, promo price", minute=10)], fetched_at=NOW)
    Attention(store, AttentionSettings(rules=RULES)).drain()
    first, copy, promo = (store.get("telegram:a", 1), store.get("telegram:b", 7), store.get("telegram:b", 8))
    assert store.first_of(copy.key) == first.key
    assert [k for k, _ in store.duplicate_group(copy.key)] == [first.key, copy.key]
    assert store.copies_count([first.key, promo.key]) == {first.key: Copies(1, ("b",))}
    assert store.is_muted(promo.key) == "ads" and store.muted_count() == 1
    assert store.search("promo", limit=5)  # muted posts stay in the store and in search


def test_an_edit_of_a_pinned_post_raises_an_alert(store: Store) -> None:
    store.ingest_page("telegram:a", [post("telegram:a", 1, FIRE), post("telegram:a", 2, "Other news entirely")],
                      fetched_at=NOW)
    attention = Attention(store, AttentionSettings())
    attention.drain()
    store.pin("telegram:a", 1)
    store.ingest_page("telegram:a", [post("telegram:a", 1, FIRE.replace("no injuries", "two injured")),
                                     post("telegram:a", 2, "Other news, edited")], fetched_at=NOW)
    raised = attention.drain()
    assert [(a.kind, a.post_id) for a in raised] == [(AlertKind.PINNED_EDIT, 1)]  # the unpinned edit is quiet


def test_a_failed_drain_keeps_the_posts_queued(store: Store, target: str) -> None:
    store.ingest_page("telegram:a", [post("telegram:a", 1, FIRE)], fetched_at=NOW)
    attention = Attention(store, AttentionSettings(rules=RULES))

    def broken(conn, queued):
        raise RuntimeError("disk pulled")

    with pytest.raises(RuntimeError):
        store.attend(broken, store.queued(10))
    assert store.attention_backlog() == 1
    store.close()
    reopened = open_store(target)  # a crash between storing and attending loses nothing
    try:
        assert reopened.attention_backlog() == 1
        assert Attention(reopened, AttentionSettings(rules=RULES)).drain() == []
        assert reopened.attention_backlog() == 0
    finally:
        reopened.close()
    del attention


def test_rules_added_from_a_desk_apply_now_and_back(store: Store) -> None:
    store.ingest_page("telegram:a", [post("telegram:a", i, f"promo number {i}") for i in range(1, 4)],
                      fetched_at=NOW)
    attention = Attention(store, AttentionSettings())
    attention.drain()
    rid, hidden = store.add_rule(Rule("promos", action=RuleAction.MUTE, words=("promo",)))
    assert hidden == 3 and store.muted_count() == 3
    store.add_rule(Rule("tenders", words=("tender",)))
    store.ingest_page("telegram:a", [post("telegram:a", 9, "A tender was announced")], fetched_at=NOW)
    assert [a.rule for a in attention.drain()] == ["tenders"]  # reloaded without a restart
    assert store.remove_rule(rid) and store.muted_count() == 0
    assert [r.name for _, r in store.rules()] == ["tenders"]


def test_read_mark_and_unread_counts_are_per_desk(store: Store, target: str) -> None:
    store.ingest_page("telegram:a", [post("telegram:a", i, f"news {i}") for i in range(1, 6)], fetched_at=NOW)
    assert store.read_mark() is None and store.unread_by_source() == {"telegram:a": 5}
    store.set_read_mark(store.get("telegram:a", 3).key)
    assert store.unread_by_source() == {"telegram:a": 2}
    other = open_store(target, desk="day")
    try:
        assert other.read_mark() is None
    finally:
        other.close()


def test_alert_rules_and_options_from_the_settings_file() -> None:
    s = config_mod.parse({
        "attention": {"bell": True, "notify": False, "command": ["/bin/page", "--wire"]},
        "alert": [{"name": "evac", "words": ["evacuation"], "kinds": ["telegram"]}],
        "mute": [{"name": "ads", "phrases": ["buy now"]}],
    })
    assert s.attention.bell and not s.attention.notify and s.attention.command == ["/bin/page", "--wire"]
    assert [(r.name, r.action) for r in s.attention.rules] == [("evac", RuleAction.ALERT), ("ads", RuleAction.MUTE)]


@pytest.mark.parametrize("raw, problem", [
    ({"alert": [{"name": "x"}]}, r"alert\[1\]: rule 'x': give at least one"),
    ({"alert": [{"name": "x", "words": ["air raid"]}]}, "not one word"),
    ({"alert": [{"name": "x", "wrods": ["a"]}]}, "wrods"),
    ({"mute": [{"name": "x", "patterns": ["(a"]}]}, "not a valid regular expression"),
    ({"alert": [{"name": "x", "words": ["a"]}, {"name": "x", "words": ["b"]}]}, "used by another rule"),
    ({"attention": {"command": []}}, "attention.command"),
    ({"attention": {"bell": "yes"}}, "attention.bell"),
])
def test_wrong_rules_name_the_entry(raw: dict, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        config_mod.parse(raw)


def test_the_poller_raises_alerts_runs_the_command_and_groups_copies(tmp_path: Path) -> None:
    out = tmp_path / "hook.jsonl"
    hook = [sys.executable, "-c", f"import sys; open({str(out)!r}, 'a').write(sys.stdin.read() + '\\n')"]
    with WireServer() as server:
        first, second = make_channel("harbour", 3), make_channel("copycat", 2)
        first.posts.append(FakePost(4, T0 + timedelta(minutes=10), "AIR RAID sirens over the port. " + FIRE))
        second.posts.append(FakePost(3, T0 + timedelta(minutes=20), "Via Harbour: air raid sirens over the port. "
                                     + FIRE))
        server.add(first)
        server.add(second)
        settings = settings_for(server, ["harbour", "copycat"], backfill_pages=1)
        settings.attention = AttentionSettings(rules=RULES, notify=False, command=hook)
        db = tmp_path / "s.db"
        poller = Poller(db, settings)
        asyncio.run(poller.run_once())
    deadline = datetime.now() + timedelta(seconds=20)
    while (not out.exists() or out.read_text().count("\n") < 2) and datetime.now() < deadline:
        asyncio.run(asyncio.sleep(0.05))
    hooked = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    assert sorted(h["url"].rsplit("/", 2)[-2] + "/" + h["post_id"].__str__() for h in hooked) == \
        ["copycat/3", "harbour/4"]
    assert {h["rule"] for h in hooked} == {"raid"} and all("sirens" in h["text"] for h in hooked)
    listed = subprocess.run([sys.executable, "-m", "deskapp.cli", "--db", str(db), "alerts", "--json"],
                            capture_output=True, text=True, timeout=60, check=True).stdout
    rows = [json.loads(line) for line in listed.splitlines()]
    assert {r["rule"] for r in rows} == {"raid"} and len(rows) == 2
    with sqlite3.connect(db) as conn:
        groups = conn.execute("SELECT count(*) FROM dup_groups").fetchone()[0]
    assert groups == 1


def test_the_worker_opens_its_own_store_from_the_target(store, target: str) -> None:
    """AttentionWorker takes what --db takes (a SQLite path or a postgresql:// URL), not a file only."""
    from deskapp.core.attention import AttentionWorker

    store.ingest_page("telegram:a", [post("telegram:a", 1, "Air raid sirens over the port")], fetched_at=NOW)
    raised: list = []
    worker = AttentionWorker(target, AttentionSettings(rules=RULES, notify=False), on_alerts=raised.extend).start()
    worker.kick()
    worker.stop(finish=True)
    assert [(a.rule, a.post_id) for a in raised] == [("raid", 1)] and store.attention_backlog() == 0
    assert [a.post_id for a in store.alerts()] == [1]


class _Paused(Attention):
    """A drainer that stops inside its transaction (batch claimed, nothing committed) until released."""

    def __init__(self, store, settings) -> None:
        super().__init__(store, settings)
        import threading

        self.inside, self.release = threading.Event(), threading.Event()

    def _work(self, conn, queued, *rest):
        self.inside.set()
        assert self.release.wait(20)
        return super()._work(conn, queued, *rest)


def _until_waiting(url: str, event: str) -> None:
    """Return once a connection to this database waits on a lock of this kind (bounded: 20 s)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as watch:
        deadline = datetime.now() + timedelta(seconds=20)
        while not watch.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                "AND wait_event_type = 'Lock' AND wait_event = %s", (event,)).fetchone()[0]:
            assert datetime.now() < deadline, f"nobody waited on a lock ({event})"
            watch.execute("SELECT pg_sleep(0.01)")


def _alerted_keys(store) -> list[tuple[int, str]]:
    return sorted((a.key, a.rule) for a in store.alerts())


def test_two_drainers_on_postgresql_never_alert_a_post_twice(pg_url: str) -> None:
    """Two pollers' drainers on one server, forced to overlap: the second comes while the first holds
    its batch uncommitted. Without the drain lock SKIP LOCKED keeps it off the first's rows; with it,
    it waits its turn and then finds them gone. Either way each post alerts once."""
    import threading

    settings = AttentionSettings(rules=RULES, notify=False)
    with open_store(pg_url) as one, open_store(pg_url) as two:
        one.ingest_page("telegram:a", [post("telegram:a", i, f"Air raid warning number {i}") for i in (1, 2, 3)],
                        fetched_at=NOW)
        # 1. No drain lock on the second: it skips the rows the first has claimed.
        first = _Paused(one, settings)
        raised_first: list = []
        t = threading.Thread(target=lambda: raised_first.extend(first.drain()))
        t.start()
        assert first.inside.wait(20)
        two._attend_begin = lambda conn: None  # type: ignore[method-assign]
        assert Attention(two, settings).drain() == []  # the batch is locked: nothing for the second
        first.release.set()
        t.join(20)
        assert sorted(a.post_id for a in raised_first) == [1, 2, 3]
        del two._attend_begin
        assert Attention(two, settings).drain() == [] and two.attention_backlog() == 0
        # 2. With the lock. A second drainer that comes while the first drains reads nothing at all
        # (the first carries on until the queue is empty)...
        one.ingest_page("telegram:a", [post("telegram:a", i, f"Air raid warning number {i}") for i in (4, 5)],
                        fetched_at=NOW)
        second = Attention(two, settings)
        read_before = two.queued(500)  # ...and one that read the queue just before the first took it
        assert [q.post_id for q in read_before] == [4, 5]
        first = _Paused(one, settings)
        raised_first, raised_second = [], []
        t1 = threading.Thread(target=lambda: raised_first.extend(first.drain()))
        t1.start()
        assert first.inside.wait(20)
        assert second.drain() == [] and second.last_read == 0
        t2 = threading.Thread(target=lambda: raised_second.extend(
            two.attend(lambda conn, still: second._work(conn, still, {}), read_before)))
        t2.start()
        _until_waiting(pg_url, "advisory")  # waits its turn at the drain lock
        first.release.set()
        t1.join(20)
        t2.join(20)
        assert sorted(a.post_id for a in raised_first) == [4, 5] and raised_second == []  # then finds them gone
        keys = _alerted_keys(one)
        assert len(keys) == len(set(keys)) == 5


def test_an_edit_stored_while_its_post_is_drained_is_not_lost(pg_url: str) -> None:
    """A poller re-texts a pinned post whose queue row a drain holds: the edit's queue entry waits for
    the drain's commit and is queued again after it (not deleted with the drained row)."""
    import threading

    settings = AttentionSettings(notify=False)
    with open_store(pg_url) as drainer, open_store(pg_url) as poller:
        poller.ingest_page("telegram:a", [post("telegram:a", 1, FIRE)], fetched_at=NOW)
        poller.pin("telegram:a", 1)
        paused = _Paused(drainer, settings)
        t1 = threading.Thread(target=paused.drain)
        t1.start()
        assert paused.inside.wait(20)
        t2 = threading.Thread(target=lambda: poller.ingest_page(
            "telegram:a", [post("telegram:a", 1, FIRE.replace("no injuries", "two injured"))], fetched_at=NOW))
        t2.start()
        _until_waiting(pg_url, "transactionid")  # the edit's queue entry waits on the claimed row
        paused.release.set()
        t1.join(20)
        t2.join(20)
        assert poller.attention_backlog() == 1
        assert [(a.kind, a.post_id) for a in Attention(drainer, settings).drain()] == [(AlertKind.PINNED_EDIT, 1)]


def test_a_post_edited_between_reading_and_attending_stays_queued_as_an_edit(store, target: str) -> None:
    store.ingest_page("telegram:a", [post("telegram:a", 1, "Air raid warning for the east")], fetched_at=NOW)
    store.pin("telegram:a", 1)
    attention = Attention(store, AttentionSettings(rules=RULES))
    read = store.queued(10)
    with open_store(target) as poller:  # the poller stores an edit in between
        poller.ingest_page("telegram:a", [post("telegram:a", 1, "Air raid warning lifted")], fetched_at=NOW)
    assert store.attend(lambda conn, still: [] if not still else pytest.fail("worked on a stale text"), read) == []
    assert store.attention_backlog() == 1
    raised = attention.drain()
    assert [(a.kind, a.post_id) for a in raised] == [(AlertKind.PINNED_EDIT, 1)]
    assert store.attention_backlog() == 0


def test_rules_and_fingerprints_are_worked_out_outside_the_write_transaction(tmp_path: Path, monkeypatch) -> None:
    """The poller's commits wait for the attention thread's transactions (core/write_turns.py): the
    slow part of attending (normalising, MinHash, rules) must not be inside one."""
    store = Store.open(tmp_path / "s.db")
    store.ingest_page("telegram:a", [post("telegram:a", i, f"Air raid warning {i}. " + FIRE) for i in range(1, 6)],
                      fetched_at=NOW)
    attention = Attention(store, AttentionSettings(rules=RULES))
    seen: list[bool] = []
    prepare = Attention._prepare

    def watched(self, q):
        seen.append(store._conn.in_transaction)
        return prepare(self, q)

    monkeypatch.setattr(Attention, "_prepare", watched)
    raised = attention.drain()
    assert seen == [False] * 5
    assert [a.post_id for a in raised] == [1, 2, 3, 4, 5]
    assert store.first_of(store.get("telegram:a", 2).key) == store.get("telegram:a", 1).key
    store.close()


def test_each_drain_transaction_is_sized_to_hold_the_lock_briefly() -> None:
    from deskapp.core.attention import DRAIN_BATCH, FIRST_BATCH, next_batch

    assert next_batch(0, 0.0) == FIRST_BATCH
    assert next_batch(32, 0.001, target=0.02) == 64  # fast: grows, at most twofold a step
    assert next_batch(100, 0.2, target=0.02) == 10  # slow (a loaded machine): shrinks to the target
    assert next_batch(5, 10.0, target=0.02) == 1
    assert next_batch(400, 0.0, target=0.02) == DRAIN_BATCH


def test_both_stores_group_alert_and_mute_the_same_posts(tmp_path: Path, pg_url: str) -> None:
    """The same posts (headlines, each with copies of every kind channels make, spread over
    channels and time) attended on SQLite and on PostgreSQL: the same groups, alerts and mutes."""
    import random

    from benchmarks.bench_dedup import HEADLINES
    from deskapp.demo.copies import variants

    rng = random.Random(16)
    pages: dict[str, list[Post]] = {}
    minute = 0
    for h, text in enumerate(HEADLINES[:12]):
        for v, (_, copy) in enumerate([("first", text), *variants(text, rng)]):
            minute += rng.randint(1, 9)
            source = f"telegram:ch{(h + v) % 5}"
            pages.setdefault(source, []).append(post(source, 100 * h + v + 1, copy + (" promo" if v == 2 else ""),
                                                     minute=minute))
    rules = [Rule("river", words=("river",)), Rule("trains", phrases=("freight trains",)),
             Rule("ads", action=RuleAction.MUTE, words=("promo",))]
    seen = []
    for target in (str(tmp_path / "both.db"), pg_url):
        with open_store(target) as s:
            for source, posts in pages.items():
                s.ingest_page(source, posts, fetched_at=NOW)
            Attention(s, AttentionSettings(rules=rules, notify=False)).drain_all()
            name = {sp.key: (sp.post.source, sp.post.id) for src, ps in pages.items()
                    for sp in [s.get(src, p.id) for p in ps]}
            groups = sorted((name[k], name[s.first_of(k)]) for k in name if s.first_of(k) != k)
            alerts = sorted((name[a.key], a.rule) for a in s.alerts())
            muted = sorted(name[k] for k in name if s.is_muted(k))
            seen.append((groups, alerts, muted))
    assert seen[0] == seen[1]
    groups, alerts, muted = seen[0]
    assert len(groups) >= 60 and len(alerts) >= 10 and len(muted) == 12  # 70, 14 and 12 when written


def test_a_worker_that_finds_the_queue_busy_looks_again_soon(pg_url: str) -> None:
    """Another poller holds the drain lock when this poller's worker is kicked: the worker reads
    nothing then, and drains its posts once the lock is free, without waiting for its idle look."""
    import threading

    import psycopg

    from deskapp.core.attention import AttentionWorker

    drained = threading.Event()
    with open_store(pg_url) as s, psycopg.connect(pg_url, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(hashtext('desk-attention'))")  # another poller draining
        s.ingest_page("telegram:a", [post("telegram:a", 1, "Air raid sirens over the port")], fetched_at=NOW)
        worker = AttentionWorker(pg_url, AttentionSettings(rules=RULES, notify=False),
                                 on_alerts=lambda raised: drained.set())
        worker.IDLE_LOOK = 600.0  # only the busy look can find the post in time
        worker.start()
        try:
            worker.kick()
            assert not drained.wait(1.0) and s.attention_backlog() == 1  # busy: nothing taken
            other.execute("SELECT pg_advisory_unlock(hashtext('desk-attention'))")
            assert drained.wait(20) and s.attention_backlog() == 0
        finally:
            worker.stop()
        assert [a.post_id for a in s.alerts()] == [1]
