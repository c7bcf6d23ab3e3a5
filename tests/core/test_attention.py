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
from deskapp.core.model import Post
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


@pytest.fixture
def store(tmp_path: Path):
    s = Store.open(tmp_path / "s.db", desk="night")
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
    assert store.copies_count([first.key, promo.key]) == {first.key: 1}
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


def test_a_failed_drain_keeps_the_posts_queued(store: Store, tmp_path: Path) -> None:
    store.ingest_page("telegram:a", [post("telegram:a", 1, FIRE)], fetched_at=NOW)
    attention = Attention(store, AttentionSettings(rules=RULES))

    def broken(conn, queued):
        raise RuntimeError("disk pulled")

    with pytest.raises(RuntimeError):
        store.attend(broken, 10)
    assert store.attention_backlog() == 1
    store.close()
    reopened = Store.open(tmp_path / "s.db")  # a crash between storing and attending loses nothing
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


def test_read_mark_and_unread_counts_are_per_desk(store: Store, tmp_path: Path) -> None:
    store.ingest_page("telegram:a", [post("telegram:a", i, f"news {i}") for i in range(1, 6)], fetched_at=NOW)
    assert store.read_mark() is None and store.unread_by_source() == {"telegram:a": 5}
    store.set_read_mark(store.get("telegram:a", 3).key)
    assert store.unread_by_source() == {"telegram:a": 2}
    other = Store.open(tmp_path / "s.db", desk="day")
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
