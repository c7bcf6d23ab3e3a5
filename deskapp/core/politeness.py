"""Floors and ceilings that keep desk a polite client whatever the settings or a server say.

One table, read by the settings (a value below a floor is a config error naming the key) and by the
poller (which clamps again, so settings built in code cannot go lower either). A loopback base URL
(127.0.0.0/8, ::1, localhost) is a test or demo server on this machine: there the floors are tiny,
so tests run fast without ever lowering them for a real host.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import replace
from urllib.parse import urlsplit

from deskapp.core.settings import PollerSettings

# Seconds, for a real host / for a loopback one. Names are PollerSettings fields.
FLOORS: dict[str, tuple[float, float]] = {
    "interval": (30.0, 0.01),
    "min_interval": (30.0, 0.01),
    "max_interval": (30.0, 0.01),
    "min_gap": (1.0, 0.0),
    "gap_jitter": (0.0, 0.0),
    "timeout": (2.0, 0.05),
    "backoff_base": (10.0, 0.01),
    "backoff_max": (60.0, 0.01),
}
CHANNEL_INTERVAL_FLOOR = (30.0, 0.01)  # a channel's own `interval`, and telegram.interval
BACKFILL_PAGES_MAX = 50  # older pages read in one go; each one is a request to the host
MAX_BODY_RANGE = (64_000, 256_000_000)  # bytes a page may decode to (a real page is ~150 KB)
RETRY_AFTER_MAX = 6 * 3600.0  # a server cannot park a host for longer than this, whatever it sends


def is_loopback(url: str) -> bool:
    """Whether the URL's host is this machine (a test or demo server)."""
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def floor(name: str, base_url: str) -> float:
    """The smallest value `name` may take when polling `base_url`."""
    real, loop = FLOORS.get(name, CHANNEL_INTERVAL_FLOOR)
    return loop if is_loopback(base_url) else real


def finite(value: float) -> bool:
    return not (math.isnan(value) or math.isinf(value))


def clamped(cfg: PollerSettings, base_urls: list[str]) -> PollerSettings:
    """`cfg` with every floor applied for the strictest of `base_urls` (settings made in code included).

    NaN or infinity (which the settings file refuses) fall back to the default value."""
    strict = not base_urls or any(not is_loopback(u) for u in base_urls)
    over: dict[str, float] = {}
    for name, (real, loop) in FLOORS.items():
        value = getattr(cfg, name)
        safe = value if finite(value) else _FINITE_DEFAULT[name]
        safe = max(safe, real if strict else loop)
        if safe != value:
            over[name] = safe
    out = replace(cfg, **over) if over else cfg
    if out.backoff_max < out.backoff_base or out.max_interval < out.min_interval:
        out = replace(out, backoff_max=max(out.backoff_max, out.backoff_base),
                      max_interval=max(out.max_interval, out.min_interval))
    if out.backfill_pages > BACKFILL_PAGES_MAX:
        out = replace(out, backfill_pages=BACKFILL_PAGES_MAX)
    return out


# What an infinite value is replaced by when settings made in code carry one (config refuses them).
_FINITE_DEFAULT = {"interval": 300.0, "min_interval": 60.0, "max_interval": 1800.0, "min_gap": 2.0,
                   "gap_jitter": 1.5, "timeout": 20.0, "backoff_base": 30.0, "backoff_max": 3600.0}
