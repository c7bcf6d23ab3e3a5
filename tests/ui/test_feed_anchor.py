"""The post under the cursor is the post the editor chose: no commit, at any moment, moves it.

The feed reads the store off the UI thread in one read transaction (deskapp.ui.widgets.feed.read_state)
and anchors the cursor and the viewport to the post's key. These tests force the bad order (a commit
landing between placing the cursor and reading the rows drawn) with the `after_anchor` hook, and
compress minutes of poller bursts into a bounded run while the editor sits or scrolls far down.
"""

from __future__ import annotations

import random
import threading

from deskapp.core.store import Store
from tests.ui.conftest import FETCHED, add_posts, build_store, make_app, make_post, settle
from tests.ui.screen_text import screen_text

SMALL = (80, 24)
WIDE = (200, 50)


def feed_lines(app) -> list[str]:
    """The feed pane's post lines as drawn, without the scrollbar column (its thumb moves as the feed
    grows) and without the pane's title (its count changes)."""
    height = app.feed.page_height
    lines = screen_text(app).splitlines()[1 : 1 + height]
    return [line[:-3] for line in lines]


def where(app) -> tuple[int, int]:
    """(key of the post under the cursor, its screen row)."""
    feed = app.feed
    return feed.current.key, feed.cursor - round(feed.scroll_y)


async def refresh_now(app, pilot) -> None:
    """What the store watch does when it sees a commit, without waiting for its timer."""
    app._refresh_from_store()
    await settle(pilot)


async def test_a_commit_between_placing_the_cursor_and_drawing_moves_nothing(desk_paths):
    build_store(desk_paths.store, 900)
    app = make_app(desk_paths, watch_interval=30)
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press(*["pagedown"] * 30, "j", "j")  # far down: past the first windows
        await settle(pilot)
        chosen, row = where(app)
        shown = feed_lines(app)
        assert app.feed.cursor > 200
        landed: list[int] = []
        next_id = iter(range(2000, 3000))

        def commit_now() -> None:  # runs in the reader, after the cursor was placed
            add_posts(desk_paths.store, [make_post(next(next_id)) for _ in range(7)])
            landed.append(7)

        app.feed.after_anchor = commit_now
        add_posts(desk_paths.store, [make_post(next(next_id)) for _ in range(5)])
        await refresh_now(app, pilot)
        assert landed == [7]  # the hook ran: the bad order happened
        assert where(app) == (chosen, row)
        assert feed_lines(app) == shown
        # The next read sees those 7 as well; still nothing moves.
        app.feed.after_anchor = None
        await refresh_now(app, pilot)
        assert where(app) == (chosen, row) and feed_lines(app) == shown
        assert app.feed.windows.total == 900 + 5 + 7
        # A commit after the cursor is placed and before the frame is drawn (the order of the
        # original bug: the paint read rows the cursor was not placed for).
        apply = app.feed._apply_state

        def apply_then_commit(*args) -> None:
            apply(*args)
            add_posts(desk_paths.store, [make_post(next(next_id)) for _ in range(4)])

        app.feed._apply_state = apply_then_commit
        add_posts(desk_paths.store, [make_post(next(next_id))])
        await refresh_now(app, pilot)
        app.feed._apply_state = apply
        assert where(app) == (chosen, row) and feed_lines(app) == shown
        assert app.feed.windows.total == 900 + 5 + 7 + 1  # the 4 are for the next read
        # What is drawn is what the store holds around the post.
        cursor = app.feed.cursor
        above = [app.feed.windows.row(i).key for i in range(cursor - row, cursor)]
        with app.store.snapshot():
            truth = [r.key for r in app.store.feed(row, after_key=chosen)]
        assert above == truth


async def test_bursts_while_the_editor_sits_or_scrolls_far_down(desk_paths):
    """Minutes of bursts, compressed: 60 rounds of 1-40 new posts, some committed inside the read,
    some by a writer thread running all along; the editor now and then scrolls. The post under the
    cursor and its screen row change only when the editor moves."""
    build_store(desk_paths.store, 1200)
    app = make_app(desk_paths, watch_interval=30)
    rng = random.Random(12)
    next_id = iter(range(5000, 100_000))
    lock = threading.Lock()

    def burst(n: int) -> None:
        with lock:
            ids = [next(next_id) for _ in range(n)]
        add_posts(desk_paths.store, [make_post(i) for i in ids])

    stop = threading.Event()

    def writer() -> None:  # a poller that never waits for the desk: its own connection
        with Store.open(desk_paths.store) as store:
            while not stop.wait(0.03):
                with lock:
                    ids = [next(next_id) for _ in range(3)]
                posts = [make_post(i) for i in ids]
                for p in posts:
                    store.ingest_page(p.source, [p], fetched_at=FETCHED)

    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("G", *["k"] * 12)  # the oldest posts: as far down as the feed goes
        await settle(pilot)
        thread = threading.Thread(target=writer, daemon=True)
        thread.start()
        try:
            chosen = where(app)
            for n in range(60):
                if n % 10 == 9:  # the editor moves: the new place is the one to keep
                    await pilot.press(rng.choice(["k", "pageup", "j"]))
                    await settle(pilot)
                    chosen = where(app)
                if rng.random() < 0.5:
                    app.feed.after_anchor = lambda: burst(rng.randint(1, 40))
                else:
                    app.feed.after_anchor = None
                burst(rng.randint(1, 40))
                await refresh_now(app, pilot)
                assert where(app) == chosen, f"round {n}"
        finally:
            stop.set()
            thread.join(5)
        app.feed.after_anchor = None
        await refresh_now(app, pilot)
        assert where(app) == chosen
        with app.store.snapshot():
            assert app.feed.windows.total == app.store.feed_count()
            # The index carried forward from read to read is the true one.
            assert app.feed.cursor == app.store.feed_count(after_key=app.feed.cursor_key)


async def test_reads_while_the_editor_holds_a_key(desk_paths):
    """A read answered after the editor moved keeps the post the editor is on now."""
    build_store(desk_paths.store, 600)
    app = make_app(desk_paths, watch_interval=30)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press(*["pagedown"] * 6)
        await settle(pilot)
        started = threading.Event()
        go_on = threading.Event()

        def hold() -> None:  # the reader waits until the editor has moved
            started.set()
            go_on.wait(5)

        app.feed.after_anchor = hold
        add_posts(desk_paths.store, [make_post(3000 + i) for i in range(9)])
        app._refresh_from_store()
        for _ in range(100):
            if started.is_set():
                break
            await pilot.pause(0.01)
        await pilot.press("j", "j", "j")
        moved_to = where(app)
        go_on.set()
        await settle(pilot)
        app.feed.after_anchor = None
        assert where(app) == moved_to
        assert app.feed.windows.total == 609


def test_the_anchor_index_carried_forward_is_the_counted_one(desk_paths):
    """read_state(since=...) skips the count above the anchor only when every post added since is
    newer than the newest then; a backfill above the anchor (older than the newest) is counted."""
    from datetime import timedelta

    from deskapp.ui.widgets.feed import read_state
    from tests.ui.conftest import T0

    build_store(desk_paths.store, 500)

    with Store.open(desk_paths.store) as store:
        anchor = store.feed_at(300, 1)[0].key

    def read(since=None):
        with Store.open(desk_paths.store) as store:
            return anchor, read_state(store, query=None, sources=None, anchor_key=anchor, screen_row=5,
                                      height=20, seen_key=0, since=since)

    _, first = read()
    assert first.anchor_index == 300
    add_posts(desk_paths.store, [make_post(1000 + i) for i in range(7)])  # newer than everything
    _, carried = read(since=(first.anchor_index, first.total, first.newest))
    assert carried.anchor_index == 307 and carried.total == 507
    # Backfill between the newest and the anchor: the total grows by more than what is above the
    # newest, so the index is counted again (and is right).
    late = [make_post(2000 + i, published=T0 + timedelta(minutes=450, seconds=i)) for i in range(4)]
    add_posts(desk_paths.store, late)
    _, counted = read(since=(carried.anchor_index, carried.total, carried.newest))
    with Store.open(desk_paths.store) as store:
        assert counted.anchor_index == store.feed_count(after_key=anchor) == 311
