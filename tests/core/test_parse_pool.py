"""The parse pool: pages parsed in worker processes, a page over the time limit refused with a reason."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from deskapp.core.model import PageKind
from deskapp.core.parse_pool import ParseJobError, ParsePool
from deskapp.core.sources.telegram import parse_page
from deskapp.demo.tme import render_page
from tests.wire import make_channel


def page_html(handle: str = "pool_chan", n: int = 5, start_id: int = 1) -> bytes:
    ch = make_channel(handle, n, start_id=start_id)
    return render_page(ch, ch.posts).encode()


def slow_html() -> bytes:
    """A page that takes far longer than 20 ms to read on any machine: 16 MB of elements."""
    return b"<html><body><div class='tgme_channel_history'>" + b"<p><b>x</b></p>" * 1_100_000 + b"</div></body></html>"


@pytest.fixture(params=[False, True], ids=["started", "forked"])
def pool(request: pytest.FixtureRequest) -> ParsePool:
    single = threading.active_count() == 1  # a process with other threads never forks its workers
    with ParsePool(workers=2, time_limit=30.0, fork=request.param) as p:
        if request.param and single:  # forked from this test process, not started anew
            assert all(type(w.proc).__name__ == "_ForkedProc" for w in p._workers)
        yield p
    assert all(w.proc.poll() is not None for w in p._workers)  # no worker outlives the pool


def test_parses_like_this_process(pool: ParsePool) -> None:
    html = page_html()
    got = pool.parse(html, url="https://t.me/s/pool_chan", final_url="https://t.me/s/pool_chan")
    want = parse_page(html, url="https://t.me/s/pool_chan", final_url="https://t.me/s/pool_chan")
    assert got == want and got.kind is PageKind.OK and len(got.posts) == 5


def test_a_page_over_the_time_limit_is_refused_and_the_next_one_parses() -> None:
    with ParsePool(workers=1, time_limit=0.02) as pool:
        first = pool._workers[0]
        refused = pool.parse(slow_html())
        assert refused.kind is PageKind.SUSPICIOUS_EMPTY and not refused.posts
        assert refused.reason == "parsing took longer than 0.02 s; refused"
        assert first.proc.poll() is not None  # the busy worker was killed, not left running
        pool.time_limit = 30.0
        assert len(pool.parse(page_html()).posts) == 5  # a fresh worker reads the next page


def test_a_worker_that_dies_is_replaced(pool: ParsePool) -> None:
    assert pool.parse(page_html()).kind is PageKind.OK  # both workers up
    for worker in pool._workers:
        worker.proc.kill()
        worker.proc.wait()
    results = [pool.submit(page_html(start_id=i * 10)).result() for i in range(4)]
    died = [r for r in results if r.kind is PageKind.SUSPICIOUS_EMPTY]
    # A pipelining worker may have taken two pages before it was found dead: up to two each.
    assert 1 <= len(died) <= 2 * len(pool._workers) and all("parser process ended" in r.reason for r in died)
    assert pool.parse(page_html(start_id=99)).kind is PageKind.OK  # the replacements answer


def test_a_worker_that_died_while_idle_costs_no_page() -> None:
    with ParsePool(1, pipeline=False) as pool:
        assert pool.parse(page_html()).kind is PageKind.OK
        (worker,) = pool._workers
        worker.proc.kill()
        worker.proc.wait()
        page = pool.parse(page_html(start_id=50))
        assert page.kind is PageKind.OK, page.reason  # not "the parser process ended while reading this page"
        assert pool._workers[0] is not worker


def test_map_files_keeps_order_and_names_an_unreadable_file(pool: ParsePool, tmp_path: Path) -> None:
    paths = []
    for i in range(12):
        path = tmp_path / f"p{i:02d}.html"
        path.write_bytes(page_html(f"chan_{i:02d}", 2))
        paths.append(path)
    got = list(pool.map_files(paths))
    assert [p for p, _ in got] == paths
    assert [page.posts[0].channel for _, page in got] == [f"chan_{i:02d}" for i in range(12)]

    missing = tmp_path / "gone.html"
    seen = []
    with pytest.raises(ParseJobError, match=r"gone\.html: cannot read"):
        for path, _page in pool.map_files([paths[0], missing, paths[1]]):
            seen.append(path)
    assert seen == [paths[0]]
    assert pool.parse(page_html()).kind is PageKind.OK  # the pool goes on


def test_parse_async_leaves_the_loop_free(pool: ParsePool) -> None:
    async def main() -> tuple[int, int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        task = asyncio.create_task(ticker())
        page = await pool.parse_async(page_html(n=20))
        task.cancel()
        return len(page.posts), ticks

    posts, ticks = asyncio.run(main())
    assert posts == 20 and ticks > 0


def test_a_saved_page_is_read_at_its_size_even_if_it_grew_and_never_past_the_cap(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from deskapp.core import parse_worker

    path = tmp_path / "page.html"
    path.write_bytes(b"x" * 1000)
    assert parse_worker.read_saved_page(path, 1000) == b"x" * 1000
    with pytest.raises(ParseJobError, match="larger than the 999-byte page cap"):
        parse_worker.read_saved_page(path, 999)
    real_fstat = os.fstat

    class Smaller:  # the size the file had before a writer appended to it
        def __init__(self, st: os.stat_result) -> None:
            self.st_size = st.st_size // 2

    monkeypatch.setattr(parse_worker.os, "fstat", lambda fd: Smaller(real_fstat(fd)))
    assert parse_worker.read_saved_page(path, 4000) == b"x" * 1000  # all of it, not the size first seen
    with pytest.raises(ParseJobError, match="larger than the 700-byte page cap"):
        parse_worker.read_saved_page(path, 700)
