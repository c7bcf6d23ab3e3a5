"""Duplicate grouping and alert rules: quality on a labelled set, and cost per new post.

`python -m benchmarks.bench_dedup [--stored 1000000]` prints:
- precision and recall of "same story" pairs on a labelled set: originals (the real Telegram samples'
  post texts when ../shared/samples is there, plus our own headlines), each followed by the copies
  channels make (deskapp/demo/copies.py); also how often two posts built from one template with a
  different subject (the demo wire's near-twins, not copies) are grouped, at several thresholds;
- fingerprint time per post, and a lookup's time in a band index holding `--stored` posts;
- 100 alert rules against a new post: the RuleSet beside a plain loop of one regex per word.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import time
from itertools import combinations
from pathlib import Path

from deskapp.core import dedup
from deskapp.core.alerts import Rule, RuleSet
from deskapp.demo.copies import variants
from deskapp.demo.wire import EVENTS, SUBJECTS

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples" / "telegram"

# Our own originals: distinct stories, so no two of them are copies of each other.
HEADLINES = [
    "The river at Kessing crossed the flood mark at 04:10; the lower town is being evacuated street by street.",
    "Two freight trains collided outside Amberley junction. No passengers involved, the line is blocked.",
    "The central bank left its rate at 4.25% and signalled a cut is unlikely before spring.",
    "A magnitude 5.1 earthquake was felt across the northern valleys shortly after midnight local time.",
    "Hospital staff in the eastern district begin a 48-hour strike over pay and night-shift staffing.",
    "The mayor resigned this morning, citing health reasons; the deputy mayor takes over until elections.",
    "Wildfire near Pine Ridge has burned 1,200 hectares; three villages are told to prepare to leave.",
    "The ministry confirms that exam results will be published a week late because of a software fault.",
    "A cargo ship lost power off the cape and is drifting; two tugs are on their way from the harbour.",
    "Parliament passed the water bill by 212 votes to 190 after a night of amendments.",
    "Heavy snow closed the mountain pass; drivers are asked to use the coastal route instead.",
    "The stadium will stay shut for the rest of the season after engineers found cracks in the east stand.",
    "Investigators recovered the flight recorders from the crash site on Tuesday evening.",
    "A water main burst under the market square; supply is cut to about 8,000 homes until tonight.",
    "Border crossings reopened at dawn after a two-day closure for a customs dispute.",
    "The opposition leader was detained at the airport and released four hours later without charge.",
    "A new variant of the virus was detected in wastewater samples from three cities.",
    "Farmers blocked the motorway with tractors for the second day, protesting fuel prices.",
    "The tallest tower in the old town will be demolished after a fire gutted its upper floors.",
    "School buses are cancelled across the county tomorrow because of forecast black ice.",
    "Рабочие восстановили электроснабжение в трёх районах города после ночной аварии на подстанции.",
    "В аэропорту задержаны 14 рейсов из-за густого тумана, пассажиров просят уточнять время вылета.",
    "تم إغلاق الطريق السريع الشمالي بعد انهيار جزء من الجسر، ولا توجد إصابات حتى الآن",
    "東部の港で大規模な火災が発生し、周辺住民に避難指示が出されました。",
    "Die Polizei sperrt die Innenstadt wegen eines verdächtigen Gegenstands am Hauptbahnhof.",
    "Le gouvernement annonce un plan d'urgence pour les hôpitaux de la région après une semaine record.",
]


def sample_texts() -> list[str]:
    """Distinct real post texts of 60+ characters from the Telegram samples, when present."""
    if not SAMPLES.is_dir():
        return []
    from deskapp.core.sources import telegram

    seen: dict[str, str] = {}
    for path in sorted(SAMPLES.glob("*.html")):
        try:
            page = telegram.parse_page(path.read_bytes())
        except Exception:  # a sample the parser refuses adds no originals
            continue
        for post in page.posts:
            norm = dedup.normalise(post.text)
            if len(norm) >= 60 and norm not in seen:
                seen[norm] = post.text
    # Several channels repeat boilerplate; keep texts that are not already near each other.
    out: list[str] = []
    for text in seen.values():
        sh = dedup.shingles(dedup.normalise(text))
        if all(dedup.jaccard(sh, dedup.shingles(dedup.normalise(o))) < 0.5 for o in out):
            out.append(text)
    return out


def labelled_set(seed: int = 3) -> tuple[list[tuple[int, str]], dict[int, int], list[str]]:
    """(key, text) items in time order, the true story of each key, and the originals used."""
    rng = random.Random(seed)
    originals = HEADLINES + sample_texts()
    items: list[tuple[int, str]] = []
    truth: dict[int, int] = {}
    t = 1_700_000_000
    for story, text in enumerate(originals):
        t += rng.randint(60, 900)
        key = t << 20 | story
        items.append((key, text))
        truth[key] = story
        for n, (_, copy) in enumerate(rng.sample(variants(text, rng), k=rng.randint(0, 4))):
            ck = (t + 60 * (n + 1)) << 20 | (story + 1000 * (n + 1))
            items.append((ck, copy))
            truth[ck] = story
    return items, truth, originals


def pair_scores(predicted: dict[int, int], truth: dict[int, int]) -> tuple[float, float, int, int]:
    keys = sorted(truth)
    tp = fp = fn = 0
    for a, b in combinations(keys, 2):
        same_true = truth[a] == truth[b]
        same_pred = predicted[a] == predicted[b]
        tp += same_true and same_pred
        fp += same_pred and not same_true
        fn += same_true and not same_pred
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall, tp + fn, fp


def template_twins() -> list[tuple[int, str]]:
    """The demo's near-twins: one event told with different subjects. Not copies of each other."""
    out = []
    t = 1_700_000_000
    for e, event in enumerate(EVENTS):
        for s, subject in enumerate(SUBJECTS[:4]):
            t += 120
            out.append((t << 20 | (e * 16 + s), f"{subject} {event}."))
    return out


def quality(threshold: float) -> dict[str, float]:
    old = dedup.THRESHOLD
    dedup.THRESHOLD = threshold
    try:
        items, truth, originals = labelled_set()
        precision, recall, pairs, fps = pair_scores(dedup.group_texts(items), truth)
        twins = template_twins()
        grouped = dedup.group_texts(twins)
        twin_rate = sum(1 for k, first in grouped.items() if first != k) / len(twins)
    finally:
        dedup.THRESHOLD = old
    return {"threshold": threshold, "precision": precision, "recall": recall, "true_pairs": pairs,
            "false_pairs": fps, "posts": len(items), "originals": len(originals), "twins_grouped": twin_rate}


def lookup_cost(stored: int, probes: int = 300) -> dict[str, float]:
    """Median ms to fingerprint a new post and to look its bands up among `stored` indexed posts."""
    rng = random.Random(5)
    conn = sqlite3.connect(":memory:")
    dedup.DuplicateIndex.create(conn)
    # Stored posts spread over 30 days; band keys random (what a lookup costs does not depend on them).
    span = 30 * 86400
    t0 = 1_700_000_000
    batch: list[tuple[int, int]] = []
    bands_per_post = dedup.BANDS + 1
    for i in range(stored):
        key = (t0 + i * span // stored) << 20 | (i & 0xFFFFF)
        for _ in range(bands_per_post):
            batch.append((rng.getrandbits(63), key))
        if len(batch) >= 200_000:
            conn.executemany("INSERT OR IGNORE INTO dup_bands VALUES (?, ?)", batch)
            batch.clear()
    conn.executemany("INSERT OR IGNORE INTO dup_bands VALUES (?, ?)", batch)
    conn.commit()
    index = dedup.DuplicateIndex(conn)
    texts = [f"{h} ({i})" for i, h in enumerate(HEADLINES * (probes // len(HEADLINES) + 1))][:probes]
    fp_ms, look_ms = [], []
    new_key = (t0 + span) << 20
    for text in texts:
        a = time.perf_counter()
        fp = dedup.fingerprint(text)
        b = time.perf_counter()
        index.candidates(new_key, fp)
        c = time.perf_counter()
        fp_ms.append((b - a) * 1e3)
        look_ms.append((c - b) * 1e3)
    conn.close()
    return {"stored": stored, "fingerprint_ms": statistics.median(fp_ms),
            "lookup_ms": statistics.median(look_ms),
            "lookup_p95_ms": sorted(look_ms)[int(len(look_ms) * 0.95)], **plain_scan_cost()}


def plain_scan_cost(window: int = 10_000, probes: int = 5) -> dict[str, float]:
    """The baseline: a new post compared with every post of its window, shingles already computed
    (the cheapest plain loop). At 10^6 posts over 30 days the 3-day window holds ~100,000 posts;
    this measures 10,000, so the real loop would cost about ten times more."""
    rng = random.Random(11)
    vocab = [w for h in HEADLINES for w in h.split()]
    window_sets = [dedup.shingles(dedup.normalise(" ".join(rng.choices(vocab, k=16)))) for _ in range(window)]
    times = []
    for text in HEADLINES[:probes]:
        a = time.perf_counter()
        mine = dedup.shingles(dedup.normalise(text))
        best = max(dedup.jaccard(mine, other) for other in window_sets)
        times.append((time.perf_counter() - a) * 1e3)
        del best
    return {"plain_window": window, "plain_scan_ms": statistics.median(times)}


def rules_cost(n_rules: int = 100, posts: int = 2000) -> dict[str, float]:
    """Median µs per post: the RuleSet beside a plain loop of one compiled regex per rule word."""
    import re

    rng = random.Random(9)
    vocab = sorted({w.strip(".,;:").lower() for h in HEADLINES for w in h.split() if len(w) > 4})
    rules = []
    for i in range(n_rules):
        words = tuple(rng.sample(vocab, 2))
        rules.append(Rule(f"r{i}", words=words) if i % 3 else Rule(f"r{i}", phrases=(" ".join(words),)))
    ruleset = RuleSet(rules)
    plain = [(r, [re.compile(rf"\b{re.escape(t)}\b", re.IGNORECASE) for t in (*r.words, *r.phrases)])
             for r in rules]
    corpus = [rng.choice(HEADLINES) + " " + " ".join(rng.sample(vocab, 5)) for _ in range(posts)]

    def run_set() -> None:
        for text in corpus:
            ruleset.match(text, source="telegram:x", kind="telegram")

    def run_plain() -> None:
        for text in corpus:
            [r for r, pats in plain if any(p.search(text) for p in pats)]

    set_us, plain_us = [], []
    for _ in range(5):
        a = time.perf_counter()
        run_set()
        b = time.perf_counter()
        run_plain()
        c = time.perf_counter()
        set_us.append((b - a) / posts * 1e6)
        plain_us.append((c - b) / posts * 1e6)
    return {"rules": n_rules, "ruleset_us": statistics.median(set_us), "plain_loop_us": statistics.median(plain_us)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_dedup")
    ap.add_argument("--stored", type=int, default=1_000_000, help="posts in the band index for the lookup")
    args = ap.parse_args(argv)
    print(f"labelled set: samples {'present' if SAMPLES.is_dir() else 'absent'} at {SAMPLES}")
    for threshold in (0.5, 0.6, 0.7, 0.8):
        q = quality(threshold)
        mark = "  <- in use" if threshold == dedup.THRESHOLD else ""
        print(f"threshold {threshold:.1f}: precision {q['precision']:.3f} recall {q['recall']:.3f} "
              f"({q['true_pairs']} true pairs, {q['false_pairs']} false pairs, {q['posts']} posts from "
              f"{q['originals']} stories); template twins grouped {q['twins_grouped']:.0%}{mark}")
    c = lookup_cost(args.stored)
    print(f"per new post: fingerprint {c['fingerprint_ms']:.3f} ms, band lookup among {c['stored']:,} posts "
          f"{c['lookup_ms']:.3f} ms (p95 {c['lookup_p95_ms']:.3f}) — budget: inside 0.5 s post-to-screen; "
          f"baseline, a plain loop comparing with each of {c['plain_window']:,} posts in the window: "
          f"{c['plain_scan_ms']:.1f} ms")
    r = rules_cost()
    print(f"{r['rules']} alert rules per new post: RuleSet {r['ruleset_us']:.1f} µs, plain loop of regexes "
          f"{r['plain_loop_us']:.1f} µs ({r['plain_loop_us'] / r['ruleset_us']:.1f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
