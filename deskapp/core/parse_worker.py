"""The parse pool's worker process: `python -m deskapp.core.parse_worker` (see parse_pool.py).

Jobs arrive on stdin and answers leave on stdout as multiprocessing Connection messages; print()
goes to stderr. Kept apart from parse_pool.py so that a worker imports only what parsing needs.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from deskapp.core.model import Page, PageKind

WORKER_MEMORY = 2 << 30  # bytes of address space a worker may use


class ParseJobError(Exception):
    """A page that could not be read at all (a saved file that is missing or unreadable)."""


@dataclass(frozen=True, slots=True)
class Job:
    html: bytes | None
    path: str | None
    url: str | None
    final_url: str | None
    max_bytes: int
    channel: str | None = None  # the channel asked for: posts of others are refused
    # Another kind's answer (core/sources/base.py): parsed by that kind, answered as a `Parsed`.
    kind: str | None = None
    request: Any = None  # the kind's Request this response answers
    status: int = 200
    headers: dict[str, str] | None = None
    # A saved response of any kind (`desk import`): what is not a Telegram page is sniffed and parsed
    # as `saved_page` does, here rather than by the importer reading every file's head first.
    any_kind: bool = False


def read_saved_page(path: Path | str, cap: int) -> bytes:
    """The bytes of a saved page, at most `cap` of them: /dev/zero, a FIFO or a huge file is
    refused in bounded memory. ParseJobError("<path>: <why>") when it cannot be had."""
    try:
        with Path(path).open("rb") as fh:
            # A regular file is read at its size: asking for cap + 1 bytes made Python allocate
            # (and fault in) 4 MB for each 150 KB page, three times the cost of the read.
            size = os.fstat(fh.fileno()).st_size
            data = fh.read(min(size, cap) + 1 if size else cap + 1)
            if size and size < len(data) <= cap:  # it grew since: read on, still bounded
                data += fh.read(cap + 1 - len(data))
    except OSError as exc:
        raise ParseJobError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(data) > cap:
        raise ParseJobError(f"{path}: larger than the {cap:,}-byte page cap (poller.max_body); "
                            "not a saved preview page")
    return data


def serve(jobs: Connection, answers: Connection) -> None:
    """Worker process: parse jobs until told to stop (None) or the pipe closes."""
    from deskapp.core.sources import telegram

    answers.send(("ready", None))  # the time limit counts from here: start-up is not parsing
    while True:
        try:
            job = jobs.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        try:
            html = job.html if job.path is None else read_saved_page(job.path, job.max_bytes)
        except ParseJobError as exc:
            answers.send(("unreadable", str(exc)))
            continue
        try:
            if job.kind is not None:
                answers.send(("ok", _parse_kind(job, html)))
                continue
            if job.any_kind and not telegram.KIND.sniff(html):
                answers.send(("ok", saved_page(html, None)))
                continue
            answers.send(("ok", telegram.parse_page(html, url=job.url, final_url=job.final_url, channel=job.channel)))
        except Exception as exc:  # the parser promises a Page for any input; a bug must not kill the pool
            answers.send(("ok", Page(kind=PageKind.SUSPICIOUS_EMPTY,
                                     reason=f"the parser failed on this page ({type(exc).__name__}: {exc})")))


def saved_page(data: bytes, kind: str | None) -> Page:
    """A saved response of `kind` (sniffed when None) as a page; one no kind recognises is refused as
    suspiciously empty, with the reason."""
    from deskapp.core.sources import parse_saved

    try:
        return parse_saved(data, kind=kind)[1]
    except ValueError as exc:
        return Page(kind=PageKind.SUSPICIOUS_EMPTY, reason=str(exc))


def _parse_kind(job: Job, html: bytes) -> Any:
    from deskapp.core.sources import kind_named
    from deskapp.core.sources.base import Response

    response = Response(html, url=job.url or "", final_url=job.final_url, status=job.status,
                        headers=job.headers or {})
    return kind_named(job.kind).parse(response, job.request)


def limit_memory() -> None:
    """A page cannot take the machine's memory: past WORKER_MEMORY its parse fails and the page is refused."""
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY, WORKER_MEMORY))
    except (ImportError, ValueError, OSError):
        pass


def _main() -> None:
    """Worker entry point: jobs on stdin, answers on stdout (print() goes to stderr)."""
    limit_memory()
    jobs = Connection(os.dup(0), writable=False)
    answers = Connection(os.dup(1), readable=False)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    serve(jobs, answers)


if __name__ == "__main__":
    _main()
