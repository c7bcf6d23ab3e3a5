"""Desk names: each editor's desk has its own pinboard and citation preferences in a shared store.

A name is 1-40 characters of letters, digits, `.`, `_` and `-`, compared case-insensitively (it is
stored folded to lower case), so `--desk Anna` and `[desk] name = "anna"` are one desk. Without a
name, the desk is named after the user running it.
"""

from __future__ import annotations

import getpass
import re

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


def default_desk() -> str:
    """The desk of the user running this process: the user name, made a valid desk name."""
    try:
        user = getpass.getuser()
    except Exception:  # no user name in the environment nor the password database (containers)
        user = ""
    cleaned = re.sub(r"[^\w.-]+", "-", user.strip().casefold()).strip("-")[:40]
    return cleaned or FALLBACK
