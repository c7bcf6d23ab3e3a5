"""The store's schema as an ordered list of migrations (see store.py for how they are applied).

`MIGRATIONS[i]` moves a database from `PRAGMA user_version` i to i + 1. Entries are SQL scripts
(split into statements and run one by one inside the open-time transaction, never with
`executescript`, which would commit half-way) or callables taking the sqlite3 connection.
Never edit a released entry: append a new one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextvars import ContextVar

Migration = str | Callable[[sqlite3.Connection], None]

# Version 1: sources, posts, revisions, pins and the full-text index, plus a few helper columns:
#   sources.subscribers_count, sources.base_url
#   posts.text_seen      when the current text was first captured (a revision's `captured`)
# Times are 'YYYY-MM-DDTHH:MM:SSZ' text so sqlite-utils and Datasette show them readably.
V1 = """
CREATE TABLE sources (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    handle TEXT NOT NULL,
    label TEXT,
    enabled INTEGER NOT NULL DEFAULT 1,
    title TEXT,
    description TEXT,
    subscribers TEXT,
    subscribers_count INTEGER,
    last_success TEXT,
    last_error TEXT,
    error_text TEXT,
    error_count INTEGER NOT NULL DEFAULT 0,
    next_poll TEXT,
    cursor INTEGER,
    backfill_done INTEGER NOT NULL DEFAULT 0,
    etag TEXT,
    last_modified TEXT,
    interval REAL,
    created TEXT,
    base_url TEXT
);

CREATE TABLE posts (
    key INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    post_id INTEGER NOT NULL,
    channel TEXT,
    channel_title TEXT,
    url TEXT,
    published TEXT NOT NULL,
    text TEXT NOT NULL DEFAULT '',
    author TEXT,
    views TEXT,
    views_count INTEGER,
    views_seen TEXT,
    edited INTEGER NOT NULL DEFAULT 0,
    fwd_name TEXT,
    fwd_url TEXT,
    reply_to TEXT,
    album_ids TEXT,
    media TEXT,
    service INTEGER NOT NULL DEFAULT 0,
    text_sha256 TEXT,
    first_seen TEXT,
    last_seen TEXT,
    text_seen TEXT,
    revisions INTEGER NOT NULL DEFAULT 0
);

CREATE UNIQUE INDEX posts_source_post ON posts (source, post_id);

-- Feed filtered by source, newest first: an index range per source in key order.
CREATE INDEX posts_source_key ON posts (source, key);

-- A narrow copy of the key order: OFFSET (random access in the feed) and count(*) step through
-- this small index instead of the wide table rows.
CREATE INDEX posts_key ON posts (key);

CREATE TABLE revisions (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    post_id INTEGER NOT NULL,
    text TEXT NOT NULL,
    text_sha256 TEXT,
    captured TEXT,
    replaced TEXT
);

CREATE INDEX revisions_post ON revisions (source, post_id);

CREATE TABLE pins (
    source TEXT NOT NULL,
    post_id INTEGER NOT NULL,
    position INTEGER NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    pinned_at TEXT NOT NULL,
    PRIMARY KEY (source, post_id)
);

-- External-content FTS5 over posts.text; rowid = posts.key, so `ORDER BY rowid DESC` is newest
-- first. content="posts" (double quotes) is the spelling sqlite-utils and Datasette detect.
-- columnsize=0: no per-document size row (one B-tree insert less per post); only bm25/rank
-- needs sizes, and then FTS5 recomputes them from the text -- we sort by time, never by rank.
CREATE VIRTUAL TABLE posts_fts USING fts5 (
    text,
    content="posts",
    content_rowid="key",
    columnsize=0,
    tokenize="unicode61 remove_diacritics 2"
);

-- The sqlite-utils trigger names (enable_fts create_triggers), but the update trigger fires only
-- when the text changes: a re-poll that refreshes views/last_seen must not rewrite the index.
CREATE TRIGGER posts_ai AFTER INSERT ON posts BEGIN
  INSERT INTO posts_fts (rowid, text) VALUES (new.key, new.text);
END;

CREATE TRIGGER posts_ad AFTER DELETE ON posts BEGIN
  INSERT INTO posts_fts (posts_fts, rowid, text) VALUES ('delete', old.key, old.text);
END;

CREATE TRIGGER posts_au AFTER UPDATE OF text ON posts BEGIN
  INSERT INTO posts_fts (posts_fts, rowid, text) VALUES ('delete', old.key, old.text);
  INSERT INTO posts_fts (rowid, text) VALUES (new.key, new.text);
END;
"""

# FTS5 buffers new index data in memory and writes a segment when the buffer passes `hashsize`
# (1 MB by default); every segment is merged again later. A bulk import of 50,000 posts makes
# about 20 MB of index: a 16 MB buffer means a handful of segments instead of twenty, and ingest
# about a quarter faster. A 20-post page never comes near it, so the poller's memory is unchanged.
FTS_HASHSIZE = 16_000_000


def _v1(conn: sqlite3.Connection) -> None:
    for statement in split_sql(V1):
        conn.execute(statement)
    try:
        conn.execute("INSERT INTO posts_fts (posts_fts, rank) VALUES ('hashsize', ?)", (FTS_HASHSIZE,))
    except sqlite3.OperationalError:
        pass  # an SQLite without the option: only slower bulk ingest


# Version 2: sources.post_count, so that sources() and a per-source feed_count are O(sources)
# instead of an index walk over every post (about 0.1 s at 10^6). The store's ingest adds to it
# once per transaction and source (a per-row insert trigger would cost ~8 us a post, a third of
# the bulk-ingest budget); deletes, rare and possibly by other tools, go through a trigger.
# Rows inserted into posts by other tools are not counted until Store.recount().
V2 = """
ALTER TABLE sources ADD COLUMN post_count INTEGER NOT NULL DEFAULT 0;

INSERT OR IGNORE INTO sources (name, kind, handle, enabled)
  SELECT DISTINCT
    source,
    CASE WHEN instr(source, ':') > 0 THEN substr(source, 1, instr(source, ':') - 1) ELSE '' END,
    substr(source, instr(source, ':') + 1),
    0
  FROM posts;

UPDATE sources SET post_count = (SELECT count(*) FROM posts WHERE posts.source = sources.name);

CREATE TRIGGER posts_count_ad AFTER DELETE ON posts BEGIN
  UPDATE sources SET post_count = post_count - 1 WHERE name = old.source;
END;
"""

# Version 3: evidence for verifying pins before publishing (core/evidence.py, core/verify.py,
# core/archive.py). `fetches` keeps every HTTP exchange as it went over the wire (one row per hop,
# `redirected_from` links the hops; `body` NULL when nothing came back); `checks` says what each
# capture or re-check of a post concluded and which exchange it read; `snapshots` the archive's
# answers to Save Page Now. Times carry milliseconds so two requests in one second keep their order.
V3 = """
CREATE TABLE fetches (
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL,
    requested TEXT NOT NULL,
    request_headers TEXT NOT NULL DEFAULT '[]',
    status INTEGER,
    reason TEXT,
    http_version TEXT,
    headers TEXT NOT NULL DEFAULT '[]',
    body BLOB,
    sha256 TEXT,
    error TEXT,
    redirected_from INTEGER
);

CREATE TABLE checks (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    post_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    result TEXT NOT NULL,
    checked TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    text TEXT,
    text_sha256 TEXT,
    url TEXT,
    fetch_id INTEGER
);

CREATE INDEX checks_post ON checks (source, post_id, id);

CREATE TABLE snapshots (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    post_id INTEGER NOT NULL,
    url TEXT NOT NULL,
    requested TEXT NOT NULL,
    snapshot TEXT,
    error TEXT,
    fetch_id INTEGER
);

CREATE INDEX snapshots_post ON snapshots (source, post_id, id);
"""


# Version 4: one pinboard per desk. pins gains `desk` (part of the primary key: two desks may pin
# the same post), and `desks` keeps each desk's preferences (citation format, heading, options) as
# a JSON object. Pins from before desks existed go to the desk of the user who upgrades the store.
V4_TABLES = """
CREATE TABLE pins_v4 (
    desk TEXT NOT NULL,
    source TEXT NOT NULL,
    post_id INTEGER NOT NULL,
    position INTEGER NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    pinned_at TEXT NOT NULL,
    PRIMARY KEY (desk, source, post_id)
);

INSERT INTO pins_v4 (desk, source, post_id, position, note, pinned_at)
  SELECT ?, source, post_id, position, note, pinned_at FROM pins;

DROP TABLE pins;

ALTER TABLE pins_v4 RENAME TO pins;

-- The feed marks posts pinned on this desk: a lookup by (desk, source, post_id) is the primary key.
CREATE TABLE desks (
    name TEXT PRIMARY KEY,
    prefs TEXT NOT NULL DEFAULT '{}',
    last_used TEXT
);
"""


def _v4(conn: sqlite3.Connection) -> None:
    from deskapp.core.desks import default_desk

    for statement in split_sql(V4_TABLES):
        conn.execute(statement, (default_desk(),) if "?" in statement else ())



# Version 5: words inside CJK and Thai text (core/grams.py): a contentless FTS5 index of the
# character bigrams of those runs, rowid = posts.key, written by the store with each post. Stores
# from before get their existing posts indexed here (only rows with such text are read twice).
V5_TABLE = (
    "CREATE VIRTUAL TABLE posts_grams USING fts5 (grams, content='', tokenize='ascii', columnsize=0)"
)


def _v5(conn: sqlite3.Connection) -> None:
    from deskapp.core import grams

    conn.execute(V5_TABLE)
    try:
        conn.execute("INSERT INTO posts_grams (posts_grams, rank) VALUES ('hashsize', ?)", (FTS_HASHSIZE,))
    except sqlite3.OperationalError:
        pass  # an SQLite without the option: only slower bulk ingest
    grams.index(conn, conn.execute("SELECT key, text FROM posts WHERE text GLOB ?", (grams.GLOB,)))



# Version 6: attention (core/attention.py). Every stored or re-texted post is queued by trigger in
# the transaction that stores it, so a crash never loses a post's alerts or grouping; `alerts` keeps
# what each rule matched, `muted` what mute rules hide (hidden from the feed, never from the store
# or search), `rules` the rules editors add from a desk, dup_* the near-duplicate index (dedup.py).
V6 = """
CREATE TABLE attention_queue (
    key INTEGER PRIMARY KEY,
    edited INTEGER NOT NULL DEFAULT 0
);

CREATE TRIGGER posts_attention_ai AFTER INSERT ON posts BEGIN
  INSERT OR IGNORE INTO attention_queue (key) VALUES (new.key);
END;

CREATE TRIGGER posts_attention_au AFTER UPDATE OF text ON posts WHEN old.text IS NOT new.text BEGIN
  INSERT INTO attention_queue (key, edited) VALUES (new.key, 1)
    ON CONFLICT (key) DO UPDATE SET edited = 1;
END;

CREATE TABLE alerts (
    id INTEGER PRIMARY KEY,
    key INTEGER NOT NULL,
    source TEXT NOT NULL,
    post_id INTEGER NOT NULL,
    rule TEXT NOT NULL,
    what TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL,
    at TEXT NOT NULL
);

CREATE INDEX alerts_key ON alerts (key);

CREATE TABLE muted (
    key INTEGER PRIMARY KEY,
    rule TEXT NOT NULL
);

CREATE TABLE rules (
    id INTEGER PRIMARY KEY,
    desk TEXT NOT NULL,
    spec TEXT NOT NULL,
    created TEXT NOT NULL
);

"""

# The near-duplicate index (core/dedup.py also builds it in memory for its evaluation): `band`
# holds a band key, `key` the post's.
DUP_TABLES = """
CREATE TABLE dup_bands (
    band INTEGER NOT NULL,
    key INTEGER NOT NULL,
    PRIMARY KEY (band, key)
) WITHOUT ROWID;

CREATE TABLE dup_groups (
    key INTEGER PRIMARY KEY,
    first_key INTEGER NOT NULL,
    similarity REAL NOT NULL
);

CREATE INDEX dup_groups_first ON dup_groups (first_key);
"""

# Version 7: posts from kinds other than Telegram (core/sources/): the id as the platform writes it
# (Bluesky rkey, Mastodon status id, RSS guid; `post_id` is the integer made from it), who reposted
# or boosted a post shown as the original, and the permalink of a quoted post. NULL for Telegram.
V7 = """
ALTER TABLE posts ADD COLUMN native_id TEXT;
ALTER TABLE posts ADD COLUMN reposted_by TEXT;
ALTER TABLE posts ADD COLUMN quote_of TEXT;
"""


# Version 8: provenance and a clean store (issue 11).
#   posts.capture_how / capture_from: how the current text was captured: 'fetched' and the URL, or
#     'imported' and the file's path (the time is text_seen); NULL for posts stored before.
#   revisions.capture_how / capture_from: the same for each earlier text.
#   sources.warning / warning_at: the last page's refused posts (another channel's, ids twice, ...).
# URL fields were stored as published until now: unsafe characters in them are percent-encoded here
# (the GLOB finds the few rows with a character outside printable ASCII; Python cleans those), and
# validators that could not be sent back are dropped.
V8 = """
ALTER TABLE posts ADD COLUMN capture_how TEXT;
ALTER TABLE posts ADD COLUMN capture_from TEXT;
ALTER TABLE revisions ADD COLUMN capture_how TEXT;
ALTER TABLE revisions ADD COLUMN capture_from TEXT;
ALTER TABLE sources ADD COLUMN warning TEXT;
ALTER TABLE sources ADD COLUMN warning_at TEXT;
"""


def _v8(conn: sqlite3.Connection) -> None:
    from deskapp.core.sanitize import clean_header, clean_url

    for statement in split_sql(V8):
        conn.execute(statement)
    odd = "GLOB '*[^ -~]*'"
    rows = conn.execute(f"SELECT key, url, fwd_url, reply_to FROM posts WHERE url {odd} OR fwd_url {odd} "
                        f"OR reply_to {odd}").fetchall()
    conn.executemany("UPDATE posts SET url = ?, fwd_url = ?, reply_to = ? WHERE key = ?",
                     [(clean_url(url) or "", clean_url(fwd), clean_url(reply), key) for key, url, fwd, reply in rows])
    rows = conn.execute(f"SELECT name, etag, last_modified FROM sources WHERE etag {odd} OR last_modified {odd}").fetchall()
    conn.executemany("UPDATE sources SET etag = ?, last_modified = ? WHERE name = ?",
                     [(clean_header(etag), clean_header(lm), name) for name, etag, lm in rows])


# Version 9: prefix search (`evac*`) within the 20 ms budget at 10^6 posts. Without a prefix index,
# FTS5 answers `"rep"*` by merging the doclist of every term with that prefix before the first row
# comes back (p95 132 ms at 10^6). `prefix='1 2 3'` keeps each 1-, 2- and 3-character prefix as a
# term of its own, read newest first like a word (about 0.1 ms); longer prefixes are walked through
# their 3-character one (core/prefix_walk.py). At 10^6 posts the index grows from 210 to 610 MB and
# the rebuild takes about a minute (benchmarks/RESULTS-search.md): it runs in key ranges and tells
# `progress` how far it got.
FTS_PREFIX = "1 2 3"
FTS_TOKENIZE = "unicode61 remove_diacritics 2"  # as in V1 (core/prefix_walk.py checks with it too)
FTS_REBUILD_CHUNK = 50_000
V9_TABLE = f"""CREATE VIRTUAL TABLE posts_fts USING fts5 (
    text,
    content="posts",
    content_rowid="key",
    columnsize=0,
    tokenize="{FTS_TOKENIZE}",
    prefix='{FTS_PREFIX}'
)"""

# Told (what, done, total) while a long migration runs; Store.open sets it for its migrations.
progress: ContextVar[Callable[[str, int, int], None] | None] = ContextVar("progress", default=None)


def _v9(conn: sqlite3.Connection) -> None:
    conn.execute("DROP TABLE posts_fts")  # the triggers name it and find the new one
    conn.execute(V9_TABLE)
    try:
        conn.execute("INSERT INTO posts_fts (posts_fts, rank) VALUES ('hashsize', ?)", (FTS_HASHSIZE,))
    except sqlite3.OperationalError:
        pass  # an SQLite without the option: only slower bulk ingest
    total = conn.execute("SELECT count(*) FROM posts").fetchone()[0]
    report = progress.get()
    done, last = 0, None
    while True:
        # What 'rebuild' does, a key range at a time.
        row = conn.execute(
            "SELECT count(*), max(key) FROM (SELECT key FROM posts WHERE key > ?1 ORDER BY key LIMIT ?2)",
            (last if last is not None else -(1 << 62), FTS_REBUILD_CHUNK)).fetchone()
        if not row[0]:
            break
        conn.execute("INSERT INTO posts_fts (rowid, text) SELECT key, text FROM posts WHERE key > ?1 AND key <= ?2",
                     (last if last is not None else -(1 << 62), row[1]))
        done, last = done + row[0], row[1]
        if report is not None and total > FTS_REBUILD_CHUNK:
            report("rebuilding the search index for prefix search", done, total)


MIGRATIONS: list[Migration] = [_v1, V2, V3, _v4, _v5, V6 + DUP_TABLES, V7, _v8, _v9]


def split_sql(script: str) -> list[str]:
    """Split a script into complete statements (trigger bodies stay whole), dropping comments-only parts."""
    statements: list[str] = []
    buf: list[str] = []
    for line in script.splitlines(keepends=True):
        if not buf and (not line.strip() or line.lstrip().startswith("--")):
            continue
        buf.append(line)
        text = "".join(buf)
        if sqlite3.complete_statement(text):
            statements.append(text.strip())
            buf = []
    tail = "".join(buf).strip()
    if tail:
        statements.append(tail)
    return statements
