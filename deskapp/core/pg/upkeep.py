"""`desk import` and `desk check` on PostgreSQL: the store methods they need, and the check itself.

What can go wrong on a server is not what goes wrong in a file. The server keeps its own pages and
writes every index in the transaction that writes the row, and the full-text vector is a generated
column, so desk's own bookkeeping is what can drift: the per-source post counters (other tools may
insert posts), and indexes someone dropped. `check` looks at those, then asks the indexes the search
reads whether they answer for the newest posts: a word of each through the full-text index and a
piece of its text through the trigram index, with every other plan switched off so only the index
can answer. With the amcheck extension (a superuser installs it) every b-tree index is also checked
against the table, every row present (`bt_index_check(index, heapallindexed => true)`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import psycopg

from deskapp.core.model import Post
from deskapp.core.pg.schema import MIGRATIONS
from deskapp.core.store_check import Finding

PROBES = 50  # newest posts asked of each search index
PIECE = 12  # characters of a post's text asked of the trigram index

# Every index the migrations create, by name: what `check` expects and what a repair re-creates.
INDEXES: dict[str, str] = {
    m.group(2): m.group(0).replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS", 1)
    .replace("CREATE UNIQUE INDEX", "CREATE UNIQUE INDEX IF NOT EXISTS", 1)
    for sql in MIGRATIONS
    for m in re.finditer(r"CREATE (UNIQUE )?INDEX (\w+) ON [^;]+", sql)
}
_COUNTS_WRONG = (
    "SELECT count(*) FROM (SELECT s.name FROM sources s LEFT JOIN "
    "(SELECT source, count(*) AS n FROM posts GROUP BY source) c ON c.source = s.name "
    "WHERE s.post_count IS DISTINCT FROM coalesce(c.n, 0)) AS wrong"
)
_SOURCES_MISSING = "SELECT count(DISTINCT source) FROM posts WHERE NOT EXISTS (SELECT 1 FROM sources s WHERE s.name = posts.source)"
_ONLY_INDEXES = ("SET LOCAL enable_seqscan = off", "SET LOCAL enable_indexscan = off",
                 "SET LOCAL enable_indexonlyscan = off")
# `key + 0`: no index can serve it, so the search condition's own index answers.
TSV_PROBE = "SELECT count(*) FROM posts WHERE tsv @@ quote_literal(%s)::tsquery AND key + 0 = %s"
TRGM_PROBE = "SELECT count(*) FROM posts WHERE text ILIKE %s AND key + 0 = %s"


class PgUpkeep:
    """Mixed into PgStore: what import and check need beyond ingest."""

    path: str

    def _write(self, fn: Any) -> Any: ...  # pragma: no cover - PgStore's
    def _pg_write(self, fn: Any) -> Any: ...  # pragma: no cover - PgStore's

    def set_extras(self, batches: Iterable[tuple[str, list[Post]]]) -> None:
        """Native id, reposter and quoted link of posts already stored (bulk import of other kinds)."""
        from deskapp.core.store import _set_extras

        self._write(lambda conn: [_set_extras(conn, source, posts) for source, posts in batches])

    def recount(self) -> None:
        """Recompute sources.post_count from the posts (after rows were inserted by another tool)."""
        def run(cur: psycopg.Cursor) -> None:
            cur.execute("INSERT INTO sources (name, kind, handle, enabled) SELECT DISTINCT source, "
                        "CASE WHEN strpos(source, ':') > 0 THEN split_part(source, ':', 1) ELSE '' END, "
                        "substr(source, strpos(source, ':') + 1), 0 FROM posts ON CONFLICT (name) DO NOTHING")
            cur.execute("UPDATE sources s SET post_count = coalesce((SELECT count(*) FROM posts p "
                        "WHERE p.source = s.name), 0)")

        self._pg_write(run)

    def rebuild_search_index(self) -> int:
        """Re-create missing indexes and rebuild the posts' (after `desk check` found one wrong);
        returns how many posts were indexed."""
        def run(cur: psycopg.Cursor) -> int:
            for sql in INDEXES.values():
                cur.execute(sql)
            cur.execute("REINDEX TABLE posts")
            return cur.execute("SELECT count(*) FROM posts").fetchone()[0]

        return self._pg_write(run)


def check(store: Any, *, repair: bool = False) -> tuple[list[Finding], int, str]:
    """(findings, number of posts, what was checked) for the store on a server."""
    def run(cur: psycopg.Cursor) -> tuple[list[Finding], int, str]:
        findings: list[Finding] = []
        posts = cur.execute("SELECT count(*) FROM posts").fetchone()[0]
        have = {r[0] for r in cur.execute("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")}
        missing = sorted(set(INDEXES) - have)
        if missing:
            findings.append(Finding("indexes", "missing: " + ", ".join(missing), repairable=True))
        checked = ["post counts", "indexes present"]
        misses = _probe(cur)
        if misses:
            findings.append(Finding("search index", f"{misses} of the newest posts are not found through it",
                                    repairable=True))
        checked.append(f"the search indexes answer for the newest {min(posts, PROBES)} posts")
        damaged, how = _amcheck(cur)
        if damaged:
            findings.append(Finding("indexes", "damaged: " + "; ".join(damaged), repairable=True))
        checked.append(how)
        wrong = cur.execute(_COUNTS_WRONG).fetchone()[0] + cur.execute(_SOURCES_MISSING).fetchone()[0]
        if wrong:
            findings.append(Finding("post counts", f"{wrong} source(s) show a wrong number of posts", repairable=True))
        return findings, posts, "; ".join(checked)

    findings, posts, checked = store._pg_read(run)
    if repair and any(f.repairable for f in findings):
        if any(f.part in ("indexes", "search index") for f in findings):
            store.rebuild_search_index()
        if any(f.part == "post counts" for f in findings):
            store.recount()
        for f in findings:
            f.repaired = f.repairable
    return findings, posts, checked


def _probe(cur: psycopg.Cursor) -> int:
    """How many of the newest posts a search index does not return (each asked through it alone)."""
    for setting in _ONLY_INDEXES:
        cur.execute(setting)
    rows = cur.execute(
        "SELECT key, text, (SELECT lexeme FROM unnest(tsv) ORDER BY length(lexeme) DESC, lexeme LIMIT 1) "
        "FROM posts ORDER BY key DESC LIMIT %s", (PROBES,)).fetchall()
    misses = 0
    for key, text, lexeme in rows:
        if lexeme and not cur.execute(TSV_PROBE, (lexeme, key)).fetchone()[0]:
            misses += 1
            continue
        piece = (text or "")[:PIECE]
        if len(piece.strip()) >= 3 and not cur.execute(TRGM_PROBE, (like_pattern(piece), key)).fetchone()[0]:
            misses += 1
    for setting in _ONLY_INDEXES:
        cur.execute(setting.replace(" = off", " = on"))
    return misses


def like_pattern(text: str) -> str:
    """An ILIKE pattern for text anywhere, its own %, _ and \\ taken literally."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _amcheck(cur: psycopg.Cursor) -> tuple[list[str], str]:
    """(damaged b-tree indexes, what was checked) by amcheck where it is installed or can be."""
    try:
        cur.execute("SAVEPOINT desk_amcheck")
        cur.execute("CREATE EXTENSION IF NOT EXISTS amcheck")
        cur.execute("RELEASE SAVEPOINT desk_amcheck")
    except psycopg.Error:
        cur.execute("ROLLBACK TO SAVEPOINT desk_amcheck")
        return [], "b-tree indexes not checked (the amcheck extension is not installed: a superuser can add it)"
    names = [r[0] for r in cur.execute(
        "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "JOIN pg_am am ON am.oid = c.relam JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE am.amname = 'btree' AND n.nspname = current_schema() ORDER BY c.relname").fetchall()]
    damaged = []
    for name in names:
        try:
            cur.execute("SAVEPOINT desk_bt")
            cur.execute("SELECT bt_index_check(%s::regclass, true)", (name,))
            cur.execute("RELEASE SAVEPOINT desk_bt")
        except psycopg.Error as exc:
            cur.execute("ROLLBACK TO SAVEPOINT desk_bt")
            damaged.append(f"{name} ({' '.join(str(exc).split())[:200]})")
    return damaged, f"{len(names)} b-tree indexes checked against their tables (amcheck)"
