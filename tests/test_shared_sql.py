"""The `?` face PostgreSQL gives the shared SQL (core/pg/shared_sql.py) runs every statement of a
transaction on one psycopg cursor, yet each result must behave as a sqlite3 cursor's does: a loop
over one query may run others, two results can be read in any order, a row count is its own
statement's, and a result handed out of the transaction still has its rows. Each test runs the same
code on both stores, so SQLite is the reference."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from deskapp.core.model import Post

T0 = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)
SRC = "telegram:a"
ALL = "SELECT post_id FROM posts ORDER BY post_id"


def _filled(store, n: int = 5):
    posts = [Post(source=SRC, channel="a", id=i, url=f"https://t.me/a/{i}", published=T0 + timedelta(minutes=i),
                  text=f"text {i}") for i in range(1, n + 1)]
    store.ingest_page(SRC, posts, fetched_at=T0 + timedelta(days=1))
    return store


def test_a_loop_over_one_query_may_run_others(any_store) -> None:
    s = _filled(any_store)

    def run(conn) -> list[tuple[int, str]]:
        out = []
        for (post_id,) in conn.execute(ALL):
            out.append((post_id, conn.execute("SELECT text FROM posts WHERE post_id = ?", (post_id,)).fetchone()[0]))
            conn.execute("UPDATE posts SET author = ? WHERE post_id = ?", ("seen", post_id))
        return out

    assert s._write(run) == [(i, f"text {i}") for i in range(1, 6)]
    assert s._read(lambda c: c.execute("SELECT count(*) FROM posts WHERE author = 'seen'").fetchone()[0]) == 5


def test_results_held_at_once_keep_their_own_rows_and_counts(any_store) -> None:
    s = _filled(any_store)

    def run(conn) -> tuple:
        first = conn.execute(ALL)
        head = first.fetchone()  # partly read before the next statement
        second = conn.execute("SELECT text FROM posts WHERE post_id > ? ORDER BY post_id", (3,))
        changed = conn.execute("UPDATE posts SET views = '1' WHERE post_id <= ?", (2,))
        none = conn.execute("SELECT 1 FROM posts WHERE post_id = ?", (99,))
        named = conn.execute("SELECT post_id AS n, text FROM posts WHERE post_id = ?", (1,))
        named.fetchone()
        conn.execute("SELECT 1")
        return (head, first.fetchall(), second.fetchall(), changed.rowcount, none.fetchone(), first.fetchone(),
                [d[0] for d in named.description])

    head, rest, texts, count, none, after_end, names = s._write(run)
    assert names == ["n", "text"]
    assert head == (1,)
    assert [tuple(r) for r in rest] == [(2,), (3,), (4,), (5,)]
    assert [tuple(r) for r in texts] == [("text 4",), ("text 5",)]
    assert count == 2
    assert none is None and after_end is None


def test_a_result_handed_out_of_its_transaction_still_has_its_rows(any_store) -> None:
    s = _filled(any_store)
    result = s._read(lambda c: c.execute(ALL))
    s.get(SRC, 1)  # the store runs other statements meanwhile
    assert [tuple(r) for r in result] == [(i,) for i in range(1, 6)]
    assert [d[0] for d in result.description] == ["post_id"]
