"""Source kinds: one module each, all satisfying `base.SourceKind` (see base.py).

`KINDS` maps a kind's name (the prefix of its source names, "rss:https://...") to its object;
`kind_of` finds it for a source name, `sniff` for a saved response of unknown kind. The kinds are
imported when first asked for: `import deskapp.core.sources.telegram` (a parse worker, the desk's
start-up) must not pay for feedparser and the others (~0.25 s).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deskapp.core.model import Page
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


def parse_saved(data: bytes, *, kind: str | None = None, url: str | None = None) -> tuple[SourceKind, Page]:
    """A saved response of any kind (sniffed unless `kind` names it) as (kind, page).

    `url` is where it was fetched from, when known: it names the source for a feed, and the account
    for a Bluesky feed or Mastodon statuses (their contents name it too). ValueError for an unknown
    `kind` or a response no kind recognises."""
    from deskapp.core.sources import telegram
    from deskapp.core.sources.base import Response

    kinds = _kinds()
    if kind is not None:
        if kind not in kinds:
            raise ValueError(f"unknown kind {kind!r} (known: {', '.join(kinds)})")
        found = kinds[kind]
    else:
        found = sniff(data)
        if found is None:
            raise ValueError("not a response desk knows (a Telegram preview page, an RSS/Atom feed, a "
                             "Bluesky author feed or Mastodon statuses); name the kind with --kind")
    if found.name == "telegram":
        return found, telegram.parse_page(data, url=url, final_url=url)
    return found, found.parse(Response(data, url=url or ""), None).page
