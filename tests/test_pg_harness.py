"""The PostgreSQL harness itself: a throwaway server starts, answers, and is gone afterwards."""

from __future__ import annotations

import psycopg


def test_throwaway_server_answers(pg_server) -> None:
    with psycopg.connect(pg_server.url, connect_timeout=10) as conn:
        version = conn.execute("SHOW server_version_num").fetchone()[0]
    assert int(version) >= 150000
    assert pg_server.folder.is_dir()
