"""Pins, desk preferences and sources are one implementation (core/store_pins.py,
core/store_sources.py) run by both stores; what PostgreSQL adds through its hooks must still hold:
every pinboard write takes the desk's lock and is announced to listening desks at commit (and only
then), a poll's outcome is announced too, and the board's order falls back to the order pins were
made in on both servers."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from deskapp.core.backend import open_store
from deskapp.core.model import Post
from deskapp.core.pg.store import PINS_CHANNEL, SOURCES_CHANNEL

T0 = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)
FETCHED = datetime(2024, 3, 2, 8, 0, 0, tzinfo=UTC)
SRC = "telegram:a"


def _posts(n: int) -> list[Post]:
    return [Post(source=SRC, channel="a", id=i, url=f"https://t.me/a/{i}", published=T0 + timedelta(minutes=i),
                 text=f"text {i}") for i in range(1, n + 1)]


def test_ties_on_the_board_keep_the_order_pins_were_made_in(any_store) -> None:
    """Positions edited by hand into a tie: the board falls back to pin time, then to the order the
    pins were made in (SQLite's rowid, PostgreSQL's seq), and the next write makes them dense again."""
    s = any_store
    s.ingest_page(SRC, _posts(4), fetched_at=FETCHED)
    s.desk = "anna"
    for i in (3, 1, 4, 2):
        s.pin(SRC, i)
    s._write(lambda c: c.execute("UPDATE pins SET position = 0, pinned_at = ?", ("2024-03-02T09:00:00Z",)))
    assert [p.post_id for p, _ in s.pins()] == [3, 1, 4, 2]
    s.unpin(SRC, 1)
    assert [(p.post_id, p.position) for p, _ in s.pins()] == [(3, 0), (4, 1), (2, 2)]


def _notes(conn: psycopg.Connection, expect: int) -> list[str]:
    """The payloads heard, waiting (bounded) for `expect` of them, then a little for more."""
    heard = [n.payload for n in conn.notifies(timeout=5, stop_after=expect)] if expect else []
    heard += [n.payload for n in conn.notifies(timeout=0.3)]
    return heard


def test_every_pinboard_write_is_announced_at_commit(pg_url: str) -> None:
    store = open_store(pg_url, desk="anna")
    listener = psycopg.connect(pg_url, autocommit=True)
    try:
        store.ingest_page(SRC, _posts(3), fetched_at=FETCHED)
        listener.execute(f"LISTEN {PINS_CHANNEL}")
        writes = [
            lambda: store.pin(SRC, 1), lambda: store.pin(SRC, 2, "n"), lambda: store.set_pin_note(SRC, 1, "x"),
            lambda: store.move_pin(SRC, 2, -1), lambda: store.unpin(SRC, 1),
        ]
        for write in writes:
            write()
            assert _notes(listener, 1) == ["anna"]
        board = [pin for pin, _ in store.pins()]
        assert store.clear_pins() == 1 and _notes(listener, 1) == ["anna"]
        assert store.restore_pins(board) == 1 and _notes(listener, 1) == ["anna"]
        with pytest.raises(KeyError):
            store.pin(SRC, 99)  # no such post: the transaction rolls back, nothing is announced
        assert _notes(listener, 0) == []
        store.set_desk_prefs(format="md")  # preferences are not the pinboard
        assert _notes(listener, 0) == []
        store.desk = "ben"
        store.pin(SRC, 3)
        assert _notes(listener, 1) == ["ben"]
    finally:
        listener.close()
        store.close()


def _waiting_advisory(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted").fetchone()[0]


def test_writers_of_one_desk_take_turns_and_other_desks_do_not_wait(pg_url: str) -> None:
    """Forced interleaving: another editor of desk anna holds the desk's pin lock and adds a pin in
    its transaction; this desk's pin waits for it, then takes the next place (never the same one),
    while desk ben pins meanwhile without waiting."""
    anna, ben = open_store(pg_url, desk="anna"), open_store(pg_url, desk="ben")
    other = psycopg.connect(pg_url)
    done = threading.Event()
    errors: list[BaseException] = []

    def pin_on_anna() -> None:
        try:
            anna.pin(SRC, 2)
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)
        finally:
            done.set()

    try:
        anna.ingest_page(SRC, _posts(3), fetched_at=FETCHED)
        other.execute("SELECT pg_advisory_xact_lock(hashtext('desk-pins:' || %s))", ("anna",))
        other.execute("INSERT INTO pins (desk, source, post_id, position, note, pinned_at) "
                      "VALUES ('anna', %s, 1, 0, '', '2024-03-02T09:00:00Z')", (SRC,))
        worker = threading.Thread(target=pin_on_anna)
        worker.start()
        deadline = time.monotonic() + 10
        while not _waiting_advisory(pg_url) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _waiting_advisory(pg_url) == 1 and not done.is_set()  # anna's pin waits for the lock
        ben.pin(SRC, 3)  # another desk's lock: no wait
        assert [p.post_id for p, _ in ben.pins()] == [3]
        other.commit()
        assert done.wait(10) and not errors
        worker.join(10)
        assert [(p.post_id, p.position) for p, _ in anna.pins()] == [(1, 0), (2, 1)]
    finally:
        other.close()
        anna.close()
        ben.close()


def test_a_polls_outcome_is_announced_and_forgetting_a_source_cleans_up(pg_url: str) -> None:
    store = open_store(pg_url)
    listener = psycopg.connect(pg_url, autocommit=True)
    try:
        listener.execute(f"LISTEN {SOURCES_CHANNEL}")
        store.record_success(SRC, at=FETCHED, next_poll=FETCHED + timedelta(minutes=5), etag="e1")
        assert _notes(listener, 1) == [SRC]
        store.record_failure(SRC, at=FETCHED, reason="HTTP 502\nbad gateway", next_poll=FETCHED)
        assert _notes(listener, 1) == [SRC]
        store.set_backfill(SRC, cursor=7, done=False)  # not a poll's outcome
        store.ingest_page(SRC, _posts(2), fetched_at=FETCHED)
        assert _notes(listener, 0) == []
        row = store.source_row(SRC)
        assert (row["etag"], row["error_count"], row["error_text"], row["cursor"]) == ("e1", 1, "HTTP 502 bad gateway", 7)
        (health,) = store.sources()
        assert (health.name, health.posts, health.enabled) == (SRC, 2, False)
        assert store.forget_source(SRC) == 2 and store.sources() == [] and store.count_posts() == 0
    finally:
        listener.close()
        store.close()


def test_a_source_no_store_knows_is_named_alike_on_both(any_store) -> None:
    from deskapp.core.query import QueryError

    s = any_store
    s.ingest_page(SRC, _posts(1), fetched_at=FETCHED)
    assert s.resolve_sources(["A", "@a", "telegram:a"]) == [SRC]
    with pytest.raises(QueryError, match=r"source:nope: no such source \(sources: a\)"):
        s.check_query("river source:nope")
