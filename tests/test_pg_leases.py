"""Leases of sources to pollers on one PostgreSQL store (core/pg/leases.py): fair shares, handover on
release, and a source under way never given back. Three real `desk poll` processes sharing a wire,
one SIGKILLed, are tests/test_pg_poll.py."""

from __future__ import annotations

from deskapp.core.backend import open_store
from deskapp.core.model import SourceConfig
from deskapp.core.pg.leases import LeaseKeeper, poller_name


def _sources(n: int) -> list[SourceConfig]:
    return [SourceConfig(name=f"telegram:c{i:02d}", kind="telegram", handle=f"c{i:02d}") for i in range(n)]


def test_keeper_shares_and_hands_over(pg_url: str) -> None:
    with open_store(pg_url) as s:
        s.sync_sources(_sources(6))
        a, b = LeaseKeeper(s, "a", lease_s=60), LeaseKeeper(s, "b", lease_s=60)
        assert len(a.round()) == 6  # alone: everything
        assert b.round() == []  # nothing free yet; a gives back its excess at its next round
        assert len(a.round()) == 3 and len(b.round()) == 3
        assert set(a.round()).isdisjoint(b.round())
        a.release()
        assert len(b.round()) == 6


def test_a_source_being_polled_is_kept_over_the_share(pg_url: str) -> None:
    with open_store(pg_url) as s:
        s.sync_sources(_sources(4))
        a, b = LeaseKeeper(s, poller_name(), lease_s=60), LeaseKeeper(s, poller_name(), lease_s=60)
        assert a.name != b.name
        assert len(a.round()) == 4
        b.round()  # b is alive: a's share is 2 from its next round
        busy = ["telegram:c01", "telegram:c02", "telegram:c03"]
        assert a.round(busy) == busy  # over its share while polling them, but never mid-poll
        assert b.round() == ["telegram:c00"]
        assert a.round(["telegram:c03"]) == ["telegram:c01", "telegram:c03"]  # back to its share
        assert b.round() == ["telegram:c00", "telegram:c02"]


def test_long_dead_pollers_are_forgotten(pg_url: str) -> None:
    with open_store(pg_url) as s:
        s.sync_sources(_sources(2))
        s._pg_write(lambda cur: cur.execute(
            "INSERT INTO pollers VALUES ('dead:1:aa', now() - interval '1 hour'), ('late:2:bb', now() - interval '5 s')"))
        LeaseKeeper(s, "a", lease_s=10).round()
        names = s._pg_read(lambda cur: [r[0] for r in cur.execute("SELECT name FROM pollers ORDER BY name")])
        assert names == ["a", "late:2:bb"]
