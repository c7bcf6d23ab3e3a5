"""Both stores implement the interface the desk and the CLI are written against (core/store_api.py):
every method with the same parameters, so the UI never meets a call one backend lacks (the review
found the two stores drifting: the feed's hide_muted existed on one only)."""

from __future__ import annotations

import inspect

import pytest

from deskapp.core.pg.store import PgStore
from deskapp.core.store import Store
from deskapp.core.store_api import NOT_ON_POSTGRESQL, DeskStore

METHODS = sorted(name for name, value in vars(DeskStore).items()
                 if inspect.isfunction(value) and not name.startswith("_"))


def _params(fn) -> list[tuple[str, object, bool]]:
    """(name, kind, has a default) of each parameter: what a caller relies on; annotations aside."""
    return [(p.name, p.kind, p.default is not inspect.Parameter.empty)
            for p in inspect.signature(fn).parameters.values()]


def test_the_interface_names_what_the_desk_calls() -> None:
    assert {"feed", "feed_count", "feed_at", "pins", "restore_pins", "snapshot", "data_version"} <= set(METHODS)
    assert set(METHODS) >= NOT_ON_POSTGRESQL


@pytest.mark.parametrize("name", METHODS)
def test_both_stores_have_it_alike(name: str) -> None:
    declared = _params(getattr(DeskStore, name))
    assert _params(getattr(Store, name)) == declared, f"Store.{name}"
    if name in NOT_ON_POSTGRESQL:
        assert not hasattr(PgStore, name), f"PgStore.{name} exists now: take it out of NOT_ON_POSTGRESQL"
        return
    assert _params(getattr(PgStore, name)) == declared, f"PgStore.{name}"
