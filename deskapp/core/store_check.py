"""`desk check`: what is wrong with a store file, one finding per problem, and the repairs desk can make.

Checks, in order: the file (SQLite's `quick_check` over every page), the full-text index against the
posts (FTS5 `integrity-check` with the content table compared), and the per-source post counters.
The file is read over a read-only connection; only `repair=True` writes, through `Store`, and only
what can be rebuilt from the posts themselves (the search index and the counters). A damaged file
is never written: the finding says how to recover what is readable.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from deskapp.core.store import Store, StoreError, on_read_only_fs, storage_fault


@dataclass(slots=True)
class Finding:
    part: str  # "file", "search index", "post counts"
    problem: str
    repairable: bool
    repaired: bool = False

    def line(self) -> str:
        if self.repaired:
            return f"{self.part}: {self.problem}: repaired"
        hint = "; `desk check --repair` rebuilds it" if self.repairable else ""
        return f"{self.part}: {self.problem}{hint}"


def check(path: Path, *, repair: bool = False) -> tuple[list[Finding], int]:
    """(findings, number of posts) for the store at `path`. Raises StoreError when it cannot be read at all."""
    path = Path(path)
    if not path.is_file():
        raise StoreError("cannot check store", path, "no such file" if not path.exists() else "not a regular file")
    try:
        conn = sqlite3.connect(Store._ro_uri(path), uri=True, isolation_level=None)
    except sqlite3.Error as exc:
        raise StoreError("cannot check store", path, str(exc)) from None
    findings: list[Finding] = []
    posts = 0
    try:
        try:
            bad = [r[0] for r in conn.execute("PRAGMA quick_check(5)").fetchall() if r[0] != "ok"]
        except sqlite3.DatabaseError as exc:
            bad = [str(exc)]
        if bad:
            findings.append(Finding("file", "damaged (" + "; ".join(bad) + "); desk will not write it: "
                                    f"recover what is readable with `sqlite3 {path} .recover`", repairable=False))
            return findings, posts
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "posts" not in tables:
            raise StoreError("cannot check store", path, "not a desk store")
        posts = conn.execute("SELECT count(*) FROM posts").fetchone()[0]
        if "posts_fts" in tables:
            problem = _fts_problem(path)
            if problem:
                findings.append(Finding("search index", problem, repairable=True))
        else:
            findings.append(Finding("search index", "missing", repairable=False))
        wrong = conn.execute(
            "SELECT count(*) FROM (SELECT s.name FROM sources s LEFT JOIN "
            "(SELECT source, count(*) AS n FROM posts GROUP BY source) c ON c.source = s.name "
            "WHERE s.post_count IS NOT coalesce(c.n, 0))").fetchone()[0] if "sources" in tables else 0
        missing = conn.execute(
            "SELECT count(DISTINCT source) FROM posts WHERE source NOT IN (SELECT name FROM sources)"
        ).fetchone()[0] if "sources" in tables else 0
        if wrong or missing:
            findings.append(Finding("post counts", f"{wrong + missing} source(s) show a wrong number of posts",
                                    repairable=True))
    except sqlite3.DatabaseError as exc:
        raise StoreError("cannot check store", path, storage_fault(path, exc) or str(exc)) from None
    finally:
        conn.close()
    if repair and any(f.repairable for f in findings):
        if on_read_only_fs(path):
            raise StoreError("cannot repair store", path, "it is on a read-only file system")
        _repair(path, [f for f in findings if f.repairable])
    return findings, posts


def _fts_problem(path: Path) -> str | None:
    """FTS5's own integrity check, comparing the index with the posts. It is an INSERT to SQLite, so it
    needs a writable connection: it runs inside a transaction that is always rolled back."""
    if on_read_only_fs(path):
        return None  # cannot be asked without a writable connection; the file check above still ran
    conn = sqlite3.connect(str(path), isolation_level=None)
    try:
        conn.execute("BEGIN")
        try:
            conn.execute("INSERT INTO posts_fts (posts_fts, rank) VALUES ('integrity-check', 1)")
        except sqlite3.DatabaseError as exc:
            return f"does not match the posts ({exc})"
        finally:
            conn.execute("ROLLBACK")
    finally:
        conn.close()
    return None


def _repair(path: Path, findings: list[Finding]) -> None:
    with Store.open(path, full_check=False) as store:
        for f in findings:
            if f.part == "search index":
                store.rebuild_search_index()
            elif f.part == "post counts":
                store.recount()
            f.repaired = True
