"""Writers of one store in one process take turns first come, first served (core/write_turns.py).

The poller's page commit used to wait seconds behind the attention thread, which committed back to
back while SQLite's busy handler slept. The orders below are forced with events, never by sleeping.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

from deskapp.core.model import Post
from deskapp.core.store import Store
from deskapp.core.write_turns import WriteTurns

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
WAIT = 30.0  # seconds before a forced order is declared broken (never reached when it holds)


def _wait_for(cond, what: str) -> None:
    done = threading.Event()
    for _ in range(int(WAIT / 0.001)):
        if cond():
            return
        done.wait(0.001)
    raise AssertionError(f"never happened: {what}")


def test_a_waiting_writer_goes_before_the_holder_writes_again(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    busy, other = Store.open(path), Store.open(path)
    order: list[str] = []
    inside, release = threading.Event(), threading.Event()

    def first(conn) -> None:
        order.append("busy 1")
        inside.set()
        assert release.wait(WAIT)

    def back_to_back() -> None:  # like the attention thread draining a backlog
        busy._write(first)
        busy._write(lambda conn: order.append("busy 2"))

    def page() -> None:  # like the poller committing a page
        other.ingest_page("telegram:a", [Post(source="telegram:a", channel="a", id=1, url="https://t.me/a/1",
                                              published=NOW, text="news")], fetched_at=NOW)
        order.append("page")

    try:
        assert busy._turns is other._turns  # one line per file in this process
        a = threading.Thread(target=back_to_back)
        a.start()
        assert inside.wait(WAIT)
        b = threading.Thread(target=page)
        b.start()
        _wait_for(lambda: busy._turns.waiting() == 1, "the page's writer waits for its turn")
        release.set()
        a.join(WAIT)
        b.join(WAIT)
        assert order == ["busy 1", "page", "busy 2"]
        assert other.get("telegram:a", 1) is not None
    finally:
        release.set()
        busy.close()
        other.close()


def test_turns_are_reentrant_and_a_thread_that_gives_up_loses_its_place_only() -> None:
    turns = WriteTurns()
    with turns.turn(), turns.turn():  # a write inside a write of the same thread does not wait for itself
        assert turns.waiting() == 0
    order: list[str] = []
    held, release = threading.Event(), threading.Event()

    def holder() -> None:
        with turns.turn():
            held.set()
            assert release.wait(WAIT)

    def quitter() -> None:
        try:
            with turns.turn():
                order.append("quitter")  # pragma: no cover - it gives up before its turn
        except KeyboardInterrupt:
            order.append("gave up")

    def later() -> None:
        with turns.turn():
            order.append("later")

    h = threading.Thread(target=holder)
    h.start()
    assert held.wait(WAIT)
    # The quitter's wait is interrupted (as Ctrl-C would): its ticket must not block those behind it.
    real_wait = turns._cond.wait

    def interrupted_wait(timeout=None):
        if threading.current_thread().name == "quitter":
            raise KeyboardInterrupt
        return real_wait(timeout)

    turns._cond.wait = interrupted_wait  # type: ignore[method-assign]
    q = threading.Thread(target=quitter, name="quitter")
    q.start()
    q.join(WAIT)
    lt = threading.Thread(target=later)
    lt.start()
    _wait_for(lambda: turns.waiting() == 1, "the later writer waits")
    release.set()
    h.join(WAIT)
    lt.join(WAIT)
    assert order == ["gave up", "later"]
    assert turns.waiting() == 0
