"""The nesting guard measures the nesting lexbor really builds: for every hostile pattern we know it
never reports less than lexbor's own tree (within the 3 levels lexbor adds: html, body, a text node),
and a page past the limit is refused quickly, with the reason."""

from __future__ import annotations

import time

import pytest
from selectolax.lexbor import LexborHTMLParser

from deskapp.core.model import PageKind
from deskapp.core.sources import telegram
from deskapp.core.sources.html_depth import nesting_depth
from tests.samples import TELEGRAM, needs_samples

PATTERNS = {
    "unmatched end tag": b"<div></span>",
    "self-closing syntax on a normal element": b"<div/>",
    "end tag inside script": b"<div><script></div></script>",
    "end tag inside a double-escaped script": b"<div><script><!--<script></script></div></script>",
    "end tag inside a comment": b"<div><!--</div>-->",
    "end tag inside an attribute value": b'<div title="</div>">',
    "end tag inside textarea": b"<div><textarea></div></textarea>",
    "end tag inside a bogus comment": b"<div></3</div>>",
    "other end tag stopped by a special element": b"<span><div></span>",
    "end tag stopped by a scope boundary": b"<div><object></div>",
    "formatting end tag around a block": b"<b><div></b>",
    "form end tag": b"<form><div></form>",
    "body end tag": b"<div><div></body>",
    "html end tag": b"<div></html>",
    "NUL in the tag name": b"<div\x00></div>",
    "vertical tab in the tag name": b"<div\x0b></div>",
    "upper case": b"<DIV></SPAN>",
    "implied table parts": b"<table><tr><td>",
    "MathML text integration point": b"<math><mi><div></mi>",
    "SVG desc": b"<svg><desc><div></desc>",
    "noscript is markup here": b"<noscript><div>",
    "list items": b"<ul><li>",
    "definition lists": b"<dl><dt><div>",
    "font": b"<font><div>",
    "plain nesting": b"<div><span>",
}


def lexbor_depth(html: bytes) -> int:
    best, stack = 0, [(LexborHTMLParser(html).root, 1)]
    while stack:
        node, depth = stack.pop()
        best = max(best, depth)
        child = node.child
        while child is not None:
            stack.append((child, depth + 1))
            child = child.next
    return best


@pytest.mark.parametrize("pattern", PATTERNS.values(), ids=PATTERNS.keys())
def test_guard_never_measures_less_than_lexbor_builds(pattern: bytes) -> None:
    html = b"<html><body>" + pattern * 1200
    assert nesting_depth(html) >= lexbor_depth(html) - 3


def test_well_formed_pages_measure_what_they_nest() -> None:
    html = b"<html><body>" + (b"<div><p><b>x</b><br><img src=a></p></div>" * 2000)
    assert nesting_depth(html) == 5  # html, body, div, p, b


def test_a_page_nested_by_ignored_end_tags_is_refused_quickly() -> None:
    html = b"<html><body>" + b"<div></span>" * 120_000  # 1.4 MB: stalled a poll for minutes before
    t0 = time.perf_counter()
    page = telegram.parse_page(html, url="https://t.me/s/x", final_url="https://t.me/s/x")
    took = time.perf_counter() - t0
    assert page.kind is PageKind.SUSPICIOUS_EMPTY and "levels deep" in (page.reason or "")
    assert took < 2.0, took  # the guard stops at the limit; lexbor never sees the page


@needs_samples
def test_real_pages_pass_the_guard() -> None:
    for path in sorted(TELEGRAM.glob("*.html")):
        data = path.read_bytes()
        assert nesting_depth(data) <= lexbor_depth(data) + 8, path
