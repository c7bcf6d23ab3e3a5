"""Times at the edges of the calendar (year 1, year 9999) shown in local time: where the offset has no
local equivalent the time is shown in UTC, marked Z, and nothing that shows a time crashes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from deskapp.core.model import Post
from deskapp.core.store import Store
from deskapp.ui.screens.details import DetailsScreen, _when
from deskapp.ui.text import feed_time, fmt_time, local_time
from tests.ui.conftest import build_store, make_app
from tests.ui.screen_text import screen_text

FIRST = datetime(1, 1, 1, 0, 30, tzinfo=UTC)
LAST = datetime(9999, 12, 31, 23, 30, tzinfo=UTC)


@pytest.fixture(params=["America/New_York", "Asia/Kolkata"])
def zone(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """West of UTC, year 1 has no local time; east of it, 9999-12-31 late has none."""
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield request.param
    monkeypatch.undo()
    time.tzset()


def test_times_without_a_local_equivalent_are_shown_in_utc(zone: str) -> None:
    edge = FIRST if zone == "America/New_York" else LAST
    other = LAST if edge is FIRST else FIRST
    assert local_time(edge) is None
    assert fmt_time(edge, "local") == edge.strftime(f"{edge.year:04d}-%m-%d %H:%MZ")
    assert fmt_time(edge, "local", seconds=True, with_date=False) == ("00:30:00Z" if edge is FIRST else "23:30:00Z")
    assert feed_time(edge, "local") == f"{edge.year:04d}-{edge.month:02d}-{edge.day:02d}  "  # another year
    assert "no local time" in _when(edge, "local") and _when(edge, "utc") == _when(edge, "utc").strip()
    # The other edge has a local time, shown without Z.
    assert local_time(other) is not None and not fmt_time(other, "local").endswith("Z")
    assert fmt_time(FIRST, "utc") == "0001-01-01 00:30Z" and fmt_time(LAST, "utc") == "9999-12-31 23:30Z"


def edge_post(n: int, when: datetime) -> Post:
    return Post(source="telegram:alpha_news", channel="alpha_news", id=5000 + n,
                url=f"https://t.me/alpha_news/{5000 + n}", published=when, text=f"edge post {n}")


async def test_the_desk_shows_edge_times_in_local_time(desk_paths, zone: str, no_clipboard) -> None:
    build_store(desk_paths.store, 3)
    with Store.open(desk_paths.store) as store:
        store.ingest_page("telegram:alpha_news", [edge_post(1, LAST)], fetched_at=LAST)
    app = make_app(desk_paths)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("g", "p")  # the 9999 post is the newest: pin it
        await pilot.press("t")
        assert app.time_mode == "local" and "local time" in screen_text(app)
        assert "9999-12-31" in screen_text(app) or zone == "America/New_York"
        await pilot.press("enter")
        assert isinstance(app.screen, DetailsScreen)
        await pilot.pause()
        await pilot.press("escape")
        await pilot.press("t", "t", "c")
        assert app.is_running
        assert "9999-12-31 23:30 UTC" in desk_paths.last_citation.read_text(encoding="utf-8")


def test_feed_times_cannot_be_misread() -> None:
    """Day and month are never both numbers; another year is written out (as an ISO date)."""
    from datetime import UTC, datetime

    now = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
    assert feed_time(datetime(2026, 12, 2, 14, 5, tzinfo=UTC), "utc", now=now) == " 2 Dec 14:05"
    assert feed_time(datetime(2026, 2, 12, 14, 5, tzinfo=UTC), "utc", now=now) == "12 Feb 14:05"
    assert feed_time(datetime(2025, 12, 2, 14, 5, tzinfo=UTC), "utc", now=now) == "2025-12-02  "
    # Just past New Year in UTC, still last year where the editor is: the year of the zone shown.
    new_year = datetime(2027, 1, 1, 0, 30, tzinfo=UTC)
    assert feed_time(datetime(2026, 12, 31, 23, 50, tzinfo=UTC), "utc", now=new_year) == "2026-12-31  "
    assert len({len(feed_time(datetime(y, m, 9, tzinfo=UTC), "utc", now=now)) for y in (2025, 2026)
                for m in (1, 12)}) == 1  # one column width
