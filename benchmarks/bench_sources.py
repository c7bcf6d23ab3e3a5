"""Parse time per response for the RSS/Atom, Bluesky and Mastodon source kinds, beside the floors.

    python -m benchmarks.bench_sources [--repeat N]

For each real response in ../shared/samples/other (or, without it, generated responses of the same
shape and size) it prints medians, in ms per response, of:

* `desk`        the kind's `parse` (every field of every post, sanitised, cursor, source info);
* `feedparser`  for XML: `feedparser.parse` alone, called as feed.py calls it (the floor for RSS/Atom);
* `json.loads`  for JSON: decoding alone (the floor for Bluesky and Mastodon);

and desk / floor. Rounds interleave the variants so that a noisy neighbour slows them alike.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import feedparser

from deskapp.core.sources import KINDS
from deskapp.core.sources.base import Request, Response

OTHER = Path(__file__).resolve().parents[2] / "shared" / "samples" / "other"
# (file, kind, request URL, request step)
REAL = [
    ("rss_bbc_news_photojournalism.xml", "rss", "https://feeds.bbci.co.uk/news/rss.xml", "posts"),
    ("rss_nytimes_photojournalism.xml", "rss", "https://rss.nytimes.com/services/xml/rss/nyt/HomePage.xml", "posts"),
    ("mastodon_rss_jason_click.ba.it_EXCERPT.xml", "mastodon", "https://click.ba.it/@jason.rss", "rss"),
    ("bluesky_getAuthorFeed_dril_blueskyprofiler.json", "bluesky",
     "https://public.api.bsky.app/xrpc/app.bsky.feed.getAuthorFeed?actor=dril.bsky.social&limit=5", "posts"),
    ("bluesky_getAuthorFeed_spookyclick_telsky.json", "bluesky",
     "https://public.api.bsky.app/xrpc/app.bsky.feed.getAuthorFeed?actor=benoist.dev&limit=30", "posts"),
    ("mastodon_api_account_statuses_fosstodon_rtoot.json", "mastodon",
     "https://fosstodon.org/api/v1/accounts/109302436954721982/statuses?limit=20", "posts"),
    ("mastodon_api_account_statuses_page2_fosstodon_rtoot.json", "mastodon",
     "https://fosstodon.org/api/v1/accounts/109302436954721982/statuses?limit=20&max_id=113191408914362368", "posts"),
]


def _generated() -> list[tuple[str, str, str, str, bytes]]:
    """Responses of the real ones' shape when ../shared is absent (own content, same sizes)."""
    rng = random.Random(7)
    words = ["flood", "road", "closed", "river", "alert", "shelter", "power", "update", "crews", "area", "warning", "north", "bridge"]

    def sentence(n: int) -> str:
        return " ".join(rng.choice(words) for _ in range(n))

    items = "".join(
        f"<item><title>{sentence(8)}</title><link>https://news.example/a/{i}?utm_source=rss</link>"
        f"<guid isPermaLink=\"false\">a-{i}</guid><pubDate>Tue, 01 Dec 2026 10:{i:02d}:00 GMT</pubDate>"
        f"<description><![CDATA[<p>{sentence(40)}</p>]]></description></item>" for i in range(25))
    rss = f'<?xml version="1.0"?><rss version="2.0"><channel><title>News</title>{items}</channel></rss>'.encode()
    author = {"did": "did:plc:x", "handle": "alerts.example.org", "displayName": "Alerts"}
    feed = {"cursor": "2026-12-01T00:00:00Z", "feed": [
        {"post": {"uri": f"at://did:plc:x/app.bsky.feed.post/3l{i:011d}".replace("0", "a").replace("1", "b"),
                  "author": author, "indexedAt": "2026-12-01T10:00:00Z",
                  "record": {"text": sentence(30), "createdAt": "2026-12-01T10:00:00Z"}}} for i in range(30)]}
    acc = {"id": "1", "acct": "fire", "username": "fire", "url": "https://social.example/@fire", "display_name": "Fire"}
    statuses = [{"id": str(1000 + i), "created_at": "2026-12-01T10:00:00Z", "account": acc, "reblog": None,
                 "url": f"https://social.example/@fire/{1000 + i}", "content": f"<p>{sentence(40)}</p>",
                 "spoiler_text": "", "media_attachments": [], "mentions": []} for i in range(20)]
    return [("generated RSS, 25 items", "rss", "https://news.example/rss.xml", "posts", rss),
            ("generated Bluesky feed, 30 posts", "bluesky",
             "http://x/xrpc/app.bsky.feed.getAuthorFeed?actor=alerts.example.org", "posts", json.dumps(feed).encode()),
            ("generated Mastodon statuses, 20", "mastodon", "https://social.example/api/v1/accounts/1/statuses",
             "posts", json.dumps(statuses).encode())]


def cases() -> list[tuple[str, str, str, str, bytes]]:
    if OTHER.is_dir():
        return [(name, kind, url, step, (OTHER / name).read_bytes()) for name, kind, url, step in REAL
                if (OTHER / name).is_file()]
    return _generated()


def _median_ms(fns: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    times: dict[str, list[float]] = {k: [] for k in fns}
    for fn in fns.values():
        fn()  # warm up
    gc.disable()
    try:
        for _ in range(repeat):
            for name, fn in fns.items():
                t0 = time.perf_counter()
                fn()
                times[name].append((time.perf_counter() - t0) * 1000)
    finally:
        gc.enable()
    return {k: statistics.median(v) for k, v in times.items()}


def run(repeat: int = 200) -> list[dict]:
    rows = []
    for name, kind_name, url, step, body in cases():
        kind = KINDS[kind_name]
        request = Request(url, step=step)
        response = Response(body, url=url, headers={})
        fns: dict[str, Callable[[], object]] = {"desk": lambda k=kind, r=response, q=request: k.parse(r, q)}
        if body.lstrip()[:1] in (b"{", b"["):
            floor = "json.loads"
            fns[floor] = lambda b=body: json.loads(b)
        else:
            floor = "feedparser"
            # As feed.py calls it: the base URL makes feedparser resolve relative links (~15% of its time).
            fns[floor] = lambda b=body, u=url: feedparser.parse(io.BytesIO(b), response_headers={"content-location": u})
        med = _median_ms(fns, repeat)
        posts = len(kind.parse(response, request).page.posts)
        rows.append({"response": name, "kind": kind_name, "bytes": len(body), "posts": posts,
                     "desk_ms": med["desk"], "floor": floor, "floor_ms": med[floor],
                     "ratio": med["desk"] / med[floor] if med[floor] else float("nan")})
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=200)
    args = ap.parse_args(argv)
    rows = run(args.repeat)
    print(f"parse time per response, median of {args.repeat} interleaved rounds (ms)")
    print(f"{'response':<58} {'kind':<9} {'KB':>6} {'posts':>5} {'desk':>8} {'floor':>19} {'desk/floor':>10}")
    for r in rows:
        print(f"{r['response']:<58} {r['kind']:<9} {r['bytes'] / 1024:>6.1f} {r['posts']:>5} "
              f"{r['desk_ms']:>8.3f} {r['floor']:>10} {r['floor_ms']:>8.3f} {r['ratio']:>10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
