"""Textual bindings built from the one keymap table (deskapp.keymap).

Each widget declares the binding ids it serves; the keys and descriptions come from DEFAULT_KEYS, and
the user's `[keys]` overrides are applied app-wide with `App.set_keymap` (Textual matches by binding id),
so the footer, the help screen and the command palette all show the keys actually in force.
"""

from __future__ import annotations

from textual.binding import Binding

from deskapp.keymap import DEFAULT_KEYS, KeySpec, resolve

_SPECS = {spec.id: spec for spec in DEFAULT_KEYS}

# Binding id -> Textual action, per place that serves it. The app-level ones work from every pane.
APP_ACTIONS: dict[str, str] = {
    "copy": "copy",
    "search": "search",
    "clear_filter": "clear_filter",
    "filter_source": "filter_source",
    "jump_new": "jump_new",
    "next_pane": "app.focus_next",
    "prev_pane": "app.focus_previous",
    "clear_pins": "clear_pins",
    "undo": "undo",
    "cite_format": "cite_format",
    "edit_heading": "edit_heading",
    "cite_earliest": "cite_earliest",
    "cite_options": "cite_options",
    "show_citation": "show_citation",
    "toggle_time": "toggle_time",
    "sources": "sources",
    "alerts": "alerts",
    "rules": "rules",
    "toggle_muted": "toggle_muted",
    "add_channel": "add_channel",
    "help": "help",
    "quit": "quit",
}
FEED_ACTIONS: dict[str, str] = {
    "down": "cursor_down",
    "up": "cursor_up",
    "top": "cursor_top",
    "bottom": "cursor_bottom",
    "page_down": "page_down",
    "page_up": "page_up",
    "pin": "toggle_pin",
    "open": "open_post",
    "details": "details",
    "pin_note": "note",
    "unpin": "unpin",
    "copy_link": "copy_link",
}
PIN_ACTIONS: dict[str, str] = {
    "down": "cursor_down",
    "up": "cursor_up",
    "top": "cursor_top",
    "bottom": "cursor_bottom",
    "pin": "unpin",
    "unpin": "unpin",
    "pin_up": "move_up",
    "pin_down": "move_down",
    "pin_note": "note",
    "open": "open_post",
    "details": "details",
    "verify": "verify",
    "copy_link": "copy_link",
}


def bindings(actions: dict[str, str]) -> list[Binding]:
    """Bindings with ids and default keys; `App.set_keymap` later applies the user's keys."""
    out: list[Binding] = []
    for binding_id, action in actions.items():
        spec = _SPECS[binding_id]
        out.append(Binding(spec.keys, action, spec.footer or spec.description, show=spec.show, id=binding_id,
                           tooltip=spec.description))
    return out


def keymap_overrides(overrides: dict[str, str] | None) -> dict[str, str]:
    """Only the ids the user changed, in the form `App.set_keymap` wants."""
    resolved = resolve(overrides)
    return {i: s.keys for i, s in resolved.items() if s.keys != _SPECS[i].keys}


def display_keys(keys: str) -> str:
    """'question_mark,shift+up' -> '?, shift+↑' for people."""
    names = {
        "question_mark": "?", "slash": "/", "escape": "Esc", "enter": "Enter", "tab": "Tab",
        "shift+tab": "Shift+Tab", "pagedown": "PgDn", "pageup": "PgUp", "home": "Home", "end": "End",
        "up": "↑", "down": "↓", "left": "←", "right": "→", "delete": "Del", "space": "Space",
        "shift+up": "Shift+↑", "shift+down": "Shift+↓",
    }
    return ", ".join(names.get(k.strip(), k.strip()) for k in keys.split(",") if k.strip())


def table(overrides: dict[str, str] | None) -> list[KeySpec]:
    """Every binding with the keys in force, in the keymap's order (for help and the palette; the
    palette leaves out the dialogs' keys, which only work inside a dialog)."""
    return list(resolve(overrides).values())
