"""`desk --demo`: a replay wire served from 127.0.0.1, with its own throwaway store.

Nothing is faked past the HTTP boundary: the demo server speaks Telegram's page format (and RSS,
Bluesky's and Mastodon's, demo/others.py) and the desk reads it through the normal poller and parsers. This package only provides the wire; `desk` (cli.py)
starts the desk on it.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from deskapp.config import Settings
from deskapp.core.model import SourceConfig
from deskapp.core.settings import PollerSettings
from deskapp.paths import Paths


@dataclass(frozen=True, slots=True)
class DemoRun:
    """A running demo wire: the settings and paths to start the desk with, and a banner to show."""

    settings: Settings
    paths: Paths
    banner: str
    workdir: Path  # the throwaway folder (store, last citation); removed when the demo ends


def demo_settings(base: Settings, server_url: str) -> Settings:
    """The user's UI, keys and citation settings, with the demo's channels and a brisk poller."""
    from deskapp.core.sources import kind_named
    from deskapp.demo.wire import CHANNELS, NO_PREVIEW, demo_sources

    sources = [SourceConfig(name=f"telegram:{h}", kind="telegram", handle=h, label=t, interval=3.0,
                            base_url=server_url) for h, t, _ in [*CHANNELS, NO_PREVIEW]]
    # An RSS feed, a Bluesky and a Mastodon account, served by the same loopback server.
    sources += [SourceConfig(name=kind_named(kind).source_name(handle), kind=kind, handle=handle, label=label,
                             interval=3.0, base_url=server_url) for kind, handle, label in demo_sources()]
    poller = PollerSettings(interval=3.0, min_interval=2.0, max_interval=10.0, min_gap=0.2, gap_jitter=0.2,
                            timeout=5.0, backoff_base=2.0, backoff_max=15.0, backfill_pages=1)
    # `desk archive` in the demo asks the wire's own Save Page Now stand-in, never the real archive.
    verify = replace(base.verify, archive=server_url, archive_gap=0.5)
    return replace(base, base_url=server_url, sources=sources, poller=poller, verify=verify)


@contextmanager
def demo_wire(base: Settings, paths: Paths, *, db: Path | None = None) -> Iterator[DemoRun]:
    """Serve the demo wire (with its ticker posting news) until the block ends, then remove the
    throwaway folder (a `db` the editor named is theirs and stays). The editor's own state folder
    (last citation, desk.log) is never used: the demo keeps to its folder (its log: cli.py)."""
    from deskapp.demo.server import SavePageNow, WireServer
    from deskapp.demo.wire import CHANGE_HINT, DemoWire, Ticker

    workdir = Path(tempfile.mkdtemp(prefix="desk-demo-"))
    store = db or workdir / "demo.db"
    run_paths = Paths(config=paths.config, store=store, state=workdir)
    server = WireServer().start()
    SavePageNow(server)
    try:
        ticker = Ticker(DemoWire(server)).start()
        try:
            yield DemoRun(settings=demo_settings(base, server.url), paths=run_paths, workdir=workdir,
                          banner=f"DEMO WIRE: invented channels served from {server.url}; store {store}\n"
                                 f"Try: {CHANGE_HINT}")
        finally:
            ticker.stop()
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
