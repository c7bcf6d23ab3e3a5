"""The source-kind interface: every kind satisfies it, the registry finds kinds, Telegram adapts."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime

import pytest

from deskapp.core.model import PageKind, SourceConfig
from deskapp.core.sources import KINDS, base, kind_of, sniff
from deskapp.core.sources.base import Response, hash63, int_id
from deskapp.core.sources.html_text import html_to_text
from deskapp.demo.tme import FakeChannel, FakePost, render_page


def test_every_kind_has_the_interface():
    members = [name for name, _ in inspect.getmembers(base.SourceKind) if not name.startswith("_")]
    for kind in KINDS.values():
        for name in members + ["name", "platform", "default_base"]:
            assert hasattr(kind, name), (kind, name)
    assert set(KINDS) == {"telegram", "rss", "bluesky", "mastodon"}


def test_kind_of_source_names():
    assert kind_of("rss:https://a.example/f").name == "rss"
    assert kind_of("Bluesky:bsky.app").name == "bluesky"
    assert kind_of("durov").name == "telegram"
    with pytest.raises(ValueError, match="unknown source kind 'gopher'"):
        kind_of("gopher:x")


def test_a_telegram_only_desk_loads_no_other_kind(tmp_path) -> None:
    """Each kind is imported when asked for: settings and a poll of Telegram channels alone never load
    feedparser (~6 MB and ~15 ms of every `desk poll` and desk start-up) or the other kinds."""
    import subprocess
    import sys

    cfg = tmp_path / "desk.toml"
    cfg.write_text('[telegram]\nchannels = ["durov"]\n[rss]\ninterval = 600\n', encoding="utf-8")
    code = ("import sys; from pathlib import Path; from deskapp import config; "
            "from deskapp.core.sources import kind_of, sniff; "
            f"s = config.load(Path({str(cfg)!r})); [kind_of(x.name) for x in s.sources]; "
            "sniff(b'<div class=\"tgme_widget_message\"></div>'); "
            "print(sorted(m for m in sys.modules if m.startswith(('feedparser', 'deskapp.core.sources.'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split() == ["['deskapp.core.sources.base',", "'deskapp.core.sources.html_depth',",
                                  "'deskapp.core.sources.telegram']"], out.stdout


def test_telegram_adapter():
    tg = KINDS["telegram"]
    ch = FakeChannel("DeskNews", "Desk News", posts=[
        FakePost(i, datetime(2026, 12, 1, 10, i, tzinfo=UTC), text=f"post {i}") for i in range(30, 51)])
    html = render_page(ch, ch.posts[-20:]).encode()
    entry = SourceConfig(name="telegram:desknews", kind="telegram", handle="DeskNews")
    req = tg.first_request(entry)
    assert req.url == "https://t.me/s/DeskNews" and req.conditional
    parsed = tg.parse(Response(html, url=req.url, final_url=req.url), req)
    assert parsed.page.kind is PageKind.OK and [p.id for p in parsed.page.posts] == list(range(31, 51))
    assert parsed.cursor == "31"
    older = tg.first_request(entry, parsed.cursor)
    assert older.url == "https://t.me/s/DeskNews?before=31" and not older.conditional
    assert tg.permalink("https://t.me/s/DeskNews/44?single") == "https://t.me/DeskNews/44"
    assert tg.source_name("@DeskNews") == "telegram:desknews"
    assert sniff(html) is tg and tg.fallback(entry, req, 403) is None


def test_sniff_unknown():
    assert sniff(b"hello") is None and sniff(b"") is None


def test_ids():
    assert hash63("a") == hash63("a") != hash63("b") and 0 <= hash63("\ud800x") < 2**63
    assert int_id("9223372036854775807") == 2**63 - 1
    assert int_id("9223372036854775808") is None and int_id("12a") is None and int_id("") is None
    assert int_id("\u0661\u0662") is None  # Arabic-Indic digits are not an id


@pytest.mark.parametrize(("html", "text"), [
    (None, ""),
    ("plain words", "plain words"),
    ("<p>a</p><p>b<br>c</p>", "a\n\nb\nc"),
    ("<ul><li>one</li><li>two</li></ul>", "one\n\ntwo"),
    ("<p>x<script>alert(1)</script><style>p{}</style></p>", "x"),
    ("Fish &amp; chips", "Fish & chips"),
])
def test_html_to_text(html, text):
    assert html_to_text(html) == text
