"""The demo wire's content: invented channels whose posts appear, get edited, forward and reply.

All text here is written for the demo; nothing is taken from captured pages. `DemoWire.tick()`
advances the story by one step; a timer thread calls it every few seconds while the demo runs.
"""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta

from deskapp.demo.copies import variants
from deskapp.demo.others import Item, demo_accounts
from deskapp.demo.server import Fault, WireServer
from deskapp.demo.tme import FakeChannel, FakePost

CHANNELS = [
    ("harbour_watch", "Harbour Watch", "Shipping, ports and the coast, as it happens."),
    ("eastfield_monitor", "Eastfield Monitor", "Open-source monitoring of the Eastfield region."),
    ("citydesk_alerts", "City Desk Alerts", "Breaking local news from the city desk."),
    ("meteo_bulletin", "Meteo Bulletin", "Weather warnings and forecasts."),
    ("rynok_novosti", "Рынок Новости", "Экономика и рынки. Коротко."),
]
NO_PREVIEW = ("closed_channel_demo", "Closed Channel", "")

# The two posts that change after they appear, so a new user sees a re-check flag them: one is
# deleted, the other edited (the poller keeps the stored copy of a deleted post; only the re-check
# of the post's own page can tell it is gone).
VANISHING = ("harbour_watch", "UNCONFIRMED: reports of an explosion at the east quay. Not verified yet; "
                              "we will update.")
CORRECTED = ("citydesk_alerts", "Police: 3 people injured in the collision on the ring road.",
             "Police: 5 people injured in the collision on the ring road, two of them seriously.")
COPIED_STORY = ("Port authority reports a fire in a warehouse near the east quay; crews are on site and "
                "the quay road is closed to traffic.")
CHANGE_AFTER = 120.0  # seconds after the demo starts: the deletion; the edit comes at three quarters
CHANGE_HINT = "pin UNCONFIRMED + injured posts; ~2 min later, v on the pinboard"

SUBJECTS = [
    "Port authority", "The ferry operator", "Rail services", "The regional council", "Emergency services",
    "The national weather office", "A spokesperson for the ministry", "Local residents", "The harbour master",
    "Power company crews", "The airport", "Police",
]
EVENTS = [
    "reports a fire in a warehouse near the east quay; no injuries so far",
    "suspends crossings until further notice because of high winds",
    "confirms delays of up to 40 minutes on the northern line",
    "calls an extraordinary session for tomorrow morning",
    "says the main road is closed in both directions after a collision",
    "issues an amber warning for heavy rain from 18:00 UTC",
    "denies reports that the terminal will close",
    "posts video of flooding in the old town",
    "restores power to about 3,000 homes",
    "reopens runway two after an inspection",
    "asks people to avoid the area around the central station",
    "publishes revised casualty figures: 2 injured, 0 dead",
]
EXTRA = [
    "", "", "More to follow.", "Details are still unclear.", "Photos below.", "Update expected within the hour.",
    "Source: on-scene correspondent.", "#breaking", "#weather", "Мы следим за ситуацией.",
    "تحديث: الوضع تحت السيطرة", "現場からの情報です。", "⚠️", "🔴 LIVE",
]


def _sentence(rng: random.Random) -> str:
    extra = rng.choice(EXTRA)
    return f"{rng.choice(SUBJECTS)} {rng.choice(EVENTS)}." + (f"\n\n{extra}" if extra else "")


class DemoWire:
    """Owns the invented channels and changes them over time; the server reads them under its lock."""

    def __init__(self, server: WireServer, *, seed: int | None = None, backlog: int = 30,
                 now: datetime | None = None, change_after: float = CHANGE_AFTER):
        self.server = server
        self.rng = random.Random(seed)
        self.change_after = change_after
        self.ticks = 0
        now = now or datetime.now(UTC)
        # (when, what): the scheduled deletion and edit, applied by the first tick at or after `when`.
        self.changes: list[tuple[datetime, str]] = []
        for handle, title, about in CHANNELS:
            ch = FakeChannel(handle, title, about, subscribers=f"{self.rng.randint(2, 90)}.{self.rng.randint(1, 9)}K")
            start = now - timedelta(hours=6)
            for i in range(1, backlog + 1):
                when = start + timedelta(minutes=i * 6 * self.rng.uniform(0.5, 1.5))
                ch.posts.append(self._make(ch, i, min(when, now - timedelta(seconds=backlog - i + 1))))
            ch.posts[0] = FakePost(1, start - timedelta(days=30), "Channel created", service=True, views=None)
            server.add(ch)
        # One invented account of every other kind (demo/others.py), on the same server.
        self.others = [server.others.add(acc) for acc in demo_accounts(now)]
        closed = FakeChannel(*NO_PREVIEW)
        server.add(closed)
        server.no_preview.add(closed.handle.lower())
        self._story_features(now)

    def _make(self, ch: FakeChannel, post_id: int, when: datetime) -> FakePost:
        rng = self.rng
        p = FakePost(post_id, when, _sentence(rng), views=f"{rng.randint(1, 999)}" if rng.random() < 0.5
                     else f"{rng.randint(1, 99)}.{rng.randint(0, 9)}K")
        if ch.handle == "citydesk_alerts" and rng.random() < 0.5:
            p.author = rng.choice(["Mara Quist", "Jon Ferreira", "Duty desk"])
        if rng.random() < 0.15:
            p.photo = True
        elif rng.random() < 0.08:
            p.video = True
        return p

    def _story_features(self, now: datetime) -> None:
        """The set pieces the demo promises: a forward, a reply, an album (and edits, later)."""
        chans = self.server.channels
        harbour, east = chans["harbour_watch"], chans["eastfield_monitor"]
        src = east.posts[-3]
        fwd = self._append(harbour, now - timedelta(minutes=3),
                           "Forwarding this from our colleagues: the coastal road is now open again.")
        fwd.forwarded = (east.title, f"https://t.me/{east.handle}/{src.id}")
        city = chans["citydesk_alerts"]
        target = city.posts[-2]
        reply = self._append(city, now - timedelta(minutes=2),
                             "Correction to our earlier post: the station is closed, not the whole line.")
        reply.reply_to = (target.id, target.text.split("\n")[0])
        meteo = chans["meteo_bulletin"]
        album = self._append(meteo, now - timedelta(minutes=1), "Radar images of the storm front, three frames.")
        album.album = [album.id + 1, album.id + 2]
        album.photo = True
        self.vanishing = self._append(chans[VANISHING[0]], now - timedelta(seconds=40), VANISHING[1])
        self.corrected = self._append(chans[CORRECTED[0]], now - timedelta(seconds=30), CORRECTED[1])
        self.changes = [(now + timedelta(seconds=self.change_after * 0.75), "edit"),
                        (now + timedelta(seconds=self.change_after), "delete")]
        self._copies(now)

    def _copies(self, now: datetime) -> None:
        """One story first posted by Harbour Watch, then repeated by two channels (an attributed copy
        and one with a tail, demo/copies.py), so a new user sees "+2" and who posted it first."""
        chans = self.server.channels
        harbour = chans["harbour_watch"]
        story = COPIED_STORY
        self._append(harbour, now - timedelta(seconds=25), story)
        kinds = dict(variants(story, random.Random(7), who=harbour.title, handle=harbour.handle))  # own rng: the
        # main stream of draws (and so every other demo post) stays as it was
        self._append(chans["citydesk_alerts"], now - timedelta(seconds=20), kinds["attributed"])
        self._append(chans["eastfield_monitor"], now - timedelta(seconds=15), kinds["tail"])

    def _due_change(self, now: datetime) -> str | None:
        """Apply the first scheduled change that is due (under the server's lock); what happened."""
        if not self.changes or self.changes[0][0] > now:
            return None
        _when, what = self.changes.pop(0)
        if what == "edit":
            self.corrected.text = CORRECTED[2]
            self.corrected.edited = True
            return f"edited {CORRECTED[0]}/{self.corrected.id}"
        ch = self.server.channels[VANISHING[0]]
        ch.posts = [p for p in ch.posts if p is not self.vanishing]
        return f"deleted {VANISHING[0]}/{self.vanishing.id}"

    def _append(self, ch: FakeChannel, when: datetime, text: str) -> FakePost:
        last = ch.posts[-1]
        next_id = last.id + 1 + len(last.album)
        p = FakePost(next_id, when, text, views=str(self.rng.randint(10, 400)))
        ch.posts.append(p)
        return p

    def tick(self, now: datetime | None = None) -> str:
        """One step of the story; returns what happened (for logs and tests)."""
        now = now or datetime.now(UTC)
        self.ticks += 1
        rng = self.rng
        with self.server.lock:
            changed = self._due_change(now)
            if changed:
                return changed
            if self.ticks % 5 == 0:
                self._other_post(now)  # no random draws: Telegram's story stays as it was
            handles = [h for h, *_ in CHANNELS]
            ch = self.server.channels[rng.choice(handles)]
            roll = rng.random()
            if roll < 0.15 and len(ch.posts) > 3:
                p = rng.choice(ch.posts[-8:-1])
                if not p.service:
                    p.text += "\n\nUPDATE: figures revised."
                    p.edited = True
                    return f"edited {ch.handle}/{p.id}"
            if self.ticks % 17 == 0:
                self.server.fault(ch.handle, Fault("status", code=429, retry_after="3"))
                return f"429 queued for {ch.handle}"
            if self.ticks % 11 == 0:
                self.server.fault(ch.handle, Fault("slow", seconds=2.5))
            p = self._append(ch, now, _sentence(rng))
            return f"new {ch.handle}/{p.id}"


    def _other_post(self, now: datetime) -> str:
        """A new post on the next account of another kind, in turn."""
        acc = self.others[(self.ticks // 5) % len(self.others)]
        last = max(it.id for it in acc.items)
        n = len(acc.items) + 1
        acc.items.append(Item(last + 1, now, f"Update {n}: the situation is being monitored.",
                              title=f"Alert {n}: update"))
        return f"new {acc.kind}:{acc.handle}/{last + 1}"


def demo_sources() -> list[tuple[str, str, str]]:
    """(kind, handle as configured, label) of the demo's accounts of other kinds."""
    out = []
    for acc in demo_accounts(datetime.now(UTC)):
        if acc.kind == "rss":
            handle = f"https://{acc.handle}.example.gov/feeds/{acc.handle}.xml"
        elif acc.kind == "mastodon":
            handle = f"@{acc.handle}"
        else:
            handle = acc.handle
        out.append((acc.kind, handle, acc.title))
    return out


class Ticker:
    """Calls `wire.tick()` every `every` seconds (with jitter) in a daemon thread until stopped."""

    def __init__(self, wire: DemoWire, every: float = 4.0):
        self.wire, self.every = wire, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-ticker", daemon=True)

    def start(self) -> Ticker:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.every * self.wire.rng.uniform(0.6, 1.4)):
            self.wire.tick()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
