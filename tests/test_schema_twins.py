"""The two schemas are written twice on purpose (store_schema.py and pg/schema.py: landed
migrations, never edited, in two dialects with different histories), so this test is what keeps them
one shape: a fresh store on each server has the same tables with the same columns, less what each
server keeps for itself, and `desk db copy` (pg/copy.py TABLES) names every column of the data."""

from __future__ import annotations

from pathlib import Path

import psycopg

from deskapp.core.backend import open_store
from deskapp.core.pg.copy import TABLES

# Each server's own: SQLite's full-text and bigram indexes; PostgreSQL's schema version, pollers'
# leases and host turns, its generated search vector and the pins' insertion order (SQLite's rowid).
SQLITE_ONLY = {"posts_fts", "posts_grams"}
PG_ONLY = {"desk_schema", "pollers", "leases", "host_turns"}
PG_ONLY_COLUMNS = {("posts", "tsv"), ("pins", "seq")}


def _sqlite_columns(path: Path) -> dict[str, list[str]]:
    store = open_store(path)
    try:
        def run(conn) -> dict[str, list[str]]:
            tables = [r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
            tables = [t for t in tables if not any(t.startswith(f"{v}_") or t == v for v in SQLITE_ONLY)]
            return {t: [r[1] for r in conn.execute(f"PRAGMA table_info({t})")] for t in tables}

        return store._read(run)
    finally:
        store.close()


def _pg_columns(url: str) -> dict[str, list[str]]:
    open_store(url).close()  # the schema, migrated
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT table_name, column_name FROM information_schema.columns "
                            "WHERE table_schema = 'public' ORDER BY table_name, ordinal_position").fetchall()
    out: dict[str, list[str]] = {}
    for table, column in rows:
        if table not in PG_ONLY and (table, column) not in PG_ONLY_COLUMNS:
            out.setdefault(table, []).append(column)
    return out


def test_both_servers_keep_the_same_tables_and_columns(tmp_path: Path, pg_url: str) -> None:
    lite, pg = _sqlite_columns(tmp_path / "desk.db"), _pg_columns(pg_url)
    assert sorted(lite) == sorted(pg)
    for table in lite:
        assert sorted(lite[table]) == sorted(pg[table]), table
    # What `desk db copy` moves is every column of every table (a column added to both schemas but
    # not there would be left behind by a copy, silently).
    assert set(TABLES) == set(lite)
    for table, (cols, _order) in TABLES.items():
        assert sorted(c.strip() for c in cols.split(",")) == sorted(lite[table]), table
