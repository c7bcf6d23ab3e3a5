"""Widgets of the desk: the virtual feed, the pinboard, the compose pane, the status bar."""
