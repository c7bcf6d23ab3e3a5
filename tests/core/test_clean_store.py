"""Every stored field is clean: one gate (sanitize.clean_post / clean_channel) cleans every field of a
post or a source before it is stored and before `desk parse` prints it.

The proof walks every column of every table after the hostile generator's pages went in by every
way in (the poller over loopback, `desk import`, a pin note, a refusal reason), and reads the bytes
`desk search --json` and `desk parse` print."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from pathlib import Path

import pytest

from deskapp.cli import main
from deskapp.core.model import ForwardedFrom, Post
from deskapp.core.poller import Poller
from deskapp.core.sanitize import clean_post
from deskapp.core.store import Store
from deskapp.demo.server import WireServer
from deskapp.demo.tme import FakeChannel, render_page
from tests.hostile import ESC, hostile_channel, is_terminal_safe
from tests.wire import T0, settings_for

# In a URL, also no zero-width or space character (stored percent-encoded instead).
URL_HIDES = re.compile("[\\s\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
URL_COLUMNS = {("posts", "url"), ("posts", "fwd_url"), ("posts", "reply_to"), ("posts", "capture_from"),
               ("revisions", "capture_from")}


def unsafe_cells(db: Path) -> list[tuple[str, str, str]]:
    """(table, column, value) of every text cell a terminal would obey, or a URL that hides itself."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        bad = []
        for table in tables:
            try:
                cur = conn.execute(f'SELECT * FROM "{table}"')
            except sqlite3.OperationalError as exc:  # a contentless FTS5 table keeps no text to read
                assert "does not support scanning" in str(exc), exc
                continue
            cols = [d[0] for d in cur.description]
            for row in cur:
                for col, value in zip(cols, row, strict=True):
                    if not isinstance(value, str):
                        continue
                    if not is_terminal_safe(value) or ((table, col) in URL_COLUMNS and URL_HIDES.search(value)):
                        bad.append((table, col, value))
        return bad
    finally:
        conn.close()



def test_every_column_of_every_table_is_clean_after_the_hostile_pages(
        tmp_path: Path, home: Path, capsys: pytest.CaptureFixture) -> None:
    db = tmp_path / "s.db"
    ch = hostile_channel()
    with WireServer() as server:
        server.add(ch)
        server.add(FakeChannel("closed_chan", f"Closed {ESC}]0;x\x07"))
        server.no_preview.add("closed_chan")
        summaries = asyncio.run(Poller(db, settings_for(server, [ch.handle, "closed_chan"])).run_once())
    assert summaries[0].ok and summaries[0].new == len(ch.posts)
    assert not summaries[1].ok  # a refusal reason, from a page whose title is hostile, is stored too
    # The same pages by file, under a file name that is itself an escape sequence.
    hostile_name = tmp_path / f"page{ESC}]0;owned\x07.html"
    other = hostile_channel("hostile_file")
    hostile_name.write_text(render_page(other, other.posts), encoding="utf-8")
    assert main(["--db", str(db), "import", str(hostile_name)]) == 0
    with Store.open(db) as store:
        store.pin("telegram:hostile_chan", 1, note=f"note {ESC}[2J\u202e")
        # A caller that bypasses the parser (another tool) is gated by the store all the same.
        raw = Post(source="telegram:tool", channel=f"to{ESC}[1mol", id=5, url=f"https://t.me/tool/5{ESC}[0m",
                   published=T0, text=f"x{ESC}]52;c;eA==\x07y\x9b1m", author="a\x85b", views="9\x07",
                   views_count=2**70, forwarded_from=ForwardedFrom("n\u202e", f"https://e.example/{ESC}\\"),
                   reply_to="https://t.me/tool/4\u2066", media=[f"photo{ESC}[5m"], channel_title="T\x9d0;x\x9c")
        res = store.ingest_page("telegram:tool", [raw], fetched_at=T0)
        assert res.new == 1
        assert store.get("telegram:tool", 5).post.views_count is None  # type: ignore[union-attr]
    capsys.readouterr()
    assert unsafe_cells(db) == []

    # Nothing of it comes back out through the JSON commands either.
    for query in ("copy", "bidi", "forwarded", "x"):
        assert main(["--db", str(db), "search", "--json", "--limit", "100", query]) == 0
        out = capsys.readouterr().out
        assert out and is_terminal_safe(out) and "\\u001b" not in out and "\\u202e" not in out
        for line in out.splitlines():
            assert set(json.loads(line)) >= {"url", "forwarded_from", "author", "views"}


def test_desk_parse_prints_only_clean_fields(tmp_path: Path, home: Path, capsys: pytest.CaptureFixture) -> None:
    ch = hostile_channel()
    page = tmp_path / "hostile.html"
    page.write_text(render_page(ch, ch.posts), encoding="utf-8")
    assert main(["--db", str(tmp_path / "s.db"), "parse", str(page)]) == 0
    out = capsys.readouterr().out
    lines = [json.loads(x) for x in out.splitlines()]
    assert len(lines) == len(ch.posts)
    assert is_terminal_safe(out) and "\\u001b" not in out and "\\u009b" not in out and "\\u202e" not in out
    fwd = lines[-2]["forwarded_from"]
    assert fwd == {"name": "Origin", "url": "https://t.me/or%1B]52;c;Zm9yd2FyZA==%07ig%E2%80%AE%E2%80%8Bin/5"}
    assert lines[-2]["views"] == "1.2K"


def test_the_gate_is_idempotent_and_keeps_clean_posts_as_they_are() -> None:
    post = Post(source="telegram:a", channel="a", id=1, url="https://t.me/a/1", published=T0,
                text="Zero\u200dwidth joiners stay; \u202fspacing too", views="1\u202f234", views_count=1234,
                forwarded_from=ForwardedFrom("B", "https://t.me/b/2"), media=["photo"], album_ids=[1, 2])
    assert clean_post(post) == post
    dirty = Post(source="telegram:a", channel="a", id=1, url="https://t.me/a/1 x", published=T0,
                 album_ids=[0, 2**64, 5], views="7", views_count=-1)
    once = clean_post(dirty)
    assert clean_post(once) == once
    assert once.url == "https://t.me/a/1%20x" and once.album_ids == [5] and once.views_count is None


def test_a_link_that_hides_itself_once_decoded_is_not_cited() -> None:
    from deskapp.core.sanitize import url_problem

    stored = "https://t.me/or%1B]52;c;ZXZpbA==%07ig%E2%80%AE%E2%80%8Bin/5"
    assert url_problem(stored) == "URL hides control, bidi or zero-width characters (percent-encoded)"
    assert url_problem("https://example.com/a%20b%D0%B0?q=%C3%A9") is None  # ordinary escapes are fine


def test_desk_parse_of_another_kind_passes_the_same_gate(tmp_path: Path, home: Path,
                                                         capsys: pytest.CaptureFixture) -> None:
    feed = tmp_path / "feed.xml"
    feed.write_bytes(
        b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T\x1b]0;x\x07 chan</title>'
        b"<link>https://e.example/</link><item><title>a\x1b[31m title</title>"
        b"<link>https://e.example/1\xe2\x80\xae</link><guid>g1</guid><pubDate>Mon, 01 Jun 2026 10:00:00 +0000</pubDate>"
        b"<description>x \xc2\x9b1m body \x1b]52;c;eA==\x07</description><author>me\xc2\x85x</author></item>"
        b"</channel></rss>")
    assert main(["--db", str(tmp_path / "s.db"), "parse", "--kind", "rss", str(feed)]) == 0
    out = capsys.readouterr().out
    [line] = [json.loads(x) for x in out.splitlines()]
    assert is_terminal_safe(out) and "\\u001b" not in out and "\\u202e" not in out
    assert line["url"] == "https://e.example/1%E2%80%AE" and "52;c" not in line["text"]
