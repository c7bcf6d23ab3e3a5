"""Three real `desk poll` processes on one PostgreSQL store, each running its own attention worker
with the same alert rule: every post the wire serves alerts exactly once, and nothing stays
queued, while all three store pages and drain at once (the forced interleavings of two drainers are
in tests/core/test_attention.py; this is the whole path, processes and all). Bounded in time."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from deskapp.core.backend import open_store
from tests.e2e.tmux import DESK
from tests.pollers import CountingWire, Farm, wait_for

CHANNELS = 12
POSTS = 5
INTERVAL = 1.0

pytestmark = pytest.mark.skipif(DESK is None, reason="the `desk` console script is not installed (pip install -e .)")


@dataclass
class AlertingFarm(Farm):
    """Pollers whose settings raise an alert for every post ("second line" is in each one's text)."""

    def config(self, name: str) -> Path:
        path = super().config(name)
        path.write_text(path.read_text(encoding="utf-8") + '[attention]\nnotify = false\n'
                        '[[alert]]\nname = "every"\nwords = ["second"]\n', encoding="utf-8")
        return path


def _alerts(url: str) -> tuple[int, int, int]:
    """(alerts, distinct (post, rule) among them, posts still queued)."""
    with psycopg.connect(url) as conn:
        total, distinct = conn.execute("SELECT count(*), count(DISTINCT (key, rule)) FROM alerts").fetchone()
        return total, distinct, conn.execute("SELECT count(*) FROM attention_queue").fetchone()[0]


def test_three_pollers_alert_each_post_once(pg_url: str, tmp_path: Path) -> None:
    wire = CountingWire(CHANNELS, POSTS).start()
    farm = AlertingFarm(pg_url, wire, tmp_path, interval=INTERVAL, lease=3.0)
    open_store(pg_url).close()  # the schema, before the pollers race to make it
    try:
        for name in ("p1", "p2", "p3"):
            farm.start(name)
        first = CHANNELS * POSTS
        assert wait_for(lambda: _alerts(pg_url)[0] >= first and not _alerts(pg_url)[2], 90), \
            (_alerts(pg_url), farm.output("p1"))
        for h in wire.handles:  # new posts while all three poll and drain
            wire.add_post(h)
        assert wait_for(lambda: _alerts(pg_url)[0] >= first + CHANNELS and not _alerts(pg_url)[2], 60), \
            (_alerts(pg_url), farm.output("p2"))
        total, distinct, queued = _alerts(pg_url)
        assert (total, distinct, queued) == (first + CHANNELS, first + CHANNELS, 0)
        with open_store(pg_url) as s:
            assert s.count_posts() == first + CHANNELS
    finally:
        farm.stop_all()
        wire.stop()
