"""Source kinds: one module each, all satisfying `base.SourceKind` (see base.py).

`KINDS` maps a kind's name (the prefix of its source names, "rss:https://...") to its object;
`kind_of` finds it for a source name, `sniff` for a saved response of unknown kind.
"""

from __future__ import annotations

from deskapp.core.sources import bluesky, feed, mastodon, telegram
from deskapp.core.sources.base import SourceKind

KINDS: dict[str, SourceKind] = {k.name: k for k in (telegram.KIND, feed.KIND, bluesky.KIND, mastodon.KIND)}

# Most specific first: a Mastodon account's RSS is also RSS.
_SNIFF_ORDER = ("telegram", "bluesky", "mastodon", "rss")


def kind_of(source: str) -> SourceKind:
    """The kind of a source name ("bluesky:bsky.app"); names without a prefix are Telegram's."""
    prefix = source.split(":", 1)[0].lower() if ":" in source else "telegram"
    try:
        return KINDS[prefix]
    except KeyError:
        raise ValueError(f"unknown source kind {prefix!r} (known: {', '.join(KINDS)})") from None


def sniff(body: bytes) -> SourceKind | None:
    """The kind a saved response looks like, or None."""
    for name in _SNIFF_ORDER:
        if KINDS[name].sniff(body):
            return KINDS[name]
    return None
