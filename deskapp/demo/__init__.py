"""`desk --demo`: the desk on a replay wire served from 127.0.0.1, with its own throwaway store.

Nothing is faked past the HTTP boundary: the demo server speaks Telegram's page format and the desk
reads it through the normal poller and parser.
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from deskapp.config import PollerSettings, Settings
from deskapp.core.model import SourceConfig
from deskapp.paths import Paths

if TYPE_CHECKING:
    from deskapp.cli import Context


def demo_settings(base: Settings, server_url: str) -> Settings:
    """The user's UI, keys and citation settings, with the demo's channels and a brisk poller."""
    from deskapp.demo.wire import CHANNELS, NO_PREVIEW

    sources = [SourceConfig(name=f"telegram:{h}", kind="telegram", handle=h, label=t, interval=3.0,
                            base_url=server_url) for h, t, _ in [*CHANNELS, NO_PREVIEW]]
    poller = PollerSettings(interval=3.0, min_interval=2.0, max_interval=10.0, min_gap=0.2, gap_jitter=0.2,
                            timeout=5.0, backoff_base=2.0, backoff_max=15.0, backfill_pages=1)
    return replace(base, base_url=server_url, sources=sources, poller=poller)


def run_demo(ctx: Context, *, no_poll: bool = False, db: Path | None = None) -> int:
    from deskapp.demo.server import WireServer
    from deskapp.demo.wire import DemoWire, Ticker

    workdir = Path(tempfile.mkdtemp(prefix="desk-demo-"))
    store = db or workdir / "demo.db"
    state = ctx.settings.state or workdir
    paths = Paths(config=ctx.paths.config, store=store, state=state)
    server = WireServer().start()
    wire = DemoWire(server)
    ticker = Ticker(wire).start()
    settings = demo_settings(ctx.settings, server.url)
    banner = f"DEMO WIRE: invented channels served from {server.url}; store {store}"
    try:
        from deskapp.ui.app import DeskApp

        DeskApp(settings=settings, paths=paths, poll=not no_poll, demo_banner=banner).run()
    finally:
        ticker.stop()
        server.stop()
    print(f"Demo files kept in {workdir} (store, last citation); delete them freely.", file=sys.stderr)
    return 0
