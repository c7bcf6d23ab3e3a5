"""Races the end-to-end hardening runs found in the desk, pinned down with Pilot.

- Keys typed faster than the desk handles them (a loaded machine, a busy poller) must act in the
  order typed: `p` then `c` copies the new pin; `x` then `c` does not cite the unpinned post.
- The feed's title counts what the store holds, whoever wrote it and wherever the posts landed
  (an empty desk filled by another process, older posts backfilled below the screen).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from textual import events

from deskapp.core.store import Store
from deskapp.paths import Paths
from tests.ui.conftest import T0, add_posts, build_store, make_app, make_post

SIZE = (120, 40)


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    return Paths(config=tmp_path / "c.toml", store=tmp_path / "desk.db", state=tmp_path / "state")


def _type_at_once(app, keys: str) -> None:
    """Queue several keys before the app handles any, as a busy desk receives a fast typist's."""
    for key in keys:
        app.post_message(events.Key(key, key))


async def _until(pilot, predicate, tries: int = 50) -> None:
    for _ in range(tries):
        if predicate():
            return
        await pilot.pause(0.05)


async def test_pin_then_copy_typed_at_once_copies_the_pin(paths: Paths, no_clipboard: None) -> None:
    build_store(paths.store, 10)
    app = make_app(paths)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        newest = app.feed.current
        _type_at_once(app, "pc")
        last = paths.state / "last-citation.txt"
        await _until(pilot, lambda: last.exists() and len(app.pins) == 1)
        assert len(app.pins) == 1
        assert last.exists(), [str(n.message) for n in app._notifications]
        assert newest.url in last.read_text(encoding="utf-8")


async def test_unpin_then_copy_typed_at_once_leaves_the_post_out(paths: Paths, no_clipboard: None) -> None:
    build_store(paths.store, 10)
    with Store.open(paths.store) as store:
        store.pin("telegram:alpha_news", 1009)
        store.pin("telegram:gamma_osint", 1008)
    app = make_app(paths)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.pinboard.focus()
        await pilot.pause()
        first = app.pinboard.current
        assert first is not None
        _type_at_once(app, "xc")
        last = paths.state / "last-citation.txt"
        await _until(pilot, lambda: last.exists() and len(app.pins) == 1)
        text = last.read_text(encoding="utf-8")
        assert first[1].post.url not in text, text
        assert len(app.pins) == 1


async def test_feed_title_counts_posts_another_process_wrote(paths: Paths) -> None:
    Store.open(paths.store).close()
    app = make_app(paths, watch_interval=0.1)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()

        def title() -> str:
            return str(app.query_one("#feed-pane").border_title)

        assert "Live feed · 0 posts" in title()
        add_posts(paths.store, [make_post(i) for i in range(10)])  # into an empty desk
        await _until(pilot, lambda: app.feed.windows.total == 10 and "· 10 posts" in title())
        assert "Live feed · 10 posts" in title()
        # Older posts (a backfill) land below what the editor reads: nothing is "new above", but the
        # count still changes.
        add_posts(paths.store, [make_post(100 + i, published=T0 - timedelta(days=1, minutes=i)) for i in range(5)])
        await _until(pilot, lambda: app.feed.windows.total == 15 and "· 15 posts" in title())
        assert "Live feed · 15 posts" in title()


async def test_store_changes_while_the_desk_closes_are_ignored(paths: Paths) -> None:
    """Poller messages and the store watch outlive the panes while the desk closes (q while posts
    arrive): they must not end the desk with a traceback."""
    from deskapp.core.events import PollEvent, PollEventKind
    from deskapp.ui.messages import PollerEvent
    from deskapp.ui.widgets.feed import FeedView

    build_store(paths.store, 20)
    app = make_app(paths, watch_interval=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await app.screen.remove_children()  # what closing does to the panes
        app.post_message(FeedView.Unseen(3))
        for kind in (PollEventKind.STORED, PollEventKind.STATUS, PollEventKind.FAILED, PollEventKind.STOPPED):
            app.post_message(PollerEvent(PollEvent(kind, "telegram:alpha_news", new=1, message="x")))
        add_posts(paths.store, [make_post(20)])  # the store watch notices and refreshes
        app.call_later(app.store_changed)
        await pilot.pause(0.3)
        assert app.is_running
