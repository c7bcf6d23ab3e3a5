"""How long the Telegram preview parser takes per page, beside simpler and slower ways to read it.

    python -m benchmarks.bench_parse [--repeat N] [--samples DIR]

For each full real page in ../shared/samples/telegram (or, without it, a generated 20-post page of
our own content with the real page's weight) it prints medians, in ms per page, of:

* `desk`      parse_page: one lexbor parse and every field of every post, channel info, cursor;
* `bare`      lexbor parse + id/time/text per block with per-block CSS selects: the floor that
              DESIGN.md's budget line calls "a bare id/time/text pass" (1.1 ms there);
* `parse`     LexborHTMLParser alone;
* `bs4`       BeautifulSoup ("html.parser"), extracting only id/time/text (and "lxml" when that is
              installed; it is not a dependency);

and the ratio bs4 / desk. Rounds interleave the variants so that a noisy neighbour on a shared
machine slows them alike. The budget (DESIGN.md) is 2 ms for a real 20-post page, every field.
`run()` returns the same figures as dicts for a suite runner.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from selectolax.lexbor import LexborHTMLParser

from deskapp.core.sources.telegram import parse_page

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples" / "telegram"
FULL_PAGES = ["durov_sherlock.html", "topwar_official_any2feed.html", "infoscape_test_infoscape.html",
              "prstnk_eprst_prstnk.html"]
BUDGET_MS = 2.0
BARE_REFERENCE_MS = 1.1  # DESIGN.md: "a bare id/time/text pass takes 1.1 ms"


# --------------------------------------------------------------------------------------- readers


def bare_pass(html: bytes) -> list[tuple[str, str | None, str]]:
    """id, time and text only, the way a first version would read them (per-block CSS selects)."""
    tree = LexborHTMLParser(html)
    out = []
    for block in tree.css("div.tgme_widget_message[data-post]"):
        when = block.css_first("a.tgme_widget_message_date time")
        text = block.css_first(".js-message_text")
        out.append((block.attrs.get("data-post") or "", when.attrs.get("datetime") if when is not None else None,
                    text.text() if text is not None else ""))
    return out


def bs4_pass(html: bytes, features: str) -> list[tuple[str, str | None, str]]:
    """The same basic fields with BeautifulSoup."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, features)
    out = []
    for block in soup.select("div.tgme_widget_message[data-post]"):
        when = block.select_one("a.tgme_widget_message_date time")
        text = block.select_one(".js-message_text")
        out.append((block.get("data-post") or "", when.get("datetime") if when is not None else None,
                    text.get_text() if text is not None else ""))
    return out


def bs4_features() -> list[str]:
    """"html.parser" always; "lxml" only when it happens to be installed."""
    try:
        import bs4  # noqa: F401
    except ImportError:
        return []
    found = ["html.parser"]
    try:
        import lxml  # noqa: F401
    except ImportError:
        pass
    else:
        found.append("lxml")
    return found


# ------------------------------------------------------------------------------------ generation

_TAIL = (
    '<i class="tgme_widget_message_bubble_tail">\n      <svg class="bubble_icon" width="9px" height="20px" '
    'viewBox="0 0 9 20">\n        <g fill="none">\n'
    + "".join(
        f'          <path class="{cls}" d="M9,1 L2,1 C1.72,1 1.452,1.118 1.263,1.325 C0.89,1.732 0.917,2.365 '
        '1.325,2.738 C3.504,4.733 5.046,6.893 5.95,9.218 C7.124,12.233 7.807,15.161 8,18 L8,20 L9,20 L9,1 Z M2,0 '
        'L9,0 L9,20 L7,20 L7,20 L7.002,18.068 C6.816,15.333 6.156,12.504 5.018,9.58 C4.172,7.406 2.72,5.371 '
        '0.649,3.475 C-0.165,2.729 -0.221,1.464 0.525,0.649 C0.904,0.236 1.439,0 2,0 Z"></path>\n'
        for cls in ("background", "border_1x", "border_2x", "border_3x"))
    + "        </g>\n      </svg>\n    </i>"
)
_WORDS = ["harbour", "pilots", "report", "fog", "delays", "at", "the", "northern", "quay", "while", "port",
          "authority", "reviews", "schedule", "for", "ferries", "freight", "and", "evening", "arrivals", "from",
          "islands", "council", "notes", "updated", "figures", "on", "river", "levels", "traffic", "bridge",
          "works", "expected", "to", "finish", "before", "weekend"]
_EMOJI = ["⚓️", "🌫", "🚢", "📍", "🔔", "🌊"]


def _emoji(ch: str, i: int) -> str:
    code = "".join(f"{b:02X}" for b in ch.encode())
    return (f'<tg-emoji emoji-id="{5300000000000000000 + i}"><i class="emoji" style="background-image:url('
            f"'//telegram.org/img/emoji/40/{code}.png')\"><b>{ch}</b></i></tg-emoji>")


def generate_page(n: int = 20, seed: int = 0, handle: str = "harbour_watch", first: int = 4200) -> str:
    """A full preview page of `n` posts with the real page's structure and weight (our own words);
    its ids run from `first` up, with a gap after every 7th."""
    rng = random.Random(seed)
    start = datetime(2026, 6, 1, 8, 0, tzinfo=UTC) + timedelta(hours=first - 4200)
    user_css = "".join(
        f"        .user-color-{i} {{\n          --user-line-gradient: repeating-linear-gradient(-45deg, #3391d4 0px, "
        f"#3391d4 5px, #7dd3f0 5px, #7dd3f0 10px);\n          --user-accent-color: #3391d4;\n        }}"
        for i in range(7, 21))
    blocks = []
    for k in range(n):
        pid = first + k + (k // 7)  # a few gaps
        when = start + timedelta(hours=5 * k, minutes=rng.randint(0, 59), seconds=rng.randint(0, 59))
        paragraphs = []
        for _ in range(rng.randint(1, 4)):
            words = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(8, 40)))
            paragraphs.append(f"{_emoji(rng.choice(_EMOJI), k)} {words.capitalize()}&#33;")
        text = "<br/><br/>".join(paragraphs) + ' <a href="?q=%23harbour">#harbour</a>'
        media = ""
        kind = k % 4
        if kind == 1:
            media = (f'<a class="tgme_widget_message_photo_wrap 51727954{k:04d} 1204385278_4562{k:05d}" '
                     f'href="https://t.me/{handle}/{pid}" style="width:800px;background-image:url('
                     f"'https://cdn4.example.invalid/file/{'x' * 300}{k}.jpg')\"><div class=\"tgme_widget_message_photo\" "
                     'style="padding-top:75%"></div></a>')
        elif kind == 2:
            media = (f'<a class="tgme_widget_message_video_player js-message_video_player" href="https://t.me/'
                     f"{handle}/{pid}\"><i class=\"tgme_widget_message_video_thumb\" style=\"background-image:url("
                     f"'https://cdn4.example.invalid/file/{'v' * 300}.jpg')\"></i><div class=\"tgme_widget_message_video_wrap\" "
                     f'style="width:1280px;padding-top:56.25%"><video src="https://cdn4.example.invalid/file/{k}.mp4?token='
                     f'{"t" * 200}" class="tgme_widget_message_video js-message_video" width="100%" height="100%"></video>'
                     '</div><div class="message_video_play js-message_video_play"></div><time class="message_video_'
                     'duration js-message_video_duration">0:42</time><div class="message_media_not_supported_wrap">'
                     '<div class="message_media_not_supported"><div class="message_media_not_supported_label">This '
                     'media is not supported in your browser</div><span class="message_media_view_in_telegram">VIEW '
                     'IN TELEGRAM</span></div></div></a>')
        reactions = "".join(
            f'<span class="tgme_reaction"><tg-emoji emoji-id="{5265077361648368841 + r}"></tg-emoji>{rng.randint(1, 99)}.'
            f'{rng.randint(0, 9)}K</span>' for r in range(6))
        edited = "edited &nbsp;" if k % 5 == 3 else ""
        blocks.append(
            '<div class="tgme_widget_message_wrap js-widget_message_wrap"><div class="tgme_widget_message '
            f'text_not_supported_wrap user-color-12 js-widget_message" data-post="{handle}/{pid}" data-view="'
            f'{"e" * 110}">\n  <div class="tgme_widget_message_user"><a href="https://t.me/{handle}"><i class='
            f'"tgme_widget_message_user_photo bgcolor2" data-content="H"><img src="https://cdn4.example.invalid/file/'
            f'{"a" * 330}.jpg"></i></a></div>\n  <div class="tgme_widget_message_bubble">\n    \n        {_TAIL}\n'
            f'    <div class="tgme_widget_message_author accent_color"><a class="tgme_widget_message_owner_name" '
            f'href="https://t.me/{handle}"><span dir="auto">Harbour Watch</span></a></div>\n\n\n<div class="media_'
            f'supported_cont">{media}<div class="tgme_widget_message_text js-message_text" dir="auto">{text}</div>'
            '</div><div class="media_not_supported_cont"><div class="message_media_not_supported_wrap">\n  <div '
            'class="message_media_not_supported">\n    <div class="message_media_not_supported_label">Please open '
            f'Telegram to view this post</div>\n    <a href="https://t.me/{handle}/{pid}" class="message_media_view_'
            f'in_telegram">VIEW IN TELEGRAM</a>\n  </div>\n</div></div>\n<div class="tgme_widget_message_reactions '
            f'js-message_reactions">{reactions}</div><div class="tgme_widget_message_footer compact js-message_'
            'footer">\n  \n  <div class="tgme_widget_message_info short js-message_info">\n    <span class="tgme_'
            f'widget_message_views">{rng.randint(1, 99)}.{rng.randint(0, 9)}K</span><span class="copyonly"> views'
            '</span><span class="tgme_widget_message_meta"><span class="tgme_widget_message_from_author" dir="auto">'
            f'Desk Officer</span>,&nbsp;{edited}<a class="tgme_widget_message_date" href="https://t.me/{handle}/{pid}">'
            f'<time datetime="{when.strftime("%Y-%m-%dT%H:%M:%S+00:00")}" class="time">{when.strftime("%H:%M")}'
            '</time></a></span>\n  </div>\n</div>\n  </div>\n  \n</div></div>')
    newest = first + n - 1 + ((n - 1) // 7)
    return (
        '<!DOCTYPE html>\n<html>\n  <head>\n    <meta charset="utf-8">\n    <title>Harbour Watch – Telegram'
        '</title>\n<meta property="og:title" content="Harbour Watch">\n<meta property="og:description" content='
        f'"Port and river news.">\n    <link rel="prev" href="/s/{handle}?before={first}">\n<link rel="canonical" '
        f'href="/s/{handle}?before={newest + 1}">\n    <style>{user_css}</style>\n  </head>\n  <body class="widget_'
        'frame_base tgme_webpreview emoji_image thin_box_shadow tme_mode no_transitions">\n<header class="tgme_'
        'header search_collapsed"><div class="tgme_container"><div class="tgme_header_right_column"><section '
        'class="tgme_right_column"><div class="tgme_channel_info"><div class="tgme_channel_info_header"><div '
        'class="tgme_channel_info_header_title_wrap"><div class="tgme_channel_info_header_title"><span dir="auto">'
        'Harbour Watch</span></div></div><div class="tgme_channel_info_header_username"><a href="https://t.me/'
        f'{handle}">@{handle}</a></div></div><div class="tgme_channel_info_counters"><div class="tgme_channel_info_'
        'counter"><span class="counter_value">38.4K</span> <span class="counter_type">subscribers</span></div>'
        '</div><div class="tgme_channel_info_description">Port and river news.<br/>Since 2019.</div></div>'
        '</section></div><div class="tgme_header_info"><div class="tgme_header_counter">38.4K subscribers</div>'
        f'</div></div></header>\n<main class="tgme_main" data-url="/{handle}"><div class="tgme_container"><section '
        'class="tgme_channel_history js-message_history"><div class="tgme_widget_message_centered js-messages_more_'
        f'wrap"><a href="/s/{handle}?before={first}" class="tme_messages_more js-messages_more" data-before="{first}">'
        f'</a></div>{"".join(blocks)}\n    </section>\n  </div>\n</main>\n  </body>\n</html>\n'
    )


# ---------------------------------------------------------------------------------------- timing


def _median_ms(samples_ns: list[int]) -> float:
    return statistics.median(samples_ns) / 1e6


def _time_rounds(funcs: dict[str, Callable[[], object]], rounds: int) -> dict[str, list[int]]:
    """Each round calls every function once, so drift in machine speed hits them alike, in a new
    random order each round: what ran just before (the memory it freed, the caches it filled)
    changes a parse's time by a few percent, and a fixed order gave that to the same variant every
    round. (The order moved desk/bare by 3-4% in a plain loop; more on the small pages in a full run.)"""
    out: dict[str, list[int]] = {name: [] for name in funcs}
    for name, fn in funcs.items():  # warm-up
        fn()
        out[name].clear()
    gc.collect()
    clock = time.perf_counter_ns
    order = list(funcs.items())
    shuffle = random.Random(0).shuffle
    for _ in range(rounds):
        shuffle(order)
        for name, fn in order:
            t0 = clock()
            fn()
            out[name].append(clock() - t0)
    return out


def measure(name: str, html: bytes, repeat: int) -> dict:
    """Medians (ms per page) for one page, plus a check that every reader saw the same posts."""
    page = parse_page(html)
    fast = _time_rounds({
        "desk": lambda: parse_page(html),
        "bare": lambda: bare_pass(html),
        "parse": lambda: LexborHTMLParser(html),
    }, repeat)
    row: dict = {
        "page": name,
        "bytes": len(html),
        "posts": len(page.posts),
        "desk_ms": _median_ms(fast["desk"]),
        "desk_min_ms": min(fast["desk"]) / 1e6,
        "bare_ms": _median_ms(fast["bare"]),
        "parse_ms": _median_ms(fast["parse"]),
    }
    # Medians of per-round ratios: a slow spell slows both sides of a round alike.
    row["desk_per_bare"] = statistics.median(d / b for d, b in zip(fast["desk"], fast["bare"], strict=True))
    seen = [(f"{p.channel}/{p.id}", p.published) for p in page.posts]
    for feature in bs4_features():
        slow = _time_rounds({feature: lambda f=feature: bs4_pass(html, f)}, max(3, repeat // 25))
        key = "bs4_" + feature.replace(".", "_")
        row[key + "_ms"] = _median_ms(slow[feature])
        row[key + "_ratio"] = row[key + "_ms"] / row["desk_ms"]
        theirs = sorted(bs4_pass(html, feature), key=lambda r: int(r[0].rsplit("/", 1)[1]))
        row[key + "_agrees"] = [r[0] for r in theirs] == [s[0] for s in seen] and all(
            datetime.fromisoformat(r[1]) == s[1] for r, s in zip(theirs, seen, strict=True) if r[1])
    return row


def pages(samples_dir: Path | None) -> list[tuple[str, bytes]]:
    """The full real pages when they are there, else one generated page. `samples_dir` may be the
    telegram directory itself or ../shared/samples above it."""
    if samples_dir is not None and (samples_dir / "telegram").is_dir():
        samples_dir = samples_dir / "telegram"
    if samples_dir is not None and samples_dir.is_dir():
        found = [(n, (samples_dir / n).read_bytes()) for n in FULL_PAGES if (samples_dir / n).is_file()]
        if found:
            return found
    return [("generated 20-post page (no samples found)", generate_page().encode())]


def run(samples_dir: Path, repeat: int) -> list[dict]:
    """One row per page (see `measure`), then an "overall" row of the per-page medians' medians."""
    rows = [measure(name, html, repeat) for name, html in pages(samples_dir)]
    overall: dict = {"page": "overall (median of pages)", "bytes": None, "posts": None, "desk_min_ms": None}
    for key in rows[0]:
        if key.endswith(("_ms", "_ratio", "_per_bare")) and key != "desk_min_ms":
            overall[key] = statistics.median(r[key] for r in rows)
    return [*rows, overall]


def _fmt(value: object, width: int, spec: str = ".3f") -> str:
    if value is None:
        return "-".rjust(width)
    return format(value, spec).rjust(width) if isinstance(value, float) else str(value).rjust(width)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=300, help="rounds per page for the lexbor variants (default 300)")
    ap.add_argument("--samples", type=Path, default=SAMPLES, help="directory of the real captures")
    args = ap.parse_args(argv)

    rows = run(args.samples, args.repeat)
    features = bs4_features()
    head = f"{'page':<42}{'KB':>6}{'posts':>6}{'desk':>8}{'(min)':>8}{'bare':>8}{'parse':>8}{'desk/bare':>10}"
    for f in features:
        head += f"{'bs4 ' + f:>16}{'x desk':>8}"
    print("ms per page, medians; rounds interleave the variants")
    print(head)
    for r in rows:
        line = (f"{r['page'][:41]:<42}{_fmt(r['bytes'] and round(r['bytes'] / 1024), 6)}{_fmt(r['posts'], 6)}"
                f"{_fmt(r['desk_ms'], 8)}{_fmt(r.get('desk_min_ms'), 8)}{_fmt(r['bare_ms'], 8)}{_fmt(r['parse_ms'], 8)}"
                f"{_fmt(r['desk_per_bare'], 9, '.2f')}x")
        for f in features:
            key = "bs4_" + f.replace(".", "_")
            line += f"{_fmt(r.get(key + '_ms'), 16, '.2f')}{_fmt(r.get(key + '_ratio'), 7, '.1f')}x"
        print(line)
    if "lxml" not in features:
        print("(bs4 with lxml: not installed, not measured)")
    for r in rows[:-1]:
        for f in features:
            key = "bs4_" + f.replace(".", "_") + "_agrees"
            if not r.get(key, True):
                print(f"warning: bs4/{f} read different ids or times than desk on {r['page']}")
    durov = next((r for r in rows if r["page"].startswith("durov")), rows[0])
    verdict = "within" if durov["desk_ms"] <= BUDGET_MS else "OVER"
    print(f"budget: {durov['page']}: {durov['desk_ms']:.3f} ms median (min {durov['desk_min_ms']:.3f}) for every "
          f"field: {verdict} the {BUDGET_MS} ms budget on this machine now; bare id/time/text pass "
          f"{durov['bare_ms']:.3f} ms, lexbor parse alone {durov['parse_ms']:.3f} ms.")
    print(f"relative: every field costs {durov['desk_per_bare']:.2f}x the bare pass; DESIGN.md's figures "
          f"({BUDGET_MS} ms budget, {BARE_REFERENCE_MS} ms bare) allow {BUDGET_MS / BARE_REFERENCE_MS:.2f}x.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
