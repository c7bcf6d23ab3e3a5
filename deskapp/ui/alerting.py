"""What the desk knows about alerts: the last one it has shown, and how many the editor has not looked at.

The AttentionWorker (in this desk's poller or in a headless `desk poll`) records alerts in the store;
the desk reads `store.alerts(after_id=...)` when the poller says so and on every store change, so a
--no-poll or watching desk raises them too. Nothing here touches widgets: the app shows what `take`
returns.
"""

from __future__ import annotations

from deskapp.core.alerts import AlertKind, AlertRow
from deskapp.core.store_api import DeskStore
from deskapp.ui.text import one_line

NOTIFY_EACH = 3  # alerts notified one by one in a burst; the rest are one notification
READ_CAP = 500  # alerts read per change (a flood is counted, not all shown at once)


class AlertWatch:
    def __init__(self, last_id: int = 0) -> None:
        self.last_id = last_id  # the newest alert already raised in this desk
        self.unseen = 0  # raised since the editor last opened the alerts screen

    def take(self, store: DeskStore) -> list[AlertRow]:
        """The alerts recorded since the last call, oldest first (counted as unseen)."""
        fresh = store.alerts(after_id=self.last_id, limit=READ_CAP)
        if fresh:
            self.last_id = max(a.id for a in fresh)
            self.unseen += len(fresh)
        return fresh

    def seen(self) -> None:
        self.unseen = 0


def alert_what(alert: AlertRow) -> str:
    return "pinned post edited" if alert.kind is AlertKind.PINNED_EDIT else alert.rule


def channel_of(alert: AlertRow) -> str:
    return one_line(alert.source.partition(":")[2] or alert.source, 40)


def alert_message(alert: AlertRow, cap: int = 160) -> str:
    """One notification's text, plain (shown with markup=False): the rule, the channel, the post."""
    return f"{channel_of(alert)}/{alert.post_id}: {one_line(alert.text, cap) or alert.url}"


def alert_title(alert: AlertRow) -> str:
    return one_line(f"Alert: {alert_what(alert)}", 60)
