"""A desk beside another poller of its store watches it: the status says whose poller it is (pid,
host, since when), and the desk takes over polling when that poller ends. The real Poller, with the
other poller's lock held by this test (an flock on the same file from another descriptor conflicts
as from another process)."""

from __future__ import annotations

import os

from deskapp.config import Settings
from deskapp.core.poll_lock import PollLock
from deskapp.core.poller import Poller
from tests.ui.conftest import build_store, make_app
from tests.ui.screen_text import screen_text

SIZE = (120, 40)


async def test_desk_watches_another_poller_then_takes_over(desk_paths):
    build_store(desk_paths.store, 5)
    other = PollLock(desk_paths.store)
    assert other.try_acquire()

    def quick_poller(path, settings, on_event=None):
        # No sources: polling itself is not what is tested, and nothing may reach the network.
        poller = Poller(path, Settings(sources=[]), on_event=on_event)
        poller.lock_retry = 0.1
        return poller

    app = make_app(desk_paths, watch_interval=30)
    app.poll = True
    app.poller_factory = quick_poller
    try:
        async with app.run_test(size=SIZE) as pilot:
            for _ in range(60):
                await pilot.pause(0.05)
                if "watching" in app.poller_state:
                    break
            assert app.poller_state == "watching another poller"
            assert "watching another poller" in screen_text(app)
            [said] = [str(n.message) for n in app._notifications if "polling this store" in str(n.message)]
            assert f"another poller (pid {os.getpid()} on " in said and " since " in said and "watching it" in said
            other.release()
            for _ in range(60):
                await pilot.pause(0.05)
                if app.poller_state == "polling":
                    break
            assert app.poller_state == "polling"
            assert not other.try_acquire()  # the desk holds the store's poller lock now
            await pilot.press("q")
    finally:
        other.release()
