"""Who posted it first: copies and near-copies group under the earliest post, others stay apart."""

from __future__ import annotations

import random
import sqlite3

from benchmarks.bench_dedup import HEADLINES, labelled_set, pair_scores, quality
from deskapp.core import dedup
from deskapp.demo.copies import variants

T0 = 1_700_000_000


def key(minute: int, n: int = 0) -> int:
    return (T0 + minute * 60) << 20 | n


def test_copies_group_under_the_earliest_post() -> None:
    original = HEADLINES[0]
    rng = random.Random(1)
    items = [(key(0), original)] + [(key(i + 1, i), t) for i, (_, t) in enumerate(variants(original, rng))]
    items.append((key(30, 99), HEADLINES[1]))
    grouped = dedup.group_texts(items)
    assert {grouped[k] for k, _ in items[:-1]} == {key(0)}
    assert grouped[key(30, 99)] == key(30, 99)


def test_short_texts_only_group_when_exactly_the_same() -> None:
    grouped = dedup.group_texts([(key(0), "More soon."), (key(1, 1), "More soon."),
                                 (key(2, 2), "Breaking: port closed"), (key(3, 3), "BREAKING — port closed!"),
                                 (key(4, 4), "Breaking: port open")])
    assert grouped[key(1, 1)] == key(1, 1)  # under MIN_EXACT: never grouped
    assert grouped[key(3, 3)] == key(2, 2)  # same words after normalising
    assert grouped[key(4, 4)] == key(4, 4)


def test_a_copy_outside_the_window_starts_its_own_group() -> None:
    late = dedup.WINDOW_SECONDS // 60 + 5
    grouped = dedup.group_texts([(key(0), HEADLINES[2]), (key(late, 1), HEADLINES[2])])
    assert grouped[key(late, 1)] == key(late, 1)


def test_group_lists_every_member_from_any_of_them() -> None:
    conn = sqlite3.connect(":memory:")
    dedup.DuplicateIndex.create(conn)
    index = dedup.DuplicateIndex(conn)
    texts = {key(0): HEADLINES[3], key(1, 1): "Via Meteo: " + HEADLINES[3], key(2, 2): HEADLINES[3] + " #news"}
    for k in sorted(texts):
        index.add(k, texts[k], text_of=lambda ks: {x: texts[x] for x in ks})
    members = [key(0), key(1, 1), key(2, 2)]  # the first, and its two copies
    assert [[k for k, _ in index.group(k)] for k in members] == [members] * 3


def test_links_mentions_and_case_do_not_make_a_difference() -> None:
    a = dedup.fingerprint("Fire at the EAST quay, no injuries so far https://t.me/a/1 @a")
    b = dedup.fingerprint("fire at the east quay — no injuries so far! https://example.com/x #breaking")
    assert a.norm == b.norm and a.bands == b.bands


def test_labelled_set_precision_and_recall() -> None:
    items, truth, _ = labelled_set()
    precision, recall, pairs, _ = pair_scores(dedup.group_texts(items), truth)
    assert pairs > 50
    assert precision >= 0.95 and recall >= 0.95
    assert quality(dedup.THRESHOLD)["twins_grouped"] <= 0.1
