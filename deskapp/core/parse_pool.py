"""Telegram pages parsed in worker processes, each page within a time limit.

Parsing is CPU work in C (lexbor) and Python: in the poller it would hold up the event loop, and in
`desk import` it is half the cost, which other processes can take off the writer. A `ParsePool`
keeps `workers` long-lived processes; each runs `telegram.parse_page` on one page at a time. A page
that takes longer than `time_limit` seconds is refused: its worker is killed and replaced, and the
caller gets a `SUSPICIOUS_EMPTY` page whose reason says so (the poller records it on the source
like any other refused page). A worker that dies any other way is replaced the same way.

    with ParsePool(workers=2, time_limit=10.0) as pool:
        page = pool.parse(html, url=..., final_url=...)          # blocking
        page = await pool.parse_async(html, url=..., final_url=...)  # from an event loop
        for path, page in pool.map_files(paths): ...            # in order, all workers busy

Workers are fresh interpreters (no inherited threads or open store), started once, when the pool
is made; one thread per worker in this process feeds it and waits for its answer,
so the caller's thread or event loop is never blocked by a parse.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from deskapp.core.model import Page, PageKind
from deskapp.core.parse_worker import Job, ParseJobError, limit_memory, read_saved_page, serve
from deskapp.core.settings import PollerSettings

__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_TIME_LIMIT", "ParseJobError", "ParsePool", "read_saved_page"]

DEFAULT_TIME_LIMIT = 10.0  # seconds; a real 20-post page parses in about 2 ms
DEFAULT_MAX_BYTES = PollerSettings().max_body  # a saved page is read up to the poller's body cap
STARTUP_LIMIT = 60.0  # seconds for a worker to start (an interpreter and selectolax on a busy machine)


def _fits_in_pipe(job: Job) -> bool:
    """Whether a job can be sent while the worker is busy without blocking this thread (a pipe
    holds 64 KB; a blocked send could not enforce the time limit of the page being parsed)."""
    return job.html is None or len(job.html) < 32_000


class _ForkedProc:
    """The part of Popen that _Worker uses, for a worker made by os.fork()."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            with contextlib.suppress(ChildProcessError):
                pid, status = os.waitpid(self.pid, os.WNOHANG)
                if pid:
                    self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        end = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if end is not None and time.monotonic() >= end:
                raise subprocess.TimeoutExpired(str(self.pid), timeout or 0.0)
            time.sleep(0.005)
        assert self.returncode is not None
        return self.returncode

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)


class _Worker:
    """One worker process, spoken to over two pipes.

    Started fresh (`python -m deskapp.core.parse_worker`, jobs on its stdin, answers on its stdout),
    or, when `fork` and this process runs no other thread, forked from it: nothing to start or
    import (about 0.2 s of CPU a worker, which `desk import` saves). A plain child process rather
    than multiprocessing's: "spawn" re-runs the parent's main module in the child, which a script
    without a __main__ guard turns into endless process creation."""

    def __init__(self, *, fork: bool = False) -> None:
        self.ready = False
        self.proc: subprocess.Popen[bytes] | _ForkedProc
        if fork and threading.active_count() == 1:
            self._fork()
            return
        proc = subprocess.Popen([sys.executable, "-m", "deskapp.core.parse_worker"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, close_fds=True)
        assert proc.stdin is not None and proc.stdout is not None
        self.jobs = Connection(os.dup(proc.stdin.fileno()), readable=False)
        self.answers = Connection(os.dup(proc.stdout.fileno()), writable=False)
        proc.stdin.close()
        proc.stdout.close()
        self.proc = proc

    def _fork(self) -> None:
        jobs_r, jobs_w = os.pipe()
        answers_r, answers_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the worker: only its two pipe ends stay open (not the store, not other workers')
            code = 1
            try:
                low, high = sorted((jobs_r, answers_w))
                os.closerange(3, low)
                os.closerange(low + 1, high)
                os.closerange(high + 1, 1 << 16)
                limit_memory()
                serve(Connection(jobs_r, writable=False), Connection(answers_w, readable=False))
                code = 0
            finally:
                os._exit(code)  # never the parent's clean-up (atexit handlers, buffered output, the store)
        os.close(jobs_r)
        os.close(answers_w)
        self.jobs = Connection(jobs_w, readable=False)
        self.answers = Connection(answers_r, writable=False)
        self.proc = _ForkedProc(pid)

    def wait_ready(self) -> None:
        """Wait (up to STARTUP_LIMIT) for the worker's hello; EOFError when it cannot start."""
        if self.ready:
            return
        if not self.answers.poll(STARTUP_LIMIT) or self.answers.recv()[0] != "ready":
            raise EOFError("the parser process did not start")
        self.ready = True

    def stop(self, *, kill: bool = False) -> None:
        if not kill:
            with contextlib.suppress(OSError):
                self.jobs.send(None)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(2.0)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(2.0)
        self.jobs.close()
        self.answers.close()


class ParsePool:
    """`workers` parser processes; see the module docstring."""

    def __init__(self, workers: int = 1, *, time_limit: float = DEFAULT_TIME_LIMIT, pipeline: bool = True,
                 fork: bool = False) -> None:
        """`pipeline`: send a worker its next page while it parses one (throughput, for imports). Off,
        a page only goes to an idle, started worker, so it never waits behind a slow page or a
        worker's start-up (latency, for the poller). `fork`: fork the first workers from this
        process when it runs no other thread (see _Worker; `desk import`); a worker that replaces
        one is always started fresh."""
        if workers < 1:
            raise ValueError("a parse pool needs at least one worker")
        self.time_limit = time_limit
        self.pipeline = pipeline
        self._jobs: queue.SimpleQueue[tuple[Job, Future[Page]] | None] = queue.SimpleQueue()
        self._workers = [_Worker(fork=fork) for _ in range(workers)]
        self._broken = ""  # why workers cannot run at all (see _answer)
        self._failed_starts = 0  # workers in a row that died before their hello
        self._closed = False
        self._threads = [threading.Thread(target=self._feed, args=(i,), daemon=True, name=f"desk-parse-{i}")
                         for i in range(workers)]
        for t in self._threads:
            t.start()

    @property
    def workers(self) -> int:
        return len(self._workers)

    # ---- asking

    def submit(self, html: bytes | str | None = None, *, path: Path | str | None = None,
               url: str | None = None, final_url: str | None = None, channel: str | None = None,
               max_bytes: int = DEFAULT_MAX_BYTES) -> Future[Page]:
        """Queue one page (its bytes, or a saved file's path the worker reads, at most `max_bytes`)
        and return its future. The future's result is the parsed Page (refused pages included); a
        file that cannot be read, or is over `max_bytes`, sets ParseJobError instead."""
        if (html is None) == (path is None):
            raise ValueError("give the page's html or its path, not both")
        data = html.encode("utf-8", "surrogatepass") if isinstance(html, str) else html
        fut: Future[Page] = Future()
        self._put(Job(data, None if path is None else str(path), url, final_url, max_bytes, channel), fut)
        return fut

    def _put(self, job: Job, fut: Future[Any]) -> None:
        if self._closed:
            raise RuntimeError("the parse pool is closed")
        self._jobs.put((job, fut))

    def parse(self, html: bytes | str, *, url: str | None = None, final_url: str | None = None,
              channel: str | None = None) -> Page:
        """Parse one page in a worker, waiting for it (at most about the time limit). `channel`: the
        channel asked for (posts of others are refused, see telegram.parse_page)."""
        return self.submit(html, url=url, final_url=final_url, channel=channel).result()

    async def parse_kind_async(self, kind: str, body: bytes, request: Any, *, url: str, final_url: str | None,
                               status: int = 200, headers: dict[str, str] | None = None) -> Any:
        """Another kind's response parsed in a worker (`kind.parse`, see core/sources/base.py): its
        `Parsed`, or a refused Page (past the time limit, or a dead worker) for the caller to wrap."""
        import asyncio

        fut: Future[Any] = Future()
        self._put(Job(body, None, url, final_url, DEFAULT_MAX_BYTES, None, kind, request, status,
                      dict(headers or {})), fut)
        return await asyncio.wrap_future(fut)

    async def parse_async(self, html: bytes | str, *, url: str | None = None,
                          final_url: str | None = None, channel: str | None = None) -> Page:
        """`parse` for an event loop: the loop keeps running while a worker parses."""
        import asyncio  # here: the worker processes import this module's neighbours, not asyncio

        return await asyncio.wrap_future(self.submit(html, url=url, final_url=final_url, channel=channel))

    def map_files(self, paths: Iterable[Path], *, max_bytes: int = DEFAULT_MAX_BYTES,
                  ahead: int | None = None, any_kind: bool = False) -> Iterator[tuple[Path, Page]]:
        """(path, page) for each saved page, in the order given, with up to `ahead` pages queued so
        that every worker stays busy while the caller works on earlier pages. A file that cannot be
        read (see `read_saved_page`) raises ParseJobError when its turn comes. `any_kind`: a file
        that is not a Telegram page is parsed as the kind it looks like (parse_worker.saved_page)."""
        window: deque[tuple[Path, Future[Page]]] = deque()
        limit = ahead or 8 * self.workers
        it = iter(paths)
        try:
            for path in it:
                fut: Future[Page] = Future()
                self._put(Job(None, str(path), None, None, max_bytes, any_kind=any_kind), fut)
                window.append((path, fut))
                if len(window) >= limit:
                    yield self._take(window)
            while window:
                yield self._take(window)
        finally:
            for _, fut in window:
                fut.cancel()

    @staticmethod
    def _take(window: deque[tuple[Path, Future[Page]]]) -> tuple[Path, Page]:
        path, fut = window.popleft()
        return path, fut.result()

    # ---- the feeding threads

    def _feed(self, index: int) -> None:
        """Feed worker `index`: a second page is sent while it parses the first (when that page is
        small enough to sit in the pipe), so the worker never waits for this process in between."""
        sent: deque[tuple[Job, Future[Page]]] = deque()
        done = False
        while sent or not done:
            if not self.pipeline and not sent and not self._broken:
                with contextlib.suppress(EOFError, OSError):  # a worker that cannot start: _answer says so
                    self._workers[index].wait_ready()
            while not done and (not sent or (self.pipeline and len(sent) < 2 and _fits_in_pipe(sent[-1][0]))):
                try:
                    item = self._jobs.get(block=not sent)
                except queue.Empty:
                    break
                if item is None:
                    done = True
                elif item[1].set_running_or_notify_cancel():
                    self._send(index, item, sent)
            if sent:
                self._answer(index, sent)

    def _send(self, index: int, item: tuple[Job, Future[Page]], sent: deque[tuple[Job, Future[Page]]]) -> None:
        if self._broken:
            item[1].set_result(Page(kind=PageKind.SUSPICIOUS_EMPTY, reason=self._broken))
            return
        worker = self._workers[index]
        if not sent and worker.ready and worker.proc.poll() is not None:
            # It died while idle (killed, out of memory): replaced before it is handed a page, which
            # would otherwise be refused as if that page had ended it.
            worker.stop(kill=True)
            worker = self._workers[index] = _Worker()
        sent.append(item)
        with contextlib.suppress(OSError):  # a worker that dies now is noticed when its answer is awaited
            worker.jobs.send(item[0])

    def _answer(self, index: int, sent: deque[tuple[Job, Future[Page]]]) -> None:
        """Wait for the oldest page sent to worker `index`; past the time limit, or when the worker
        died, refuse that page, replace the worker and send it the pages that were queued behind."""
        worker = self._workers[index]
        job, fut = sent[0]
        try:
            worker.wait_ready()
            self._failed_starts = 0
            if worker.answers.poll(self.time_limit):
                status, value = worker.answers.recv()
                sent.popleft()
                if status == "unreadable":
                    fut.set_exception(ParseJobError(value))
                else:
                    fut.set_result(value)
                return
            reason = f"parsing took longer than {self.time_limit:g} s; refused"
        except (EOFError, OSError) as exc:
            reason = f"the parser process ended while reading this page ({type(exc).__name__}); refused"
            if not worker.ready:
                self._failed_starts += 1
                if self._failed_starts >= 3:
                    # Workers die before their hello: they cannot start (a broken install); stop respawning.
                    self._broken = "the parser process could not start; refused"
        worker.stop(kill=True)
        sent.popleft()
        fut.set_result(Page(kind=PageKind.SUSPICIOUS_EMPTY, reason=reason))
        if self._broken:
            while sent:
                sent.popleft()[1].set_result(Page(kind=PageKind.SUSPICIOUS_EMPTY, reason=self._broken))
            return
        fresh = self._workers[index] = _Worker()
        for queued, _ in sent:
            with contextlib.suppress(OSError):
                fresh.jobs.send(queued)

    # ---- closing

    def close(self, *, kill: bool = False) -> None:
        """Finish the queued pages, then stop the workers (idempotent). With `kill`, pages being
        parsed are not waited for: their workers are killed and the pages refused (a poller stopping)."""
        if self._closed:
            return
        self._closed = True
        if kill:
            self._broken = "the parse pool was closed; refused"  # no worker is started again
            for w in self._workers:
                with contextlib.suppress(OSError):
                    w.proc.kill()
        for _ in self._threads:
            self._jobs.put(None)
        for t in self._threads:
            t.join()
        for w in self._workers:
            w.stop()

    def __enter__(self) -> ParsePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

