"""Capture a pinned post's own view, and re-check it later: is it still there, still saying the same?

The view fetched is Telegram's context page `/s/<channel>/<id>` (not the `?embed=1` widget): it is
the same page format the poller reads, so the tested parser reads it with the same text cleaning as
the store (a re-check compares like with like), and "channel gone" is told apart from "post gone"
the way the poller tells it (a redirect to the landing card, no channel header). A post that is gone
is absent while its neighbours are present. The widget has no real sample to test against and a
different wrapper (see docs/DESIGN-NOTES.md).

One context page shows about 20 posts around the one asked for, so a re-check of many pins of one
channel asks once for each stretch of ids: a pin that is on a page already fetched (or falls between
two posts shown on it) is judged from that page.

Classification of one post against one answer:

* transport failure, HTTP error, 429, a body over the cap, a suspiciously empty page: UNCHECKED (why);
* landing card / no preview: CHANNEL_GONE;
* a page of the channel without the post: DELETED ("deleted or hidden");
* the post with the capture's text: UNCHANGED, with another text: EDITED (a word diff).
"""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

import httpx

from deskapp.core.archive import latest_snapshots
from deskapp.core.cite import Verification
from deskapp.core.evidence import (
    Check,
    EvidenceLog,
    Exchange,
    FetchLimits,
    PostFetcher,
    Result,
    decoded_body,
    text_sha256,
)
from deskapp.core.fetch import HostClocks, host_of
from deskapp.core.model import CheckKind, Page, PageKind, Post, SourceConfig, StoredPost
from deskapp.core.sanitize import clean_line, clean_text_fast
from deskapp.core.sources import kind_of, telegram
from deskapp.core.sources.base import Request, Response, SourceKind
from deskapp.core.store import Store

__all__ = ["Target", "post_view_url", "classify", "word_diff", "Verifier", "targets_for", "base_resolver", "cite_facts", "stale"]

# Kinds with a view of one post that `classify_other` reads (core/sources/).
KNOWN_KINDS = ("rss", "bluesky", "mastodon")

# A host that asks us to stay away longer than this is not waited for: the rest of its pins are
# reported as not checked, with the reason.
MAX_WAIT = 30.0
_DIFF_MAX = 600  # characters of difference kept in a check


@dataclass(slots=True)
class Target:
    """A post to capture or re-check: where it lives and what it said when we stored it."""

    source: str
    post_id: int
    channel: str
    base_url: str
    stored_text: str
    post: Post | None = None  # the stored post (other kinds build their request from it)

    @property
    def key(self) -> tuple[str, int]:
        return (self.source, self.post_id)


def post_view_url(base_url: str, channel: str, post_id: int) -> str:
    """The context page of a post: `<base>/s/<channel>/<id>`."""
    return f"{base_url.rstrip('/')}/s/{quote(channel, safe='')}/{int(post_id)}"


def base_resolver(store: Store, sources: Sequence[SourceConfig], default: str) -> Callable[[str], str]:
    """Where a source is fetched from: its configured base URL, else the one the store recorded."""
    configured = {s.name: s.base_url for s in sources}

    def base_of(source: str) -> str:
        if source in configured:
            return configured[source]
        return (store.source_row(source) or {}).get("base_url") or default

    return base_of


def targets_for(posts: Sequence[StoredPost], base_of: Callable[[str], str]) -> list[Target]:
    return [Target(sp.post.source, sp.post.id, sp.post.channel, base_of(sp.post.source), sp.post.text, sp.post)
            for sp in posts]


def word_diff(old: str, new: str, limit: int = _DIFF_MAX) -> str:
    """The change from `old` to `new` on one line: `[-removed-]{+added+}` around the words that differ."""
    a, b = old.split(), new.split()
    out: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            words = a[i1:i2]
            out.append(" ".join(words) if len(words) <= 6 else f"{' '.join(words[:3])} … {' '.join(words[-3:])}")
            continue
        if i2 > i1:
            out.append("[-" + " ".join(a[i1:i2]) + "-]")
        if j2 > j1:
            out.append("{+" + " ".join(b[j1:j2]) + "+}")
    text = " ".join(out) or "(whitespace or line breaks only)"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_answer(chain: list[Exchange], channel: str | None = None) -> tuple[Page | None, str]:
    """The page an answer holds, or None and why it cannot be read. With `channel` (the channel asked
    about) only its posts count, as when polled: an answer from another origin, or a page of another
    channel's posts, decides nothing (it would otherwise "show" a post deleted)."""
    last = chain[-1]
    if last.error:
        return None, last.error
    if last.status is None:
        return None, "no answer"
    if last.status >= 400:
        return None, f"HTTP {last.status} {last.reason}".rstrip()
    if 300 <= last.status < 400:
        return None, f"HTTP {last.status} redirect without a Location"
    asked, answered = httpx.URL(chain[0].url), httpx.URL(last.url)
    if (asked.host, asked.port) != (answered.host, answered.port):
        return None, f"redirected to another origin ({clean_line(last.url)[:200]}); not read"
    page = telegram.parse_page(decoded_body(last), url=chain[0].url, final_url=last.url, channel=channel)
    if page.kind is PageKind.REFUSED:
        return None, f"page refused: {page.reason}"
    if page.kind is PageKind.SUSPICIOUS_EMPTY:
        return None, f"suspiciously empty page: {page.reason or 'no posts and no notice'}"
    return page, ""


def _found(page: Page, target: Target) -> Post | None:
    channel = target.channel.lower()
    for post in page.posts:
        if post.id == target.post_id and (post.channel or "").lower() == channel:
            return post
    return None


def covers(page: Page, post_id: int) -> bool:
    """Whether an OK page decides about `post_id`: it shows it, or shows posts on both sides of it."""
    ids = [p.id for p in page.posts]
    return bool(ids) and (post_id in ids or min(ids) < post_id < max(ids))


def classify(page: Page | None, why: str, target: Target, baseline: str | None, *, kind: CheckKind,
             checked: datetime, url: str) -> Check:
    """What `page` says about `target`; `baseline` is the text to compare with (None: a capture)."""
    check = Check(target.source, target.post_id, kind, Result.UNCHECKED, checked, url=url)
    if page is None:
        check.detail = why
        return check
    if page.kind is PageKind.NO_PREVIEW:
        check.result = Result.CHANNEL_GONE
        check.detail = page.reason or "the channel has no public preview any more"
        return check
    post = _found(page, target)
    if post is None:
        check.result = Result.DELETED
        check.detail = ("the channel shows no posts" if page.kind is PageKind.NO_POSTS
                        else "the channel's page no longer shows this post")
        return check
    return _compared(check, post.text, baseline)


def _compared(check: Check, seen: str, baseline: str | None) -> Check:
    """The post was found: keep the text it shows now and compare it with the capture's."""
    text = clean_text_fast(seen)
    check.text, check.text_sha256 = text, text_sha256(text)
    if baseline is None:
        check.result = Result.CAPTURED
    elif text == baseline:
        check.result = Result.UNCHANGED
    else:
        check.result = Result.EDITED
        check.detail = word_diff(baseline, text)
    return check


class Verifier:
    """Captures and re-checks posts through one `PostFetcher`, recording everything in the store.

    `on_check` is told of each result as it is recorded (the desk's progress, the CLI's lines)."""

    def __init__(self, store: Store, limits: FetchLimits, *, transport: httpx.AsyncBaseTransport | None = None,
                 on_check: Callable[[Check], None] | None = None, max_wait: float = MAX_WAIT,
                 group: bool = True, clocks: HostClocks | None = None) -> None:
        """`group`: let one context page decide the neighbouring pins of a re-check (False: one request a
        pin, the benchmark's baseline)."""
        self.store = store
        self.log = EvidenceLog(store)
        self.limits = limits
        self.transport = transport
        self.on_check = on_check
        self.max_wait = max_wait
        self.group = group
        self.clocks = clocks
        self.requests = 0

    async def capture(self, targets: Sequence[Target]) -> list[Check]:
        """Fetch each post's own view and keep it as the capture later re-checks compare against."""
        return await self._run(targets, kind=CheckKind.CAPTURE)

    async def recheck(self, targets: Sequence[Target]) -> list[Check]:
        """Fetch each post again and say what changed since its capture."""
        return await self._run(targets, kind=CheckKind.RECHECK)

    async def _run(self, targets: Sequence[Target], *, kind: CheckKind) -> list[Check]:
        results: dict[tuple[str, int], Check] = {}
        groups: dict[str, list[Target]] = {}
        others: dict[str, list[Target]] = {}
        for t in _unique(targets):
            source_kind = t.source.split(":", 1)[0] if ":" in t.source else "telegram"
            if source_kind != "telegram":
                if t.post is None or source_kind not in KNOWN_KINDS:
                    self._record(None, [(t, Check(t.source, t.post_id, kind, Result.UNCHECKED, datetime.now(UTC),
                                                  f"re-checking {source_kind} posts is not supported"))], results)
                    continue
                others.setdefault(host_of(kind_of(t.source).post_request(t.post, t.base_url).url), []).append(t)
                continue
            groups.setdefault(host_of(t.base_url), []).append(t)
        async with PostFetcher(self.limits, transport=self.transport, clocks=self.clocks) as fetcher:
            try:
                await asyncio.gather(*(self._host(fetcher, items, kind, results) for items in groups.values()),
                                     *(self._host_other(fetcher, items, kind, results) for items in others.values()))
            finally:
                self.requests += fetcher.requests
        return [results[t.key] for t in _unique(targets) if t.key in results]

    def _baseline(self, t: Target, kind: CheckKind) -> str | None:
        if kind is CheckKind.CAPTURE:
            return None
        cap = self.log.baseline(t.source, t.post_id)
        # Never captured (pinned before this desk captured pins): compare with the stored text.
        return cap.text if cap is not None and cap.text is not None else clean_text_fast(t.stored_text)

    async def _host(self, fetcher: PostFetcher, items: list[Target], kind: CheckKind,
                    results: dict[tuple[str, int], Check]) -> None:
        """One host's posts, one request at a time; a page fetched for one post decides its neighbours."""
        by_channel: dict[str, list[Target]] = {}
        for t in items:
            by_channel.setdefault(t.channel.lower(), []).append(t)
        for group in by_channel.values():
            pending = sorted(group, key=lambda t: t.post_id)
            while pending:
                target = pending.pop(0)
                url = post_view_url(target.base_url, target.channel, target.post_id)
                waited = fetcher.paused_for(url)
                if waited > self.max_wait:
                    self._record(None, [(target, Check(
                        target.source, target.post_id, kind, Result.UNCHECKED, datetime.now(UTC),
                        f"the host asked us to wait {waited:.0f} s more (rate limited)", url=url))], results)
                    continue
                chain = await fetcher.get(url)
                checked = datetime.now(UTC)
                page, why = parse_answer(chain, target.channel)
                decided = [(target, classify(page, why, target, self._baseline(target, kind), kind=kind,
                                             checked=checked, url=url))]
                if page is not None and page.kind is PageKind.OK and kind is CheckKind.RECHECK and self.group:
                    # Neighbours on this page are decided by it; a capture always asks for its own view.
                    for other in list(pending):
                        if covers(page, other.post_id):
                            pending.remove(other)
                            decided.append((other, classify(page, why, other, self._baseline(other, kind),
                                                            kind=kind, checked=checked, url=url)))
                elif page is not None and page.kind is PageKind.NO_PREVIEW and self.group:
                    for other in pending:  # the whole channel is gone: one answer says so for all
                        decided.append((other, classify(page, why, other, None, kind=kind, checked=checked,
                                                        url=url)))
                    pending = []
                self._record(chain, decided, results)

    async def _host_other(self, fetcher: PostFetcher, items: list[Target], kind: CheckKind,
                          results: dict[tuple[str, int], Check]) -> None:
        """Posts of other kinds (core/sources/), one request each through the same polite fetcher: the
        kind's own view of the post (Mastodon's status, Bluesky's getPosts) or its feed again (RSS)."""
        for target in items:
            assert target.post is not None
            source_kind = kind_of(target.source)
            request = source_kind.post_request(target.post, target.base_url)
            waited = fetcher.paused_for(request.url)
            if waited > self.max_wait:
                self._record(None, [(target, Check(
                    target.source, target.post_id, kind, Result.UNCHECKED, datetime.now(UTC),
                    f"the host asked us to wait {waited:.0f} s more (rate limited)", url=request.url))], results)
                continue
            chain = await fetcher.get(request.url)
            checked = datetime.now(UTC)
            check = classify_other(source_kind, request, chain, target, self._baseline(target, kind), kind=kind,
                                   checked=checked)
            self._record(chain, [(target, check)], results)

    def _record(self, chain: list[Exchange] | None, decided: list[tuple[Target, Check]],
                results: dict[tuple[str, int], Check]) -> None:
        self.log.record([chain] if chain else [], [(c, chain) for _t, c in decided])
        for t, c in decided:
            results[t.key] = c
            if self.on_check is not None:
                self.on_check(c)


def classify_other(source_kind: SourceKind, request: Request, chain: list[Exchange], target: Target,
                   baseline: str | None, *, kind: CheckKind, checked: datetime) -> Check:
    """What an answer of another kind says about `target`. A post's own view (step "post") that answers
    404/410 or lacks the post means it is gone; a feed that lacks it proves nothing (feeds drop items)."""
    last = chain[-1]
    check = Check(target.source, target.post_id, kind, Result.UNCHECKED, checked, url=request.url)
    own_view = request.step == "post"
    if last.error or last.status is None:
        check.detail = last.error or "no answer"
        return check
    if own_view and last.status in (404, 410):
        check.result = Result.DELETED
        check.detail = f"the platform answers HTTP {last.status}: deleted or hidden"
        return check
    if last.status >= 300:
        check.detail = f"HTTP {last.status} {last.reason}".rstrip()
        return check
    parsed = source_kind.parse(Response(decoded_body(last), url=request.url), request)
    if parsed.page.kind is PageKind.SUSPICIOUS_EMPTY:
        check.detail = parsed.page.reason or "an answer that could not be read"
        return check
    post = next((p for p in parsed.page.posts if p.id == target.post_id), None)
    if post is None:
        if own_view:
            check.result = Result.DELETED
            check.detail = "the platform no longer shows this post"
        else:
            check.detail = "no longer in the feed (feeds drop old items: not proof of deletion)"
        return check
    return _compared(check, post.text, baseline)


def _unique(targets: Sequence[Target]) -> list[Target]:
    seen: dict[tuple[str, int], Target] = {}
    for t in targets:
        seen.setdefault(t.key, t)
    return list(seen.values())


def cite_facts(store: Store, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], Verification]:
    """What the citation's "checked" and "archive" options print for these posts, from the store."""
    log = EvidenceLog(store)
    answered = log.latest(keys, answered=True)
    snaps = latest_snapshots(store, keys)
    out: dict[tuple[str, int], Verification] = {}
    for key in keys:
        check, snap = answered.get(key), snaps.get(key)
        if check is None and snap is None:
            continue
        base = log.baseline(*key) if check is not None and check.result in (Result.DELETED, Result.CHANNEL_GONE) else None
        result = None if check is None else ("unchanged" if check.result is Result.CAPTURED else check.result.value)
        out[key] = Verification(checked=check.checked if check else None, result=result,
                                captured_sha256=base.text_sha256 if base else None,
                                snapshot=snap.snapshot if snap else None)
    return out


def stale(checks: dict[tuple[str, int], Check], keys: Sequence[tuple[str, int]], minutes: float,
          now: datetime | None = None) -> list[tuple[str, int]]:
    """The posts among `keys` with no answered check in the last `minutes` (in `keys` order)."""
    now = now or datetime.now(UTC)
    limit = minutes * 60
    return [k for k in keys if k not in checks or (now - checks[k].checked).total_seconds() > limit]
