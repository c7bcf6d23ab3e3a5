"""What each part of the Telegram parser costs inside a whole parse, not alone.

    python -m benchmarks.bench_parse_parts [--rounds N] [--page FILE]

A part measured alone runs on a warm tree with warm caches and reads as cheaper than it is in a
parse (the depth bound: 30 µs alone, about 60 µs in place). Here each variant is a fresh copy of
`deskapp/core/sources/telegram.py` with one part made a no-op; every round runs every variant, the
whole parser and the bare pass (bench_parse's) in a new random order, timed in thread CPU time. A
part's cost is the median, over rounds, of the whole parse less the parse without it. An unchanged
copy of the parser is measured too: its difference is the noise floor of the run.

The page is durov_sherlock.html from ../shared/samples/telegram, or a generated 20-post page of our
own (bench_parse's) without it.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

from selectolax.lexbor import LexborHTMLParser

from benchmarks.bench_parse import SAMPLES, bare_pass, generate_page
from deskapp.core.model import Post
from deskapp.core.sources import telegram

_TIME = datetime(2024, 1, 1, tzinfo=UTC)

# What is made a no-op in each variant: (label, attribute of the parser module, replacement).
PARTS: list[tuple[str, str, object]] = [
    ("reading the text (and its later scans)", "_raw_text", lambda node: "x"),
    ("the gate (clean_post_fields)", "clean_post_fields", lambda *a, strip_text=False: Post(*a)),
    ("meta: signature, edited, time", "_read_meta", lambda node: (None, False, _TIME)),
    ("the depth bound", "_nesting_depth", lambda html: 0),
    ("channel info", "_channel_info", lambda tree: None),
    ("the views count (approx_int)", "approx_int", lambda raw: None),
    ("the fallback-label check", "_has_fallback_label", lambda text: False),
    ("the cursor", "_cursor", lambda tree, posts: None),
    ("cutting the decorations (negative: it saves)", "_without_decorations", lambda data: data),
]


def _copy(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, telegram.__file__)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(html: bytes, rounds: int) -> dict[str, dict[str, float]]:
    """{variant: {"us": median µs, "per_bare": median ratio, "cost_us": whole minus variant}}."""
    whole = _copy("parts_whole")
    variants: dict[str, Callable[[], object]] = {
        "the whole parser": lambda: whole.parse_page(html),
        "bare pass": lambda: bare_pass(html),
        "lexbor's parse alone": lambda: LexborHTMLParser(html),
    }
    same = _copy("parts_same")
    variants["(an unchanged copy: the noise)"] = lambda: same.parse_page(html)
    for i, (label, attr, stub) in enumerate(PARTS):
        module = _copy(f"parts_{i}")
        setattr(module, attr, stub)
        variants[label] = lambda m=module: m.parse_page(html)
    times: dict[str, list[int]] = {name: [] for name in variants}
    for fn in variants.values():
        fn()
    order = list(variants.items())
    shuffle = random.Random(0).shuffle
    clock = time.thread_time_ns
    for _ in range(rounds):
        shuffle(order)
        for name, fn in order:
            t0 = clock()
            fn()
            times[name].append(clock() - t0)
    full, bare = times["the whole parser"], times["bare pass"]
    return {name: {"us": statistics.median(v) / 1e3,
                   "per_bare": statistics.median(a / b for a, b in zip(v, bare, strict=True)),
                   "cost_us": statistics.median(a - b for a, b in zip(full, v, strict=True)) / 1e3}
            for name, v in times.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=400)
    ap.add_argument("--page", type=Path, default=SAMPLES / "durov_sherlock.html")
    args = ap.parse_args(argv)
    if args.page.exists():
        html, name = args.page.read_bytes(), args.page.name
    else:
        html, name = generate_page().encode(), "a generated 20-post page (no samples here)"
    res = run(html, args.rounds)
    print(f"{name}: {args.rounds} rounds, thread CPU time")
    print(f"{'variant':42}{'median µs':>11}{'x bare':>8}{'whole minus it, µs':>20}")
    for label, r in res.items():
        print(f"{label:42}{r['us']:11.1f}{r['per_bare']:8.3f}{r['cost_us']:20.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
