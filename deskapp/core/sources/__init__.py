"""Source kinds: one module each, all satisfying `base.SourceKind` (see base.py).

`kind_named` gives a kind's object by its name (the prefix of its source names, "rss:https://..."),
`kind_of` for a source name, `sniff` for a saved response of unknown kind; `KINDS` maps every name
to its object. The kinds are
imported when first asked for, each on its own: a desk or poller of Telegram channels alone (and
its parse workers) must not pay for feedparser and the others (~0.25 s, ~6 MB).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deskapp.core.model import Page
    from deskapp.core.sources.base import SourceKind

# Most specific first: a Mastodon account's RSS is also RSS.
_SNIFF_ORDER = ("telegram", "bluesky", "mastodon", "rss")


# Kind name -> the module that holds it, imported when that kind is first asked for.
_MODULES = {"telegram": "telegram", "rss": "feed", "bluesky": "bluesky", "mastodon": "mastodon"}


def kind_named(name: str) -> SourceKind:
    """The kind called `name` ("telegram", "rss", "bluesky", "mastodon"); ValueError for another."""
    from importlib import import_module

    if name not in _MODULES:
        raise ValueError(f"unknown source kind {name!r} (known: {', '.join(_MODULES)})")
    return import_module(f"{__name__}.{_MODULES[name]}").KIND


def _kinds() -> dict[str, SourceKind]:
    return {name: kind_named(name) for name in _MODULES}


def __getattr__(name: str) -> Any:
    if name == "KINDS":
        return _kinds()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def kind_of(source: str) -> SourceKind:
    """The kind of a source name ("bluesky:bsky.app"); names without a prefix are Telegram's."""
    return kind_named(source.split(":", 1)[0].lower() if ":" in source else "telegram")


def sniff(body: bytes) -> SourceKind | None:
    """The kind a saved response looks like, or None."""
    for name in _SNIFF_ORDER:
        if kind_named(name).sniff(body):
            return kind_named(name)
    return None


def parse_saved(data: bytes, *, kind: str | None = None, url: str | None = None) -> tuple[SourceKind, Page]:
    """A saved response of any kind (sniffed unless `kind` names it) as (kind, page).

    `url` is where it was fetched from, when known: it names the source for a feed, and the account
    for a Bluesky feed or Mastodon statuses (their contents name it too). ValueError for an unknown
    `kind` or a response no kind recognises."""
    from deskapp.core.sources import telegram
    from deskapp.core.sources.base import Response

    if kind is not None:
        found = kind_named(kind)
    else:
        found = sniff(data)
        if found is None:
            raise ValueError("not a response desk knows (a Telegram preview page, an RSS/Atom feed, a "
                             "Bluesky author feed or Mastodon statuses); name the kind with --kind")
    if found.name == "telegram":
        return found, telegram.parse_page(data, url=url, final_url=url)
    return found, found.parse(Response(data, url=url or ""), None).page
