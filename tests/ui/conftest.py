"""Fixtures for the desk's UI tests: stores of our own generated posts in tmp_path, fixed clock,
no network, nothing under ~/.local (paths all point into tmp_path)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from deskapp.config import Settings, UISettings
from deskapp.core.backend import open_store
from deskapp.core.model import ChannelInfo, Post, SourceConfig
from deskapp.paths import Paths

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FETCHED = datetime(2026, 3, 1, 18, 0, tzinfo=UTC)
CHANNELS = ["alpha_news", "beta_wire", "gamma_osint"]
HOSTILE = ["[@click=app.quit]Click me", "[ @click=app.quit] spaced", "[bold red]x[/bold red] not bold"]


def fixed_now() -> datetime:
    return datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def make_post(i: int, *, channel: str | None = None, text: str | None = None,
              published: datetime | None = None) -> Post:
    """Post i: channel round-robin, one minute apart, newest = highest i."""
    channel = channel or CHANNELS[i % len(CHANNELS)]
    return Post(
        source=f"telegram:{channel.lower()}",
        channel=channel,
        id=1000 + i,
        url=f"https://t.me/{channel}/{1000 + i}",
        published=published or (T0 + timedelta(minutes=i)),
        text=text if text is not None else f"Post number {i} from {channel}: report on the harbour",
        channel_title=channel.replace("_", " ").title(),
        views="1.2K",
        views_count=1200,
    )


def source_configs() -> list[SourceConfig]:
    return [SourceConfig(name=f"telegram:{c}", kind="telegram", handle=c) for c in CHANNELS]


def build_store(path: Path | str, n: int = 60, *, hostile: bool = False, extra: list[Post] | None = None) -> Path | str:
    """The test posts in a SQLite file, or on a PostgreSQL server when `path` is its URL."""
    posts = [make_post(i) for i in range(n)]
    if hostile:
        for j, text in enumerate(HOSTILE):
            posts.append(make_post(n + j, channel="alpha_news", text=text))
    posts += extra or []
    with open_store(path) as store:
        store.sync_sources(source_configs())
        by_source: dict[str, list[Post]] = {}
        for p in posts:
            by_source.setdefault(p.source, []).append(p)
        for source, items in by_source.items():
            store.ingest_page(source, items, fetched_at=FETCHED,
                              channel=ChannelInfo(username=items[0].channel, title=items[0].channel_title))
            store.record_success(source, at=FETCHED, next_poll=FETCHED + timedelta(minutes=5))
    return path


def record_failures(path: Path | str, failures: dict[str, tuple[int, str]], *, retry_in: int = 5) -> None:
    """Sources that failed: {source: (times, reason)} (3 times makes one "failing", once "backing off")."""
    with open_store(path) as store:
        for source, (times, reason) in failures.items():
            for _ in range(times):
                store.record_failure(source, at=FETCHED, reason=reason, next_poll=FETCHED + timedelta(minutes=retry_in))


def add_posts(path: Path | str, posts: list[Post]) -> None:
    """Another connection writes (as the poller or a `desk poll` process would)."""
    with open_store(path) as store:
        by_source: dict[str, list[Post]] = {}
        for p in posts:
            by_source.setdefault(p.source, []).append(p)
        for source, items in by_source.items():
            store.ingest_page(source, items, fetched_at=FETCHED)


@pytest.fixture
def desk_paths(tmp_path: Path) -> Paths:
    return Paths(config=tmp_path / "config.toml", store=tmp_path / "desk.db", state=tmp_path / "state")


@pytest.fixture(params=["sqlite", "postgresql"])
def any_desk_paths(request: pytest.FixtureRequest, tmp_path: Path) -> Paths:
    """desk_paths on either store: the SQLite file, or a new database on the session's PostgreSQL
    server (`store_url`, skipped with a reason where there is none). `where(paths)` names it."""
    if request.param == "sqlite":
        return Paths(config=tmp_path / "config.toml", store=tmp_path / "desk.db", state=tmp_path / "state")
    from tests.conftest import new_pg_database

    url = new_pg_database(request.getfixturevalue("pg_server"))
    return Paths(config=tmp_path / "config.toml", store=tmp_path / "unused.db", state=tmp_path / "state",
                 store_url=url)


def where(paths: Paths) -> Path | str:
    """The store a desk's paths name, as open_store and build_store take it."""
    return paths.store_url or paths.store


def make_settings(**ui: object) -> Settings:
    s = Settings(path=None, sources=source_configs())
    s.ui = UISettings(**ui)  # type: ignore[arg-type]
    return s


def make_app(paths: Paths, settings: Settings | None = None, **kwargs: object):
    from deskapp.ui.app import DeskApp

    kwargs.setdefault("now", fixed_now)
    return DeskApp(settings=settings or make_settings(), paths=paths, poll=False, **kwargs)  # type: ignore[arg-type]


async def settle(pilot, times: int = 2) -> None:
    """Let queued work run, including the feed's reads off the UI thread (bounded)."""
    for _ in range(times):
        await pilot.pause()
    from deskapp.ui.widgets.feed import FeedView

    feeds = pilot.app.query(FeedView)
    for _ in range(200):
        if not any(feed.reading for feed in feeds):
            break
        await pilot.pause(0.01)
    await pilot.pause()
