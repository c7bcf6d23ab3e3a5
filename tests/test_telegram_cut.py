"""The decorations cut from a preview page's bytes before lexbor reads it (telegram._without_decorations).

A cut page must read exactly as the whole page does, and only elements of the checked shapes may go.
Every trap of test_telegram_traps.py also runs both ways; here: what is cut and what is not, pages of
odd shape, hostile repetition, and the real captures when ../shared is there.
"""

from __future__ import annotations

import html as html_lib
import random
import time

import pytest

from benchmarks.bench_parse import generate_page
from deskapp.core.model import PageKind
from deskapp.core.sources import telegram
from deskapp.core.sources.telegram import parse_page
from tests.samples import TELEGRAM, needs_samples
from tests.test_telegram_traps import TAIL, block, page

# The reactions as real pages write them (the traps' own block() has another shape, which stays).
REAL_REACTIONS = ('<div class="tgme_widget_message_reactions js-message_reactions"><span class="tgme_reaction '
                  'tgme_reaction_paid"><i class="icon icon-telegram-stars"></i>6.74K</span><span class="tgme_reaction">'
                  '<tg-emoji emoji-id="5265077361648368841"></tg-emoji>53.9K</span></div>')
TRAPS_REACTIONS = ('<div class="tgme_widget_message_reactions js-message_reactions"><span class="tgme_reaction">'
                   '<i class="emoji"><b>👍</b></i>12</span></div>')
DECORATIONS = (b'"tgme_widget_message_bubble_tail"', b'"tgme_widget_message_user"', b'"media_not_supported_cont"',
               b'"tgme_widget_message_reactions js-message_reactions"')


def real_block(post: str, **kw: str) -> str:
    return block(post, **kw).replace(TRAPS_REACTIONS, REAL_REACTIONS)


def both_ways(data: bytes | str, monkeypatch: pytest.MonkeyPatch, **kw: str):
    """The page parsed with the decorations cut, and read whole."""
    monkeypatch.setattr(telegram, "_CUT_FROM", 0)
    cut = parse_page(data, **kw)
    monkeypatch.setattr(telegram, "_CUT_FROM", 10**12)
    whole = parse_page(data, **kw)
    return cut, whole


def wire_page(n: int = 6) -> str:
    return page(*(real_block(f"wirechan/{10 + i}", text=f"Post {i}<br/>line two") for i in range(n)), prev=10)


# ---------------------------------------------------------------------------------------- what goes


def test_every_decoration_of_our_page_is_cut_and_the_page_reads_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    data = wire_page().encode()
    cut = telegram._without_decorations(data)
    for gone in DECORATIONS:
        assert gone in data and gone not in cut
    for kept in (b'"tgme_widget_message_bubble"', b"js-message_text", b"tgme_widget_message_meta", b'data-post="'):
        assert cut.count(kept) == data.count(kept)
    got, whole = both_ways(data, monkeypatch)
    assert got == whole and got.kind == PageKind.OK and len(got.posts) == 6
    assert got.posts[0].text == "Post 0\nline two" and got.posts[0].views_count == 1200


def test_the_generated_benchmark_page_loses_more_than_half_its_bytes_and_reads_the_same(
        monkeypatch: pytest.MonkeyPatch) -> None:
    data = generate_page().encode()
    assert len(telegram._without_decorations(data)) < len(data) / 2
    got, whole = both_ways(data, monkeypatch)
    assert got == whole and len(got.posts) == 20


def test_the_head_style_sheet_goes_only_when_it_holds_no_markup_and_ends_the_head() -> None:
    base = wire_page(2)
    style = "<style>.user-color-1 { --accent: #3391d4; }</style>"
    cut = telegram._without_decorations(base.replace("</head>", style + "\n </head>").encode())
    assert b"<style>" not in cut
    for odd in ("<style>.a { } </style><b>x</b>", "<style>/* </b> */ .a {}</style>"):
        kept = telegram._without_decorations(base.replace("</head>", odd + "</head>").encode())
        assert b"<style>" in kept


def test_small_pages_are_read_whole_and_text_input_is_cut_like_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    small = wire_page(1)
    assert len(small.encode()) < telegram._CUT_FROM
    monkeypatch.setattr(telegram, "_without_decorations", lambda data: pytest.fail("a small page was cut"))
    assert parse_page(small).kind == PageKind.OK
    monkeypatch.undo()
    big = generate_page()
    assert parse_page(big) == parse_page(big.encode())


# ------------------------------------------------------------------------------------ what stays


def test_a_first_tail_of_another_shape_leaves_the_page_whole() -> None:
    odd_tail = TAIL.replace("</g>", "</g><foreignObject><div>x</div></foreignObject>")
    data = wire_page().replace(TAIL, odd_tail).encode()
    assert telegram._without_decorations(data) is data


ODDITIES = {
    "tail": (DECORATIONS[0], lambda b: b.replace(TAIL, TAIL.replace("M8,1", "M7,1"))),
    "avatar": (DECORATIONS[1], lambda b: b.replace('data-content="W"', 'data-content="X"')),
    "fallback": (DECORATIONS[2], lambda b: b.replace("VIEW IN TELEGRAM</a>", "VIEW IN <b>TELEGRAM</b></a>")),
    "reactions": (DECORATIONS[3], lambda b: b.replace('"tgme_reaction">', '"tgme_reaction"><a href="/x"></a>', 1)),
}


@pytest.mark.parametrize("odd", list(ODDITIES))
def test_a_block_whose_decoration_differs_keeps_it_and_the_others_are_cut(
        odd: str, monkeypatch: pytest.MonkeyPatch) -> None:
    marker, change = ODDITIES[odd]
    blocks = [real_block(f"wirechan/{10 + i}", text=f"Post {i}") for i in range(4)]
    blocks[2] = change(blocks[2])
    data = page(*blocks).encode()
    cut = telegram._without_decorations(data)
    assert data.count(marker) == 4 and cut.count(marker) == 1
    if odd == "tail":
        # Blocks are found by their tails: the odd block keeps its avatar, and the block before it
        # its fallback and reactions (only the last of each before the next tail is looked at).
        assert all(cut.count(other) == 1 for other in DECORATIONS)
    else:
        assert all(cut.count(other) == 0 for other in DECORATIONS if other != marker)
    got, whole = both_ways(data, monkeypatch)
    assert got == whole and [p.id for p in got.posts] == [10, 11, 12, 13]


def test_a_fallback_link_with_a_quote_or_bracket_is_not_cut() -> None:
    data = page(real_block("wirechan/10"), real_block("wirechan/11")).replace(
        'href="https://t.me/wirechan/11" class="message_media_view_in_telegram"',
        'href="https://t.me/wirechan/11>" class="message_media_view_in_telegram"').encode()
    assert telegram._without_decorations(data).count(b"media_not_supported_cont") == 1


def test_decoration_markup_written_in_a_post_stays_its_text(monkeypatch: pytest.MonkeyPatch) -> None:
    # Post text reaches the page escaped: what looks like a tail or reactions there is text.
    shown = TAIL + REAL_REACTIONS
    data = page(real_block("wirechan/10", text=html_lib.escape(shown)), real_block("wirechan/11")).encode()
    got, whole = both_ways(data, monkeypatch)
    assert got == whole
    assert got.posts[0].text == shown


def test_a_tail_in_a_comment_or_an_attribute_changes_nothing_that_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    decoy = f'<!-- {TAIL} --><div title=\'{TAIL}\'></div>'
    data = wire_page().replace("<main ", decoy + "<main ").encode()
    got, whole = both_ways(data, monkeypatch)
    assert got == whole and len(got.posts) == 6


# ------------------------------------------------------------------- the checks still hold when cut


def test_a_forged_channel_is_refused_on_a_cut_page(monkeypatch: pytest.MonkeyPatch) -> None:
    forged = page(*(real_block(f"otherchan/{10 + i}") for i in range(3)), real_block("wirechan/20")).encode()
    got, whole = both_ways(forged, monkeypatch, channel="wirechan")
    assert got == whole
    assert [p.id for p in got.posts] == [20]
    assert any("3 posts of @otherchan" in r for r in got.refused)


def test_two_different_copies_of_one_id_are_refused_on_a_cut_page(monkeypatch: pytest.MonkeyPatch) -> None:
    data = page(real_block("wirechan/10", text="one"), real_block("wirechan/10", text="other"),
                real_block("wirechan/11")).encode()
    got, whole = both_ways(data, monkeypatch)
    assert got == whole and [p.id for p in got.posts] == [11]


def test_the_depth_bound_holds_for_what_is_left_after_the_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    deep = "<div>" * 5000 + "x" + "</div>" * 5000
    data = page(real_block("wirechan/10", text=deep), real_block("wirechan/11")).encode()
    assert len(data) > telegram._CUT_FROM
    got, whole = both_ways(data, monkeypatch)
    assert got.kind == whole.kind == PageKind.SUSPICIOUS_EMPTY
    assert "levels deep" in (got.reason or "")


def test_a_page_of_repeated_tail_openings_is_cut_in_linear_time() -> None:
    # 2 MB of tail openings after one real block: each is looked at once (a few ms); then the depth
    # bound refuses the page unparsed.
    data = (wire_page(1) + telegram._TAIL_START.decode() * 48_000).encode()
    start = time.perf_counter()
    got = parse_page(data)
    assert time.perf_counter() - start < 5
    assert got.kind == PageKind.SUSPICIOUS_EMPTY and "levels deep" in (got.reason or "")
    tiny = "<i class=\"tgme_widget_message_bubble_tail\"><svg></svg></i>"
    start = time.perf_counter()
    telegram._without_decorations((wire_page(1) + tiny * 40_000).encode())
    assert time.perf_counter() - start < 5


# ------------------------------------------------------------------------- many pages, at random

_TEXTS = ["Plain words", "Line one<br/>line two<br><br/>three", "Emoji 🎭 and &amp; &#33; entities",
          html_lib.escape(TAIL), html_lib.escape(REAL_REACTIONS), html_lib.escape("<style>b{}</style></head>"),
          html_lib.escape('<div class="tgme_widget_message_user"><a href="x">'), "<b>bold</b> <i>it</i>",
          '<a href="https://t.me/wirechan/3?single">album-looking link</a>', "Please open Telegram to view this post"]
_WS = ["", " ", "\n", "\n    \n        ", "\t"]


def _random_page(rng: random.Random) -> str:
    blocks = []
    for i in range(rng.randint(1, 8)):
        channel = "wirechan" if rng.random() < 0.85 else "otherchan"
        post_id = 10 + (i if rng.random() < 0.9 else 0)  # now and then the same id twice
        b = real_block(f"{channel}/{post_id}", text=" ".join(rng.sample(_TEXTS, rng.randint(1, 3))))
        for _name, (_marker, change) in ODDITIES.items():
            if rng.random() < 0.15:
                b = change(b)
        if rng.random() < 0.2:
            b = b.replace(REAL_REACTIONS, "")  # a post without reactions
        if rng.random() < 0.2:
            b = b.replace(REAL_REACTIONS, '<a class="tgme_widget_message_link_preview" href="https://example.org/">'
                          '<div class="link_preview_title">A link</div></a>' + REAL_REACTIONS)
        # The layout's whitespace, which differs between captures.
        b = b.replace('</a></div><div class="tgme_widget_message_bubble">',
                      f'</a></div>{rng.choice(_WS)}<div class="tgme_widget_message_bubble">{rng.choice(_WS)}')
        b = b.replace("</div></div></div>" + REAL_REACTIONS[:20], "</div></div></div>" + rng.choice(_WS)
                      + REAL_REACTIONS[:20])
        blocks.append(b)
    html = page(*blocks)
    if rng.random() < 0.5:
        sheet = rng.choice(["<style>.user-color-1 { --a: #fff; }</style>", "<style>a<b</style>", "<STYLE>x</STYLE>"])
        html = html.replace("</head>", sheet + rng.choice(_WS) + "</head>")
    return html


def test_random_pages_of_our_layout_read_the_same_cut_or_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    # Escaped look-alikes in text, odd decorations, missing ones, link previews, forged blocks, repeated
    # ids, the layout's whitespace: whatever the page, the posts, refusals and header read the same.
    rng = random.Random(20261203)
    cut_some = 0
    for _ in range(300):
        data = _random_page(rng).encode()
        cut_some += len(telegram._without_decorations(data)) < len(data)
        for channel in (None, "wirechan"):
            got, whole = both_ways(data, monkeypatch, **({"channel": channel} if channel else {}))
            assert got == whole, data.decode()
    assert cut_some > 250  # the cut did happen on most of them


# ------------------------------------------------------------------------------------- real pages


@needs_samples
def test_every_real_capture_reads_the_same_cut_or_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    checked = 0
    for path in sorted(TELEGRAM.glob("*.html")):
        data = path.read_bytes()
        got, whole = both_ways(data, monkeypatch)
        assert got == whole, path.name
        checked += 1
    assert checked >= 50


@needs_samples
@pytest.mark.parametrize(("name", "most"), [("durov_sherlock.html", 0.55), ("topwar_official_any2feed.html", 0.70)])
def test_the_full_real_pages_lose_their_decorations(name: str, most: float) -> None:
    data = (TELEGRAM / name).read_bytes()
    assert len(telegram._without_decorations(data)) < most * len(data)
