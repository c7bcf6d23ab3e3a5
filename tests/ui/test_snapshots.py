"""SVG snapshots of the desk (pytest-textual-snapshot). Fixed data, fixed size, UTC, poll=False.

Regenerate after an intended change with:
    pytest tests/ui/test_snapshots.py --snapshot-update
and look at the SVGs in tests/ui/__snapshots__/ before committing them.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from deskapp.core.store import Store
from deskapp.paths import Paths
from tests.ui.conftest import (
    FETCHED,
    add_posts,
    build_store,
    make_app,
    make_post,
    make_settings,
    record_failures,
)

SIZE = (120, 40)


def keys(*names: str):
    """A run_before that presses the keys, then removes the toasts (they only echo what the keys did)."""

    async def run(pilot) -> None:
        await pilot.press(*names)
        pilot.app.clear_notifications()
        await pilot.pause()
        await pilot.wait_for_scheduled_animations()  # a dialog's focus and fade settle first
        await pilot.pause()

    return run


@pytest.fixture
def snap_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Paths:
    # Relative paths so no tmp folder name appears on screen.
    monkeypatch.chdir(tmp_path)
    return Paths(config=Path("config.toml"), store=Path("desk.db"), state=Path("state"))


def test_main_screen_with_pins(snap_compare, snap_paths):
    build_store(snap_paths.store, 60, hostile=True)
    app = make_app(snap_paths, make_settings(watch=["harbour"]), demo_banner="DEMO: a local replay of a wire")
    assert snap_compare(app, terminal_size=SIZE, run_before=keys("j", "j", "p", "j", "j", "j", "p", "j"))


def test_pinboard_focused_with_note(snap_compare, snap_paths):
    build_store(snap_paths.store, 30)
    app = make_app(snap_paths)
    flow = keys("p", "j", "p", "j", "p", "tab", "G", "K", "e", *"2nd src", "enter", "F")
    assert snap_compare(app, terminal_size=SIZE, run_before=flow)


def test_details_screen(snap_compare, snap_paths):
    build_store(snap_paths.store, 5, extra=[make_post(100, channel="beta_wire",
                                                      text="First wording [@click=app.quit] https://example.org/a")])
    add_posts(snap_paths.store, [make_post(100, channel="beta_wire",
                                           text="Second wording [bold]not bold[/bold]\nhttps://example.org/b")])
    app = make_app(snap_paths)
    assert snap_compare(app, terminal_size=SIZE, run_before=keys("enter"))


def test_help_screen(snap_compare, snap_paths):
    build_store(snap_paths.store, 5)
    app = make_app(snap_paths)
    assert snap_compare(app, press=["question_mark"], terminal_size=(120, 45))


def test_text_filter(snap_compare, snap_paths):
    build_store(snap_paths.store, 60)
    app = make_app(snap_paths)
    assert snap_compare(app, terminal_size=SIZE, run_before=keys("slash", *"beta", "enter"))


def test_new_posts_above(snap_compare, snap_paths):
    build_store(snap_paths.store, 60)
    app = make_app(snap_paths, watch_interval=30)

    async def arrive(pilot) -> None:
        await pilot.press("j", "j", "j")
        add_posts(snap_paths.store, [make_post(60 + i) for i in range(4)])
        pilot.app._check_data_version()
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=arrive)


def test_sources_screen(snap_compare, snap_paths):
    build_store(snap_paths.store, 9)
    record_failures(snap_paths.store, {"telegram:beta_wire": (3, "HTTP 502 from t.me")}, retry_in=10)
    app = make_app(snap_paths)
    assert snap_compare(app, press=["s"], terminal_size=SIZE)


def test_store_error(snap_compare, snap_paths):
    snap_paths.store.write_bytes(b"not a database" * 20)
    app = make_app(snap_paths)
    assert snap_compare(app, terminal_size=(100, 20))


# Every dialog draws as a bordered box over the desk (their CSS once never matched: full-screen, no border).

def test_note_dialog(snap_compare, snap_paths):
    build_store(snap_paths.store, 30)
    app = make_app(snap_paths)
    assert snap_compare(app, terminal_size=SIZE, run_before=keys("p", "tab", "e", *"checked"))


def test_heading_dialog(snap_compare, snap_paths):
    build_store(snap_paths.store, 30)
    app = make_app(snap_paths)
    assert snap_compare(app, terminal_size=SIZE, run_before=keys("p", "H"))


def test_confirm_dialog(snap_compare, snap_paths):
    build_store(snap_paths.store, 30)
    app = make_app(snap_paths)
    assert snap_compare(app, terminal_size=SIZE, run_before=keys("p", "j", "p", "X"))


def test_source_dialog(snap_compare, snap_paths):
    build_store(snap_paths.store, 30)
    app = make_app(snap_paths)
    assert snap_compare(app, terminal_size=SIZE, run_before=keys("f"))


# The desk at the size it has: three pins at 80x24 (text kept, footer whole), their citation in one
# key, and the same desk on a wide terminal.

def test_three_pins_80x24(snap_compare, snap_paths):
    build_store(snap_paths.store, 30)
    app = make_app(snap_paths)
    assert snap_compare(app, terminal_size=(80, 24), run_before=keys("p", "j", "p", "j", "p"))


def test_citation_screen_80x24(snap_compare, snap_paths):
    build_store(snap_paths.store, 30)
    app = make_app(snap_paths)
    assert snap_compare(app, terminal_size=(80, 24), run_before=keys("p", "j", "p", "j", "p", "C"))


def test_three_pins_200x50(snap_compare, snap_paths):
    build_store(snap_paths.store, 60)
    app = make_app(snap_paths)
    assert snap_compare(app, terminal_size=(200, 50), run_before=keys("p", "j", "p", "j", "p", "tab", "e", *"ok", "enter"))


def test_cite_options_dialog_80x24(snap_compare, snap_paths):
    """O: what the citation carries, for this desk; two switched (excerpt on, notes off)."""
    build_store(snap_paths.store, 30)
    app = make_app(snap_paths, desk="night")
    assert snap_compare(app, terminal_size=(80, 24), run_before=keys("p", "O", "space", "down", "space"))


def test_status_bar_80x24(snap_compare, snap_paths):
    """A source failing, another backing off, an unseen alert, local time, not polling: all on one
    80-column line (tests/ui/test_status_bar.py covers the other widths)."""
    build_store(snap_paths.store, 30)
    record_failures(snap_paths.store, {"telegram:beta_wire": (3, "HTTP 502"), "telegram:gamma_osint": (1, "timeout")})
    app = make_app(snap_paths)

    async def run(pilot) -> None:
        app.store._write(lambda c: c.execute(
            "INSERT INTO alerts (key, source, post_id, rule, what, kind, at) "
            "SELECT key, source, post_id, 'raid', 'air raid', 'rule', '2026-03-01T18:01:00Z' FROM posts "
            "ORDER BY key DESC LIMIT 1"))
        app.check_alerts()
        await keys("t")(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run)


def _alerts_store(path: Path) -> None:
    """Posts and alerts recorded at fixed times (the attention worker stamps the clock's time)."""
    from deskapp.core.model import utc_iso

    build_store(path, 8, extra=[make_post(20, channel="beta_wire", text="Air raid sirens over the east quay [b]x[/b]"),
                                make_post(21, channel="gamma_osint", text="Evacuation ordered for the harbour district")])
    with Store.open(path) as store:
        rows = [(store.get(make_post(i, channel=c).source, 1000 + i), rule, what, minute)
                for i, c, rule, what, minute in ((20, "beta_wire", "raid", "air raid", 1),
                                                 (21, "gamma_osint", "evacuations", "evacuation", 2))]
        store._write(lambda c: c.executemany(
            "INSERT INTO alerts (key, source, post_id, rule, what, kind, at) VALUES (?, ?, ?, ?, ?, 'rule', ?)",
            [(p.key, p.post.source, p.post.id, rule, what, utc_iso(FETCHED + timedelta(minutes=m)))
             for p, rule, what, m in rows]))


@pytest.mark.parametrize("size", [(80, 24), (200, 50)], ids=["80x24", "200x50"])
def test_alerts_screen(snap_compare, snap_paths, size):
    _alerts_store(snap_paths.store)
    app = make_app(snap_paths)
    assert snap_compare(app, terminal_size=size, run_before=keys("A"))


@pytest.mark.parametrize("size", [(80, 24), (200, 50)], ids=["80x24", "200x50"])
def test_rule_dialog_with_an_error(snap_compare, snap_paths, size):
    build_store(snap_paths.store, 8)
    app = make_app(snap_paths)
    assert snap_compare(app, terminal_size=size,
                        run_before=keys("R", "a", *"ads", "tab", "tab", *'"promo code', "enter"))
