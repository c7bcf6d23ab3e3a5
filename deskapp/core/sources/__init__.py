"""Source kinds: one module each, all satisfying `base.SourceKind` (see base.py).

`KINDS` maps a kind's name (the prefix of its source names, "rss:https://...") to its object;
`kind_of` finds it for a source name, `sniff` for a saved response of unknown kind. The kinds are
imported when first asked for: `import deskapp.core.sources.telegram` (a parse worker, the desk's
start-up) must not pay for feedparser and the others (~0.25 s).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deskapp.core.sources.base import SourceKind

# Most specific first: a Mastodon account's RSS is also RSS.
_SNIFF_ORDER = ("telegram", "bluesky", "mastodon", "rss")


def _kinds() -> dict[str, SourceKind]:
    known = globals().get("KINDS")
    if known is not None:
        return known
    from deskapp.core.sources import bluesky, feed, mastodon, telegram

    found = {k.name: k for k in (telegram.KIND, feed.KIND, bluesky.KIND, mastodon.KIND)}
    globals()["KINDS"] = found
    return found


def __getattr__(name: str) -> Any:
    if name == "KINDS":
        return _kinds()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def kind_of(source: str) -> SourceKind:
    """The kind of a source name ("bluesky:bsky.app"); names without a prefix are Telegram's."""
    prefix = source.split(":", 1)[0].lower() if ":" in source else "telegram"
    try:
        return _kinds()[prefix]
    except KeyError:
        raise ValueError(f"unknown source kind {prefix!r} (known: {', '.join(_kinds())})") from None


def sniff(body: bytes) -> SourceKind | None:
    """The kind a saved response looks like, or None."""
    for name in _SNIFF_ORDER:
        if _kinds()[name].sniff(body):
            return _kinds()[name]
    return None
