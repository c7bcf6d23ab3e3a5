"""Hostile content through the real server, poller, parser and store; the citation refuses bad links."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

import pytest

from deskapp.core import cite
from deskapp.core.poller import Poller
from deskapp.core.sources.telegram import parse_page
from deskapp.core.store import Store
from deskapp.demo.server import WireServer
from deskapp.demo.tme import FakeChannel, FakePost, render_page
from tests.hostile import HOSTILE_HTML, HOSTILE_TEXTS, hostile_channel, is_terminal_safe
from tests.wire import T0, settings_for


def test_hostile_posts_are_stored_clean(tmp_path: Path) -> None:
    with WireServer() as server:
        ch = hostile_channel()
        server.add(ch)
        [summary] = asyncio.run(Poller(tmp_path / "s.db", settings_for(server, [ch.handle])).run_once())
    assert summary.ok, summary.message
    store = Store.open(tmp_path / "s.db")
    try:
        posts = [store.get(f"telegram:{ch.handle}", p.id) for p in ch.posts]
        assert all(posts)
        for sp in posts:
            p = sp.post
            for value in (p.text, p.author or "", p.channel_title or "", p.views or "",
                          p.forwarded_from.name if p.forwarded_from else ""):
                assert is_terminal_safe(value), (p.id, value)
        texts = {sp.post.id: sp.post.text for sp in posts}
        # Markup arrives as literal text (rendering without markup is the UI's job, tested there).
        assert "[@click=app.quit]" in texts[list(HOSTILE_TEXTS).index("markup_click") + 1]
        # Escape sequences go whole: no "]52;c;" residue that a later layer could re-arm.
        for text in texts.values():
            assert "]52;" not in text and "]8;;" not in text and "HACKED" not in text
        nested = texts[len(HOSTILE_TEXTS) + list(HOSTILE_HTML).index("nested") + 1]
        assert nested == "deep"
        script = texts[len(HOSTILE_TEXTS) + list(HOSTILE_HTML).index("script") + 1]
        assert "alert" not in script
        # The citation refuses the javascript: forward link with a visible reason, never emits it.
        fwd = posts[-1]
        result = cite.render([fwd])
        assert "javascript:" not in result.text
        assert result.refused and "not http or https" in result.refused[0].reason
        assert "[refused:" in result.text
    finally:
        store.close()


def test_big_inputs_stay_bounded(tmp_path: Path) -> None:
    """A 1 MB post, a page of 10^4 posts and deeply nested HTML parse in bounded time."""
    ch = FakeChannel("big_chan", "Big")
    ch.posts.append(FakePost(1, T0, "word " * 200_000))  # 1 MB of text
    t = time.perf_counter()
    page = parse_page(render_page(ch, ch.posts))
    assert len(page.posts[0].text) >= 999_000
    assert time.perf_counter() - t < 5

    many = FakeChannel("many_chan", "Many")
    many.posts = [FakePost(i, T0 + timedelta(seconds=i), f"post {i}") for i in range(1, 10_001)]
    t = time.perf_counter()
    page = parse_page(render_page(many, many.posts))
    assert len(page.posts) == 10_000 and time.perf_counter() - t < 10
    store = Store.open(tmp_path / "s.db")
    try:
        res = store.ingest_page("telegram:many_chan", page.posts, fetched_at=T0)
        assert res.new == 10_000
    finally:
        store.close()

    # Deeply nested HTML: refused unread (the HTML parser is quadratic in depth), in bounded time.
    for snippet in ("<div>" * 100_000 + "bottom" + "</div>" * 100_000,
                    "<div><b></b>" * 50_000 + "bottom" + "</div>" * 50_000):
        deep = FakeChannel("deep_chan", "Deep")
        deep.posts = [FakePost(1, T0, "", raw_text_html=snippet)]
        t = time.perf_counter()
        page = parse_page(render_page(deep, deep.posts))
        assert time.perf_counter() - t < 2
        assert page.kind.value == "suspicious_empty" and "deep" in page.reason
    # Moderately nested HTML (below the limit) is read normally.
    deep.posts = [FakePost(1, T0, "", raw_text_html="<div>" * 300 + "bottom" + "</div>" * 300)]
    page = parse_page(render_page(deep, deep.posts))
    assert page.posts and page.posts[0].text == "bottom"


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe\xfa invalid utf-8 \xc3\x28 <html><body>nothing</body></html>",
        "<html><head><meta charset=windows-1251></head><body>Привет</body></html>".encode("cp1251"),
        b"\x00\x01\x02" * 1000,
        b"",
        b"<" * 100_000,
    ],
)
def test_garbage_pages_never_crash(body: bytes) -> None:
    page = parse_page(body)
    assert page.kind.value in ("no_preview", "suspicious_empty", "no_posts")
    assert not page.posts


def test_invalid_utf8_inside_a_real_page_is_replaced_not_fatal() -> None:
    ch = FakeChannel("enc_chan", "Enc")
    ch.posts = [FakePost(1, T0, "MARKER")]
    raw = render_page(ch, ch.posts).encode().replace(b"MARKER", b"bad \xff\xfe bytes")
    page = parse_page(raw)
    assert page.posts and "bytes" in page.posts[0].text and is_terminal_safe(page.posts[0].text)
