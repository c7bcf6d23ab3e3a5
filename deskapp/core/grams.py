"""Words inside CJK and Thai text: a side index of character bigrams (posts_grams).

unicode61 (posts_fts) makes one token of a whole run of Chinese, Japanese or Thai text, which has
no spaces between words, so `現場` found nothing in `現場からの情報です`. Each run of such text is
also indexed as its overlapping bigrams plus its last character alone (`現場 場か から ... す`) in
a contentless FTS5 table (rowid = posts.key, the `ascii` tokenizer keeps every non-ASCII character
inside a token, Thai vowel and tone marks included). A word of two or more characters is then the
phrase of its bigrams (an exact substring match inside one run); a single character is the
prefix query `"字"*`, which every occurrence starts (the last character of a run has its unigram).

The table is kept by the store in the transaction that writes a post (new posts, changed texts);
posts inserted by other tools are indexed by `Store.rebuild_search_index()` (`desk check --repair`).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable

# Scripts written without spaces between words (or, for Hangul, with particles glued to words).
_RANGES = (
    "\u0e00-\u0eff"  # Thai, Lao
    "\u1000-\u109f"  # Myanmar
    "\u1780-\u17ff"  # Khmer
    "\u3040-\u30ff"  # Hiragana, Katakana
    "\u31f0-\u31ff"  # Katakana phonetic extensions
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uac00-\ud7af"  # Hangul syllables
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\uff66-\uff9f"  # half-width Katakana
    "\U00020000-\U0003134f"  # CJK extensions B-G
)
_RUN = re.compile(f"[{_RANGES}]+")
# The same character class for SQLite's GLOB (it compares code points): finds the rows to index.
GLOB = f"*[{_RANGES}]*"


def runs(text: str) -> list[str]:
    """The CJK/Thai runs of a text, in order."""
    return _RUN.findall(text)


def split_runs(text: str) -> list[tuple[bool, str]]:
    """The text cut into (is a CJK/Thai run, part) pieces, in order."""
    out: list[tuple[bool, str]] = []
    at = 0
    for m in _RUN.finditer(text):
        if m.start() > at:
            out.append((False, text[at:m.start()]))
        out.append((True, m.group()))
        at = m.end()
    if at < len(text):
        out.append((False, text[at:]))
    return out


def grams(text: str) -> str:
    """What posts_grams indexes for a text: each run's bigrams and its last character, space-separated."""
    out: list[str] = []
    for run in _RUN.findall(text):
        out.extend(run[i:i + 2] for i in range(len(run) - 1))
        out.append(run[-1])
    return " ".join(out)


def match(run: str) -> str:
    """The posts_grams MATCH expression for one run typed by the editor (see the module docstring)."""
    if len(run) == 1:
        return f'"{run}"*'
    return '"' + " ".join(run[i:i + 2] for i in range(len(run) - 1)) + '"'


def index(conn: sqlite3.Connection, rows: Iterable[tuple[int, str]]) -> None:
    """Index (key, text) rows that are new to posts_grams (texts without CJK/Thai cost nothing)."""
    _apply(conn, "INSERT INTO posts_grams (rowid, grams) SELECT key, grams FROM temp.desk_grams", rows)


def unindex(conn: sqlite3.Connection, rows: Iterable[tuple[int, str]]) -> None:
    """Remove (key, old text) rows: a contentless FTS5 table is told the exact values it indexed."""
    _apply(conn, "INSERT INTO posts_grams (posts_grams, rowid, grams) SELECT 'delete', key, grams FROM temp.desk_grams",
           rows)


def _apply(conn: sqlite3.Connection, sql: str, rows: Iterable[tuple[int, str]]) -> None:
    # Through a temp table and ONE statement: FTS5 flushes its pending index at every statement
    # savepoint, so an executemany straight into posts_grams would write a segment per row.
    staged = [(key, g) for key, text in rows if (g := grams(text or ""))]
    if not staged:
        return
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS desk_grams (key INTEGER, grams TEXT)")
    conn.execute("DELETE FROM temp.desk_grams")
    conn.executemany("INSERT INTO temp.desk_grams VALUES (?, ?)", staged)
    conn.execute(sql)
    conn.execute("DELETE FROM temp.desk_grams")
