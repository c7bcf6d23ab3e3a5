"""Parse Telegram's public channel preview (`t.me/s/<channel>`) into posts, channel info and a cursor.

The field guide is TME_FORMAT.md in the team's shared docs (not in this repository); the traps it
lists (its section 13) are handled here and pinned by tests/test_telegram_traps.py. In short:

* body text is `.js-message_text` only: the reply quote carries `tgme_widget_message_text` too;
* the time is `time[datetime]` inside the date link (UTC), never the localised HH:MM text;
* an album is one block; the other ids exist only as `…/<id>?single` hrefs of its tiles;
* the cursor is `rel=prev` -> `data-before` -> smallest id, never `rel=canonical`;
* a 200 proves nothing: redirects to landing cards and the telegram.org home page are classified.

Speed (budget: a real 20-post page in 2 ms, every field). Half of a real page's bytes are
decorations that every block repeats (bubble tail SVG, avatar, fallback, reactions): checked to be
whole elements of their usual shape, they are cut from the bytes before lexbor reads them
(_without_decorations), which saves more than the cut costs. Lexbor's CSS engine walks the whole
subtree once per selector, so every `css()` costs in proportion to the subtree it searches. The
parser therefore walks the document a few times only: lexbor's tag index detaches scripts, styles and
hidden markup and finds the `<br>`s, one CSS query finds the message blocks, and each block is read
with a pruned walk over its element children that skips the subtrees it does not need (avatar,
bubble tail SVG, reactions, link previews, "not supported" fallbacks, media internals). Every CSS
query goes through one engine per thread (`_css`), rather than one built for each page. Text comes
from lexbor's own text content; a U+2028 LINE SEPARATOR is first put before each `<br>`, which the text
pass turns into "\\n" (a U+2028 in a post means a line break anyway). Each post is built through the
store's gate (`sanitize.clean_post_fields`) once. benchmarks/RESULTS.md has the costs.

Media kinds, one entry per item in document order (an album of three photos is three "photo"s):
photo, video, gif (a video player without play button or duration), round_video, voice, audio (a
document whose icon is marked audio), document, sticker, poll, location, contact. Not media: avatars,
the channel photo of a "photo updated" service message, link previews and their images, reply
thumbnails. Link previews are not listed at all: the link itself is in the text.
"""

from __future__ import annotations

import logging
import re
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from selectolax.lexbor import LexborCSSSelector, LexborDocumentOptions, LexborHTMLParser, LexborNode

from deskapp.core.model import ChannelInfo, ForwardedFrom, Page, PageKind, Post, parse_utc_iso
from deskapp.core.sanitize import (
    INT64_MAX,
    clean_channel,
    clean_line,
    clean_post_fields,
    clean_text_fast,
    post_problem,
)
from deskapp.core.sources.html_depth import nesting_depth

log = logging.getLogger(__name__)

_LOCAL = threading.local()


def _css(node: LexborNode, query: str) -> list[LexborNode]:
    """`node.css(query)` through one CSS engine per thread: each parsed page would otherwise build
    its own (about 20 µs of a 1 ms parse). Not shared between threads: a find keeps state."""
    try:
        return _LOCAL.css.find(query, node)
    except AttributeError:
        _LOCAL.css = LexborCSSSelector()
        return _LOCAL.css.find(query, node)


def _css_first(node: LexborNode, query: str) -> LexborNode | None:
    """`node.css_first(query)` through the thread's CSS engine (see _css)."""
    try:
        found = _LOCAL.css.find_first(query, node)
    except AttributeError:
        _LOCAL.css = LexborCSSSelector()
        found = _LOCAL.css.find_first(query, node)
    return found[0] if found else None

__all__ = ["approx_int", "parse_file", "parse_page"]

TME = "https://t.me"

_BLOCKS = "div[data-post]"
_HIDDEN = ["script", "style", "noscript", "template"]  # never text (see _parse_page)
_LINE_SEP = "\u2028"  # stands for <br> until the text is read
_DATA_POST = re.compile(r"([A-Za-z0-9_]{1,64})/(\d{1,30})")
# A post path on t.me or a mirror: /<channel>/<id> or /s/<channel>/<id>.
_POST_PATH = re.compile(r"/(?:s/)?([A-Za-z0-9_]{1,64})/(\d{1,12})/?")
_POST_TAIL = re.compile(r"/([A-Za-z0-9_]{1,64})/(\d{1,12})/?$")
_PREVIEW_PATH = re.compile(r"/s/([A-Za-z0-9_]{1,64})(?:/|$)")
_COUNT = re.compile(r"(\d[\d.,]*)([KMB]?)", re.IGNORECASE)
_COUNT_SPACES = dict.fromkeys(map(ord, " \u00a0\u202f\u2009\u2007'"), None)
_SCALE = {"": 1, "k": 1_000, "K": 1_000, "m": 1_000_000, "M": 1_000_000, "b": 1_000_000_000, "B": 1_000_000_000}
_SUBSCRIBER_TYPES = frozenset({"subscriber", "subscribers", "member", "members"})
# "11 286 994 subscribers" / "97 957 members, 4 138 online" (landing cards, exact counts).
_EXTRA_COUNT = re.compile(r"\s*([\d][\d\s\u00a0\u202f,.]*?)\s*(subscribers?|members?)\b", re.IGNORECASE)
_TITLE_HANDLE = re.compile(r"@([A-Za-z0-9_]{1,64})")

# The "not supported" fallback and copy-only labels: pruned by the block walk; if they ever turn up
# inside the text div, one of these labels shows it and they are removed there too.
_FALLBACK = (".copyonly, .media_not_supported_cont, .message_media_not_supported_wrap, "
             ".message_media_not_supported, .message_media_view_in_telegram")
def _has_fallback_label(text: str) -> bool:
    # The labels spelled out rather than any(genexpr) over a tuple: this runs for every post.
    return ("Please open Telegram" in text or "not supported in your browser" in text
            or "Media is too big" in text or "VIEW IN TELEGRAM" in text)

# What the block walk does with an element, by class token (first known token wins).
_SKIP, _TEXT, _OWNER, _FORWARD, _REPLY, _VIEWS, _META, _MEDIA = range(8)
_ACTIONS: dict[str, tuple[int, str]] = {
    "tgme_widget_message_user": (_SKIP, ""),  # avatar
    "tgme_widget_message_bubble_tail": (_SKIP, ""),
    "tgme_widget_message_owner_name": (_OWNER, ""),
    "tgme_widget_message_forwarded_from": (_FORWARD, ""),
    "tgme_widget_message_reply": (_REPLY, ""),
    "js-message_reply_text": (_SKIP, ""),
    "tgme_widget_message_metatext": (_SKIP, ""),
    "tgme_widget_message_text": (_TEXT, ""),
    "js-message_text": (_TEXT, ""),
    "media_not_supported_cont": (_SKIP, ""),  # "Please open Telegram to view this post"
    "message_media_not_supported_wrap": (_SKIP, ""),
    "message_media_not_supported": (_SKIP, ""),
    "message_media_view_in_telegram": (_SKIP, ""),  # its href may end in ?single: not an album tile
    "copyonly": (_SKIP, ""),
    "tgme_widget_message_link_preview": (_SKIP, ""),
    "tgme_widget_message_reactions": (_SKIP, ""),
    "tgme_widget_message_inline_keyboard": (_SKIP, ""),
    "tgme_widget_message_views": (_VIEWS, ""),
    "tgme_widget_message_voters": (_SKIP, ""),
    "tgme_widget_message_meta": (_META, ""),
    "tgme_widget_message_service_photo": (_SKIP, ""),  # the channel's new avatar
    "tgme_widget_message_via_bot": (_SKIP, ""),
    "tgme_widget_message_photo_wrap": (_MEDIA, "photo"),
    "tgme_widget_message_video_player": (_MEDIA, "video"),
    "tgme_widget_message_roundvideo_player": (_MEDIA, "round_video"),
    "tgme_widget_message_voice_player": (_MEDIA, "voice"),
    "tgme_widget_message_document_wrap": (_MEDIA, "document"),
    "tgme_widget_message_sticker_wrap": (_MEDIA, "sticker"),
    "tgme_widget_message_sticker": (_MEDIA, "sticker"),
    "tgme_widget_message_tgsticker": (_MEDIA, "sticker"),
    "tgme_widget_message_videosticker": (_MEDIA, "sticker"),
    "tgme_widget_message_poll": (_MEDIA, "poll"),
    "tgme_widget_message_location_wrap": (_MEDIA, "location"),
    "tgme_widget_message_contact_wrap": (_MEDIA, "contact"),
    "tgme_widget_message_contact": (_MEDIA, "contact"),
    "tgme_widget_message_contact_name": (_MEDIA, "contact"),
}


# Telegram opened in August 2013: an earlier time is not a real post's. A time more than a day ahead
# of the clock would keep a post on top of the newest-first feed for ever.
EARLIEST = datetime(2013, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=1)


def parse_page(html: str | bytes, *, url: str | None = None, final_url: str | None = None,
               channel: str | None = None, now: datetime | None = None) -> Page:
    """Read a preview page or a fragment of message blocks.

    `url` is what was requested and `final_url` where the redirects ended; a `final_url` whose path
    is not `/s/<name>` means Telegram refused the preview, whatever the page says. With `channel`
    (the handle that was asked for) only that channel's posts are accepted: a block naming another
    channel is refused with a reason in `Page.refused` (a page of nothing else is `REFUSED`), and so
    is a header naming another channel. Every post and the header leave through the sanitize gate.
    """
    try:
        page = _parse_page(html, url=url, final_url=final_url, expect=channel, now=now or datetime.now(UTC))
    except RecursionError:
        return Page(kind=PageKind.SUSPICIOUS_EMPTY, reason="the page nests HTML too deeply; refused")
    if page.channel is not None:
        page.channel = clean_channel(page.channel)
    return page


def _parse_page(html: str | bytes, *, url: str | None, final_url: str | None, expect: str | None,
                now: datetime) -> Page:
    # The bytes lexbor reads (selectolax encodes text so, dropping what UTF-8 cannot hold).
    data = html.encode("utf-8", "ignore") if isinstance(html, str) else html
    if len(data) >= _CUT_FROM:
        data = _without_decorations(data)
    depth = _nesting_depth(data)
    if depth > MAX_DEPTH:
        # The HTML parser's cost grows with the square of the nesting depth (20,000 levels: ~2 s,
        # 100,000: minutes): a page this deep is hostile or broken and is refused unparsed.
        return Page(kind=PageKind.SUSPICIOUS_EMPTY,
                    reason=f"the page nests HTML {depth:,} levels deep (limit {MAX_DEPTH}); refused unread")
    tree = LexborHTMLParser(data, options=LexborDocumentOptions.WO_EVENTS)
    # Scripts, styles and hidden markup are never text: detached with their content, in lexbor (a
    # detached node is only freed with the document, so one inside another is safe to detach too).
    # Then each <br> gets a character before it that text() keeps. Lexbor's tag index walks cheaper
    # than CSS.
    tree.strip_tags(_HIDDEN)
    for node in tree.tags("br"):
        node.insert_before(_LINE_SEP)  # (cheaper than replace_with; the <br> itself has no text)
    blocks = _css(tree.root, _BLOCKS)

    if final_url is not None and not _PREVIEW_PATH.match(urlsplit(final_url).path or "/"):
        return _no_preview(tree, url, final_url)
    if final_url is not None and expect is not None:
        m = _PREVIEW_PATH.match(urlsplit(final_url).path)
        if m and m.group(1).lower() != expect.lower():
            return Page(kind=PageKind.REFUSED, reason=f"the request for @{expect} ended at the page of "
                                                      f"@{m.group(1)} ({clean_line(final_url)}); refused")

    refused: list[str] = []
    posts = _read_posts(blocks, expect, now, refused)
    channel = _channel_info(tree)
    if channel is not None and expect is not None and channel.username \
            and channel.username.lower() != expect.lower():
        refused.append(f"the page header names @{clean_line(channel.username)[:64]}, not @{expect}: "
                       "its channel details are ignored")
        channel = None
    if posts:
        return Page(kind=PageKind.OK, posts=posts, channel=channel, before=_cursor(tree, posts), refused=refused)
    if refused:
        return Page(kind=PageKind.REFUSED, channel=channel, refused=refused,
                    reason=f"every post on the page was refused: {'; '.join(refused[:3])}"
                           + (f" (and {len(refused) - 3} more)" if len(refused) > 3 else ""))
    if _css_first(tree.root, ".tme_no_messages_found") is not None:
        name = f"@{channel.username}" if channel and channel.username else "the channel"
        return Page(kind=PageKind.NO_POSTS, channel=channel,
                    reason=f"Telegram says {name} has no posts here (\"No posts found\").")
    if channel is not None or _css_first(tree.root, ".tgme_channel_history") is not None:
        name = f"@{channel.username}" if channel and channel.username else "the channel"
        return Page(kind=PageKind.SUSPICIOUS_EMPTY, channel=channel,
                    reason=f"The preview page of {name} shows neither posts nor a \"No posts found\" "
                           "notice; it may be throttled or changed.")
    return _no_preview(tree, url, final_url)


# Browsers stop nesting at about 512 levels too (Chromium's parser limit); real pages need ~30.
MAX_DEPTH = 512
# Below this many tags the depth cannot hurt (the HTML parser stays in milliseconds), so the exact
# measure is skipped: a real 20-post page has about 2,700 '<'.
_CHEAP_TAGS = 4000


def _nesting_depth(html: str | bytes) -> int:
    """The element nesting depth lexbor would build (see html_depth), or a smaller bound when the page
    is too small to be dangerous: the number of '<' bounds the depth, so only past `_CHEAP_TAGS` (a long
    or odd page) is it measured."""
    data = html.encode("utf-8", "replace") if isinstance(html, str) else html
    tags = data.count(b"<")  # (slower alone than len(data.replace(...)), but 10 µs faster in a parse: no copy)
    if tags <= _CHEAP_TAGS:
        return min(tags, MAX_DEPTH)
    return nesting_depth(data, stop_at=MAX_DEPTH)


# ------------------------------------------------------------------- what is cut before the parse
#
# Lexbor's parse is most of a page's cost, and it grows with the page's bytes and elements. Half of a
# real page is markup that every message block repeats and that the block walk skips anyway: the
# bubble tail's SVG, the channel's avatar, the "Please open Telegram" fallback, the reaction counts,
# and the user colours' style sheet at the end of the head. `_without_decorations` cuts them from the
# bytes, each one only when it is one whole element of its usual shape:
#
# * the tail and the avatar are the same bytes in every block: the first of each is checked against
#   its shape (only SVG shapes in the tail; a link, an icon and an image in the avatar), and then only
#   identical copies are cut;
# * the fallback is the same bytes but for the post's link, which may hold no quote or angle bracket;
# * each block's reactions are checked against their shape (spans of a count and an icon);
# * the style sheet must hold no "<" and be followed by nothing but "</head>".
#
# Post text cannot hold any of them: it reaches the page HTML-escaped, without a raw "<". Whatever is
# cut, the result is a page the same server could have sent, and it is read under the same rules (the
# channel checks, the duplicate-id check, the depth bound, the gate); a page of another shape is read
# whole. tests/test_telegram_traps.py runs every trap both ways, and the real pages parse the same.

_CUT_FROM = 40_000  # bytes: below, a page has a few posts and cutting costs about what it saves
_TAIL_START = b'<i class="tgme_widget_message_bubble_tail">'
_TAIL_SHAPE = re.compile(rb'<i class="tgme_widget_message_bubble_tail">\s*+<svg\b(?:[^<]++|</?(?:g|path)\b)*+'
                         rb'</svg>\s*+</i>')
_AVATAR_START = b'<div class="tgme_widget_message_user">'
_AVATAR_SHAPE = re.compile(rb'<div class="tgme_widget_message_user">\s*+<a href="[^"<>]*+">\s*+<i\s++class="'
                           rb'tgme_widget_message_user_photo[^"<>]*+"(?:\s++data-content="[^"<>]*+")?+>'
                           rb'(?:\s*+<img\s++src="[^"<>]*+">)?+\s*+</i>\s*+</a>\s*+</div>')
# Between the avatar and the tail: the opening of the bubble that the tail starts.
_BUBBLE_GAP = re.compile(rb'\s*+<div class="tgme_widget_message_bubble">\s*+')
_FALLBACK_START = b'<div class="media_not_supported_cont">'
_FALLBACK_SHAPE = re.compile(
    rb'(<div class="media_not_supported_cont">\s*+<div class="message_media_not_supported_wrap">\s*+'
    rb'<div class="message_media_not_supported">\s*+<div class="message_media_not_supported_label">[^<>]*+'
    rb'</div>\s*+<a href=")[^"<>]*+(" class="message_media_view_in_telegram">[^<>]*+</a>\s*+</div>\s*+'
    rb'</div></div>)')
_LINK = re.compile(rb'[^"<>]*+')  # the fallback's link: an attribute value up to its closing quote
_REACTIONS_START = b'<div class="tgme_widget_message_reactions js-message_reactions">'
_REACTIONS_SHAPE = re.compile(
    rb'<div class="tgme_widget_message_reactions js-message_reactions">(?:<span class="tgme_reaction[^"<>]*+">'
    rb'(?:<i class="[^"<>]*+"></i>|<tg-emoji emoji-id="[0-9]++"></tg-emoji>)?+[^<]*+</span>)*+</div>')
_HEAD_END = re.compile(rb'\s*+</head>')  # what may follow the style sheet that is cut
_SHAPE_SPAN = 4096  # the most bytes a checked shape (tail, avatar, fallback) is looked at over


def _without_decorations(data: bytes) -> bytes:
    """The page without its blocks' decorations and its user colours' style sheet (see above)."""
    at = data.find(_TAIL_START)
    first = _TAIL_SHAPE.match(data, at, at + _SHAPE_SPAN) if at >= 0 else None
    if first is None:
        return data
    tail = first.group()
    # The first block (up to the next tail) says what else this page's blocks carry.
    block_end = data.find(_TAIL_START, first.end())
    block_end = len(data) if block_end < 0 else block_end
    lead, n_avatar = b"", 0  # the avatar and what follows it up to the tail, the same in every block
    mark = data.rfind(_AVATAR_START, max(0, at - _SHAPE_SPAN), at)
    avatar = _AVATAR_SHAPE.match(data, mark, at) if mark >= 0 else None
    if avatar is not None and _BUBBLE_GAP.fullmatch(data, avatar.end(), at):
        lead = data[avatar.start():at]
        n_avatar = avatar.end() - avatar.start()
    mark = data.find(_FALLBACK_START, at, block_end)
    fallback = _FALLBACK_SHAPE.match(data, mark, min(block_end, mark + _SHAPE_SPAN)) if mark >= 0 else None
    before_link, after_link = (fallback.group(1), fallback.group(2)) if fallback is not None else (b"", b"")
    reactions = data.find(_REACTIONS_START, at, block_end) >= 0

    view = memoryview(data)
    parts: list[memoryview] = []
    keep = 0  # where the bytes not yet cut begin
    style = data.find(b"<style>", 0, at)
    if style >= 0:
        close = data.find(b"<", style + 7, at)
        if close >= 0 and data.startswith(b"</style>", close) and _HEAD_END.match(data, close + 8, at):
            parts.append(view[:style])
            keep = close + 8
    n_lead, n_tail, n_before, n_after = len(lead), len(tail), len(before_link), len(after_link)
    while True:  # at: a tail, identical to the first
        if lead and at - n_lead >= keep and data.startswith(lead, at - n_lead):
            parts.append(view[keep:at - n_lead])
            keep = at - n_lead + n_avatar
        parts.append(view[keep:at])
        keep = at + n_tail
        after = data.find(_TAIL_START, keep)
        while after >= 0 and not data.startswith(tail, after):
            after = data.find(_TAIL_START, after + 1)
        end = after if after >= 0 else len(data)
        # The block ends with the fallback, maybe a link preview, and the reactions: found backwards.
        reacted = None
        if reactions:
            mark = data.rfind(_REACTIONS_START, keep, end)
            reacted = _REACTIONS_SHAPE.match(data, mark, end) if mark >= 0 else None
            if reacted is not None:
                end = mark
        if before_link:
            mark = data.rfind(_FALLBACK_START, keep, end)
            if mark >= 0 and data.startswith(before_link, mark):
                link = _LINK.match(data, mark + n_before, end)
                if link is not None and data.startswith(after_link, link.end()):
                    parts.append(view[keep:mark])
                    keep = link.end() + n_after
        if reacted is not None:
            parts.append(view[keep:reacted.start()])
            keep = reacted.end()
        if after < 0:
            break
        at = after
    parts.append(view[keep:])
    return b"".join(parts)


def parse_file(path: Path, url: str | None = None) -> Page:
    """`parse_page` over a saved page (bytes, parsed as UTF-8)."""
    return parse_page(Path(path).read_bytes(), url=url)


def approx_int(raw: str | None) -> int | None:
    """The integer a rounded counter stands for: "4.2K" -> 4200, "11.4M" -> 11400000, "1 234" -> 1234.

    Thousands separators (spaces, U+00A0, U+202F, commas) are dropped. With a K/M/B suffix a comma
    is a decimal mark ("1,2K"). None when unreadable.
    """
    if not raw:
        return None
    # The forms every page shows ("8.67M", "412", "1.2K"), read without the regex; the rest below.
    if len(raw) < 16 and raw.isascii():  # float is exact below 2^53
        if raw.isdigit():
            return int(raw)
        scale = _SCALE.get(raw[-1])
        if scale is not None:
            head = raw[:-1]
            if head[:1].isdigit() and head.replace(".", "", 1).isdigit():
                value = round(float(head) * scale)
                return value if value <= INT64_MAX else None
    m = _COUNT.fullmatch(raw.translate(_COUNT_SPACES))
    if m is None:
        return None
    number, suffix = m.groups()
    # An exact count never has a fraction: without a suffix "1,234" and "1.234" are thousands.
    number = number.replace(",", ".") if suffix else number.replace(",", "").replace(".", "")
    try:
        value = round(float(number) * _SCALE[suffix])
    except (ValueError, OverflowError):  # "1.2.3K", 400 digits (infinity)
        return None
    return value if value <= INT64_MAX else None  # a count SQLite cannot hold is no count


# ---------------------------------------------------------------------------------------- posts


def _read_posts(blocks: list[LexborNode], expect: str | None, now: datetime, refused: list[str]) -> list[Post]:
    """Every `div.tgme_widget_message[data-post]`, once per (channel, id), in ascending id, clean.

    A block is refused (with a reason in `refused`) when it names another channel than `expect`, has
    an unreadable data-post, an id outside 1..2^63-1, or no usable time. An id that appears twice with
    different content is refused as a whole: either block could be the forgery, and storing one would
    let the page decide what the channel said; identical repeats are kept once."""
    posts: dict[tuple[str, int], Post] = {}
    clashed: set[tuple[str, int]] = set()
    foreign: dict[str, int] = {}
    want = expect.lower() if expect else None
    latest = now + FUTURE_SLACK
    # `div[data-post]` then the class in Python: cheaper for lexbor than the compound selector.
    for block in blocks:
        attrs = block.attrs
        classes = (attrs.get("class") or "").split()
        if "tgme_widget_message" not in classes:
            continue
        data_post = attrs.get("data-post")
        m = _DATA_POST.fullmatch((data_post or "").strip())
        if m is None:
            refused.append(f"a message block with an unreadable data-post {clean_line(data_post)[:80]!r}")
            continue
        channel, post_id = m.group(1), int(m.group(2))
        key = (channel.lower(), post_id)
        if want is not None and key[0] != want:
            foreign[channel] = foreign.get(channel, 0) + 1
            continue
        if key in clashed:
            continue
        post = _read_block(block, channel, post_id, "service_message" in classes, latest)
        if isinstance(post, str):
            refused.append(f"post {channel}/{post_id}: {post}")
            continue
        problem = post_problem(post) or (None if post_id else "id 0 is not a Telegram post id")
        if problem is not None:
            refused.append(f"post {channel}/{str(post_id)[:40]}: {problem}")
            continue
        if key in posts:
            if posts[key] != post:
                del posts[key]
                clashed.add(key)
                refused.append(f"post {channel}/{post_id} appears twice on the page with different content; "
                               "neither copy was stored")
            continue
        posts[key] = post
    for channel, n in foreign.items():
        refused.append(f"{n} post{'s' if n != 1 else ''} of @{channel} on the page of @{expect}: refused")
    return sorted(posts.values(), key=lambda p: (p.id, p.source))


def _read_block(block: LexborNode, channel: str, post_id: int, service: bool, latest: datetime) -> Post | str:
    found: list[tuple[tuple[int, str], LexborNode, str]] = []
    _collect(block, found)

    text: str | None = None
    text_node: LexborNode | None = None
    title = author = views = reply_to = published = None
    edited = False
    forwarded: ForwardedFrom | None = None
    media: list[str] = []
    album: list[int] = []
    for (what, kind), node, cls in found:
        if what == _MEDIA:
            if kind == "video" and _is_gif(node):
                kind = "gif"
            elif kind == "document" and _has_class_child(node, "audio"):
                kind = "audio"
            media.append(kind)
            single = _single_id(node.attrs.get("href"), channel)
            if single is not None and single not in album:
                album.append(single)
        elif what == _TEXT:
            if text is None and "js-message_reply_text" not in cls:
                text_node = node
                text = _raw_text(node)
        elif what == _META:
            author, edited, published = _read_meta(node)
        elif what == _VIEWS:
            views = clean_text_fast(node.text_lexbor()).strip() or None  # raw, as shown (U+202F kept)
        elif what == _OWNER:
            title = _line(node) or None  # cleaned by the gate (clean_post_fields)
        elif what == _FORWARD:
            forwarded = _read_forward(node)
        elif what == _REPLY:
            reply_to = _permalink(node.attrs.get("href"))

    if published is None:
        return "no usable time[datetime] in its date link (missing, unreadable or out of range)"
    if not EARLIEST <= published <= latest:
        return f"publication time {published.isoformat()} is not a plausible Telegram time"
    # Through the store's gate (sanitize.clean_post's rules, every field) as it is made; the text is
    # stripped after cleaning (markup's outer whitespace is layout), so it is scanned once.
    fields = ("telegram:" + channel.lower(), channel, post_id, f"{TME}/{channel}/{post_id}", published)
    rest = (author, views, approx_int(views), edited, forwarded, reply_to, album, media, service, title)
    post = clean_post_fields(*fields, text or "", *rest, strip_text=True)
    if text_node is not None and _has_fallback_label(post.text):
        # Never seen inside the text div, but cheap to notice: drop the fallback markup.
        for junk in _css(text_node, _FALLBACK):
            junk.decompose()
        post = clean_post_fields(*fields, _raw_text(text_node), *rest, strip_text=True)
    return post


def _class_action(cls: str) -> tuple[int, str] | None:
    """The action of an element's class attribute: its first token with one (cached: a page repeats
    the same few class strings in every block)."""
    try:
        return _CLASS_ACTIONS[cls]
    except KeyError:
        pass
    action = None
    for token in cls.split():
        action = _ACTIONS.get(token)
        if action is not None:
            break
    if len(_CLASS_ACTIONS) > 4096:  # a hostile page of random classes must not grow it for ever
        _CLASS_ACTIONS.clear()
    _CLASS_ACTIONS[cls] = action
    return action


_CLASS_ACTIONS: dict[str, tuple[int, str] | None] = {}
_UNSEEN = (-1, "")


def _collect(node: LexborNode, found: list[tuple[tuple[int, str], LexborNode, str]]) -> None:
    """Depth-first over elements, in document order: known classes are collected (and not entered),
    anything else is entered. This visits ~15 elements of a ~70-element block."""
    for child in node.iter():
        cls = child.attrs.get("class")
        if cls:
            action = _CLASS_ACTIONS.get(cls, _UNSEEN)  # the cache read inline: ~300 elements a page
            if action is _UNSEEN:
                action = _class_action(cls)
            if action is not None:
                if action[0] != _SKIP:
                    found.append((action, child, cls))
                continue
        _collect(child, found)


def _read_meta(meta: LexborNode) -> tuple[str | None, bool, datetime | None]:
    """Signature, the bare "edited" text node, and the UTC time of the date link."""
    author = None
    published = None
    # Only a bare text node counts: a signature that says "edited" is inside a span. (Parsed text
    # nodes are never adjacent, so their concatenation holds "edited" only if one of them does.)
    edited = "edited" in meta.text(deep=False)
    for child in meta.iter():
        cls = child.attrs.get("class")
        if not cls:
            continue
        if "tgme_widget_message_from_author" in cls:
            author = _line(child) or None  # cleaned by the gate (clean_post_fields)
        elif "tgme_widget_message_date" in cls:
            for sub in child.iter():
                if sub.tag == "time":
                    published = _utc(sub.attrs.get("datetime"))
                    break
    return author, edited, published


def _read_forward(node: LexborNode) -> ForwardedFrom | None:
    """`Forwarded from <a|span class=…forwarded_from_name>`: a span (hidden origin) has no URL."""
    for child in node.iter():
        cls = child.attrs.get("class") or ""
        if "tgme_widget_message_forwarded_from_name" in cls:
            name = clean_line(_line(child))
            href = child.attrs.get("href") if child.tag == "a" else None
            # Kept as published, even when hostile: the citation refuses it with a visible reason
            # (dropping it here would make it read "link not public", which is not what happened).
            url = _absolute(_unescape_href(href)) if href else None
            return ForwardedFrom(name=name, url=url) if name or url else None
    # An unknown layout: the header's own text without the "Forwarded from" label.
    name = clean_line(_line(node).replace("Forwarded from", "", 1))
    return ForwardedFrom(name=name) if name else None


def _is_gif(player: LexborNode) -> bool:
    """A video player without play button and duration loops silently: a GIF (RSSHub, snscrape)."""
    for child in player.iter():
        if child.tag == "time":
            return False
        cls = child.attrs.get("class")
        if cls and "message_video_play" in cls:
            return False
    return True


def _has_class_child(node: LexborNode, token: str) -> bool:
    """Whether a direct child carries `token` (the document icon's "audio" mark)."""
    for child in node.iter():
        cls = child.attrs.get("class")
        if cls and token in cls.split():
            return True
    return False


def _single_id(href: str | None, channel: str) -> int | None:
    """The id of an album tile: `https://t.me/<channel>/<id>?single` (string ops: called per tile).
    A tile naming another channel is no part of this post's album (and its id is not this channel's)."""
    if not href or "single" not in href:
        return None
    path, _, query = _unescape_href(href).partition("?")
    if "single" not in (part.partition("=")[0] for part in query.partition("#")[0].split("&")):
        return None
    m = _POST_TAIL.search(path)
    return int(m.group(2)) if m and m.group(1).lower() == channel.lower() else None


def _text(node: LexborNode) -> str:
    """Text of a multi-line field, clean (see _raw_text)."""
    return clean_text_fast(_raw_text(node)).strip()


def _raw_text(node: LexborNode) -> str:
    """Post text as read, before cleaning: U+2028 (from <br>) becomes a line break;
    re-indentation whitespace collapses."""
    s = node.text_lexbor()
    if "\n" in s:  # (lexbor has already turned CR LF and CR into LF)
        # Telegram writes every line break as <br>: a line feed in the source comes from a re-indented
        # capture and is layout, as in a browser. Each run of whitespace around it becomes one space
        # (str methods: a regex costs ~35 ns per character on non-Latin text).
        s = " ".join([part for part in [line.strip(" \t\f") for line in s.split("\n")] if part])
        s = s.replace(f" {_LINE_SEP}", _LINE_SEP).replace(f"{_LINE_SEP} ", _LINE_SEP)
    return s.replace(_LINE_SEP, "\n")


def _line(node: LexborNode) -> str:
    """Text of a one-line field; a <br> inside counts as a space."""
    return node.text_lexbor().replace(_LINE_SEP, " ")


def _utc(value: str | None) -> datetime | None:
    """The `datetime` attribute as aware UTC (Telegram writes +00:00); None when unreadable."""
    if not value:
        return None
    try:
        return parse_utc_iso(value.strip())
    except (ValueError, OverflowError):  # year 1 or 9999 with an offset leaves datetime's range
        return None


# ----------------------------------------------------------------------------------------- URLs


def _unescape_href(href: str) -> str:
    """Undo Telegram's double escaping (`&amp;amp;` in the bytes leaves `&amp;` after parsing)."""
    while "&amp;" in href:
        href = href.replace("&amp;", "&")
    return href.strip()


def _absolute(href: str) -> str:
    if href.startswith("//"):
        return "https:" + href
    if href.startswith("/"):
        return TME + href
    return href


def _permalink(href: str | None) -> str | None:
    """`https://t.me/<channel>/<id>` for any t.me-like post link (mirror, /s/ form, query dropped)."""
    if not href:
        return None
    m = _POST_PATH.fullmatch(urlsplit(_unescape_href(href)).path)
    return f"{TME}/{m.group(1)}/{int(m.group(2))}" if m else None


# ------------------------------------------------------------------------------ channel and cursor


def _cursor(tree: LexborHTMLParser, posts: list[Post]) -> int | None:
    """Next older page: rel=prev, else the more-link's data-before, else the smallest id (> 1).

    A cursor above the oldest post shown cannot lead to older posts (and 10^30 fits no column): the
    oldest id is used instead."""
    before = _declared_cursor(tree)
    low = posts[0].id
    if before is None or before > low:
        before = low
    return before if before > 1 else None


def _declared_cursor(tree: LexborHTMLParser) -> int | None:
    head = tree.head
    prev = _css_first(head, 'link[rel="prev"]') if head is not None else None
    if prev is not None:
        before = _before_param(prev.attrs.get("href"))
        if before is not None:
            return before
    more = _css_first(tree.root, "a.tme_messages_more[data-before]")
    if more is not None:
        try:
            return int((more.attrs.get("data-before") or "").strip()[:40])
        except ValueError:
            pass
    # Some mid-history pages lack both (TME_FORMAT §9): continue below the oldest post shown.
    return None


def _before_param(href: str | None) -> int | None:
    if not href:
        return None
    values = parse_qs(urlsplit(_unescape_href(href)).query).get("before")
    try:
        return int(values[0][:40]) if values else None
    except ValueError:
        return None


def _channel_info(tree: LexborHTMLParser) -> ChannelInfo | None:
    """Header of a preview page (or its pieces in a fragment); None when there is none."""
    info = _css_first(tree.root, ".tgme_channel_info")
    scope = info if info is not None else tree.root
    title_node = _css_first(scope, ".tgme_channel_info_header_title")
    user_node = _css_first(scope, ".tgme_channel_info_header_username")
    counters = _css(scope, ".tgme_channel_info_counter")
    header_counter = None  # looked for only when needed (a page's header has it; a fragment may not)
    if info is None and title_node is None and user_node is None and not counters:
        header_counter = _css_first(tree.root, ".tgme_header_counter")
        if header_counter is None:
            return None

    ch = ChannelInfo()
    if title_node is not None:
        ch.title = _title(title_node)
    if user_node is not None:
        ch.username = _handle(_line(user_node))
    desc = _css_first(scope, ".tgme_channel_info_description")
    if desc is not None:
        ch.description = _text(desc) or None
    for counter in counters:
        value = _css_first(counter, ".counter_value")
        kind = _css_first(counter, ".counter_type")
        if value is not None and kind is not None and clean_line(kind.text()).lower() in _SUBSCRIBER_TYPES:
            ch.subscribers = clean_line(value.text()) or None
            break
    if ch.subscribers is None and header_counter is None:
        header_counter = _css_first(tree.root, ".tgme_header_counter")
    if ch.subscribers is None and header_counter is not None:  # "11.3M subscribers"
        raw, _, kind = clean_line(header_counter.text()).rpartition(" ")
        if kind.lower() in _SUBSCRIBER_TYPES and raw:
            ch.subscribers = raw
    ch.subscribers_count = approx_int(ch.subscribers)
    if ch.title is None or ch.description is None:
        _fill_from_meta(tree, ch)
    return ch


def _fill_from_meta(tree: LexborHTMLParser, ch: ChannelInfo) -> None:
    """og:title / og:description, for fragments that kept the metas but not the header."""
    if ch.title is None:
        node = _css_first(tree.root, 'meta[property="og:title"]')
        if node is not None:
            ch.title = clean_line(node.attrs.get("content")) or None
    if ch.description is None:
        node = _css_first(tree.root, 'meta[property="og:description"]')
        if node is not None:
            ch.description = clean_text_fast(node.attrs.get("content")).strip() or None


def _title(node: LexborNode) -> str | None:
    """A channel title without the verified badge (" ✔") that some layouts put inside it."""
    parts = []
    for child in node.iter(include_text=True):
        if child.is_text_node:
            parts.append(child.text_content or "")
        elif "verified-icon" not in (child.attrs.get("class") or ""):
            parts.append(_line(child))
    return clean_line("".join(parts)) or None


def _handle(text: str) -> str | None:
    name = clean_line(text).lstrip("@")
    return name or None


def _landing_info(tree: LexborHTMLParser) -> tuple[ChannelInfo | None, str | None]:
    """What a `t.me/<name>` card tells: name, title, exact subscribers; plus its /s/ preview link."""
    page = _css_first(tree.root, ".tgme_page")
    if page is None:
        return None, None
    ch = ChannelInfo()
    title = _css_first(page, ".tgme_page_title")
    if title is not None:
        ch.title = _title(title)
    for link in _css(page, 'a[href^="tg://resolve"]'):
        domain = parse_qs(urlsplit(link.attrs.get("href") or "").query).get("domain")
        if domain:
            ch.username = _handle(domain[0])
            break
    if ch.username is None:
        head_title = _css_first(tree.root, "title")
        m = _TITLE_HANDLE.search(head_title.text()) if head_title is not None else None
        ch.username = m.group(1) if m else None
    desc = _css_first(page, ".tgme_page_description")
    if desc is not None and ch.title is not None:  # the "Contact @x" card's description is boilerplate
        ch.description = _text(desc) or None
    extra = _css_first(page, ".tgme_page_extra")
    if extra is not None:
        m = _EXTRA_COUNT.match(clean_line(extra.text()))
        if m:
            ch.subscribers = m.group(1).strip()
            ch.subscribers_count = approx_int(ch.subscribers)
    preview = _css_first(page, "a.tgme_page_context_link")
    href = preview.attrs.get("href") if preview is not None else None
    return ch, href if href and _PREVIEW_PATH.match(href) else None


def _no_preview(tree: LexborHTMLParser, url: str | None, final_url: str | None) -> Page:
    """NO_PREVIEW, with the landing card's channel info when there is one and a reason that says
    which refusal this is (card with or without a preview link, "Contact @x", anything else)."""
    channel, preview = _landing_info(tree)
    head_title = _css_first(tree.root, "title")
    label = clean_line(head_title.text()) if head_title is not None else ""
    where = ""
    if url and final_url and url != final_url:
        where = f" ({clean_line(url)} ended at {clean_line(final_url)})"
    if channel is not None:
        name = f"@{channel.username}" if channel.username else "this name"
        if preview:
            reason = (f"t.me shows the landing card of {name}, not its post list{where}; the card links a "
                      f"preview at {preview}.")
        elif label.startswith("Telegram: Contact"):
            reason = f"t.me shows \"{label}\"{where}: a user or an unused name, no public post list."
        else:
            reason = (f"t.me shows the landing card of {name} without a preview link{where}: a group, bot, "
                      "or a channel whose web preview is off.")
    elif final_url is not None and not _PREVIEW_PATH.match(urlsplit(final_url).path or "/"):
        reason = f"The request ended at {clean_line(final_url)}, not at a /s/<channel> preview{where}."
    elif label:
        reason = f"Not a channel preview (page title \"{label}\"){where}: no channel info and no posts."
    else:
        reason = f"Not a channel preview{where}: no channel info and no posts."
    return Page(kind=PageKind.NO_PREVIEW, channel=channel, reason=reason)


# ------------------------------------------------------------------------------ the source-kind interface


# Kept down here so the parser above reads on its own; base.py imports nothing from this module.
from collections.abc import Mapping  # noqa: E402

from deskapp.core.model import SourceConfig  # noqa: E402
from deskapp.core.sources.base import Parsed, Request, Response  # noqa: E402


class TelegramKind:
    """Telegram as a `deskapp.core.sources.base.SourceKind`: a thin adapter over `parse_page`."""

    name = "telegram"
    platform = "Telegram"
    default_base = TME

    def source_name(self, handle: str) -> str:
        return f"telegram:{handle.strip().lstrip('@').lower()}"

    def first_request(self, entry: SourceConfig, cursor: str | None = None,
                      memo: Mapping[str, str] | None = None) -> Request:
        url = entry.url if cursor is None else f"{entry.url}?before={cursor}"
        return Request(url, accept="text/html,application/xhtml+xml", conditional=cursor is None)

    def parse(self, response: Response, request: Request | None = None) -> Parsed:
        url = response.url or (request.url if request else None)
        page = parse_page(response.body, url=url or None, final_url=response.final_url)
        return Parsed(page, cursor=str(page.before) if page.before is not None else None)

    def fallback(self, entry: SourceConfig, request: Request, status: int) -> Request | None:
        return None

    def permalink(self, url: str) -> str:
        return _permalink(url) or url

    def post_request(self, post: Post, base_url: str) -> Request:
        """The context page `/s/<channel>/<id>` (core/verify.py reads it with its own rules)."""
        return Request(f"{(base_url or TME).rstrip('/')}/s/{post.channel}/{post.id}", step="posts",
                       accept="text/html,application/xhtml+xml")

    def sniff(self, body: bytes) -> bool:
        return b"tgme_" in body[:200_000]


KIND = TelegramKind()
