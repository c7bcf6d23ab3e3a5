"""Politeness that servers cannot break: Retry-After at any size or shape, against the installed desk."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from deskapp.core.fetch import parse_retry_after
from deskapp.core.politeness import RETRY_AFTER_MAX
from tests.adversary.helpers_b import desk_config, needs_desk, run_measured
from tests.scripted_http import ScriptedServer
from tests.wire import make_channel

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        ("9" * 5000, RETRY_AFTER_MAX),
        ("0" * 5000 + "7", 7.0),
        ("Fri, 31 Dec 9999 23:59:59 GMT", RETRY_AFTER_MAX),
        ("Wed, 02 Dec 2026 12:01:00 GMT", 60.0),
        ("Mon, 01 Jan 0001 00:00:00 GMT", 0.0),
        ("Fri, 31 Dec 99999 23:59:59 GMT", None),
        ("-5", None),
        ("1e308", None),
        ("nan", None),
        ("\u0663\u0660", None),  # Arabic-Indic digits: str.isdigit says yes, HTTP says no
        ("x" * 100_000, None),
        ("", None),
    ],
)
def test_retry_after_is_capped_and_safe(value: str, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected


@needs_desk
def test_a_server_cannot_park_a_host_forever(tmp_path: Path) -> None:
    huge = "9" * 5000
    with ScriptedServer() as server:
        server.route("/s/parked_one", b"", 429, {"Retry-After": huge})
        server.route("/s/parked_two", b"", 503, {"Retry-After": "Fri, 31 Dec 9999 23:59:59 GMT"})
        server.channel(make_channel("fine_chan", 3))
        server.channel(make_channel("after_chan", 3))
        cfg = desk_config(tmp_path, server.url, ["fine_chan", "parked_two", "parked_one", "after_chan"])
        code, out, _ = run_measured(["--config", str(cfg), "poll", "--once"])
    assert code == 1 and "Traceback" not in out and "unexpected" not in out, out
    assert f"host paused for {RETRY_AFTER_MAX:.0f} s" in out, out
    assert "after_chan: FAILED: not polled: the host asked for a pause" in out, out  # and --once did not wait
    with sqlite3.connect(tmp_path / "s.db") as con:
        rows = dict(con.execute("SELECT name, next_poll FROM sources WHERE error_count > 0").fetchall())
    assert set(rows) == {"telegram:parked_one", "telegram:parked_two"}
    latest = datetime.now(UTC) + timedelta(seconds=RETRY_AFTER_MAX + 60)
    for when in rows.values():
        assert datetime.fromisoformat(when.replace("Z", "+00:00")) <= latest, rows
