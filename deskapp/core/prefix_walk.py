"""Long prefixes (`evacu*`) newest first, through the prefix FTS5 indexes.

posts_fts indexes 1-, 2- and 3-character prefixes as terms of their own (store_schema v9), read
newest first and lazily like a word. A longer prefix has no such term: FTS5 would merge the
doclist of every word starting with it before the first row comes back (10-30 ms for a common word
at 10^6 posts). So the store walks the posts matching the query with each long prefix cut to 3
characters (`"eva"*`, a wider match, newest first), a batch at a time, and keeps those the exact
query matches, as told by `Checker`: the batch's texts in an in-memory FTS5 table with the
tokenizer of posts_fts, so the answer is FTS5's own.

When the candidates seen so far say that `WALK_MAX` of them would hold too few matches, the prefix
is rare among recent posts and then its own merge is small: the store runs the exact query instead.
"""

from __future__ import annotations

import sqlite3

from deskapp.core.store_schema import FTS_TOKENIZE

INDEXED = 3  # the longest prefix posts_fts indexes (store_schema.FTS_PREFIX)
WALK_MAX = 200  # candidates checked before the walk gives way (about 6 ms)
WALK_FIRST = 32  # the first batch: a common prefix finds its 20 posts in it
CHUNK = 32  # texts in the checker's table at once


class Checker:
    """Which of these posts match this FTS5 expression? A contentless in-memory FTS5 table with the
    tokenizer of posts_fts, refilled with each batch (one transaction: FTS5 writes its index once)."""

    def __init__(self) -> None:
        self._db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        self._db.execute(f"CREATE VIRTUAL TABLE batch USING fts5 (text, content='', tokenize=\"{FTS_TOKENIZE}\")")

    def matching(self, rows: list[tuple[int, str | None]], match: str) -> set[int]:
        """The keys of `rows` ((key, text) pairs) whose text matches `match`."""
        db = self._db
        out: set[int] = set()
        # 32 at a time: FTS5's cost per text grows with the texts held (27 us each at 32, 110 at 400).
        for at in range(0, len(rows), CHUNK):
            db.execute("BEGIN")
            db.execute("INSERT INTO batch (batch) VALUES ('delete-all')")
            db.executemany("INSERT INTO batch (rowid, text) VALUES (?, ?)", ((k, t or "") for k, t in rows[at:at + CHUNK]))
            db.execute("COMMIT")
            out.update(k for (k,) in db.execute("SELECT rowid FROM batch WHERE batch MATCH ?", (match,)))
        return out

    def close(self) -> None:
        self._db.close()
