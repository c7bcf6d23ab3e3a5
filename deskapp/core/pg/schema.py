"""PostgreSQL schema of the desk store, in versions kept in its own table `desk_schema`.

Same tables, columns and text times as the SQLite store (store_schema.py), so `desk db copy`
moves rows as they are. The table shapes are written twice on purpose: both lists are landed
migrations (never edited) with different histories (this v1 is SQLite's v1-v8 at once) and types
(BIGINT, BIGSERIAL, BYTEA, a generated tsvector), so neither can be generated from the other without
rewriting landed entries; tests/test_schema_twins.py checks that a fresh store on each server has the
same tables and columns, and that `desk db copy` names every one. Search: a generated `tsvector` ('simple' config: no stemming, any
language) with a GIN index for words; words in CJK/Thai runs match as substrings (ILIKE) over a
pg_trgm GIN index, since the 'simple' parser keeps such a run as one token.
"""

from __future__ import annotations

# Each entry upgrades the schema by one version; never edit a landed one, append the next.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE sources (
        name TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        handle TEXT NOT NULL,
        label TEXT,
        enabled INTEGER NOT NULL DEFAULT 1,
        title TEXT,
        description TEXT,
        subscribers TEXT,
        subscribers_count BIGINT,
        last_success TEXT,
        last_error TEXT,
        error_text TEXT,
        error_count INTEGER NOT NULL DEFAULT 0,
        next_poll TEXT,
        cursor BIGINT,
        backfill_done INTEGER NOT NULL DEFAULT 0,
        etag TEXT,
        last_modified TEXT,
        interval DOUBLE PRECISION,
        created TEXT,
        base_url TEXT,
        post_count BIGINT NOT NULL DEFAULT 0,
        warning TEXT,
        warning_at TEXT
    );
    CREATE TABLE posts (
        key BIGINT PRIMARY KEY,
        source TEXT NOT NULL,
        post_id BIGINT NOT NULL,
        channel TEXT,
        channel_title TEXT,
        url TEXT,
        published TEXT NOT NULL,
        text TEXT NOT NULL DEFAULT '',
        author TEXT,
        views TEXT,
        views_count BIGINT,
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
        revisions INTEGER NOT NULL DEFAULT 0,
        native_id TEXT,
        reposted_by TEXT,
        quote_of TEXT,
        capture_how TEXT,
        capture_from TEXT,
        tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', text)) STORED
    );
    CREATE UNIQUE INDEX posts_source_post ON posts (source, post_id);
    CREATE INDEX posts_source_key ON posts (source, key);
    CREATE INDEX posts_tsv ON posts USING gin (tsv);
    CREATE TABLE revisions (
        id BIGSERIAL PRIMARY KEY,
        source TEXT NOT NULL,
        post_id BIGINT NOT NULL,
        text TEXT NOT NULL,
        text_sha256 TEXT,
        captured TEXT,
        replaced TEXT,
        capture_how TEXT,
        capture_from TEXT
    );
    CREATE INDEX revisions_post ON revisions (source, post_id);
    CREATE TABLE pins (
        desk TEXT NOT NULL,
        source TEXT NOT NULL,
        post_id BIGINT NOT NULL,
        position INTEGER NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        pinned_at TEXT NOT NULL,
        seq BIGSERIAL,
        PRIMARY KEY (desk, source, post_id)
    );
    CREATE TABLE desks (
        name TEXT PRIMARY KEY,
        prefs TEXT NOT NULL DEFAULT '{}',
        last_used TEXT
    );
    -- Bumped by every write transaction: Store.data_version() for desks that look for changes.
    CREATE SEQUENCE desk_changes;
    """,
    """
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE INDEX posts_trgm ON posts USING gin (text gin_trgm_ops);
    """,
    """
    -- Many pollers (core/pg/leases.py): who is alive, and which poller holds each source until when.
    CREATE TABLE pollers (
        name TEXT PRIMARY KEY,
        seen TIMESTAMPTZ NOT NULL
    );
    CREATE TABLE leases (
        source TEXT PRIMARY KEY,
        poller TEXT,
        expires TIMESTAMPTZ
    );
    """,
    """
    -- Attention (core/attention.py, the SQLite store's v6): every stored or re-texted post is queued
    -- in the transaction that stores it, by trigger, so a crash never loses a post's alerts or
    -- grouping. New posts: one statement-level insert from the transition table (a COPY of 10^6
    -- posts queues them in one go); a new text: a row trigger whose WHEN is checked without a call,
    -- so the re-polls that only refresh views cost nothing.
    CREATE TABLE attention_queue (
        key BIGINT PRIMARY KEY,
        edited INTEGER NOT NULL DEFAULT 0
    );
    CREATE FUNCTION desk_queue_new_posts() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO attention_queue (key) SELECT key FROM new_posts ON CONFLICT (key) DO NOTHING;
        RETURN NULL;
    END $$;
    CREATE TRIGGER posts_attention_ai AFTER INSERT ON posts REFERENCING NEW TABLE AS new_posts
        FOR EACH STATEMENT EXECUTE FUNCTION desk_queue_new_posts();
    CREATE FUNCTION desk_queue_edited_post() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO attention_queue (key, edited) VALUES (NEW.key, 1)
            ON CONFLICT (key) DO UPDATE SET edited = 1;
        RETURN NULL;
    END $$;
    CREATE TRIGGER posts_attention_au AFTER UPDATE OF text ON posts FOR EACH ROW
        WHEN (OLD.text IS DISTINCT FROM NEW.text) EXECUTE FUNCTION desk_queue_edited_post();
    CREATE TABLE alerts (
        id BIGSERIAL PRIMARY KEY,
        key BIGINT NOT NULL,
        source TEXT NOT NULL,
        post_id BIGINT NOT NULL,
        rule TEXT NOT NULL,
        what TEXT NOT NULL DEFAULT '',
        kind TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE INDEX alerts_key ON alerts (key);
    CREATE TABLE muted (
        key BIGINT PRIMARY KEY,
        rule TEXT NOT NULL
    );
    CREATE TABLE rules (
        id BIGSERIAL PRIMARY KEY,
        desk TEXT NOT NULL,
        spec TEXT NOT NULL,
        created TEXT NOT NULL
    );
    CREATE TABLE dup_bands (
        band BIGINT NOT NULL,
        key BIGINT NOT NULL,
        PRIMARY KEY (band, key)
    );
    CREATE TABLE dup_groups (
        key BIGINT PRIMARY KEY,
        first_key BIGINT NOT NULL,
        similarity DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX dup_groups_first ON dup_groups (first_key);
    """,
    """
    -- Evidence for verifying pins (core/evidence.py, verify.py, archive.py; the SQLite store's v3):
    -- every HTTP exchange as it went over the wire, what each capture or re-check concluded, and
    -- the archive's answers. Same columns; bodies as bytea.
    CREATE TABLE fetches (
        id BIGSERIAL PRIMARY KEY,
        url TEXT NOT NULL,
        requested TEXT NOT NULL,
        request_headers TEXT NOT NULL DEFAULT '[]',
        status INTEGER,
        reason TEXT,
        http_version TEXT,
        headers TEXT NOT NULL DEFAULT '[]',
        body BYTEA,
        sha256 TEXT,
        error TEXT,
        redirected_from BIGINT
    );
    CREATE TABLE checks (
        id BIGSERIAL PRIMARY KEY,
        source TEXT NOT NULL,
        post_id BIGINT NOT NULL,
        kind TEXT NOT NULL,
        result TEXT NOT NULL,
        checked TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '',
        text TEXT,
        text_sha256 TEXT,
        url TEXT,
        fetch_id BIGINT
    );
    CREATE INDEX checks_post ON checks (source, post_id, id);
    CREATE TABLE snapshots (
        id BIGSERIAL PRIMARY KEY,
        source TEXT NOT NULL,
        post_id BIGINT NOT NULL,
        url TEXT NOT NULL,
        requested TEXT NOT NULL,
        snapshot TEXT,
        error TEXT,
        fetch_id BIGINT
    );
    CREATE INDEX snapshots_post ON snapshots (source, post_id, id);
    """,
    """
    -- Politeness per host for pollers sharing one outgoing address (core/pg/turns.py): when the
    -- last request to `host` from `address` ended, and until when the host asked everyone to wait.
    -- Who has a request out is a session advisory lock, not a row: it ends with its connection.
    CREATE TABLE host_turns (
        host TEXT NOT NULL,
        address TEXT NOT NULL,
        last TIMESTAMPTZ,
        paused_until TIMESTAMPTZ,
        PRIMARY KEY (host, address)
    );
    """,
    """
    -- When the turn's holder began its request: one that is later than `last` was never ended (its
    -- poller died mid-request), so the next holder counts the gap from when it found the turn free.
    ALTER TABLE host_turns ADD COLUMN started TIMESTAMPTZ;
    """,
    """
    -- New posts are queued by the ingest itself, one statement a transaction (core/pg/store.py
    -- _PgIngest.flush): the statement trigger of the attention migration ran once per pipelined
    -- row and cost bulk ingest about a fifth (2,075 vs 2,628 posts/s at 10^4). Edits stay queued
    -- by their row trigger (it fires only when the text changes).
    DROP TRIGGER posts_attention_ai ON posts;
    DROP FUNCTION desk_queue_new_posts();
    """,
    """
    -- Search statistics for 10x as many words: the planner estimated 2,000 hits for any word out of
    -- its default 100-target list and walked the key index newest first, filtering 40,000 rows for
    -- a rare word (37 ms at 10^6); with the word in its statistics it reads the GIN matches (1.5 ms).
    -- The larger sample also steadied the estimate for Thai substrings (5-300 ms from one ANALYZE
    -- to the next at the default). benchmarks/RESULTS-pg.md.
    ALTER TABLE posts ALTER COLUMN tsv SET STATISTICS 1000;
    ANALYZE posts;
    """,
    """
    -- When the turn holder's request is over at the latest (its own deadline, written as it takes
    -- the turn). A holder cut off from the server loses its turn with its connection while its
    -- request may still be out: the next holder of an unended turn waits until then, and the gap.
    ALTER TABLE host_turns ADD COLUMN ends_by TIMESTAMPTZ;
    """,
]

