"""The SQLite store's feed and search: newest-first windows of posts by key, full-text search over
the two FTS5 indexes (words in posts_fts, CJK/Thai bigrams in posts_grams), counts and random access.

A mixin of the SQLite store (core/store.py), reading through its `_read` and `snapshot`. Every window
is keyset-paged on `posts.key`, which encodes publication order (store.py's docstring), so a window is
an index range or an FTS5 doclist walked newest first that stops at its LIMIT; the planner's choices
are pinned by tests/test_search.py and benchmarks/bench_store.py. PostgreSQL has its own (tsvector
and trigram) in core/pg/store.py: the engines differ too much to share this SQL.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from deskapp.core import prefix_walk
from deskapp.core.ingest import KEY_SHIFT, chunked, placeholders, unix_seconds
from deskapp.core.model import FeedRow, StoredPost
from deskapp.core.query import Term
from deskapp.core.query import parse as parse_query
from deskapp.core.store_rows import POST_COLS, feed_row, stored_post

T = TypeVar("T")

_PER_SOURCE_UNION_MAX = 48
# A search within one source first tests this many of its newest posts (see FeedReads._source_first).
SOURCE_FIRST = 400
# Counting words within sources that hold at most this many posts tests each post (~10 us a seek).
SOURCE_SCAN_MAX = 20_000



_FTS_TABLES = {"fts": "posts_fts", "grams": "posts_grams"}


@dataclass
class _Plan:
    """A parsed search as SQL: MATCH on an FTS table (`branches`), other conditions over
    `p` (`where`, `params`: the other index, mixed terms, exclusions), key bounds and sources.
    Several branches (a clause like `word OR 漢字` over both indexes) are a union, newest first."""

    branches: list[tuple[str, str]] = field(default_factory=list)  # (FTS table, MATCH): rows of any
    where: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)
    sources: list[str] | None = None
    low: int | None = None  # key >= low (since:)
    high: int | None = None  # key < high (until:)
    nothing: bool = False  # nothing searchable was typed
    # Only exclusions (`-rumour`): (FTS table, MATCH) of what is left out, so a count can be the
    # posts in range less those matches instead of one FTS seek per post.
    excluded_only: list[tuple[str, str]] = field(default_factory=list)
    # The one branch on posts_fts with its long prefixes cut to the indexed 3 characters, when it
    # has any: walked newest first and checked against the exact match (core/prefix_walk.py).
    walk: str | None = None


def _muted_cond(col: str, muted: str) -> str | None:
    """`muted`: "" every post, "hide" those no mute rule hid, "only" those it hid. A primary-key seek
    in `muted` per row walked (it holds thousands of keys, the feed millions)."""
    if muted == "hide":
        return f"{col} NOT IN (SELECT key FROM muted)"
    if muted == "only":
        return f"{col} IN (SELECT key FROM muted)"
    return None


def _matches_nothing(plan: _Plan | None, sources: list[str] | None) -> bool:
    if plan is not None:
        return plan.nothing or (plan.sources is not None and not plan.sources)
    return sources is not None and not sources


def _term_match(term: Term) -> str:
    return "(" + " AND ".join(p.match for p in term.parts) + ")"


def _or_match(clause: list[Term], relax: bool = False) -> str:
    return "(" + " OR ".join(_term_match(t.relaxed(prefix_walk.INDEXED) if relax else t) for t in clause) + ")"


def _clause_sql(clause: list[Term]) -> tuple[str, list[Any]]:
    """A clause as EXISTS lookups of p.key in the FTS tables (FTS5 seeks a rowid in each doclist)."""
    if len({t.index for t in clause}) == 1 and clause[0].index is not None:
        table = _FTS_TABLES[clause[0].index]
        return f"EXISTS (SELECT 1 FROM {table} WHERE {table} MATCH ? AND rowid = p.key)", [_or_match(clause)]
    ors: list[str] = []
    params: list[Any] = []
    for term in clause:
        ands = []
        for part in term.parts:
            table = _FTS_TABLES[part.index]
            ands.append(f"EXISTS (SELECT 1 FROM {table} WHERE {table} MATCH ? AND rowid = p.key)")
            params.append(part.match)
        ors.append("(" + " AND ".join(ands) + ")")
    return "(" + " OR ".join(ors) + ")", params


class FeedReads:
    """The feed and search methods of the SQLite store."""

    if TYPE_CHECKING:  # provided by the store (never defined here: a mixin's stub would shadow them)
        _feed_cols: str
        _post_from_pins: str
        _checker: prefix_walk.Checker | None

        def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T: ...
        def snapshot(self) -> Iterator[None]: ...
        def resolve_sources(self, typed: list[str]) -> list[str]: ...
        def count_posts(self) -> int: ...


    def _plan(self, query: str | None, prefix: bool, sources: list[str] | None) -> _Plan | None:
        """The SQL pieces of a search (None: blank text, no filter). See core/query.py for the syntax."""
        if query is None or not query.strip():
            return None
        q = parse_query(query, prefix=prefix)
        if q.empty:
            return _Plan(nothing=True)  # only punctuation: matches nothing, as before
        plan = _Plan(sources=sources)
        if q.sources:
            named = self.resolve_sources(q.sources)
            plan.sources = named if sources is None else [s for s in sources if s in named]
        if q.since is not None:
            plan.low = unix_seconds(q.since) << KEY_SHIFT
        if q.until is not None:
            plan.high = unix_seconds(q.until) << KEY_SHIFT
        one = {"fts": [c for c in q.clauses if all(t.index == "fts" for t in c)],
               "grams": [c for c in q.clauses if all(t.index == "grams" for t in c)]}
        driver = "fts" if one["fts"] else "grams" if one["grams"] else None
        union: list[Term] | None = None
        if driver is None:
            # Only clauses that need both indexes: the first whose terms each need one becomes a
            # union of one newest-first MATCH per index (never a scan of every post).
            union = next((c for c in q.clauses if all(t.index is not None for t in c)), None)
        for clause in q.clauses:
            if (driver is not None and clause in one[driver]) or clause is union:
                continue
            sql, params = _clause_sql(clause)
            plan.where.append(sql)
            plan.params.extend(params)
        excluded_here = [t for t in q.excluded if driver is not None and t.index == driver]
        for term in q.excluded:
            if term not in excluded_here:
                sql, params = _clause_sql([term])
                plan.where.append(f"NOT {sql}")
                plan.params.extend(params)
        if driver is not None:
            match = " AND ".join(_or_match(c) for c in one[driver])
            # Only what must match is widened: a cut prefix left out would leave out more.
            walk = " AND ".join(_or_match(c, relax=True) for c in one[driver]) if driver == "fts" else match
            if excluded_here:
                left_out = f" NOT ({' OR '.join(_term_match(t) for t in excluded_here)})"
                match, walk = f"({match}){left_out}", f"({walk}){left_out}"
            plan.branches.append((_FTS_TABLES[driver], match))
            plan.walk = walk if walk != match else None
        elif union is not None:
            for index in ("fts", "grams"):
                terms = [t for t in union if t.index == index]
                if terms:
                    plan.branches.append((_FTS_TABLES[index], _or_match(terms)))
        elif not q.clauses and all(t.index is not None for t in q.excluded):
            for index in ("fts", "grams"):
                terms = [t for t in q.excluded if t.index == index]
                if terms:
                    plan.excluded_only.append((_FTS_TABLES[index], " OR ".join(_term_match(t) for t in terms)))
        return plan

    def _feed_query(self, cols: str, limit: int, *, before_key: int | None, after_key: int | None,
                    plan: _Plan | None, sources: list[str] | None, muted: str = "") -> tuple[str, list[Any], bool]:
        """SQL for one feed window. Returns (sql, params, ascending); ascending rows are reversed by the
        caller. `muted`: see _muted_cond."""
        ascending = after_key is not None and before_key is None  # the rows just above after_key
        order = "ASC" if ascending else "DESC"
        params: list[Any] = []
        where: list[str] = []
        keycol = "p.key"
        if plan is not None:
            sources = plan.sources
        filtered = plan is not None and bool(plan.where or plan.low is not None or plan.high is not None)
        if plan is not None and len(plan.branches) > 1:
            # One newest-first window per index, each with every filter, then the newest of both.
            parts = []
            for table, match in plan.branches:
                sub, sub_params = self._branch_query(plan, table, match, sources, before_key, after_key, limit,
                                                     muted)
                parts.append(f"SELECT * FROM ({sub})")
                params.extend(sub_params)
            keys = " UNION ".join(parts) + f" ORDER BY 1 {order} LIMIT ?"
            params.append(limit)
            return f"SELECT {cols} FROM posts p WHERE p.key IN ({keys}) ORDER BY p.key {order}", params, ascending
        if plan is not None and plan.branches:
            # CROSS JOIN keeps the FTS table the outer loop: FTS5 hands rowids over in key order
            # and the LIMIT stops it early.
            table, match = plan.branches[0]
            base = f"SELECT {cols} FROM {table} CROSS JOIN posts p ON p.key = {table}.rowid"
            keycol = f"{table}.rowid"
            where.append(f"{table} MATCH ?")
            params.append(match)
            if cond := _muted_cond(keycol, muted):
                where.append(cond)
            if sources is not None:
                where.append(f"p.source IN ({placeholders(len(sources))})")
                params.extend(sources)
        else:
            if sources is not None and 1 <= len(sources) <= _PER_SOURCE_UNION_MAX and not filtered:
                # One range of the covering (source, key) index per source gives each source's
                # next `limit` keys; only the `limit` newest of those are read from the table.
                parts = []
                for src in dict.fromkeys(sources):
                    sub_where = ["source = ?"]
                    params.append(src)
                    if before_key is not None:
                        sub_where.append("key < ?")
                        params.append(before_key)
                    if after_key is not None:
                        sub_where.append("key > ?")
                        params.append(after_key)
                    if cond := _muted_cond("key", muted):
                        sub_where.append(cond)
                    parts.append(
                        f"SELECT * FROM (SELECT key FROM posts INDEXED BY posts_source_key "
                        f"WHERE {' AND '.join(sub_where)} ORDER BY key {order} LIMIT ?)"
                    )
                    params.append(limit)
                keys = " UNION ALL ".join(parts) + f" ORDER BY 1 {order} LIMIT ?"
                params.append(limit)
                sql = f"SELECT {cols} FROM posts p WHERE p.key IN ({keys}) ORDER BY p.key {order}"
                return sql, params, ascending
            base = f"SELECT {cols} FROM posts p"
            if cond := _muted_cond("p.key", muted):
                where.append(cond)
            if sources is not None:
                # Many sources: walk the key order and filter (unary + keeps the planner off the index).
                where.append(f"+p.source IN ({placeholders(len(sources))})")
                params.extend(sources)
        if plan is not None:
            where.extend(plan.where)
            params.extend(plan.params)
            if plan.low is not None:
                where.append(f"{keycol} >= ?")
                params.append(plan.low)
            if plan.high is not None:
                where.append(f"{keycol} < ?")
                params.append(plan.high)
        if before_key is not None:
            where.append(f"{keycol} < ?")
            params.append(before_key)
        if after_key is not None:
            where.append(f"{keycol} > ?")
            params.append(after_key)
        sql = base + (" WHERE " + " AND ".join(where) if where else "") + f" ORDER BY {keycol} {order} LIMIT ?"
        params.append(limit)
        return sql, params, ascending

    def _window(self, cols: str, limit: int, *, before_key: int | None, after_key: int | None,
                plan: _Plan | None, sources: list[str] | None, muted: str = "") -> tuple[list[tuple[Any, ...]], bool]:
        """The rows of one feed window (and whether they came oldest first)."""
        if (plan is not None and len(plan.branches) == 1 and plan.sources is not None and len(plan.sources) == 1
                and after_key is None):
            rows = self._source_first(cols, limit, before_key, plan, muted)
            if rows is not None:
                return rows, False
        if plan is not None and plan.walk is not None and len(plan.branches) == 1:
            walked = self._walk(cols, limit, before_key=before_key, after_key=after_key, plan=plan,
                                sources=sources, muted=muted)
            if walked is not None:
                return walked
        sql, params, ascending = self._feed_query(cols, limit, before_key=before_key, after_key=after_key,
                                                  plan=plan, sources=sources, muted=muted)
        return self._read(lambda c: c.execute(sql, params).fetchall()), ascending

    def _walk(self, cols: str, limit: int, *, before_key: int | None, after_key: int | None, plan: _Plan,
              sources: list[str] | None, muted: str) -> tuple[list[tuple[Any, ...]], bool] | None:
        """A query with long prefixes: its wider form (`plan.walk`) newest first, a batch at a time,
        each batch checked against the exact match; None when the walk would need more than its
        budget of candidates to find `limit` posts (core/prefix_walk.py)."""
        assert plan.walk is not None
        table, exact = plan.branches[0]
        wide = _Plan(branches=[(table, plan.walk)], where=plan.where, params=plan.params, sources=plan.sources,
                     low=plan.low, high=plan.high)
        checker = self._walk_checker()

        def run(conn: sqlite3.Connection) -> tuple[list[tuple[Any, ...]], bool] | None:
            hits: list[int] = []
            seen, low, high, batch = 0, after_key, before_key, max(limit, prefix_walk.WALK_FIRST)
            budget = max(prefix_walk.WALK_MAX, 4 * limit)
            while True:
                sql, params, ascending = self._feed_query("p.key, p.text", batch, before_key=high, after_key=low,
                                                          plan=wide, sources=sources, muted=muted)
                rows = conn.execute(sql, params).fetchall()
                ok = checker.matching(rows, exact)
                hits += [key for key, _ in rows if key in ok]
                seen += len(rows)
                if len(hits) >= limit or len(rows) < batch:
                    break
                # At the rate found so far, would the budget hold enough? If not, the prefix is rare
                # lately: FTS5's own query (a small merge then) answers sooner.
                if seen + (limit - len(hits)) * seen / max(len(hits), 0.5) > budget:
                    return None
                low, high = (rows[-1][0], high) if ascending else (low, rows[-1][0])
                batch = min(batch * 4, budget - seen)
            keys = hits[:limit]
            order = "ASC" if ascending else "DESC"
            return conn.execute(f"SELECT {cols} FROM posts p WHERE p.key IN ({placeholders(len(keys))}) "
                                f"ORDER BY p.key {order}", keys).fetchall(), ascending

        return self._read(run)

    def _walk_checker(self) -> prefix_walk.Checker:
        if self._checker is None:
            self._checker = prefix_walk.Checker()
        return self._checker

    def _source_first(self, cols: str, limit: int, before_key: int | None, plan: _Plan,
                      muted: str = "") -> list[tuple[Any, ...]] | None:
        """Words within one source: test the source's newest SOURCE_FIRST posts against the index
        (one FTS5 rowid seek each), instead of walking every match of a common word until enough
        of them are from that source (a source holds ~1/500 of the posts). None when those posts
        hold fewer than `limit` matches and the source has older posts: the caller then walks the
        matches (fast when the words are rare, which is then the likely case)."""
        assert plan.sources is not None
        table, match = plan.branches[0]
        bounds: list[str] = ["source = ?"]
        params: list[Any] = [plan.sources[0]]
        for cond, value in (("key < ?", before_key), ("key >= ?", plan.low), ("key < ?", plan.high)):
            if value is not None:
                bounds.append(cond)
                params.append(value)
        candidates = (f"SELECT key FROM posts INDEXED BY posts_source_key WHERE {' AND '.join(bounds)} "
                      f"ORDER BY key DESC LIMIT {SOURCE_FIRST}")
        where = [f"EXISTS (SELECT 1 FROM {table} WHERE {table} MATCH ? AND rowid = p.key)", *plan.where]
        if cond := _muted_cond("p.key", muted):
            where.insert(0, cond)  # no parameters: the parameters' order stays
        # No ORDER BY here: the candidates come newest first, and sorting them would test all of them.
        keys = f"SELECT p.key FROM ({candidates}) AS p WHERE {' AND '.join(where)} LIMIT ?"
        sql = f"SELECT {cols} FROM posts p WHERE p.key IN ({keys}) ORDER BY p.key DESC"
        all_params = [*params, match, *plan.params, limit]

        def run(conn: sqlite3.Connection) -> list[tuple[Any, ...]] | None:
            rows = conn.execute(sql, all_params).fetchall()
            if len(rows) >= limit or conn.execute(f"SELECT count(*) FROM ({candidates})", params).fetchone()[0] < SOURCE_FIRST:
                return rows
            return None

        return self._read(run)

    def _branch_query(self, plan: _Plan, table: str, match: str, sources: list[str] | None,
                      before_key: int | None, after_key: int | None, limit: int,
                      muted: str = "") -> tuple[str, list[Any]]:
        branch = _Plan(branches=[(table, match)], where=plan.where, params=plan.params, sources=sources,
                       low=plan.low, high=plan.high)
        sql, params, _ = self._feed_query(f"{table}.rowid", limit, before_key=before_key, after_key=after_key,
                                          plan=branch, sources=sources, muted=muted)
        return sql, params

    def feed(self, limit: int, *, before_key: int | None = None, after_key: int | None = None,
             query: str | None = None, sources: list[str] | None = None, prefix: bool = False,
             hide_muted: bool = False) -> list[FeedRow]:
        """Feed rows, newest first.

        No key: the newest `limit` rows. before_key: the `limit` rows just below it (key < before_key),
        bounded below by after_key when both are given. after_key alone: the `limit` rows just above
        it (key > after_key, the oldest of the newer ones), still returned newest first -- the window
        to prepend when scrolling up. `query`: the editor's search text (core/query.py: words,
        "phrases", word*, OR, -word, source:, since:, until:); blank means no filter; `prefix`
        makes its last word a prefix. `sources`: source names; an empty list matches nothing.
        `hide_muted`: leave out the posts a mute rule hid (they stay in search).
        Raises QueryError for a filter that cannot be read.
        """
        plan = self._plan(query, prefix, sources)
        if limit <= 0 or _matches_nothing(plan, sources):
            return []
        rows, ascending = self._window(self._feed_cols, limit, before_key=before_key, after_key=after_key,
                                       plan=plan, sources=sources, muted="hide" if hide_muted else "")
        if ascending:
            rows.reverse()
        return [feed_row(r) for r in rows]

    def search(self, query: str, *, limit: int = 20, sources: list[str] | None = None,
               prefix: bool = False) -> list[StoredPost]:
        """Full posts matching the search text (see `feed`), newest first. Blank text finds nothing."""
        plan = self._plan(query, prefix, sources)
        if plan is None or limit <= 0 or _matches_nothing(plan, sources):
            return []
        keys, _ = self._window("p.key", limit, before_key=None, after_key=None, plan=plan, sources=sources)
        full = (f"SELECT {POST_COLS} FROM posts p {self._post_from_pins} "
                f"WHERE p.key IN ({placeholders(len(keys))}) ORDER BY p.key DESC")
        rows = self._read(lambda c: c.execute(full, [k for (k,) in keys]).fetchall()) if keys else []
        return [stored_post(r) for r in rows]

    def feed_count(self, *, query: str | None = None, sources: list[str] | None = None,
                   after_key: int | None = None, prefix: bool = False, hide_muted: bool = False) -> int:
        """How many feed rows match (and are newer than after_key).

        No filter: count(*), which SQLite answers by walking the narrow posts_key index (a few ms
        at 10^6). after_key: a key range of that index, proportional to the rows above the key
        (the "N new" marker: microseconds). Sources alone: the sources.post_count counters; with
        after_key, index ranges of posts_source_key. A text
        query walks the FTS doclists: proportional to the matches, the slow case (tens of ms for
        a term in a third of 10^6 posts). `hide_muted`: less the posts a mute rule hid (muted_in).
        """
        if hide_muted:
            total = self.feed_count(query=query, sources=sources, after_key=after_key, prefix=prefix)
            return total - self.muted_in(query=query, sources=sources, after_key=after_key, prefix=prefix) if total else 0
        plan = self._plan(query, prefix, sources)
        if _matches_nothing(plan, sources):
            return 0
        if plan is not None and not plan.branches and not plan.where and plan.low is None and plan.high is None:
            sources, plan = plan.sources, None  # only source: filters
        if plan is None and after_key is None:
            if sources is None:
                return self.count_posts()
            return self._read(lambda c: sum(
                c.execute(f"SELECT coalesce(sum(post_count), 0) FROM sources WHERE name IN ({placeholders(len(ch))})",
                          ch).fetchone()[0] for ch in chunked(list(dict.fromkeys(sources)))))
        params: list[Any] = []
        if plan is not None and plan.excluded_only:
            hits = _Plan(branches=plan.excluded_only, sources=plan.sources, low=plan.low, high=plan.high)
            sql, params, _ = self._feed_query("1", -1, before_key=None, after_key=after_key, plan=hits,
                                              sources=plan.sources)
            left_out = self._read(lambda c: c.execute(f"SELECT count(*) FROM ({sql})", params).fetchone()[0])
            return self._count_range(plan.sources, plan.low, plan.high, after_key) - left_out
        if plan is not None and len(plan.branches) == 1 and plan.sources and self._few_posts(plan.sources):
            # Words within a few small sources: test each of their posts with one FTS5 rowid seek,
            # rather than walk every match of a common word to keep those from the sources.
            table, match = plan.branches[0]
            where = [f"source IN ({placeholders(len(plan.sources))})",
                     f"EXISTS (SELECT 1 FROM {table} WHERE {table} MATCH ? AND rowid = p.key)", *plan.where]
            params = [*plan.sources, match, *plan.params]
            for cond, value in (("key > ?", after_key), ("key >= ?", plan.low), ("key < ?", plan.high)):
                if value is not None:
                    where.append(cond)
                    params.append(value)
            sql = f"SELECT count(*) FROM posts p INDEXED BY posts_source_key WHERE {' AND '.join(where)}"
        elif plan is not None:
            sql, params, _ = self._feed_query("1", -1, before_key=None, after_key=after_key, plan=plan, sources=sources)
            # The window query without its ORDER BY / LIMIT (-1: no limit) is the set to count.
            sql = f"SELECT count(*) FROM ({sql})"
        elif sources is None:
            sql = "SELECT count(*) FROM posts INDEXED BY posts_key WHERE key > ?"
            params.append(after_key)
        else:
            sql = (f"SELECT count(*) FROM posts INDEXED BY posts_source_key "
                   f"WHERE source IN ({placeholders(len(sources))}) AND key > ?")
            params.extend(sources)
            params.append(after_key)
        return self._read(lambda c: c.execute(sql, params).fetchone()[0])

    def _count_range(self, sources: list[str] | None, low: int | None, high: int | None,
                     after_key: int | None) -> int:
        """Posts of the sources (None: all) with low <= key < high and key > after_key, from the
        counters or a range of a narrow index."""
        if low is None and high is None and after_key is None:
            return self.feed_count(sources=sources)
        where: list[str] = []
        params: list[Any] = []
        if sources is not None:
            where.append(f"source IN ({placeholders(len(sources))})")
            params.extend(sources)
        for cond, value in (("key >= ?", low), ("key < ?", high), ("key > ?", after_key)):
            if value is not None:
                where.append(cond)
                params.append(value)
        index = "posts_source_key" if sources is not None else "posts_key"
        return self._read(lambda c: c.execute(
            f"SELECT count(*) FROM posts INDEXED BY {index} WHERE {' AND '.join(where)}", params).fetchone()[0])

    def _few_posts(self, sources: list[str]) -> bool:
        """Whether these sources hold few enough posts to test each one (see SOURCE_SCAN_MAX)."""
        return self._read(lambda c: sum(
            c.execute(f"SELECT coalesce(sum(post_count), 0) FROM sources WHERE name IN ({placeholders(len(ch))})",
                      ch).fetchone()[0] for ch in chunked(sources))) <= SOURCE_SCAN_MAX

    def muted_in(self, *, query: str | None = None, sources: list[str] | None = None,
                 after_key: int | None = None, prefix: bool = False) -> int:
        """How many posts under the filter (newer than after_key) a mute rule hid: the feed title's
        "N hidden". Driven from `muted` (thousands of rows) unless a text query must be walked."""
        plan = self._plan(query, prefix, sources)
        if _matches_nothing(plan, sources):
            return 0
        if plan is not None and not plan.branches and not plan.where and plan.low is None and plan.high is None:
            sources, plan = plan.sources, None
        if plan is None:
            where, params = [], []
            if sources is not None:
                where.append(f"p.source IN ({placeholders(len(sources))})")
                params.extend(sources)
            if after_key is not None:
                where.append("m.key > ?")
                params.append(after_key)
            sql = ("SELECT count(*) FROM muted m JOIN posts p ON p.key = m.key"
                   + (" WHERE " + " AND ".join(where) if where else ""))
            return self._read(lambda c: c.execute(sql, params).fetchone()[0])
        inner, params, _ = self._feed_query("1", -1, before_key=None, after_key=after_key, plan=plan,
                                            sources=sources, muted="only")
        return self._read(lambda c: c.execute(f"SELECT count(*) FROM ({inner})", params).fetchone()[0])

    def feed_at(self, offset: int, limit: int, *, query: str | None = None,
                sources: list[str] | None = None, prefix: bool = False, hide_muted: bool = False) -> list[FeedRow]:
        """Random access: `limit` rows starting at row `offset` of the newest-first feed.

        Finds the key at `offset` by stepping a narrow index (or the FTS doclist), then reads the
        window by key, so the wide rows that are skipped are never read.
        """
        plan = self._plan(query, prefix, sources)
        if limit <= 0 or offset < 0 or _matches_nothing(plan, sources):
            return []
        params: list[Any] = []
        muted = "hide" if hide_muted else ""
        unmuted = f" AND {_muted_cond('key', muted)}" if hide_muted else ""
        if plan is not None:
            inner, params, _ = self._feed_query("p.key AS key", -1, before_key=None, after_key=None, plan=plan,
                                                sources=sources, muted=muted)
            sql = f"SELECT key FROM ({inner}) ORDER BY key DESC LIMIT 1 OFFSET ?"
        elif sources is None:
            sql = (f"SELECT key FROM posts INDEXED BY posts_key WHERE 1{unmuted} "
                   "ORDER BY key DESC LIMIT 1 OFFSET ?")
        else:
            sql = (f"SELECT key FROM posts INDEXED BY posts_source_key WHERE source IN ({placeholders(len(sources))})"
                   f"{unmuted} ORDER BY key DESC LIMIT 1 OFFSET ?")
            params.extend(sources)
        params.append(offset)
        with self.snapshot():  # the anchor and the window come from the same state
            row = self._read(lambda c: c.execute(sql, params).fetchone())
            if row is None:
                return []
            return self.feed(limit, before_key=row[0] + 1, query=query, sources=sources, prefix=prefix,
                             hide_muted=hide_muted)
