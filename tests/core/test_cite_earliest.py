"""Who posted it first, in citations: the `earliest` option names the first post of the same news beside
a later copy (text, markdown, JSON), from `desk cite --earliest` and from the desk's E."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from deskapp.cli import main
from deskapp.core import cite
from deskapp.core.attention import Attention
from deskapp.core.backend import open_store
from deskapp.core.model import Post
from deskapp.core.settings import AttentionSettings

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
FIRE = "Port authority reports a fire in a warehouse near the east quay; no injuries so far, crews on site."


def post(handle: str, pid: int, text: str, minute: int) -> Post:
    return Post(source=f"telegram:{handle}", channel=handle, id=pid, url=f"https://t.me/{handle}/{pid}",
                published=NOW + timedelta(minutes=minute), text=text, channel_title=handle.replace("_", " ").title())


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path: Path) -> str:
    """The store, as --db names it: a SQLite file, or a new database on the session's PostgreSQL server."""
    if request.param == "sqlite":
        path = str(tmp_path / "s.db")
    else:
        from tests.conftest import new_pg_database

        path = new_pg_database(request.getfixturevalue("pg_server"))
    with open_store(path) as store:
        store.ingest_page("telegram:harbour_watch", [post("harbour_watch", 412, FIRE, 2)], fetched_at=NOW)
        store.ingest_page("telegram:city_desk", [post("city_desk", 97, "Via Harbour Watch: " + FIRE, 15),
                                                 post("city_desk", 98, "Unrelated weather note", 16)],
                          fetched_at=NOW)
        Attention(store, AttentionSettings(notify=False)).drain_all()
    return path


def test_the_earliest_post_is_named_beside_a_later_copy_only(db: str) -> None:
    with open_store(db) as store:
        posts = [store.get("telegram:city_desk", 97), store.get("telegram:harbour_watch", 412),
                 store.get("telegram:city_desk", 98)]
        firsts = store.earliest_posts(posts)
    assert list(firsts) == [("telegram:city_desk", 97)]
    text = cite.render(posts, cite.CiteOptions(earliest=True), earliest=firsts).text
    copy, first, other = [ln for ln in text.splitlines() if ln.startswith("- ")]
    assert "first posted by Harbour Watch (@harbour_watch) at 2026-12-01 09:02 UTC, https://t.me/harbour_watch/412" in copy
    assert "first posted" not in first and "first posted" not in other
    assert "first posted" not in cite.render(posts, cite.CiteOptions(), earliest=firsts).text  # off by default
    data = json.loads(cite.render(posts, cite.CiteOptions(fmt="json", earliest=True), earliest=firsts).text)
    assert data[0]["earliest"]["url"] == "https://t.me/harbour_watch/412" and "earliest" not in data[1]


def test_desk_cite_earliest(db: str, capsys: pytest.CaptureFixture) -> None:
    assert main(["--db", str(db), "cite", "--earliest", "city_desk/97"]) == 0
    assert "first posted by Harbour Watch" in capsys.readouterr().out
    assert main(["--db", str(db), "cite", "city_desk/97"]) == 0
    assert "first posted" not in capsys.readouterr().out
