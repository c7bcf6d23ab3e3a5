"""One bad value costs that value, never the page, the source or the desk: times at year 1 and 9999
(with offsets that leave datetime's range, and without), view counts past int64, ids of 0 and 2^64,
cursors of 10^30 and a non-ASCII ETag, through a real loopback server and the poller, and through
`desk parse` and `desk import`."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from deskapp.cli import main
from deskapp.core.poller import Poller
from deskapp.core.store import Store
from tests.hostile import EDGE_HANDLE, EDGE_KEPT, EDGE_REFUSED, edge_values_page
from tests.scripted_http import ScriptedServer
from tests.wire import settings_for

SOURCE = f"telegram:{EDGE_HANDLE}"



def once(db: Path, settings) -> list:
    return asyncio.run(Poller(db, settings).run_once())


def test_the_poller_keeps_the_sound_posts_and_every_later_poll_works(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with ScriptedServer() as wire:
        wire.route(f"/s/{EDGE_HANDLE}", edge_values_page(), headers={"ETag": '"caf\u00e9-\u00ff"'})
        settings = settings_for(wire, [EDGE_HANDLE], backfill_pages=3)
        [first] = once(db, settings)
        assert first.ok, first.message
        assert first.new == len(EDGE_KEPT)
        assert f"refused {len(EDGE_REFUSED)} items: post edgy/102:" in first.message
        # Later polls work: nothing the first page left behind (a cursor, a validator) breaks them.
        for _ in range(2):
            [later] = once(db, settings)
            assert later.ok, later.message
            assert later.new == 0
        sent = [h.headers.get("If-None-Match") for h in wire.hits_for(f"/s/{EDGE_HANDLE}")]
        assert set(sent) == {None}  # a validator that cannot be sent back is not kept
    with Store.open(db, readonly=True) as store:
        ids = [r[0] for r in store._conn.execute("SELECT post_id FROM posts ORDER BY post_id")]
        row = store.source_row(SOURCE) or {}
        health = next(s for s in store.sources() if s.name == SOURCE)
        views = {pid: store.get(SOURCE, pid).post.views_count for pid in ids}  # type: ignore[union-attr]
    assert ids == sorted(EDGE_KEPT)
    assert views == {101: 5, 104: None, 105: None, 108: 5}  # the count goes, the post stays
    assert row["etag"] is None and row["cursor"] in (None, 101) and row["error_count"] == 0
    assert health.warning and "refused" in health.warning


def test_a_validator_an_older_store_kept_does_not_fail_every_poll(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with ScriptedServer() as wire:
        wire.route(f"/s/{EDGE_HANDLE}", edge_values_page())
        settings = settings_for(wire, [EDGE_HANDLE], backfill_pages=0)
        with Store.open(db) as store:
            store.sync_sources(settings.sources)
            # Written behind the store's back, as a desk before the gate would have kept it.
            store._conn.execute("UPDATE sources SET etag = ?, last_modified = ? WHERE name = ?",
                             ['"caf\u00e9"', "\u00ff", SOURCE])
        [summary] = once(db, settings)
        assert summary.ok, summary.message
        assert wire.hits_for(f"/s/{EDGE_HANDLE}")[0].headers.get("If-None-Match") is None


def test_desk_parse_and_import_keep_the_sound_posts(tmp_path: Path, home: Path,
                                                    capsys: pytest.CaptureFixture) -> None:
    page = tmp_path / "edge.html"
    page.write_text(edge_values_page(), encoding="utf-8")
    db = tmp_path / "s.db"
    assert main(["--db", str(db), "parse", str(page)]) == 0
    out, err = capsys.readouterr()
    assert [json.loads(x)["id"] for x in out.splitlines()] == sorted(EDGE_KEPT)
    assert err.count("refused") == len(EDGE_REFUSED) and "Traceback" not in err
    assert main(["--db", str(db), "import", str(page)]) == 0
    out = capsys.readouterr().out
    assert f"imported: {len(EDGE_KEPT)} new" in out and out.count("refused") == len(EDGE_REFUSED)
    assert main(["--db", str(db), "search", "--json", "edge"]) == 0
    assert sorted(json.loads(x)["id"] for x in capsys.readouterr().out.splitlines()) == sorted(EDGE_KEPT)
