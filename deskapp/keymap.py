"""Every key binding of the desk, by id, with its default keys and what it does.

The ids are stable: users remap them in the `[keys]` table of the settings
(`pin = "p,space"`). The UI builds its Textual bindings from this table; the help screen and the
command palette read the descriptions from here too, so there is one list to keep.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class KeySpec:
    id: str
    keys: str  # comma-separated Textual key names
    description: str
    show: bool = True  # shown in the footer
    dialog: bool = False  # a key of a dialog or screen over the desk, not of the desk itself
    footer: str = ""  # the footer's short label (the description when empty): 80 columns hold them all


DEFAULT_KEYS: tuple[KeySpec, ...] = (
    KeySpec("down", "j,down", "Move down", show=False),
    KeySpec("up", "k,up", "Move up", show=False),
    KeySpec("top", "g,home", "Go to the top (newest)", show=False),
    KeySpec("bottom", "G,end", "Go to the bottom (oldest)", show=False),
    KeySpec("page_down", "pagedown", "Page down", show=False),
    KeySpec("page_up", "pageup", "Page up", show=False),
    KeySpec("next_pane", "tab", "Next pane", show=False),
    KeySpec("prev_pane", "shift+tab", "Previous pane", show=False),
    KeySpec("pin", "p", "Pin or unpin the post", footer="pin"),
    KeySpec("copy", "c", "Copy the citation", footer="copy"),
    KeySpec("search", "slash", "Filter the feed by text", footer="search"),
    KeySpec("clear_filter", "escape", "Clear the filter", show=False),
    KeySpec("filter_source", "f", "Filter the feed by source", footer="source"),
    KeySpec("open", "o", "Open the permalink in the browser", footer="open"),
    KeySpec("details", "enter", "Show the whole post", footer="post"),
    KeySpec("copy_link", "l", "Copy the permalink of the post under the cursor (feed, pinboard, whole post)",
            show=False),
    KeySpec("show_citation", "C", "Show the whole citation, to check it before copying", footer="check"),
    KeySpec("jump_new", "n", "Jump to the newest posts", footer="newest"),
    KeySpec("pin_up", "K,shift+up", "Move the pin up", show=False),
    KeySpec("pin_down", "J,shift+down", "Move the pin down", show=False),
    KeySpec("pin_note", "e", "Edit the pin's note (pinboard, or a pinned post in the feed)", show=False),
    KeySpec("unpin", "delete,x", "Unpin (pinboard, or a pinned post in the feed)", show=False),
    KeySpec("verify", "v", "Re-check the pins: still there, still the same?", show=False),
    KeySpec("clear_pins", "X", "Clear all pins", show=False),
    KeySpec("undo", "u", "Undo the last unpin or clear", show=False),
    KeySpec("cite_format", "F", "Switch the citation format", show=False),
    KeySpec("cite_earliest", "E", "Name the earliest post of the same news in the citation (on/off)", show=False),
    KeySpec("cite_options", "O", "Choose what the citation carries (notes, excerpts, views...), per desk", show=False),
    KeySpec("edit_heading", "H", "Edit the citation heading", show=False),
    KeySpec("toggle_time", "t", "Switch times between UTC and local", show=False),
    KeySpec("sources", "s", "Show sources and their health", show=False),
    KeySpec("toggle_muted", "M", "Show the posts mute rules hid, or hide them again", show=False),
    KeySpec("rules", "R", "Alert and mute rules: list, add, delete", show=False),
    KeySpec("alerts", "A", "Show the alerts (posts that matched an alert rule), newest first", show=False),
    KeySpec("add_channel", "a", "Add a channel to the settings file", show=False),
    KeySpec("help", "question_mark", "Show every key", footer="keys"),
    KeySpec("quit", "q", "Quit", footer="quit"),
    # In the dialogs and screens over the desk.
    KeySpec("dialog_cancel", "escape", "Cancel", dialog=True),
    KeySpec("confirm_yes", "y", "Yes", dialog=True),
    KeySpec("confirm_no", "escape,n", "Cancel", dialog=True),
    KeySpec("details_back", "escape,q", "Back", dialog=True),
    KeySpec("details_open", "o", "Open permalink", dialog=True),
    KeySpec("citation_back", "escape,q,C", "Back", dialog=True),
    KeySpec("cite_options_back", "escape,q,O", "Close", dialog=True),
    KeySpec("help_back", "escape,q,question_mark", "Back", dialog=True),
    KeySpec("sources_back", "escape,q,s", "Back", dialog=True),
    KeySpec("forget_source", "d,delete", "Forget a source not in the settings", dialog=True),
    KeySpec("alerts_back", "escape,q,A", "Back", dialog=True),
    KeySpec("alerts_jump", "enter", "Show the alert's post in the feed", dialog=True),
    KeySpec("rules_back", "escape,q,R", "Back", dialog=True),
    KeySpec("rule_add", "a", "Add an alert or mute rule", dialog=True),
    KeySpec("rule_delete", "d,delete", "Delete a rule added in the desk", dialog=True),
)

KEY_IDS = frozenset(spec.id for spec in DEFAULT_KEYS)


def resolve(overrides: dict[str, str] | None = None) -> dict[str, KeySpec]:
    """The keymap with the user's overrides applied (ids already validated by config)."""
    overrides = overrides or {}
    out: dict[str, KeySpec] = {}
    for spec in DEFAULT_KEYS:
        keys = overrides.get(spec.id, spec.keys)
        out[spec.id] = KeySpec(spec.id, keys, spec.description, spec.show, spec.dialog, spec.footer)
    return out
