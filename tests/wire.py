"""Shared helpers for tests that need a wire: invented channels on a real loopback HTTP server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from deskapp.config import Settings
from deskapp.core.model import SourceConfig
from deskapp.core.settings import PollerSettings
from deskapp.demo.server import WireServer
from deskapp.demo.tme import FakeChannel, FakePost

T0 = datetime(2026, 6, 30, 18, 0, tzinfo=UTC)


def make_channel(handle: str, n: int, *, title: str | None = None, start_id: int = 1,
                 t0: datetime = T0) -> FakeChannel:
    ch = FakeChannel(handle, title or handle.replace("_", " ").title(), f"About {handle}.")
    for i in range(start_id, start_id + n):
        ch.posts.append(FakePost(i, t0 + timedelta(minutes=i), f"{handle} post number {i}\nsecond line",
                                 views=f"{i}"))
    return ch


def fast_poller(**over: float) -> PollerSettings:
    base = dict(interval=0.2, min_interval=0.1, max_interval=0.5, min_gap=0.02, gap_jitter=0.0,
                timeout=2.0, backoff_base=0.2, backoff_max=1.0, backfill_pages=3)
    base.update(over)
    return PollerSettings(**base)  # type: ignore[arg-type]


def settings_for(server: WireServer, handles: list[str], *, store: Path | None = None,
                 **poller: float) -> Settings:
    sources = [SourceConfig(name=f"telegram:{h.lower()}", kind="telegram", handle=h, base_url=server.url)
               for h in handles]
    return Settings(base_url=server.url, sources=sources, store=store, poller=fast_poller(**poller))


def config_toml(server: WireServer, handles: list[str], store: Path, state: Path, **poller: float) -> str:
    """The same as `settings_for`, as a settings file for the `desk` command."""
    p = fast_poller(**poller)
    lines = [
        "[telegram]",
        f'base_url = "{server.url}"',
        "channels = [" + ", ".join(f'"{h}"' for h in handles) + "]",
        "[store]",
        f'path = "{store}"',
        f'state = "{state}"',
        "[poller]",
    ]
    for name in ("interval", "min_interval", "max_interval", "min_gap", "gap_jitter", "timeout",
                 "backoff_base", "backoff_max"):
        lines.append(f"{name} = {float(getattr(p, name))}")
    lines.append(f"backfill_pages = {int(p.backfill_pages)}")
    return "\n".join(lines) + "\n"
