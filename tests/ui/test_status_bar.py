"""The status bar at the width it has: at 80x24 the alerts, the sources in trouble, the zone and the
poller's state always show; a wide terminal shows every source and the long wording."""

from __future__ import annotations

from dataclasses import replace

from deskapp.core.model import SourceHealth
from deskapp.ui.widgets.status import StatusBar, status_content
from tests.ui.conftest import FETCHED, build_store, make_app, record_failures, settle

OK = SourceHealth(name="telegram:alpha_news", kind="telegram", handle="alpha_news", label=None, enabled=True,
                  title=None, last_success=FETCHED, last_error=None, error_text=None, error_count=0,
                  next_poll=None, cursor=None, backfill_done=True)


def sources(n_ok: int, failing: list[str]) -> list[SourceHealth]:
    out = [replace(OK, name=f"telegram:harbour_wire_{i}", handle=f"harbour_wire_{i}") for i in range(n_ok)]
    out += [replace(OK, name=f"telegram:{h}", handle=h, last_error=FETCHED, error_text="HTTP 502", error_count=3)
            for h in failing]
    return out


def text(content) -> str:
    return str(content)


def test_every_width_keeps_what_matters_and_fits() -> None:
    many = sources(12, ["beta_wire", "gamma_osint"])
    for width in (40, 60, 78, 100, 160, 240):
        for poller in ("not polling", "polling", "poller stopped: cannot write the store: disk I/O error (x" * 3):
            line = status_content(many, stored=1_234_567, new_since_start=89, time_mode="local", poller=poller,
                                  alerts=3, width=width)
            shown = text(line)
            assert line.cell_length <= width or width < 78, (width, shown)  # narrower: the reason is cut
            assert "⚑ 3" in shown and "(A)" in shown, shown  # alerts first, always
            assert "local" in shown and "1,234,567 stored" in shown, shown
            assert ("not polling" in shown) == (poller == "not polling"), shown
            if width >= 78:
                assert "✖ 2" in shown or ("✖ beta_wire" in shown and "✖ gamma_osint" in shown), shown
                assert "(s: why)" in shown, shown
            if width >= 240:
                assert "beta_wire" in shown and "gamma_osint" in shown, shown


def test_the_longest_form_that_fits_is_chosen() -> None:
    three = sources(3, [])
    wide = text(status_content(three, stored=30, new_since_start=2, time_mode="utc", poller="not polling", width=200))
    assert "harbour_wire_0 ok" in wide and "2 new since start" in wide and "UTC · not polling" in wide
    narrow = text(status_content(three, stored=30, new_since_start=2, time_mode="utc", poller="not polling", width=78))
    assert "3 ok" in narrow and "30 stored" in narrow and "UTC · not polling" in narrow
    assert text(status_content(three, stored=30, new_since_start=2, time_mode="utc", poller="x")) == wide.replace(
        "not polling", "x")  # no width: the full line


async def test_at_80x24_the_zone_and_poller_show_and_widening_shows_every_source(desk_paths) -> None:
    build_store(desk_paths.store, 12)
    record_failures(desk_paths.store, {"telegram:beta_wire": (3, "HTTP 502")})
    app = make_app(desk_paths)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        bar = app.query_one(StatusBar)
        line = text(bar.render())
        assert len(line) <= 78
        assert "beta_wire" in line and "(s: why)" in line and "UTC" in line and "not polling" in line
        await pilot.press("t")
        await settle(pilot)
        assert "local" in text(bar.render())
        await pilot.resize_terminal(200, 40)
        await settle(pilot)
        line = text(bar.render())
        assert "alpha_news ok" in line and "beta_wire failing" in line and "new since start" in line
        assert "local time · not polling" in line
