"""Desk names: each editor's desk has its own pinboard and citation preferences in a shared store.

A name is 1-40 characters of letters, digits, `.`, `_` and `-`, compared case-insensitively (it is
stored folded to lower case), so `--desk Anna` and `[desk] name = "anna"` are one desk. Without a
name, the desk is named after the user running it.
"""

from __future__ import annotations

import getpass
import json
import re
from typing import Any, TypeVar

T = TypeVar("T")

_NAME = re.compile(r"^[\w.-]{1,40}$")
FALLBACK = "desk"  # when the user name gives nothing usable


class DeskNameError(ValueError):
    """A name that cannot be a desk name; the message says why in one line."""


def desk_name(name: str) -> str:
    """The stored form of a desk name (lower case); DeskNameError when it is not one."""
    folded = name.strip().casefold()
    if not _NAME.match(folded):
        raise DeskNameError(f"{name!r} is not a desk name (1-40 letters, digits, '.', '_' or '-')")
    return folded


def merged_prefs(stored: str | None, changes: dict[str, Any]) -> dict[str, Any]:
    """A desk's stored preferences (JSON text, None when none) with `changes` merged in (a None
    value removes the key); text edited by hand into something else counts as no preferences."""
    try:
        prefs = json.loads(stored) if stored else {}
    except ValueError:
        prefs = {}
    if not isinstance(prefs, dict):
        prefs = {}
    for key, value in changes.items():
        if value is None:
            prefs.pop(key, None)
        else:
            prefs[key] = value
    return prefs


# The citation options a desk keeps (`options` in its prefs, switched with O and E in the desk):
# CiteOptions' on/off fields, and `chronological` for order = "chronological".
CITE_OPTIONS: tuple[str, ...] = ("notes", "excerpt", "views", "edited", "forwards", "replies", "archive", "sha256",
                                 "checked", "earliest", "chronological")


def kept_options(prefs: dict[str, Any]) -> dict[str, bool]:
    """The citation options a desk switched (`earliest` kept on its own is from before `options`)."""
    out: dict[str, bool] = {}
    if isinstance(prefs.get("earliest"), bool):
        out["earliest"] = prefs["earliest"]
    options = prefs.get("options")
    if isinstance(options, dict):
        out.update({k: v for k, v in options.items() if k in CITE_OPTIONS and isinstance(v, bool)})
    return out


def cite_overrides(options: dict[str, bool]) -> dict[str, Any]:
    """Switched options as CiteOptions fields (config.cite_objects' overrides)."""
    return {("order" if name == "chronological" else name):
            (("chronological" if on else "editor") if name == "chronological" else on)
            for name, on in options.items()}


def moved(order: list[T], item: T, delta: int) -> list[T] | None:
    """`order` with `item` moved by delta places, clamped to the ends; None when it is not there."""
    if item not in order:
        return None
    old = order.index(item)
    new = max(0, min(len(order) - 1, old + delta))
    out = [x for x in order if x != item]
    out.insert(new, item)
    return out


def default_desk() -> str:
    """The desk of the user running this process: the user name, made a valid desk name."""
    try:
        user = getpass.getuser()
    except Exception:  # no user name in the environment nor the password database (containers)
        user = ""
    cleaned = re.sub(r"[^\w.-]+", "-", user.strip().casefold()).strip("-")[:40]
    return cleaned or FALLBACK
