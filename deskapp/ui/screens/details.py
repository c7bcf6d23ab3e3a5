"""The whole post: every field, the full text (capped for layout), its links, its revisions, and the
posts of other channels that repeat the same news (who posted it first)."""

from __future__ import annotations

from datetime import datetime

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from deskapp.core.model import Capture, StoredPost, utc_iso
from deskapp.core.sanitize import url_problem
from deskapp.ui.keys import bindings
from deskapp.ui.text import (
    DETAIL_TEXT_CAP,
    capped,
    field_text,
    fmt_time,
    highlighted_content,
    links_in,
    local_time,
    one_line,
)
from deskapp.ui.widgets.feed import RowAction

REVISION_CAP = 20_000  # characters shown of each earlier text


_PLATFORM = {"rss": "RSS/Atom feed", "bluesky": "Bluesky", "mastodon": "Mastodon"}


def _when(ts: datetime | None, mode: str) -> str:
    if ts is None:
        return "—"
    text = utc_iso(ts)
    if mode == "local":
        local = local_time(ts) is not None
        text += f"  (local {fmt_time(ts, 'local', seconds=True)})" if local else "  (no local time at this date)"
    return text


class DetailsScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    DetailsScreen { align: center middle; }
    DetailsScreen > VerticalScroll {
        width: 100%; height: 1fr; background: $surface; border: round $accent; padding: 0 1;
    }
    DetailsScreen .field { height: auto; }
    DetailsScreen .section { height: auto; margin-top: 1; color: $accent; text-style: bold; }
    DetailsScreen .body { height: auto; }
    DetailsScreen .warn { height: auto; color: $warning; }
    """

    BINDINGS = bindings({"details_back": "close", "details_open": "open", "pin": "pin", "copy_link": "copy_link"})

    class Request(Message):
        """The editor asked for something about the post shown (today: open its permalink)."""

        def __init__(self, what: RowAction, post: StoredPost) -> None:
            super().__init__()
            self.what = what
            self.post = post

    def __init__(self, post: StoredPost, revisions: list[tuple[str, datetime, datetime]], *,
                 captures: list[Capture | None] | None = None,
                 time_mode: str = "utc", watch=None, group: list[tuple[StoredPost, float]] | None = None) -> None:
        """`group`: (post, similarity to the earliest) of every post with the same news, earliest first."""
        super().__init__()
        self.group = group or []
        self.post = post
        self.revisions = revisions
        self.captures = captures or []
        self.time_mode = time_mode
        self.watch = watch

    def _fields(self) -> list[tuple[str, str]]:
        sp, p, mode = self.post, self.post.post, self.time_mode
        kind = p.source.split(":", 1)[0] if ":" in p.source else "telegram"
        handle = one_line(p.channel, 100) if kind == "rss" else f"@{one_line(p.channel, 100)}"
        rows: list[tuple[str, str]] = [
            ("Channel", f"{one_line(p.channel_title or '', 200)} ({handle})".strip()),
            ("Source", p.source),
            ("Post id", str(p.id)),
            ("Permalink", p.url + ("" if url_problem(p.url) is None else f"  [refused: {url_problem(p.url)}]")),
            ("Published", _when(p.published, mode)),
            ("Author", one_line(p.author, 200) or "—"),
            ("Views", f"{p.views} (seen {_when(sp.views_seen, mode)})" if p.views else "—"),
            ("Edited", "yes, at source" if p.edited else "no (as far as the page said)"),
            ("Revisions kept", str(sp.revisions)),
            ("Forwarded from", (f"{one_line(p.forwarded_from.name, 200)} {p.forwarded_from.url or '(hidden)'}"
                                if p.forwarded_from else "—")),
            ("Reply to", p.reply_to or "—"),
            ("Album", ", ".join(str(i) for i in p.album_ids) or "—"),
            ("Media", ", ".join(p.media) or "—"),
            ("Service message", "yes" if p.service else "no"),
            ("First seen", _when(sp.first_seen, mode)),
            ("Last seen", _when(sp.last_seen, mode)),
            ("Text SHA-256", sp.text_sha256 or "—"),
            ("Captured", (f"{sp.capture.how} from {sp.capture.where} at {_when(sp.capture.at, mode)}"
                          if sp.capture else "not recorded (stored before desk kept it)")),
            ("Pinned", ("yes" + (f", note: {one_line(sp.pin_note, 1000)}" if sp.pin_note else "")) if sp.pinned else "no"),
            ("Store key", str(sp.key)),
        ]
        if kind != "telegram":  # what only other kinds have, after the post id (core/sources/)
            rows[3:3] = [("Platform", _PLATFORM.get(kind, kind)), ("Native id", one_line(p.native_id, 300) or "—"),
                         ("Reposted by", one_line(p.reposted_by, 200) or "—"), ("Quote of", p.quote_of or "—")]
        return rows

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="details"):
            width = max(len(k) for k, _ in self._fields())
            # Every value is plain Content: scraped names, notes and URLs never parse as markup.
            for label, value in self._fields():
                yield Static(Content.assemble((label.ljust(width), "bold"), "  ", field_text(value)), classes="field")
            text, cut = capped(self.post.post.text, DETAIL_TEXT_CAP)
            yield Static(Content("Text"), classes="section")
            if cut:
                yield Static(Content(f"Showing the first {DETAIL_TEXT_CAP:,} of {len(self.post.post.text):,} "
                                     "characters; the store keeps all of it."), classes="warn")
            yield Static(highlighted_content(text or "(no text)", self.watch), classes="body", id="details-text")
            links = links_in(text)
            yield Static(Content(f"Links in the text ({len(links)})"), classes="section")
            for link in links[:200]:
                problem = url_problem(link)
                yield Static(Content(field_text(link + (f"  [not http(s): {problem}]" if problem else ""))),
                             classes="field")
            if len(self.group) > 1:
                yield Static(Content(f"Same news in {len(self.group)} posts, earliest first (times UTC)"),
                             classes="section")
                for member, similarity in self.group:
                    mp = member.post
                    this = "  ← this post" if member.key == self.post.key else ""
                    how = "first" if member.key == self.group[0][0].key else f"{similarity:.0%} alike"
                    yield Static(Content(field_text(f"{utc_iso(mp.published)}  {one_line(mp.channel, 64)}  "
                                                    f"{mp.url}  ({how}){this}")), classes="field")
            yield Static(Content(f"Revisions ({len(self.revisions)})"), classes="section")
            if not self.revisions:
                yield Static(Content("The text has not changed since it was first captured."), classes="field")
            for n, (old, captured, replaced) in enumerate(self.revisions, start=1):
                body, cut = capped(old, REVISION_CAP)
                head = f"#{n}: captured {_when(captured, self.time_mode)}, replaced {_when(replaced, self.time_mode)}"
                how = self.captures[n - 1] if n <= len(self.captures) else None
                if how is not None:
                    head += f" ({how.how} from {how.where})"
                yield Static(Content(field_text(head)), classes="field")
                yield Static(Content(body + (" …" if cut else "")), classes="body")
        yield Footer()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_open(self) -> None:
        self.app.post_message(self.Request(RowAction.OPEN, self.post))

    def action_pin(self) -> None:
        self.app.post_message(self.Request(RowAction.PIN, self.post))

    def action_copy_link(self) -> None:
        self.app.post_message(self.Request(RowAction.LINK, self.post))
