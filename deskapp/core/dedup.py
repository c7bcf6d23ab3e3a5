"""Who posted it first: grouping posts whose text is the same or nearly the same.

News travels across channels as forwards, copies and near-copies (a source line added, a link
swapped, an emoji dropped). Each post's text is normalised (case, links, mentions, punctuation and
spacing removed) and cut into character shingles; a MinHash signature (see `minhash`) estimates the
Jaccard similarity of two shingle sets, and locality-sensitive hashing turns the signature into
BANDS band keys, so that a near-copy shares at least one band key with its original with high
probability. (datasketch was the library to use, but it costs 1.2 s to import, scipy included:
more than the desk's whole start-up budget.)

Band keys are stored in the index (`dup_bands`: band key, post key; schema v6), so a lookup at 10^6 posts is
BANDS index probes limited to a time window, then an exact Jaccard check of the few candidates.
A post is grouped under the earliest post it nearly copies; texts too short to compare fairly
(a "⚠️" or "More soon.") only group when they are exactly the same after normalisation, and
not at all below MIN_EXACT characters.

This module knows the store only through a connection it is given: the store calls it inside its own
write transaction, so a post and its band keys are committed together. Its SQL is what SQLite and
PostgreSQL both understand (the PostgreSQL store hands it a `?`-placeholder face, core/pg/shared_sql.py).
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import struct
import unicodedata
import zlib
from collections.abc import Iterable, Set
from dataclasses import dataclass

from deskapp.core.store_schema import DUP_TABLES

SHINGLE = 5  # characters per shingle: long enough to carry meaning in every script
NUM_PERM = 60
BANDS = 20  # 20 bands of 3 rows: a pair at Jaccard 0.7 shares a band with p > 0.999, at 0.3 with p = 0.42
ROWS = NUM_PERM // BANDS
THRESHOLD = 0.7  # exact Jaccard of shingle sets at or above which two texts are near-copies (labelled set: benchmarks/bench_dedup.py)
MIN_NEAR = 40  # normalised characters below which only exact copies group
MIN_EXACT = 12  # below this, a text groups with nothing ("More soon.")
WINDOW_SECONDS = 3 * 86400  # how far back a copy may look for its original
CACHE_SIZE = 20_000  # first posts whose shingles stay in memory (~2 KB each)
MAX_CANDIDATES = 32  # first posts compared at most, earliest first: bounds a post's cost whatever the store holds
_EXACT_BAND = -1  # band number of the exact-copy key

_URL = re.compile(r"https?://\S+|www\.\S+|t\.me/\S+", re.IGNORECASE)
_MENTION = re.compile(r"[@#][\w.]+")
_NON_WORD = re.compile(r"[\W_]+")
_SEED = 7  # fixed, so stored band keys stay valid across runs and machines



def normalise(text: str) -> str:
    """Text as compared: links, mentions and hashtags dropped, case folded, words joined by one space."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _URL.sub(" ", text)
    text = _MENTION.sub(" ", text)
    return _NON_WORD.sub(" ", text).strip()


def shingles(norm: str) -> set[str]:
    if len(norm) <= SHINGLE:
        return {norm} if norm else set()
    return {norm[i:i + SHINGLE] for i in range(len(norm) - SHINGLE + 1)}


def jaccard(a: Set[str], b: Set[str]) -> float:
    if not a or not b:
        return 0.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


def _key63(data: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big") >> 1


_EMPTY = 1 << 64
_SHIFT = (1 << 64) // NUM_PERM


def _hash64(item: str) -> int:
    data = item.encode()
    return zlib.crc32(data) << 32 | zlib.crc32(data, 0x9E3779B9)


def minhash(items: Set[str]) -> list[int]:
    """NUM_PERM MinHash values by one-permutation hashing: each shingle is hashed once, its hash picks
    one of NUM_PERM bins and the bin keeps its smallest value; an empty bin borrows from the next
    filled bin to its right, shifted by the distance ("densified" one-permutation hashing, Shrivastava
    and Li 2014). One hash per shingle instead of NUM_PERM keeps it pure Python: numpy, which the
    classic form needs to be fast, would cost every desk start-up its import (sqlite-utils imports
    numpy whenever it is installed)."""
    bins = [_EMPTY] * NUM_PERM
    for item in items:
        h = _hash64(item)
        b = h % NUM_PERM
        v = h // NUM_PERM
        if v < bins[b]:
            bins[b] = v
    if _EMPTY not in bins or min(bins) == _EMPTY:
        return bins
    out = list(bins)
    for i in range(NUM_PERM):
        if bins[i] == _EMPTY:
            d = 1
            while bins[(i + d) % NUM_PERM] == _EMPTY:
                d += 1
            out[i] = bins[(i + d) % NUM_PERM] + d * _SHIFT  # stays under 2**64: values are < 2**64 / NUM_PERM
    return out


@dataclass(frozen=True, slots=True)
class Fingerprint:
    norm: str
    bands: tuple[tuple[int, int], ...]  # (band number, band key); band -1 is the exact-copy key
    grams: frozenset[str] = frozenset()  # the shingles, when the text is long enough to compare near-copies

    @property
    def comparable(self) -> bool:
        return len(self.norm) >= MIN_EXACT


def fingerprint(text: str) -> Fingerprint:
    norm = normalise(text)
    if len(norm) < MIN_EXACT:
        return Fingerprint(norm, ())
    bands: list[tuple[int, int]] = [(_EXACT_BAND, _key63(norm.encode()))]
    grams: frozenset[str] = frozenset()
    if len(norm) >= MIN_NEAR:
        grams = frozenset(shingles(norm))
        values = minhash(grams)
        for b in range(BANDS):
            row = values[b * ROWS:(b + 1) * ROWS]
            bands.append((b, _key63(struct.pack(f"<H{ROWS}Q", b, *row))))
    return Fingerprint(norm, tuple(bands), grams)


@dataclass(frozen=True, slots=True)
class Grouped:
    key: int
    first_key: int  # the earliest post this one copies (itself when it copies nothing)
    similarity: float


class DuplicateIndex:
    """The band-key index over a store's posts. `text_of(keys)` returns {key: text} for candidates."""

    def __init__(self, conn: sqlite3.Connection, cache: dict[int, tuple[str, set[str]]] | None = None) -> None:
        self.conn = conn
        # First posts' normalised text and shingles by key: the same few originals are compared
        # again and again while a story spreads. Kept by the caller across batches, bounded here.
        self.cache = cache if cache is not None else {}

    def _shingled(self, key: int, text_of) -> tuple[str, set[str]]:
        hit = self.cache.get(key)
        if hit is None:
            norm = normalise(text_of([key]).get(key, ""))
            hit = (norm, shingles(norm) if len(norm) >= MIN_NEAR else set())
            if len(self.cache) >= CACHE_SIZE:
                self.cache.pop(next(iter(self.cache)))
            self.cache[key] = hit
        return hit

    @staticmethod
    def create(conn: sqlite3.Connection) -> None:
        conn.executescript(DUP_TABLES)

    def add(self, key: int, text: str, *, text_of, fp: Fingerprint | None = None) -> Grouped:
        """Index one new post and group it under the earliest near-copy within the window before it.
        `fp`: the text's fingerprint when the caller made it already (outside its write transaction).

        Only the first post of a group keeps band keys: a copy is found through its original, so a
        flood of one text (a channel spamming itself) costs one comparison a post, not one per copy."""
        fp = fp or fingerprint(text)
        if not fp.comparable:
            return Grouped(key, key, 1.0)
        found = self._best_earlier(key, fp, text_of)
        if found is not None:
            first = self._first_of(found[0])
            self.conn.execute("INSERT INTO dup_groups (key, first_key, similarity) VALUES (?, ?, ?) "
                              "ON CONFLICT (key) DO UPDATE SET first_key = excluded.first_key, "
                              "similarity = excluded.similarity", (key, first, found[1]))
            return Grouped(key, first, found[1])
        # One statement for the post's 21 band keys: on a server, one round trip instead of 21.
        self.conn.execute(f"INSERT INTO dup_bands (band, key) VALUES {','.join(['(?, ?)'] * len(fp.bands))} "
                          "ON CONFLICT DO NOTHING", [v for _, band_key in fp.bands for v in (band_key, key)])
        return Grouped(key, key, 1.0)

    def candidates(self, key: int, fp: Fingerprint) -> list[int]:
        """Earlier first posts within the window that share a band key (the store's key encodes time),
        earliest first, at most MAX_CANDIDATES."""
        if not fp.bands:
            return []
        low = key - (WINDOW_SECONDS << 20)
        marks = ",".join("?" * len(fp.bands))
        rows = self.conn.execute(
            f"SELECT DISTINCT key FROM dup_bands WHERE band IN ({marks}) AND key < ? AND key >= ? "
            "ORDER BY key LIMIT ?",
            [b for _, b in fp.bands] + [key, low, MAX_CANDIDATES],
        ).fetchall()
        return [r[0] for r in rows]

    def _best_earlier(self, key: int, fp: Fingerprint, text_of) -> tuple[int, float] | None:
        cands = self.candidates(key, fp)
        if not cands:
            return None
        mine = fp.grams
        for other_key in cands:  # earliest first: the first near-copy is the answer
            other, other_shingles = self._shingled(other_key, text_of)
            if other == fp.norm:
                return other_key, 1.0
            if mine and other_shingles:
                sim = jaccard(mine, other_shingles)
                if sim >= THRESHOLD:
                    return other_key, sim
        return None

    def _first_of(self, key: int) -> int:
        row = self.conn.execute("SELECT first_key FROM dup_groups WHERE key = ?", (key,)).fetchone()
        return row[0] if row else key

    def group(self, key: int) -> list[tuple[int, float]]:
        """Every post of the group `key` belongs to, earliest first, with its similarity to the first."""
        first = self._first_of(key)
        rows = self.conn.execute(
            "SELECT key, similarity FROM dup_groups WHERE first_key = ? ORDER BY key", (first,)).fetchall()
        return [(first, 1.0), *((k, s) for k, s in rows)]


def group_texts(items: Iterable[tuple[int, str]]) -> dict[int, int]:
    """Group (key, text) pairs in key order, in memory: {key: first_key}. For tests and evaluation."""
    conn = sqlite3.connect(":memory:")
    DuplicateIndex.create(conn)
    index = DuplicateIndex(conn)
    texts: dict[int, str] = {}
    out: dict[int, int] = {}
    for key, text in sorted(items):
        texts[key] = text
        out[key] = index.add(key, text, text_of=lambda ks: {k: texts[k] for k in ks}).first_key
    conn.close()
    return out
