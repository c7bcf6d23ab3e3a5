"""The traps of TME_FORMAT.md §13 and the known pitfalls, on small hand-written pages.

Everything here is our own HTML, written to the real format's shape; nothing is read from
../shared, so these run on any clone.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from deskapp.core.model import PageKind
from deskapp.core.sources import telegram
from deskapp.core.sources.telegram import approx_int, parse_file, parse_page


@pytest.fixture(autouse=True, params=["read whole", "decorations cut"])
def _cut_or_whole(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every trap holds both ways: with the blocks' decorations cut from the bytes before the parse
    (as a big real page is read) and with the page read whole (as a small one is)."""
    monkeypatch.setattr(telegram, "_CUT_FROM", 0 if request.param == "decorations cut" else 10**12)

TAIL = ('<i class="tgme_widget_message_bubble_tail"><svg class="bubble_icon" width="9px" height="20px" '
        'viewBox="0 0 9 20"><g fill="none"><path class="background" fill="#ffffff" d="M8,1 L9,1 Z"></path>'
        '</g></svg></i>')
NOT_SUPPORTED = ('<div class="media_not_supported_cont"><div class="message_media_not_supported_wrap">'
                 '<div class="message_media_not_supported"><div class="message_media_not_supported_label">'
                 'Please open Telegram to view this post</div><a href="https://t.me/{post}" '
                 'class="message_media_view_in_telegram">VIEW IN TELEGRAM</a></div></div></div>')


def block(post: str = "wirechan/10", *, body: str = "", text: str | None = "Hello", classes: str = "",
          views: str | None = "1.2K", meta_pre: str = "", when: str = "2026-03-01T10:00:00+00:00",
          shown: str = "13:00", owner: str = "Wire Channel", head: str = "", after: str = "") -> str:
    """One message wrap, shaped like the 2024+ layout (media_supported_cont, fallback, reactions)."""
    channel = post.split("/")[0]
    text_div = (f'<div class="tgme_widget_message_text js-message_text" dir="auto">{text}</div>'
                if text is not None else "")
    views_html = (f'<span class="tgme_widget_message_views">{views}</span><span class="copyonly"> views</span>'
                  if views is not None else "")
    return (
        '<div class="tgme_widget_message_wrap js-widget_message_wrap">'
        f'<div class="tgme_widget_message text_not_supported_wrap {classes} js-widget_message" data-post="{post}">'
        f'<div class="tgme_widget_message_user"><a href="https://t.me/{channel}">'
        '<i class="tgme_widget_message_user_photo bgcolor1" data-content="W"><img src="https://cdn4.example/a.jpg"></i>'
        '</a></div>'
        f'<div class="tgme_widget_message_bubble">{TAIL}'
        f'<div class="tgme_widget_message_author accent_color"><a class="tgme_widget_message_owner_name" '
        f'href="https://t.me/{channel}"><span dir="auto">{owner}</span></a></div>'
        f'{head}<div class="media_supported_cont">{body}{text_div}</div>'
        + NOT_SUPPORTED.format(post=post) + after +
        '<div class="tgme_widget_message_reactions js-message_reactions"><span class="tgme_reaction">'
        '<i class="emoji"><b>👍</b></i>12</span></div>'
        '<div class="tgme_widget_message_footer compact js-message_footer">'
        f'<div class="tgme_widget_message_info short js-message_info">{views_html}'
        f'<span class="tgme_widget_message_meta">{meta_pre}<a class="tgme_widget_message_date" '
        f'href="https://t.me/{post}"><time datetime="{when}" class="time">{shown}</time></a></span>'
        '</div></div></div></div></div>'
    )


def page(*blocks: str, handle: str = "wirechan", prev: int | None = None, canonical: int | None = None,
         more: int | None = None, after: int | None = None, history_extra: str = "",
         counter: str = '<span class="counter_value">12.4K</span> <span class="counter_type">subscribers</span>',
         description: str = "Our own wire.<br/>Second line.") -> str:
    """A whole preview page: head links, header with channel info, history section."""
    links = ""
    if prev is not None:
        links += f'<link rel="prev" href="/s/{handle}?before={prev}">'
    if canonical is not None:
        links += f'<link rel="canonical" href="/s/{handle}?before={canonical}">'
    more_html = ""
    if more is not None:
        more_html = (f'<div class="tgme_widget_message_centered js-messages_more_wrap"><a href="/s/{handle}?before='
                     f'{more}" class="tme_messages_more js-messages_more" data-before="{more}"></a></div>')
    after_html = ""
    if after is not None:
        after_html = (f'<div class="tgme_widget_message_centered js-messages_more_wrap"><a href="/s/{handle}?after='
                      f'{after}" class="tme_messages_more js-messages_more" data-after="{after}"></a></div>')
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Wire Channel – Telegram</title>'
        f'<meta property="og:title" content="Wire Channel">{links}</head>'
        '<body class="widget_frame_base tgme_webpreview emoji_image">'
        '<header class="tgme_header search_collapsed"><div class="tgme_container">'
        '<div class="tgme_header_right_column"><section class="tgme_right_column"><div class="tgme_channel_info">'
        '<div class="tgme_channel_info_header"><div class="tgme_channel_info_header_title_wrap">'
        '<div class="tgme_channel_info_header_title"><span dir="auto">Wire Channel</span></div>'
        '<div class="tgme_channel_info_header_labels"><i class="verified-icon"> ✔</i></div></div>'
        f'<div class="tgme_channel_info_header_username"><a href="https://t.me/{handle}">@{handle}</a></div></div>'
        f'<div class="tgme_channel_info_counters"><div class="tgme_channel_info_counter">{counter}</div>'
        '<div class="tgme_channel_info_counter"><span class="counter_value">90</span> '
        '<span class="counter_type">photos</span></div></div>'
        f'<div class="tgme_channel_info_description">{description}</div></div></section></div>'
        '<div class="tgme_header_info"><div class="tgme_header_counter">12.4K subscribers</div></div>'
        '</div></header>'
        f'<main class="tgme_main" data-url="/{handle}"><div class="tgme_container">'
        f'<section class="tgme_channel_history js-message_history">{more_html}{"".join(blocks)}{after_html}'
        f'{history_extra}</section></div></main></body></html>'
    )


def one(html: str, **kw: str):
    pg = parse_page(html, **kw)
    assert pg.kind == PageKind.OK, pg.reason
    assert len(pg.posts) == 1
    return pg.posts[0]


# --------------------------------------------------------------------------------- identity & order


def test_basic_fields_and_canonical_permalink_from_a_mirror() -> None:
    html = page(block("WireChan/10", text="Hello"), handle="WireChan", prev=10)
    pg = parse_page(html.encode(), url="https://telegram.me/s/wirechan",
                    final_url="http://127.0.0.1:8765/s/WireChan")
    post = pg.posts[0]
    assert post.channel == "WireChan"  # as written in data-post
    assert post.source == "telegram:wirechan"
    assert post.id == 10
    assert post.url == "https://t.me/WireChan/10"  # always t.me, even from a mirror or a local server
    assert post.channel_title == "Wire Channel"
    assert post.text == "Hello"


def test_posts_come_back_in_ascending_id_and_blocks_without_data_post_are_ignored() -> None:
    stray = ('<div class="tgme_widget_message_wrap js-widget_message_wrap"><div class="tgme_widget_message '
             'js-widget_message"><div class="tgme_widget_message_text js-message_text">no data-post</div></div></div>')
    html = page(block("wirechan/12", text="c"), stray, block("wirechan/9", text="a"), block("wirechan/11", text="b"))
    pg = parse_page(html)
    assert [p.id for p in pg.posts] == [9, 11, 12]
    assert [p.text for p in pg.posts] == ["a", "b", "c"]


def test_a_duplicated_block_counts_once() -> None:
    html = page(block("wirechan/5", text="same"), block("wirechan/5", text="same"), block("wirechan/6", text="x"))
    pg = parse_page(html)
    assert [(p.id, p.text) for p in pg.posts] == [(5, "same"), (6, "x")]
    assert pg.refused == []


def test_an_id_twice_with_different_content_keeps_neither_and_says_why() -> None:
    # Either copy could be the forgery: storing the first (or the last) would let the page's order
    # decide what the channel said. The rest of the page stands.
    html = page(block("wirechan/5", text="first"), block("wirechan/6", text="x"), block("wirechan/5", text="again"),
                block("wirechan/5", text="third"))
    pg = parse_page(html)
    assert [(p.id, p.text) for p in pg.posts] == [(6, "x")]
    assert len(pg.refused) == 1 and "wirechan/5 appears twice" in pg.refused[0]


def test_str_and_bytes_input_agree_and_parse_file_reads_bytes(tmp_path) -> None:
    html = page(block("wirechan/7", text="Привет 👋"))
    path = tmp_path / "p.html"
    path.write_bytes(html.encode("utf-8"))
    a, b, c = parse_page(html), parse_page(html.encode("utf-8")), parse_file(path)
    assert a.posts[0].to_json() == b.posts[0].to_json() == c.posts[0].to_json()
    assert c.posts[0].text == "Привет 👋"


# ------------------------------------------------------------------------------------------- time


def test_time_is_the_datetime_attribute_in_utc_never_the_local_hh_mm() -> None:
    # The visible HH:MM is local to the requester (22:10 for 19:10 UTC in a real capture).
    post = one(page(block(when="2022-05-24T19:10:44+00:00", shown="22:10")))
    assert post.published == datetime(2022, 5, 24, 19, 10, 44, tzinfo=UTC)
    assert post.to_json()["published"] == "2022-05-24T19:10:44Z"


def test_a_non_utc_offset_is_converted_to_utc() -> None:
    post = one(page(block(when="2026-03-01T13:00:00+03:00", shown="13:00")))
    assert post.published == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def test_only_the_date_link_time_counts_not_a_video_duration_time() -> None:
    video = ('<a class="tgme_widget_message_video_player js-message_video_player" href="https://t.me/wirechan/10">'
             '<div class="message_video_play js-message_video_play"></div>'
             '<time class="message_video_duration js-message_video_duration" datetime="1999-01-01T00:00:00+00:00">'
             '0:42</time></a>')
    post = one(page(block(body=video, when="2026-03-01T10:00:00+00:00")))
    assert post.published == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    assert post.media == ["video"]


def test_a_block_without_a_datetime_is_skipped_not_given_a_made_up_time() -> None:
    html = page(block("wirechan/10").replace(' datetime="2026-03-01T10:00:00+00:00"', ""),
                block("wirechan/11"))
    assert [p.id for p in parse_page(html).posts] == [11]


# ------------------------------------------------------------------------------------------- text


def test_reply_quote_text_is_not_the_body() -> None:
    reply = ('<a class="tgme_widget_message_reply" href="https://t.me/wirechan/2">'
             '<div class="tgme_widget_message_author accent_color"><span class="tgme_widget_message_author_name" '
             'dir="auto">Wire Channel</span></div>'
             '<div class="tgme_widget_message_text js-message_reply_text" dir="auto">the quoted original</div></a>')
    post = one(page(block("wirechan/7", head=reply, text="the actual answer")))
    assert post.text == "the actual answer"
    assert post.reply_to == "https://t.me/wirechan/2"


def test_reply_to_media_only_target_and_link_forms_are_canonicalised() -> None:
    reply = ('<a class="tgme_widget_message_reply" href="https://telegram.me/s/OtherChan/0044?single&amp;amp;x=1">'
             '<i class="tgme_widget_message_reply_thumb" style="background-image:url(\'https://cdn4.example/t.jpg\')">'
             '</i><div class="tgme_widget_message_metatext js-message_reply_text" dir="auto">Video</div></a>')
    post = one(page(block(head=reply, text="see this")))
    assert post.text == "see this"
    assert post.reply_to == "https://t.me/OtherChan/44"
    assert post.media == []  # the reply thumbnail is not media


def test_br_becomes_newline_and_emoji_inside_b_are_kept() -> None:
    text = ('<tg-emoji emoji-id="1"><i class="emoji" style="background-image:url(\'//telegram.org/img/emoji/40/'
            'F09F94A5.png\')"><b>🔥</b></i></tg-emoji> Breaking<br/><br>line two<br />'
            '<b>bold <i class="emoji"><b>⚡️</b></i></b> &#33; &quot;q&quot; &amp; <a href="?q=%23tag">#tag</a>')
    post = one(page(block(text=text)))
    assert post.text == '🔥 Breaking\n\nline two\nbold ⚡️ ! "q" & #tag'


def test_fallback_notice_copyonly_link_preview_and_poll_are_not_text() -> None:
    preview = ('<a class="tgme_widget_message_link_preview" href="https://example.org/a">'
               '<i class="link_preview_image" style="background-image:url(\'https://cdn4.example/p.jpg\')"></i>'
               '<div class="link_preview_site_name accent_color">Example</div>'
               '<div class="link_preview_title">Preview title</div>'
               '<div class="link_preview_description">Preview description…</div></a>')
    poll = ('<div class="tgme_widget_message_poll js-poll"><div class="tgme_widget_message_poll_question">'
            'Which one?</div><div class="tgme_widget_message_poll_type">Anonymous Poll</div>'
            '<a class="tgme_widget_message_poll_options" href="https://t.me/wirechan/10">'
            '<div class="tgme_widget_message_poll_option"><div class="tgme_widget_message_poll_option_percent">50%'
            '</div><div class="tgme_widget_message_poll_option_value"><div class="tgme_widget_message_poll_option_text">'
            'Option A</div></div></div></a></div>')
    html = page(block(body=poll, text='Read <a href="https://example.org/a">this</a>', after=preview))
    post = one(html)
    assert post.text == "Read this"
    assert post.media == ["poll"]  # a link preview is not media, its image neither
    for leaked in ("Please open Telegram", "VIEW IN TELEGRAM", "views", "Which one", "Option A", "Preview"):
        assert leaked not in post.text


def test_not_supported_label_inside_the_text_div_is_dropped_too() -> None:
    text = ('Caption<div class="message_media_not_supported_wrap"><div class="message_media_not_supported">'
            '<div class="message_media_not_supported_label">This media is not supported in your browser</div>'
            '</div></div><span class="copyonly"> views</span>')
    # Telegram has never been seen nesting these in the text div; if it starts to, they still go.
    post = one(page(block(text=text)))
    assert post.text == "Caption"


def test_poll_only_post_has_empty_text() -> None:
    poll = ('<div class="tgme_widget_message_poll js-poll"><div class="tgme_widget_message_poll_question">Q?</div>'
            '</div>')
    post = one(page(block(body=poll, text=None)))
    assert post.text == ""
    assert post.media == ["poll"]


def test_reindented_capture_whitespace_collapses_like_a_browser() -> None:
    text = ('\n            <b>Title line </b>\n            <br />\n            <br />Body starts\n'
            '            here &nbsp;and continues.\n            <br />\n        ')
    post = one(page(block(text=text)))
    assert post.text == "Title line\n\nBody starts here \u00a0and continues."


def test_hostile_text_is_sanitised() -> None:
    text = "a\x1b[31mred\x1b[0m \x1b]52;c;SGVsbG8=\x07b \u202eevil\u202c c"
    post = one(page(block(text=text, owner="Wire\x1b[2J Channel")))
    assert post.text == "ared b evil c"
    assert post.channel_title == "Wire Channel"


# ----------------------------------------------------------------------------------- views, author


def test_views_keep_the_raw_string_and_an_approximate_int() -> None:
    post = one(page(block(views="1\u202f234")))
    assert post.views == "1\u202f234"
    assert post.views_count == 1234
    post = one(page(block(views="11.4M")))
    assert (post.views, post.views_count) == ("11.4M", 11_400_000)


@pytest.mark.parametrize(("raw", "value"), [
    ("2", 2), ("201", 201), ("4.2K", 4200), ("826K", 826_000), ("11.4M", 11_400_000), ("436.6K", 436_600),
    ("2.65K", 2650), ("1\u00a0234", 1234), ("1\u202f234", 1234), ("11 286 994", 11_286_994), ("1,234", 1234),
    ("1,2K", 1200), ("3B", 3_000_000_000), ("", None), (None, None), ("many", None), ("1.2.3K", None),
])
def test_approx_int(raw: str | None, value: int | None) -> None:
    assert approx_int(raw) == value


def test_signature_and_edited_flag() -> None:
    meta = ('<span class="tgme_widget_message_from_author" dir="auto">Jane Roe</span>,&nbsp;edited &nbsp;')
    post = one(page(block(meta_pre=meta)))
    assert post.author == "Jane Roe"
    assert post.edited is True


def test_a_signature_that_says_edited_is_not_the_edited_flag() -> None:
    meta = '<span class="tgme_widget_message_from_author" dir="auto">edited by Jane</span>,&nbsp;'
    post = one(page(block(meta_pre=meta)))
    assert post.author == "edited by Jane"
    assert post.edited is False


def test_no_signature_no_views() -> None:
    post = one(page(block(views=None)))
    assert post.author is None
    assert post.views is None
    assert post.views_count is None
    assert post.edited is False


# -------------------------------------------------------------------------------- forward, service


def test_forward_with_link_and_double_escaped_href() -> None:
    fwd = ('<div class="tgme_widget_message_forwarded_from accent_color">Forwarded from&nbsp;'
           '<a class="tgme_widget_message_forwarded_from_name" href="https://t.me/source_chan/77?a=1&amp;amp;b=2">'
           '<span dir="auto">Source &amp; Co</span></a></div>')
    post = one(page(block(head=fwd)))
    assert post.forwarded_from is not None
    assert post.forwarded_from.name == "Source & Co"
    assert post.forwarded_from.url == "https://t.me/source_chan/77?a=1&b=2"


def test_linkless_forward_from_a_hidden_user() -> None:
    fwd = ('<div class="tgme_widget_message_forwarded_from accent_color">Forwarded from&nbsp;'
           '<span class="tgme_widget_message_forwarded_from_name"><span dir="auto">Hidden Person</span></span></div>')
    post = one(page(block(head=fwd)))
    assert post.forwarded_from is not None
    assert post.forwarded_from.name == "Hidden Person"
    assert post.forwarded_from.url is None


def test_a_forward_link_with_a_bad_scheme_is_kept_for_the_citation_to_refuse() -> None:
    fwd = ('<div class="tgme_widget_message_forwarded_from accent_color">Forwarded from&nbsp;'
           '<a class="tgme_widget_message_forwarded_from_name" href="javascript:alert(1)">Evil</a></div>')
    post = one(page(block(head=fwd)))
    assert post.forwarded_from is not None
    # Kept as published: the citation refuses it visibly instead of calling it "link not public".
    assert (post.forwarded_from.name, post.forwarded_from.url) == ("Evil", "javascript:alert(1)")


def test_service_message_by_class_token() -> None:
    photo = ('<a class="tgme_widget_message_service_photo" href="https://t.me/wirechan/3">'
             '<img src="https://cdn4.example/new_avatar.jpg"></a>')
    post = one(page(block("wirechan/3", classes="service_message service_message_photo", body=photo,
                          text="Channel photo updated", views=None)))
    assert post.service is True
    assert post.text == "Channel photo updated"
    assert post.media == []  # the channel's new avatar is not post media


def test_text_not_supported_wrap_is_not_a_service_marker() -> None:
    post = one(page(block(classes="")))
    assert post.service is False


def test_service_message_photo_token_alone_is_not_service() -> None:
    assert one(page(block(classes="service_message_photo"))).service is False


# ------------------------------------------------------------------------------------ album, media


def test_album_ids_from_single_hrefs_in_order_without_duplicates() -> None:
    tiles = "".join(
        f'<a class="tgme_widget_message_photo_wrap grouped_media_wrap blured js-message_photo" '
        f'href="https://t.me/wirechan/{i}?single" style="background-image:url(\'https://cdn4.example/{i}.jpg\')">'
        '<div class="tgme_widget_message_photo grouped_media"></div></a>'
        for i in (41, 42, 42)
    ) + ('<a class="tgme_widget_message_video_player grouped_media_wrap blured js-message_video_player" '
         'href="https://t.me/wirechan/43?single"><div class="message_video_play js-message_video_play"></div>'
         '<time class="message_video_duration js-message_video_duration">0:08</time></a>')
    grouped = ('<div class="tgme_widget_message_grouped_wrap js-message_grouped_wrap"><div class="tgme_widget_message_'
               f'grouped js-message_grouped"><div class="tgme_widget_message_grouped_layer">{tiles}</div></div></div>')
    # The block's own id (40) is not an album member unless a tile says so; the fallback's
    # "VIEW IN TELEGRAM" link (…/40?single) is not a tile either.
    post = one(page(block("wirechan/40", body=grouped, text="album",
                          after=NOT_SUPPORTED.format(post="wirechan/40?single"))))
    assert post.album_ids == [41, 42, 43]
    assert post.media == ["photo", "photo", "photo", "video"]


def test_single_photo_is_not_an_album() -> None:
    photo = ('<a class="tgme_widget_message_photo_wrap 5172795381250108682 1204385278_456240394" '
             'href="https://t.me/wirechan/10" style="width:800px;background-image:url(\'https://cdn4.example/x.jpg\')">'
             '<div class="tgme_widget_message_photo" style="padding-top:75%"></div></a>')
    post = one(page(block(body=photo)))
    assert post.media == ["photo"]
    assert post.album_ids == []


@pytest.mark.parametrize(("markup", "kind"), [
    ('<a class="tgme_widget_message_video_player js-message_video_player" href="https://t.me/wirechan/10">'
     '<div class="tgme_widget_message_video_wrap"><video src="https://cdn4.example/v.mp4" '
     'class="tgme_widget_message_video js-message_video" muted autoplay loop></video></div></a>', "gif"),
    ('<a class="tgme_widget_message_video_player not_supported js-message_video_player" href="https://t.me/wirechan/10">'
     '<div class="message_video_play js-message_video_play"></div><time class="message_video_duration">1:09</time>'
     '<div class="message_media_not_supported_wrap"><div class="message_media_not_supported">'
     '<div class="message_media_not_supported_label">Media is too big</div></div></div></a>', "video"),
    ('<div class="tgme_widget_message_roundvideo_player js-message_roundvideo_player"><video '
     'class="tgme_widget_message_roundvideo" src="https://cdn4.example/r.mp4"></video>'
     '<time class="tgme_widget_message_roundvideo_duration">0:05</time></div>', "round_video"),
    ('<a class="tgme_widget_message_voice_player js-message_voice_player" href="https://t.me/wirechan/10">'
     '<audio class="tgme_widget_message_voice" src="https://cdn4.example/v.ogg"></audio>'
     '<time class="tgme_widget_message_voice_duration">0:01</time></a>', "voice"),
    ('<a class="tgme_widget_message_document_wrap" href="https://t.me/wirechan/10"><div class="tgme_widget_message_'
     'document_icon accent_bg audio"></div><div class="tgme_widget_message_document"><div class="tgme_widget_message'
     '_document_title">Song</div><div class="tgme_widget_message_document_extra">Band</div></div></a>', "audio"),
    ('<a class="tgme_widget_message_document_wrap" href="https://t.me/wirechan/10"><div class="tgme_widget_message_'
     'document_icon accent_bg"></div><div class="tgme_widget_message_document"><div class="tgme_widget_message'
     '_document_title">report.pdf</div><div class="tgme_widget_message_document_extra">52.6 KB</div></div></a>',
     "document"),
    ('<div class="tgme_widget_message_sticker_wrap media_supported_cont"><i class="tgme_widget_message_sticker '
     'js-sticker_image" data-webp="https://cdn4.example/s.webp"></i></div>', "sticker"),
    ('<a class="tgme_widget_message_location_wrap" href="https://maps.google.com/maps?q=1.5,2.5">'
     '<div class="tgme_widget_message_location"></div></a>', "location"),
    ('<div class="tgme_widget_message_contact_wrap"><div class="tgme_widget_message_contact_name">Ann</div>'
     '<div class="tgme_widget_message_contact_phone">+1 555</div></div>', "contact"),
])
def test_media_kinds(markup: str, kind: str) -> None:
    post = one(page(block(body=markup, text="caption")))
    assert post.media == [kind]
    assert post.text == "caption"


def test_avatar_is_not_media() -> None:
    assert one(page(block())).media == []


# ------------------------------------------------------------------------------------------ cursor


def test_cursor_prefers_rel_prev_and_never_uses_canonical() -> None:
    html = page(block("wirechan/520"), block("wirechan/539"), prev=519, canonical=540, more=519)
    assert parse_page(html).before == 519


def test_cursor_falls_back_to_the_more_link_data_before_not_data_after() -> None:
    html = page(block("wirechan/520"), block("wirechan/539"), canonical=540, more=518, after=539)
    assert parse_page(html).before == 518
    only_after = page(block("wirechan/520"), block("wirechan/539"), canonical=540, after=539)
    assert parse_page(only_after).before == 520  # data-after is for newer pages: min id instead


def test_mid_history_page_without_prev_or_more_link_continues_below_the_smallest_id() -> None:
    html = page(block("wirechan/3771"), block("wirechan/3760"), canonical=3772)
    pg = parse_page(html)
    assert pg.before == 3760  # not canonical (3772) and not canonical - 20


def test_end_of_history_has_no_cursor() -> None:
    html = page(block("wirechan/1", classes="service_message", text="Channel created", views=None),
                block("wirechan/2"), canonical=3)
    pg = parse_page(html)
    assert pg.before is None
    assert pg.posts[0].service is True


def test_rel_prev_of_one_means_the_end() -> None:
    assert parse_page(page(block("wirechan/2"), prev=1)).before is None


def test_search_page_cursor_keeps_only_the_number() -> None:
    html = page(block("wirechan/450")).replace(
        "<head>", '<head><link rel="prev" href="/s/wirechan?q=bitcoin&amp;before=441">', 1)
    assert parse_page(html).before == 441


# ------------------------------------------------------------------------------------- page kinds


def test_channel_info() -> None:
    pg = parse_page(page(block()))
    assert pg.channel is not None
    assert pg.channel.title == "Wire Channel"  # the verified badge is not part of the title
    assert pg.channel.username == "wirechan"
    assert pg.channel.description == "Our own wire.\nSecond line."
    assert pg.channel.subscribers == "12.4K"
    assert pg.channel.subscribers_count == 12_400


def test_subscribers_counter_singular_and_members() -> None:
    one_sub = '<span class="counter_value">1</span> <span class="counter_type">subscriber</span>'
    assert parse_page(page(block(), counter=one_sub)).channel.subscribers_count == 1
    members = '<span class="counter_value">5.1K</span> <span class="counter_type">members</span>'
    assert parse_page(page(block(), counter=members)).channel.subscribers == "5.1K"


def test_subscribers_from_the_header_counter_when_no_counter_block() -> None:
    html = page(block(), counter='<span class="counter_value">7</span> <span class="counter_type">photos</span>')
    html = html.replace('<div class="tgme_channel_info_counter"><span class="counter_value">90</span> '
                        '<span class="counter_type">photos</span></div>', "")
    # Only the photos counter is left in the info block: the header counter gives the subscribers.
    assert parse_page(html).channel.subscribers == "12.4K"


def test_no_posts_found_notice() -> None:
    notice = ('<div class="tgme_widget_message_wrap js-widget_message_wrap"><div class="tgme_widget_message_'
              'centered"><div class="tme_no_messages_found">No posts found</div></div></div>')
    pg = parse_page(page(history_extra=notice))
    assert pg.kind == PageKind.NO_POSTS
    assert pg.posts == []
    assert pg.before is None
    assert "No posts found" in pg.reason


def test_suspicious_empty_channel_page() -> None:
    pg = parse_page(page())
    assert pg.kind == PageKind.SUSPICIOUS_EMPTY
    assert pg.channel is not None and pg.channel.username == "wirechan"
    assert pg.reason


LANDING = (
    '<!DOCTYPE html><html><head><title>Telegram: View @wirechan</title>'
    '<meta property="og:title" content="Wire Channel"></head><body><div class="tgme_page_wrap">'
    '<div class="tgme_body_wrap"><div class="tgme_page"><div class="tgme_page_photo">'
    '<a href="tg://resolve?domain=wirechan"><img class="tgme_page_photo_image" src="https://cdn4.example/a.jpg"></a>'
    '</div><div class="tgme_page_title" dir="auto"><span dir="auto">Wire Channel</span><i class="verified-icon"> ✔</i>'
    '</div><div class="tgme_page_extra">1 234 567 subscribers</div>'
    '<div class="tgme_page_description" dir="auto">Our own wire.</div>'
    '<div class="tgme_page_action"><a class="tgme_action_button_new" href="tg://resolve?domain=wirechan">View in '
    'Telegram</a></div>{preview}</div></div></div></body></html>'
)


def test_landing_card_via_redirect_is_no_preview_whatever_the_status() -> None:
    html = LANDING.format(preview='<div class="tgme_page_context_link_wrap"><a class="tgme_page_context_link" '
                                  'href="/s/wirechan">Preview channel</a></div>')
    pg = parse_page(html, url="https://t.me/s/wirechan", final_url="https://t.me/wirechan")
    assert pg.kind == PageKind.NO_PREVIEW
    assert pg.posts == []
    assert pg.channel is not None
    assert (pg.channel.username, pg.channel.title) == ("wirechan", "Wire Channel")
    assert (pg.channel.subscribers, pg.channel.subscribers_count) == ("1 234 567", 1_234_567)
    assert "landing card" in pg.reason and "/s/wirechan" in pg.reason


def test_landing_card_without_final_url_is_still_no_preview() -> None:
    pg = parse_page(LANDING.format(preview=""))
    assert pg.kind == PageKind.NO_PREVIEW
    assert "without a preview link" in pg.reason


def test_final_url_outside_s_means_no_preview_even_if_the_body_had_posts() -> None:
    pg = parse_page(page(block()), final_url="https://t.me/wirechan")
    assert pg.kind == PageKind.NO_PREVIEW
    assert pg.posts == []


def test_contact_card_of_a_user_or_unused_name() -> None:
    html = ('<html><head><title>Telegram: Contact @nobody_here</title></head><body><div class="tgme_page">'
            '<div class="tgme_page_description">If you have <strong>Telegram</strong>, you can contact '
            '<a class="tgme_username_link" href="tg://resolve?domain=nobody_here">@nobody_here</a> right away.'
            '</div></div></body></html>')
    pg = parse_page(html, url="https://t.me/s/nobody_here", final_url="https://t.me/nobody_here")
    assert pg.kind == PageKind.NO_PREVIEW
    assert pg.channel is not None and pg.channel.username == "nobody_here"
    assert "Contact @nobody_here" in pg.reason


def test_telegram_org_home_page() -> None:
    html = ('<!DOCTYPE html><html><head><title>Telegram Messenger</title></head><body><div class="tl_main_wrap">'
            '<h1>Telegram Messenger</h1><p>A new era of messaging</p></div></body></html>')
    for kw in ({}, {"url": "https://t.me/s/wirechan", "final_url": "https://telegram.org/"}):
        pg = parse_page(html, **kw)
        assert pg.kind == PageKind.NO_PREVIEW
        assert pg.channel is None
        assert pg.posts == []
        assert pg.reason


def test_fragment_of_message_blocks_is_ok_without_channel_info() -> None:
    pg = parse_page(block("wirechan/10") + block("wirechan/11"))
    assert pg.kind == PageKind.OK
    assert pg.channel is None
    assert [p.id for p in pg.posts] == [10, 11]
    assert pg.before == 10


def test_to_json_shape_is_stable() -> None:
    post = one(page(block()))
    assert list(post.to_json()) == ["source", "channel", "id", "url", "published", "text", "author", "views",
                                    "edited", "forwarded_from", "reply_to", "album_ids", "media", "service"]


def test_the_benchmarks_generated_page_parses_fully() -> None:
    # bench_parse times this page when ../shared is absent: it must exercise every field.
    from benchmarks.bench_parse import generate_page

    pg = parse_page(generate_page().encode())
    assert pg.kind == PageKind.OK and len(pg.posts) == 20
    assert pg.before == pg.posts[0].id == 4200
    assert pg.channel is not None and pg.channel.subscribers_count == 38_400
    assert all(p.author == "Desk Officer" and p.views_count and p.text for p in pg.posts)
    assert {m for p in pg.posts for m in p.media} == {"photo", "video"}
    assert any(p.edited for p in pg.posts)


# ---------------------------------------------------------------------- markup that is never text


def test_scripts_styles_and_hidden_markup_are_not_text_even_nested() -> None:
    hidden = ("<script>alert(1)</script><style>b{}</style><template><b>tpl</b></template>"
              "<noscript>ns<noscript>deeper<script>x()</script></noscript></noscript>")
    got = parse_page(page(block(text=f"Before{hidden} after<br/>next <b>bold{hidden}</b>",
                                owner=f"Wire{hidden} Channel", views=f"1.2K{hidden}")))
    (post,) = got.posts
    assert post.text == "Before after\nnext bold"
    assert post.channel_title == "Wire Channel"
    assert post.views == "1.2K" and post.views_count == 1200


def test_a_block_inside_noscript_or_template_is_not_read() -> None:
    hidden = block("wirechan/11", text="hidden from readers")
    got = parse_page(page(f"<noscript>{hidden}</noscript>", f"<template>{hidden}</template>",
                          block("wirechan/12", text="shown")))
    assert [p.id for p in got.posts] == [12]


def test_pages_parse_alike_in_many_threads_at_once() -> None:
    # The CSS engine is one per thread (telegram._css): threads must never share its state.
    from concurrent.futures import ThreadPoolExecutor

    pages = [page(*(block(f"wirechan/{n * 10 + i}", text=f"post {n}/{i}<br/>line") for i in range(1, 8)))
             for n in range(1, 9)]
    alone = [parse_page(p) for p in pages]
    with ThreadPoolExecutor(max_workers=8) as pool:
        together = list(pool.map(parse_page, pages * 25))
    assert together == alone * 25
