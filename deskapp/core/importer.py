"""`desk import`: saved preview pages into the store, parsed in worker processes, written in bulk.

Parsing is about half the cost of an import and writing one transaction per page most of the rest,
so pages are parsed by a `ParsePool` (other processes, other cores) while this process writes them
with `Store.ingest_many` (transactions of thousands of posts). A few files are parsed here: starting
a worker costs more than it saves.

The poller's rules hold: a post saved in two files with different texts keeps the earlier text as a
revision. ingest_many would fold a post repeated within one call into its last copy, so a run of
pages is cut before a page that repeats a post of the run, and the repeat goes into the next call.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from deskapp.core.ingest import Batch, IngestResult, Provenance
from deskapp.core.model import ChannelInfo, Page, Post
from deskapp.core.parse_pool import DEFAULT_MAX_BYTES, ParseJobError, ParsePool, read_saved_page
from deskapp.core.parse_worker import saved_page
from deskapp.core.store import Store, StoreError

# Below this many files the pages are parsed in this process (a worker takes ~0.3 s to start).
POOL_MIN_FILES = 16
# Pages parsed ahead of the writer: the workers keep parsing while a chunk of thousands of posts is
# prepared and written (a parsed page is about 50 KB in memory).
AHEAD = 256
# Posts per transaction. ingest_many's default grows to 50,000, which left half of a 20,000-post
# import to be written after its last page was parsed; a constant 2,500 keeps the writer level with
# the parsers (SQLite's cost per post is the same from 2,500 up), so only the last chunk is left.
CHUNK = 2_500


def default_workers() -> int:
    """Parser processes for an import: one per core. Parsing costs about as much CPU as staging and
    writing together (benchmarks/RESULTS.md), so the writer shares a core rather than leaving the
    parse one short."""
    return max(1, os.cpu_count() or 1)


@contextmanager
def parsed_files(paths: Sequence[Path], *, max_bytes: int, workers: int | None = None,
                 kind: str | None = None) -> Iterator[Iterator[tuple[Path, Page]]]:
    """(path, page) per file, in order; ParseJobError for a file that cannot be read (read_saved_page).

    Each file is parsed as `kind`, or as the kind it looks like (Telegram pages, feeds, Bluesky and
    Mastodon JSON may be mixed), by the parser pool when there are many files. The pool starts on
    entry, in the calling thread: its workers are forked only while this process runs no other
    thread, and the pages are then read by ingest_many's staging thread. On exit, pages still queued
    are dropped unparsed."""
    if len(paths) < POOL_MIN_FILES or kind not in (None, "telegram"):
        yield ((path, saved_page(read_saved_page(path, max_bytes), kind)) for path in paths)
        return
    with ParsePool(workers or default_workers(), fork=True) as pool:
        pages = pool.map_files(paths, max_bytes=max_bytes, any_kind=kind is None, ahead=AHEAD)
        try:
            yield pages
        finally:
            pages.close()


class ImportStopped(Exception):
    """The store refused a write (a full disk): the file where the import stopped, and what it kept."""

    def __init__(self, path: Path, problem: str, kept: IngestResult) -> None:
        super().__init__(f"import stopped at {path}: {problem}")
        self.path, self.problem, self.kept = path, problem, kept


def import_files(store: Store, paths: Sequence[Path], *, max_bytes: int = DEFAULT_MAX_BYTES,
                 workers: int | None = None, on_file: Callable[[Path, Page], None] | None = None,
                 fetched_at: datetime | None = None, kind: str | None = None) -> IngestResult:
    """Store the posts of saved pages; `on_file` hears of each page as it is parsed (progress).

    Raises ParseJobError for a file that cannot be read, after storing every page before it, and
    ImportStopped when the store refuses a write, after storing every page that fits before it."""
    with parsed_files(paths, max_bytes=max_bytes, workers=workers, kind=kind) as pages:
        return _import(store, iter(pages), on_file, fetched_at or datetime.now(UTC))


def _import(store: Store, pages: Iterator[tuple[Path, Page]], on_file: Callable[[Path, Page], None] | None,
            fetched: datetime) -> IngestResult:
    extras: list[tuple[str, list[Post]]] = []  # posts of other kinds: native id, repost, quote
    channels: dict[str, ChannelInfo] = {}
    held: list[tuple[Path, Page]] = []  # a page that starts the next run
    failure: list[ParseJobError] = []
    ended = False
    # Batches handed to ingest_many and not yet committed: (file, source, posts, channel info).
    pending: deque[tuple[Path, str, list[Post], ChannelInfo | None]] = deque()
    kept = IngestResult()

    def committed(batches: int, res: IngestResult) -> None:
        kept.add(res)
        for _ in range(batches):
            pending.popleft()

    def run() -> Iterator[Batch]:
        nonlocal ended
        seen: set[tuple[str, int]] = set()
        while True:
            if held:
                path, page = held.pop()
            else:
                try:
                    path, page = next(pages)
                except StopIteration:
                    ended = True
                    return
                except ParseJobError as exc:
                    failure.append(exc)  # end the run normally: what came before is written
                    ended = True
                    return
                if on_file is not None:
                    on_file(path, page)
            keys = [(p.source, p.id) for p in page.posts]
            if not seen.isdisjoint(keys):
                held.append((path, page))
                return
            seen.update(keys)
            for source, posts in _by_source(page.posts, page.channel, channels):
                pending.append((path, source, posts, page.channel))
                if any(p.native_id is not None for p in posts):
                    extras.append((source, posts))
                yield source, posts, imported(path)

    while not ended or held:
        try:
            store.ingest_many(run(), fetched_at=fetched, on_commit=committed, commit_every=CHUNK)
        except StoreError:
            # A transaction of many pages failed (a full disk): write its pages one at a time, to
            # keep all that fits and name the file where the import stopped.
            while pending:
                path, source, posts, channel = pending.popleft()
                try:
                    kept.add(store.ingest_page(source, posts, fetched_at=fetched, channel=channel,
                                               capture=imported(path)))
                except StoreError as exc:
                    raise ImportStopped(path, exc.problem, kept) from None
    store.update_channels(channels)
    if extras:
        store.set_extras(extras)
    if failure:
        raise failure[0]
    return kept


def imported(path: Path) -> Provenance:
    """How an imported post was captured: from this file, which proves nothing about where it came from."""
    return "imported", str(Path(path).resolve())


def _by_source(posts: Iterable[Post], channel: ChannelInfo | None,
               channels: dict[str, ChannelInfo]) -> Iterator[tuple[str, list[Post]]]:
    groups: dict[str, list[Post]] = {}
    for post in posts:
        groups.setdefault(post.source, []).append(post)
    for source, group in groups.items():
        if channel is not None:
            channels[source] = channel  # the newest page's channel info wins, as when polled
        yield source, group
