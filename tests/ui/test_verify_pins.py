"""Verifying pins in the desk: a pin is captured, `v` re-checks the board, the pinboard and the compose
pane show each pin's last result, and copying warns (never blocks) about stale or changed pins.
Real HTTP on 127.0.0.1: the wire's posts change and vanish between fetches."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from deskapp.config import Settings
from deskapp.core.backend import open_store
from deskapp.core.evidence import EvidenceLog
from deskapp.core.poller import Poller
from deskapp.demo.server import WireServer
from deskapp.paths import Paths
from tests.ui.screen_text import screen_text
from tests.wire import make_channel, settings_for

SIZE = (120, 36)


async def wait_for(pilot, cond, seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await pilot.pause(0.05)
        if cond():
            return True
    return False


def checks_of(db: Path | str) -> dict:
    with open_store(db) as store:
        return EvidenceLog(store).latest()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_pin_captures_v_rechecks_and_copy_warns(tmp_path: Path, no_clipboard, backend: str,
                                                       request: pytest.FixtureRequest) -> None:
    from deskapp.ui.app import DeskApp

    with WireServer() as server:
        server.add(make_channel("alpha", 6))
        settings: Settings = settings_for(server, ["alpha"], interval=30.0, min_interval=30.0, max_interval=30.0)
        db: Path | str = tmp_path / "desk.db"
        url = None
        if backend == "postgresql":
            from tests.conftest import new_pg_database

            db = url = new_pg_database(request.getfixturevalue("pg_server"))
        await asyncio.to_thread(lambda: asyncio.run(Poller(db, settings).run_once()))
        paths = Paths(config=tmp_path / "c.toml", store=tmp_path / "desk.db", state=tmp_path / "state",
                      store_url=url)
        app = DeskApp(settings=settings, paths=paths, poll=True, watch_interval=0.2)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await pilot.press("p", "j", "p")  # alpha/6 and alpha/5
            assert await wait_for(pilot, lambda: len(checks_of(db)) == 2), checks_of(db)
            assert {c.result.value for c in checks_of(db).values()} == {"captured"}
            assert await wait_for(pilot, lambda: "ok now" in screen_text(app))
            assert "Checks: #1 ok now · #2 ok now" in screen_text(app)

            # Between fetches: 6 deleted, 5 edited. `v` on the pinboard re-checks both.
            ch = server.channels["alpha"]
            ch.posts[4].text = "alpha post number 5 — corrected"
            ch.posts = [p for p in ch.posts if p.id != 6]
            app.pinboard.focus()
            await pilot.press("v")
            assert await wait_for(pilot, lambda: "DELETED now" in screen_text(app)), screen_text(app)
            text = screen_text(app)
            assert "EDITED now" in text and "Checks: #1 DELETED now · #2 EDITED now" in text, text
            assert await wait_for(pilot, lambda: any("Re-checked 2 pins" in n.message for n in app._notifications))

            # Copy: done, with a warning that a cited post changed or vanished.
            await pilot.press("c")
            await pilot.pause()
            last = list(app._notifications)[-1]
            assert "2 posts" in last.message and "Careful: 2 cited posts changed or gone" in last.message
            assert last.severity == "warning"
            assert (paths.last_citation).read_text().startswith("Wire provenance")
            await pilot.press("q")


async def test_copy_warns_when_pins_were_not_checked_lately(tmp_path: Path, no_clipboard) -> None:
    from tests.ui.conftest import build_store, make_app

    paths = Paths(config=tmp_path / "c.toml", store=build_store(tmp_path / "desk.db", 5), state=tmp_path / "s")
    app = make_app(paths)  # poll=False: nothing is fetched on pin
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p")
        await pilot.pause()
        assert checks_of(paths.store) == {}
        assert "#1 never checked" in screen_text(app) and "1 not checked in 30 min (v)" in screen_text(app)
        await pilot.press("c")
        await pilot.pause()
        last = list(app._notifications)[-1]
        assert "1 post" in last.message and "1 pin not re-checked in the last 30 min" in last.message
        assert paths.last_citation.exists()  # warned, not blocked


def test_compose_line_counts_on_a_long_board() -> None:
    from datetime import UTC, datetime, timedelta

    from deskapp.core.evidence import Check, Result
    from deskapp.core.model import CheckKind
    from deskapp.ui.verifying import PER_PIN_MAX, PinChecks

    now = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    keys = [("telegram:alpha", i) for i in range(PER_PIN_MAX + 2)]
    pc = PinChecks(None, Settings(), Path("unused.db"))  # type: ignore[arg-type]
    results = [Result.UNCHANGED] * (len(keys) - 3) + [Result.DELETED, Result.EDITED]
    for key, result in zip(keys, results, strict=False):  # the last pin never checked
        pc.checks[key] = pc.answered[key] = Check(*key, CheckKind.RECHECK, result, now - timedelta(minutes=45))
    line = pc.summary(keys, now).plain
    assert line == (f"Checks: 1 DELETED · 1 EDITED · 1 never checked · {len(keys) - 3} ok · oldest 45 min ago"
                    f" · {len(keys)} not checked in 30 min (v)")
