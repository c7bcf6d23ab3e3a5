"""Forged provenance: a post is stored only for the channel and origin that were asked for, and every
stored post says how it was captured (fetched from a URL, when; or imported from a file).

Each attack runs through the real poller against a loopback server (tests/rawwire.py serves exactly
the forged bytes), then the store and the `desk` commands are read as an editor would."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest

from deskapp.cli import main
from deskapp.core.poller import Poller
from deskapp.core.store import Store
from deskapp.core.store_schema import MIGRATIONS, split_sql
from deskapp.demo.tme import FakeChannel, FakePost, page_window, render_page
from tests.hostile import page_mixing
from tests.scripted_http import ScriptedServer
from tests.wire import T0, config_toml, make_channel, settings_for


@pytest.fixture
def wire():
    with ScriptedServer() as w:
        yield w



def once(db: Path, settings) -> list:
    return asyncio.run(Poller(db, settings).run_once())


def posts_by_source(db: Path) -> dict[str, list[int]]:
    with Store.open(db, readonly=True) as store:
        rows = store._conn.execute("SELECT source, post_id FROM posts ORDER BY source, post_id").fetchall()
    out: dict[str, list[int]] = {}
    for source, pid in rows:
        out.setdefault(source, []).append(pid)
    return out


def source(db: Path, name: str):
    with Store.open(db, readonly=True) as store:
        return next(s for s in store.sources() if s.name == name)


def test_posts_naming_another_channel_are_refused_and_the_source_says_so(
        wire: ScriptedServer, tmp_path: Path, home: Path, capsys: pytest.CaptureFixture) -> None:
    alpha = make_channel("alpha", 3)
    beta = FakeChannel("beta", "Beta")
    forged = [(beta, FakePost(7, T0, "words put in beta's mouth")), (beta, FakePost(8, T0, "more"))]
    wire.route("/s/alpha", page_mixing(alpha, forged))
    db = tmp_path / "s.db"
    [summary] = once(db, settings_for(wire, ["alpha"], backfill_pages=0))
    assert summary.ok and summary.new == 3
    assert "2 posts of @beta on the page of @alpha: refused" in summary.message
    assert posts_by_source(db) == {"telegram:alpha": [1, 2, 3]}
    health = source(db, "telegram:alpha")
    assert health.warning and "@beta" in health.warning and health.warning_at is not None
    # `desk sources` shows it on the source's line.
    cfg = tmp_path / "desk.toml"
    cfg.write_text(config_toml(wire, ["alpha"], db, tmp_path / "state"))
    assert main(["--config", str(cfg), "sources"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("telegram:alpha"))
    assert "warning" in line and "2 posts of @beta on the page of @alpha: refused" in line


def test_a_page_of_another_channel_fails_the_source_and_stores_nothing(wire: ScriptedServer, tmp_path: Path) -> None:
    beta = make_channel("beta", 4)
    wire.route("/s/alpha", render_page(beta, beta.posts))
    db = tmp_path / "s.db"
    [summary] = once(db, settings_for(wire, ["alpha"], backfill_pages=0))
    assert not summary.ok and "page refused" in summary.message and "@beta" in summary.message
    assert posts_by_source(db) == {}
    health = source(db, "telegram:alpha")
    assert health.error_count == 1 and "@beta" in (health.error_text or "")
    assert health.title is None  # beta's header is not alpha's either


def test_a_redirect_to_another_origin_is_not_followed(wire: ScriptedServer, tmp_path: Path) -> None:
    with ScriptedServer() as elsewhere:
        alpha = make_channel("alpha", 3)
        elsewhere.route("/s/alpha", render_page(alpha, alpha.posts))
        wire.route("/s/alpha", b"", 302, {"Location": f"{elsewhere.url}/s/alpha"})
        db = tmp_path / "s.db"
        [summary] = once(db, settings_for(wire, ["alpha"], backfill_pages=0))
        assert not summary.ok and "another origin" in summary.message and "not followed" in summary.message
        assert elsewhere.hits == []  # not even asked
    assert posts_by_source(db) == {}


def test_a_redirect_within_the_origin_to_the_same_channel_is_followed_and_recorded(
        wire: ScriptedServer, tmp_path: Path) -> None:
    alpha = make_channel("Alpha", 2)
    wire.route("/s/alpha", b"", 301, {"Location": "/s/Alpha"})
    wire.route("/s/Alpha", render_page(alpha, alpha.posts))
    db = tmp_path / "s.db"
    [summary] = once(db, settings_for(wire, ["alpha"], backfill_pages=0))
    assert summary.ok and summary.new == 2
    with Store.open(db, readonly=True) as store:
        sp = store.get("telegram:alpha", 1)
    assert sp is not None and sp.capture is not None
    assert sp.capture.how == "fetched" and sp.capture.where == f"{wire.url}/s/Alpha"


def test_an_id_twice_with_different_content_keeps_neither_and_a_stored_copy_stays(
        wire: ScriptedServer, tmp_path: Path) -> None:
    alpha = make_channel("alpha", 3)
    wire.route("/s/alpha", render_page(alpha, alpha.posts))
    db = tmp_path / "s.db"
    settings = settings_for(wire, ["alpha"], backfill_pages=0)
    assert once(db, settings)[0].new == 3
    twin = FakePost(2, alpha.posts[1].published, "a different post 2")
    wire.route("/s/alpha", page_mixing(alpha, [(alpha, twin)]))
    [summary] = once(db, settings)
    assert summary.ok and "alpha/2 appears twice" in summary.message
    with Store.open(db, readonly=True) as store:
        kept = store.get("telegram:alpha", 2)
    assert kept is not None and kept.post.text == "alpha post number 2\nsecond line" and kept.revisions == 0


def test_every_post_says_how_it_was_captured_and_cite_json_shows_it(
        wire: ScriptedServer, tmp_path: Path, home: Path, capsys: pytest.CaptureFixture) -> None:
    alpha = make_channel("alpha", 25)
    wire.route("/s/alpha", render_page(alpha, page_window(alpha.posts)))
    wire.route("/s/alpha?before=6", render_page(alpha, page_window(alpha.posts, 6)))
    db = tmp_path / "s.db"
    [summary] = once(db, settings_for(wire, ["alpha"], backfill_pages=2))
    assert summary.ok and summary.new == 25
    with Store.open(db, readonly=True) as store:
        newest, oldest = store.get("telegram:alpha", 25), store.get("telegram:alpha", 1)
    assert newest and newest.capture and newest.capture.where == f"{wire.url}/s/alpha"
    assert oldest and oldest.capture and oldest.capture.where == f"{wire.url}/s/alpha?before=6"
    assert newest.capture.at == newest.first_seen

    # An imported file is allowed, and marked as imported from that file.
    other = make_channel("gamma", 2)
    page = tmp_path / "gamma page.html"
    page.write_text(render_page(other, other.posts), encoding="utf-8")
    assert main(["--db", str(db), "import", str(page)]) == 0
    capsys.readouterr()
    assert main(["--db", str(db), "cite", "--format", "json", "alpha/25", "gamma/1"]) == 0
    items = json.loads(capsys.readouterr().out)
    assert items[0]["captured"] == {"how": "fetched", "from": f"{wire.url}/s/alpha",
                                    "at": newest.capture.to_json()["at"]}
    assert items[1]["captured"]["how"] == "imported" and items[1]["captured"]["from"] == str(page.resolve())
    assert main(["--db", str(db), "cite", "--format", "csl-json", "gamma/1"]) == 0
    [csl] = json.loads(capsys.readouterr().out)
    assert csl["custom"]["captured"]["how"] == "imported"


def test_a_changed_text_moves_its_capture_to_the_revision(wire: ScriptedServer, tmp_path: Path) -> None:
    alpha = make_channel("alpha", 2)
    db = tmp_path / "s.db"
    settings = settings_for(wire, ["alpha"], backfill_pages=0)
    wire.route("/s/alpha", render_page(alpha, alpha.posts))
    once(db, settings)
    alpha.posts[1].text = "corrected"
    wire.route("/s/alpha", render_page(alpha, alpha.posts))
    once(db, settings)
    with Store.open(db, readonly=True) as store:
        sp = store.get("telegram:alpha", 2)
        rev = store._conn.execute("SELECT capture_how, capture_from FROM revisions").fetchall()
    assert sp and sp.post.text == "corrected" and sp.revisions == 1 and sp.capture and sp.capture.how == "fetched"
    assert rev == [("fetched", f"{wire.url}/s/alpha")]


def test_migration_adds_provenance_and_cleans_what_older_stores_kept_raw(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    conn = sqlite3.connect(db, isolation_level=None)
    for migration in MIGRATIONS[:7]:
        if callable(migration):
            migration(conn)
        else:
            for statement in split_sql(migration):
                conn.execute(statement)
    conn.execute("PRAGMA user_version = 7")
    conn.execute("INSERT INTO sources (name, kind, handle, etag, last_modified) VALUES "
                 "('telegram:old', 'telegram', 'old', '\"caf\u00e9\"', 'Mon, 01 Jan 2024 00:00:00 GMT')")
    conn.execute("INSERT INTO posts (key, source, post_id, channel, url, published, text, fwd_name, fwd_url, "
                 "first_seen, last_seen) VALUES (1, 'telegram:old', 1, 'old', 'https://t.me/old/1', "
                 "'2024-01-01T00:00:00Z', 'x', 'o', 'https://t.me/o\x1b]52;c;eA==\x07/\u202e1', "
                 "'2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z')")
    conn.close()
    with Store.open(db) as store:
        sp = store.get("telegram:old", 1)
        row = store.source_row("telegram:old")
    assert sp and sp.capture is None  # not recorded: never a guess
    assert sp.post.forwarded_from and sp.post.forwarded_from.url == "https://t.me/o%1B]52;c;eA==%07/%E2%80%AE1"
    assert row and row["etag"] is None and row["last_modified"] == "Mon, 01 Jan 2024 00:00:00 GMT"


def test_one_import_of_several_files_marks_each_post_with_its_own_file(
        tmp_path: Path, home: Path, capsys: pytest.CaptureFixture) -> None:
    files = []
    for handle in ("one_chan", "two_chan"):
        ch = make_channel(handle, 2)
        path = tmp_path / f"{handle}.html"
        path.write_text(render_page(ch, ch.posts), encoding="utf-8")
        files.append(path)
    db = tmp_path / "s.db"
    assert main(["--db", str(db), "import", *map(str, files)]) == 0  # one bulk transaction
    with Store.open(db, readonly=True) as store:
        got = {h: store.get(f"telegram:{h}", 2) for h in ("one_chan", "two_chan")}
    for (handle, sp), path in zip(got.items(), files, strict=True):
        assert sp is not None and sp.capture is not None, handle
        assert (sp.capture.how, sp.capture.where) == ("imported", str(path.resolve()))


def test_a_recheck_is_not_decided_by_another_channels_page_or_another_origin(wire: ScriptedServer, tmp_path: Path) -> None:
    """The sibling in verify: a context page of beta's posts around alpha/12 would otherwise say
    alpha/12 was deleted."""
    from deskapp.core.evidence import FetchLimits, Result
    from deskapp.core.verify import Target, Verifier

    beta = make_channel("beta", 20)
    wire.route("/s/alpha/12", render_page(beta, beta.posts[8:16]))
    with ScriptedServer() as elsewhere:
        alpha = make_channel("alpha", 20)
        elsewhere.route("/s/alpha/13", render_page(alpha, [p for p in alpha.posts if p.id != 13]))
        wire.route("/s/alpha/13", b"", 302, {"Location": f"{elsewhere.url}/s/alpha/13"})
        with Store.open(tmp_path / "s.db") as store:
            limits = FetchLimits(min_gap=0.0, gap_jitter=0.0, timeout=2.0, backoff_base=60.0)
            checks = asyncio.run(Verifier(store, limits, group=False).recheck(
                [Target("telegram:alpha", i, "alpha", wire.url, "alpha post") for i in (12, 13)]))
    by_id = {c.post_id: c for c in checks}
    assert by_id[12].result is Result.UNCHECKED and "@beta" in by_id[12].detail
    assert by_id[13].result is Result.UNCHECKED and "another origin" in by_id[13].detail


def test_an_album_tile_naming_another_channel_is_not_part_of_the_album() -> None:
    from deskapp.core.sources.telegram import parse_page

    alpha = FakeChannel("alpha", "Alpha")
    alpha.posts.append(FakePost(1, T0, "album", album=[2, 3]))
    html = render_page(alpha, alpha.posts).replace("https://t.me/alpha/3?single", "https://t.me/beta/3?single")
    [post] = parse_page(html, channel="alpha").posts
    assert post.album_ids == [1, 2]
