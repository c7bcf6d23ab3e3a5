"""Render Telegram channel-preview pages (the t.me/s/<channel> format) from our own post data.

Used by the demo wire, the tests' local servers and the benchmarks. The markup follows the real
format field by field (see TME_FORMAT.md in the team's shared docs) so that the normal parser reads
it; the content is entirely ours.
"""

from __future__ import annotations

import base64
import html
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass(slots=True)
class FakePost:
    id: int
    published: datetime
    text: str = ""
    author: str | None = None
    views: str | None = "1.2K"
    edited: bool = False
    forwarded: tuple[str, str | None] | None = None  # (name, url or None)
    reply_to: tuple[int, str] | None = None  # (id, quoted text)
    album: list[int] = field(default_factory=list)  # extra ids of an album (beyond `id`)
    photo: bool = False
    video: bool = False
    service: bool = False
    raw_text_html: str | None = None  # inserted as is (hostile-content tests)


@dataclass(slots=True)
class FakeChannel:
    handle: str
    title: str
    description: str = ""
    subscribers: str = "12.4K"
    posts: list[FakePost] = field(default_factory=list)


_TAIL = ('<i class="tgme_widget_message_bubble_tail"><svg class="bubble_icon" width="9px" height="20px" '
         'viewBox="0 0 9 20"><g fill="none"><path class="background" fill="#ffffff" d="M8,1 L9,1 L9,20 Z">'
         '</path></g></svg></i>')


def _text_html(text: str) -> str:
    return html.escape(text, quote=False).replace("\n", "<br/>")


def _view_token(channel_id: int, post_id: int | str, rendered: int) -> str:
    raw = json.dumps({"c": channel_id, "p": post_id, "t": rendered, "h": "0" * 18}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def render_post(ch: FakeChannel, p: FakePost, *, rendered: int = 0) -> str:
    h = html.escape(ch.handle)
    link = f"https://t.me/{h}/{p.id}"
    classes = "tgme_widget_message text_not_supported_wrap js-widget_message"
    if p.service:
        classes = "tgme_widget_message text_not_supported_wrap service_message js-widget_message"
    token = _view_token(-1000000000 - len(ch.handle), f"{p.id}g" if p.album else p.id, rendered)
    parts = [
        '<div class="tgme_widget_message_wrap js-widget_message_wrap">',
        f'<div class="{classes}" data-post="{h}/{p.id}" data-view="{token}">',
        f'<div class="tgme_widget_message_user"><a href="https://t.me/{h}">'
        f'<i class="tgme_widget_message_user_photo bgcolor1" data-content="{html.escape(ch.title[:1])}"></i></a></div>',
        '<div class="tgme_widget_message_bubble">', _TAIL,
        f'<div class="tgme_widget_message_author accent_color"><a class="tgme_widget_message_owner_name" '
        f'href="https://t.me/{h}"><span dir="auto">{html.escape(ch.title)}</span></a></div>',
    ]
    if p.forwarded:
        name, url = p.forwarded
        inner = f'<span dir="auto">{html.escape(name)}</span>'
        tag = (f'<a class="tgme_widget_message_forwarded_from_name" href="{html.escape(url)}">{inner}</a>' if url
               else f'<span class="tgme_widget_message_forwarded_from_name">{inner}</span>')
        parts.append(f'<div class="tgme_widget_message_forwarded_from accent_color">Forwarded from&nbsp;{tag}</div>')
    if p.reply_to:
        rid, quote = p.reply_to
        parts.append(
            f'<a class="tgme_widget_message_reply" href="https://t.me/{h}/{rid}">'
            f'<div class="tgme_widget_message_author accent_color"><span class="tgme_widget_message_author_name" '
            f'dir="auto">{html.escape(ch.title)}</span></div>'
            f'<div class="tgme_widget_message_text js-message_reply_text" dir="auto">{_text_html(quote)}</div></a>')
    parts.append('<div class="media_supported_cont">')
    if p.album:
        parts.append('<div class="tgme_widget_message_grouped_wrap js-message_grouped_wrap"><div '
                     'class="tgme_widget_message_grouped"><div class="tgme_widget_message_grouped_layer">')
        for aid in [p.id, *p.album]:
            parts.append(f'<a class="tgme_widget_message_photo_wrap grouped_media_wrap blured js-message_photo" '
                         f'style="left:0px;top:0px;width:200px;height:200px;background-image:url(\'https://cdn.'
                         f'example.invalid/file/{h}{aid}.jpg\')" href="https://t.me/{h}/{aid}?single">'
                         '<div class="grouped_media_helper"></div></a>')
        parts.append('</div></div></div>')
    elif p.photo:
        parts.append(f'<a class="tgme_widget_message_photo_wrap blured js-message_photo" style="width:400px;'
                     f'background-image:url(\'https://cdn.example.invalid/file/{h}{p.id}.jpg\')" href="{link}">'
                     '<div class="tgme_widget_message_photo" style="padding-top:75%"></div></a>')
    elif p.video:
        parts.append(f'<a class="tgme_widget_message_video_player js-message_video_player" href="{link}">'
                     f'<i class="tgme_widget_message_video_thumb" style="background-image:url(\'https://cdn.'
                     f'example.invalid/file/{h}{p.id}.jpg\')"></i><div class="tgme_widget_message_video_wrap">'
                     f'<video src="https://cdn.example.invalid/file/{h}{p.id}.mp4?token=x" class="'
                     'tgme_widget_message_video js-message_video"></video></div><div class="message_video_play '
                     'js-message_video_play"></div><time class="message_video_duration">0:12</time></a>')
    body = p.raw_text_html if p.raw_text_html is not None else _text_html(p.text)
    if body:
        parts.append(f'<div class="tgme_widget_message_text js-message_text" dir="auto">{body}</div>')
    parts.append('</div>')  # media_supported_cont
    parts.append(
        '<div class="media_not_supported_cont"><div class="message_media_not_supported_wrap"><div '
        'class="message_media_not_supported"><div class="message_media_not_supported_label">Please open Telegram '
        f'to view this post</div><a href="{link}" class="message_media_view_in_telegram">VIEW IN TELEGRAM</a>'
        '</div></div></div>')
    meta = []
    if p.author:
        meta.append(f'<span class="tgme_widget_message_from_author" dir="auto">{html.escape(p.author)}</span>,&nbsp;')
    if p.edited:
        meta.append("edited &nbsp;")
    when = p.published.astimezone(UTC)
    meta.append(f'<a class="tgme_widget_message_date" href="{link}"><time datetime="'
                f'{when.strftime("%Y-%m-%dT%H:%M:%S+00:00")}" class="time">{when.strftime("%H:%M")}</time></a>')
    views = ""
    if p.views and not p.service:
        views = (f'<span class="tgme_widget_message_views">{html.escape(p.views)}</span>'
                 '<span class="copyonly"> views</span>')
    parts.append('<div class="tgme_widget_message_footer compact js-message_footer"><div class="'
                 f'tgme_widget_message_info short js-message_info">{views}<span class="tgme_widget_message_meta">'
                 f'{"".join(meta)}</span></div></div>')
    parts.append("</div></div></div>")  # bubble, message, wrap
    return "".join(parts)


def render_page(ch: FakeChannel, posts: list[FakePost], *, rendered: datetime | None = None) -> str:
    """A full t.me/s/<channel> page holding `posts` (ascending ids), with rel=prev and a more-link when
    older posts exist (the oldest id shown is above 1)."""
    h = html.escape(ch.handle)
    stamp = int((rendered or datetime.now(UTC)).timestamp())
    posts = sorted(posts, key=lambda p: p.id)
    head_links = ""
    more = ""
    if posts:
        oldest, newest = posts[0].id, posts[-1].id
        if oldest > 1:
            head_links += f'<link rel="prev" href="/s/{h}?before={oldest}">\n'
            more = (f'<div class="tgme_widget_message_centered js-messages_more_wrap"><a href="/s/{h}?before='
                    f'{oldest}" class="tme_messages_more js-messages_more" data-before="{oldest}"></a></div>')
        head_links += f'<link rel="canonical" href="/s/{h}?before={newest + 1}">\n'
    body = "".join(render_post(ch, p, rendered=stamp) for p in posts)
    if not posts:
        body = ('<div class="tgme_widget_message_wrap js-widget_message_wrap"><div class="tme_no_messages_found">'
                'No posts found</div></div>')
    title = html.escape(ch.title)
    return (
        '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n'
        f'<title>{title} – Telegram</title>\n'
        f'<meta property="og:title" content="{title}">\n'
        f'<meta property="og:description" content="{html.escape(ch.description)}">\n'
        '<meta property="og:site_name" content="Telegram">\n'
        f'{head_links}'
        '</head>\n<body class="widget_frame_base tgme_webpreview emoji_image thin_box_shadow tme_mode no_transitions">\n'
        '<header class="tgme_header search_collapsed"><div class="tgme_container">'
        '<div class="tgme_header_right_column"><section class="tgme_right_column"><div class="tgme_channel_info">'
        '<div class="tgme_channel_info_header"><i class="tgme_page_photo_image bgcolor1" data-content="D"></i>'
        f'<div class="tgme_channel_info_header_title_wrap"><div class="tgme_channel_info_header_title"><span dir="auto">'
        f'{title}</span></div></div><div class="tgme_channel_info_header_username"><a href="https://t.me/{h}">@{h}</a>'
        '</div></div><div class="tgme_channel_info_counters"><div class="tgme_channel_info_counter"><span '
        f'class="counter_value">{html.escape(ch.subscribers)}</span> <span class="counter_type">subscribers</span>'
        f'</div></div><div class="tgme_channel_info_description">{_text_html(ch.description)}</div>'
        '</div></section></div></div></header>\n'
        f'<main class="tgme_main" data-url="/{h}"><div class="tgme_container"><section class="tgme_channel_history '
        f'js-message_history">{more}{body}</section></div></main>\n'
        f'</body>\n</html>\n<!-- page generated in 1.00ms -->\n'
    )


def render_landing(handle: str, title: str | None = None) -> str:
    """The t.me/<name> landing card of a channel WITHOUT a web preview (no 'Preview channel' link)."""
    h = html.escape(handle)
    t = html.escape(title or handle)
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f'<title>Telegram: Contact @{h}</title><meta property="og:title" content="{t}"></head>'
        '<body class="no_transitions"><div class="tgme_page_wrap"><div class="tgme_body_wrap"><div class="tgme_page">'
        f'<div class="tgme_page_photo"></div><div class="tgme_page_title"><span dir="auto">{t}</span></div>'
        '<div class="tgme_page_extra">1 234 subscribers</div>'
        f'<div class="tgme_page_action"><a class="tgme_action_button_new" href="tg://resolve?domain={h}">View in '
        'Telegram</a></div></div></div></div></body></html>\n'
    )


def page_window(posts: list[FakePost], before: int | None = None, size: int = 20) -> list[FakePost]:
    """The posts a preview page shows: the newest `size` with id < before (all when before is None)."""
    eligible = [p for p in posts if before is None or p.id < before]
    eligible.sort(key=lambda p: p.id)
    return eligible[-size:]


def context_window(posts: list[FakePost], around: int, size: int = 20) -> list[FakePost]:
    """The posts a context page `/s/<channel>/<id>` shows: up to `size` around `around`, its half before."""
    ordered = sorted(posts, key=lambda p: p.id)
    older = [p for p in ordered if p.id < around]
    rest = [p for p in ordered if p.id >= around]
    half = size // 2
    newer = rest[: size - min(half, len(older))]
    return older[-(size - len(newer)):] + newer if size > len(newer) else newer
