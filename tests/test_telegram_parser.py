"""The Telegram preview parser over every real capture in ../shared/samples/telegram.

Every page and fragment must parse without error and satisfy the invariants; the full pages and the
mchs fragment are checked field by field against values read by hand from their HTML (see
MANIFEST.md there). Skipped as a whole when ../shared is absent; tests/test_telegram_traps.py
covers the same behaviours with our own fixtures.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from deskapp.core.model import ForwardedFrom, Page, PageKind, Post
from deskapp.core.sanitize import clean_text, url_problem
from deskapp.core.sources.telegram import approx_int, parse_file, parse_page
from tests.samples import TELEGRAM, needs_samples, sample

pytestmark = [needs_samples, pytest.mark.samples]

MEDIA_KINDS = {"photo", "video", "gif", "round_video", "voice", "audio", "document", "sticker", "poll",
               "location", "contact"}
ALL_PAGES = sorted(p.name for p in TELEGRAM.glob("*.html")) if TELEGRAM.is_dir() else ["(samples absent)"]
_cache: dict[str, Page] = {}


def parsed(name: str) -> Page:
    if name not in _cache:
        _cache[name] = parse_file(sample(name))
    return _cache[name]


def by_id(name: str) -> dict[int, Post]:
    return {p.id: p for p in parsed(name).posts}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _manifest_ids() -> dict[str, tuple[int, int, int]]:
    """MANIFEST.md §7 per-file index: file -> (first id, last id, block count), for files with posts."""
    out: dict[str, tuple[int, int, int]] = {}
    manifest = TELEGRAM / "MANIFEST.md"
    if not manifest.is_file():
        return out
    row = re.compile(r"^\| `([^`]+\.html)` \| \d+ \| [^|]+ \| ([^|]*) \|")
    cell = re.compile(r"[A-Za-z0-9_]+/(\d+)(?: … (\d+))? \((\d+)\)")
    for line in manifest.read_text(encoding="utf-8").splitlines():
        m = row.match(line)
        if m and (c := cell.search(m.group(2))):
            first = int(c.group(1))
            out[m.group(1)] = (first, int(c.group(2) or first), int(c.group(3)))
    return out


# ----------------------------------------------------------------------------------- every page


@pytest.mark.parametrize("name", ALL_PAGES)
def test_every_sample_parses_with_sane_invariants(name: str) -> None:
    page = parsed(name)
    assert isinstance(page.kind, PageKind)
    if page.kind != PageKind.OK:
        assert page.posts == [] and page.reason
    else:
        assert page.posts
    ids = [p.id for p in page.posts]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    for post in page.posts:
        assert post.url == f"https://t.me/{post.channel}/{post.id}"
        assert post.source == "telegram:" + post.channel.lower()
        assert post.published.tzinfo is not None and post.published.utcoffset().total_seconds() == 0
        assert clean_text(post.text) == post.text  # sanitised
        for leaked in ("Please open Telegram to view this post", "VIEW IN TELEGRAM",
                       "This media is not supported", "Media is too big", "\u2028"):
            assert leaked not in post.text
        assert post.text == post.text.strip()
        assert set(post.media) <= MEDIA_KINDS
        assert len(post.album_ids) == len(set(post.album_ids))
        assert post.views_count == approx_int(post.views)
        if post.views is not None:
            assert post.views_count is not None
        if post.reply_to is not None:
            assert re.fullmatch(r"https://t\.me/[A-Za-z0-9_]+/\d+", post.reply_to)
        if post.forwarded_from is not None:
            assert post.forwarded_from.name
            assert post.forwarded_from.url is None or url_problem(post.forwarded_from.url) is None
        if post.service:
            assert post.views is None  # service messages carry no view counter
        json.dumps(post.to_json(), ensure_ascii=False)
    if page.before is not None:
        assert page.before > 1
        assert page.before <= ids[0]


def test_block_counts_and_ids_agree_with_the_manifest_index() -> None:
    index = _manifest_ids()
    assert len(index) >= 40, "MANIFEST.md §7 index not found or changed shape"
    for name, (first, last, count) in index.items():
        posts = parsed(name).posts
        assert (posts[0].id, posts[-1].id, len(posts)) == (first, last, count), name


# -------------------------------------------------------------------------------------- durov (FULL)

DUROV = "durov_sherlock.html"
DUROV_ROWS = [  # id, UTC time, views, media, edited — read from the HTML
    (519, "2026-05-20T15:38:10+00:00", "8.67M", ["video"], False),
    (520, "2026-05-23T13:26:07+00:00", "11.4M", [], False),
    (521, "2026-06-01T15:40:13+00:00", "6.51M", [], True),
    (522, "2026-06-01T15:46:12+00:00", "7.05M", ["photo"], False),
    (523, "2026-06-09T19:33:51+00:00", "12.4M", ["gif"], False),
    (524, "2026-06-11T17:54:31+00:00", "14.5M", ["gif"], False),
    (525, "2026-06-12T19:15:19+00:00", "16.1M", [], False),
    (526, "2026-06-13T20:15:20+00:00", "22.6M", ["gif"], False),
    (527, "2026-06-15T15:53:15+00:00", "23.7M", [], True),
    (528, "2026-06-15T18:58:13+00:00", "18.1M", [], False),
    (529, "2026-06-16T15:05:29+00:00", "8.74M", [], False),
    (531, "2026-07-16T20:45:25+00:00", "4.88M", ["gif"], False),
    (532, "2026-07-19T21:45:01+00:00", "5.03M", ["gif"], False),
    (533, "2026-07-21T14:36:55+00:00", "5.3M", [], False),
    (534, "2026-07-23T15:15:33+00:00", "5.1M", [], False),
    (535, "2026-07-30T16:52:37+00:00", "4.1M", [], True),
    (536, "2026-07-30T16:55:01+00:00", "4.57M", ["photo"], False),
    (537, "2026-08-03T07:19:56+00:00", "2.21M", ["photo"], False),
    (538, "2026-08-04T15:20:04+00:00", "2.15M", [], True),
    (539, "2026-08-08T21:11:14+00:00", "826K", [], False),
]


def test_durov_every_post_field_by_field() -> None:
    page = parsed(DUROV)
    assert page.kind == PageKind.OK
    assert [p.id for p in page.posts] == [r[0] for r in DUROV_ROWS]  # 530 is a gap
    for post, (pid, when, views, media, edited) in zip(page.posts, DUROV_ROWS, strict=True):
        assert post.channel == "durov" and post.source == "telegram:durov"
        assert post.url == f"https://t.me/durov/{pid}"
        assert post.published == utc(when)
        assert post.views == views
        assert post.views_count == approx_int(views)
        assert post.media == media, pid
        assert post.edited is edited, pid
        assert post.author == "Pavel Durov"  # signed, on all 20
        assert post.channel_title == "Pavel Durov"
        assert post.forwarded_from is None and post.reply_to is None
        assert post.album_ids == [] and post.service is False
    assert page.posts[0].views_count == 8_670_000
    assert page.posts[-1].views_count == 826_000


def test_durov_texts() -> None:
    posts = by_id(DUROV)
    assert posts[519].text == (
        "🤖 Your Telegram inbox can now run itself.\n\nAssign a bot to read and reply for you — with granular "
        "control over its rights and chat access. 🧠\n\n⚙️ Start building!")
    assert posts[520].text == (
        "🎭 WhatsApp encryption is a giant fraud.\n\n🇺🇸 The state of Texas just sued WhatsApp for lying to "
        "users about privacy — because WhatsApp employees have access to “virtually all” private messages.\n\n"
        "Now we know what WhatsApp’s founder meant when he said he “sold his users’ privacy.”\n\n"
        "Stay safe — stay Telegram! 📱")
    assert posts[522].text == ""  # photo only
    assert posts[523].text == "⌚️ A fully native Telegram app for Apple Watch is out."
    assert posts[524].text == ("⌚️ Telegram is now on Wear OS.\n\nOwners of Galaxy Watch, Pixel Watch, Xiaomi Watch "
                               "and other smartwatches — enjoy! ☕️")
    assert posts[536].text == "🇦🇫😈"  # two custom emoji, nothing else
    assert posts[534].text.startswith("🇬🇪 Very impressed with Georgia.\n\n🏔 The country is known")
    assert posts[534].text.endswith("I'll be back very soon! ✈️")
    for post in posts.values():  # reactions ("23.4K") are not text
        assert "23.4K" not in post.text and "2.49K" not in post.text


def test_durov_channel_and_cursor() -> None:
    page = parsed(DUROV)
    assert page.channel is not None
    assert page.channel.title == "Pavel Durov"  # without the verified badge
    assert page.channel.username == "durov"
    assert page.channel.description == "Founder of Telegram."
    assert (page.channel.subscribers, page.channel.subscribers_count) == ("11.3M", 11_300_000)
    assert page.before == 519  # rel=prev; canonical says 540 and must not be used


# ------------------------------------------------------------------------------------- prstnk (FULL)


def test_prstnk_two_post_channel_end_of_history() -> None:
    page = parsed("prstnk_eprst_prstnk.html")
    assert page.kind == PageKind.OK
    first, second = page.posts
    assert (first.id, first.service, first.text, first.views) == (1, True, "Channel created", None)
    assert first.published == utc("2026-05-30T21:56:29+00:00")
    assert first.media == []
    assert second.id == 2 and second.service is False
    assert second.url == "https://t.me/prstnk_eprst/2"
    assert second.published == utc("2026-05-30T22:25:08+00:00")
    assert second.text == ("Как Штапаков травит цинк в Смольном\nЗашли в мастерскую офорта — сняли весь процесс: "
                           "грунтовка, игла, кислота.\n#репортаж")
    assert (second.views, second.views_count, second.media) == ("1", 1, ["photo"])
    assert second.channel_title == "PRSTNK - [простенок]"
    assert page.channel is not None
    assert (page.channel.title, page.channel.username) == ("PRSTNK - [простенок]", "prstnk_eprst")
    assert (page.channel.subscribers, page.channel.subscribers_count) == ("1", 1)
    assert page.before is None  # no rel=prev, no more-link, oldest id is 1


# ------------------------------------------------------------------------------------ topwar (FULL)

TOPWAR = "topwar_official_any2feed.html"


def test_topwar_ids_times_views_forwards_albums_media() -> None:
    page = parsed(TOPWAR)
    rows = [  # id, UTC time, views, media, album ids, forwarded (name, url)
        (70989, "2023-02-28T07:47:53+00:00", "37.2K", ["photo"], [], None),
        (70990, "2023-02-28T08:09:50+00:00", "34.5K", [], [], None),
        (70992, "2023-02-28T08:51:58+00:00", "33.8K", ["photo", "photo", "video"], [70992, 70993, 70994], None),
        (70995, "2023-02-28T08:54:50+00:00", "33.6K", [], [], None),
        (70996, "2023-02-28T09:06:02+00:00", "32.9K", [], [], ("Военкор Ярем", "https://t.me/yaremshooter/1066")),
        (70997, "2023-02-28T10:00:03+00:00", "30.3K", [], [], None),
        (70998, "2023-02-28T10:29:08+00:00", "29.0K", ["photo"], [], ("БелВПО", "https://t.me/Belarus_VPO/34301")),
        (70999, "2023-02-28T10:43:08+00:00", "28.7K", [], [], None),
        (71000, "2023-02-28T10:52:36+00:00", "28.7K", ["photo"] * 6, list(range(71000, 71006)), None),
        (71006, "2023-02-28T12:48:58+00:00", "17.2K", ["video"], [],
         ("Старше Эдды", "https://t.me/vysokygovorit/10899")),
        (71007, "2023-02-28T13:02:00+00:00", "16.8K", ["video"], [], ("Пул N3", "https://t.me/dimsmirnov175/44655")),
        (71008, "2023-02-28T13:14:03+00:00", "14.9K", ["video"], [], ("ImpNavigator", "https://t.me/ImpNavigator/4580")),
    ]
    assert [p.id for p in page.posts] == [r[0] for r in rows]
    for post, (pid, when, views, media, album, fwd) in zip(page.posts, rows, strict=True):
        assert post.url == f"https://t.me/topwar_official/{pid}"
        assert post.published == utc(when), pid
        assert post.views == views, pid
        assert post.media == media, pid
        assert post.album_ids == album, pid
        assert post.forwarded_from == (ForwardedFrom(*fwd) if fwd else None), pid
        assert post.author is None and post.edited is False and post.service is False and post.reply_to is None
        assert post.channel_title == "Военное обозрение"
    assert sum(p.forwarded_from is not None for p in page.posts) == 5


def test_topwar_texts_from_a_reindented_capture() -> None:
    posts = by_id(TOPWAR)
    assert posts[70989].text == (
        "В Санкт-Петербурге в небо над городом подняли истребители из-за неизвестного объекта в воздухе, "
        "аэропорт Пулково не принимает самолеты, сообщает Baza.\nСудя по сервису Flightradar, гражданские "
        "самолеты не приближаются к Санкт-Петербургу.")
    assert posts[70990].text == "Власти Петербурга подтвердили, что аэропорт Пулково временно не принимает самолеты."
    assert posts[70995].text == 'План "Ковер" отменен, небо над Санкт-Петербургом открывают, сообщает источник РЕН ТВ.'
    assert posts[70997].text == (
        "Минобороны России сообщило, что дежурными силами Западной зоны ответственности за ПВО проведена "
        "тренировка по взаимодействию с гражданскими органами управления воздушным движением.\n\nОтработаны "
        "вопросы обнаружения, перехвата и идентификации предполагаемой цели нарушителя, а также взаимодействия "
        "с экстренными службами. Были задействованы истребители из состава дежурных сил ПВО.")
    assert posts[71000].text == "Последствия ночного удара БПЛА-камикадзе ВСУ по нефтебазе в Туапсе сегодня ночью."
    # The link preview under 70996 ("Милитарист", its description) is not part of the text.
    assert posts[70996].text.endswith("стелы с МиГ-17.\n\n@yaremshooter")
    assert "Милитарист" not in posts[70996].text


def test_topwar_channel_and_cursor() -> None:
    page = parsed(TOPWAR)
    assert page.channel is not None
    assert (page.channel.title, page.channel.username) == ("Военное обозрение", "topwar_official")
    assert page.channel.description == ("Официальный канал сайта topwar.ru\n\nДля обратной связи: "
                                        "@topwar_feedlback_bot\n\nПо рекламе - писать @effective100")
    assert (page.channel.subscribers, page.channel.subscribers_count) == ("109K", 109_000)
    assert page.before == 70989  # rel=prev; canonical is 71009


# --------------------------------------------------------------------------------- infoscape (FULL)

INFOSCAPE = "infoscape_test_infoscape.html"


def test_infoscape_field_by_field() -> None:
    page = parsed(INFOSCAPE)
    rows = [  # id, UTC (the page shows UTC+3 HH:MM), text, media, service, views
        (1, "2022-05-24T19:06:50+00:00", "Channel created", [], True, None),
        (2, "2022-05-24T19:07:22+00:00", "простое сообщение", [], False, "2"),
        (3, "2022-05-24T19:08:13+00:00", "сообщение с картинкой", ["photo"], False, "2"),
        (4, "2022-05-24T19:08:25+00:00", "ссылка на https://yandex.ru/", [], False, "2"),
        (5, "2022-05-24T19:09:57+00:00", "файл", ["document"], False, "2"),
        (7, "2022-05-24T19:10:44+00:00", "ответ на сообщение", [], False, "2"),
    ]
    assert [p.id for p in page.posts] == [r[0] for r in rows]  # 6 is absent
    for post, (pid, when, text, media, service, views) in zip(page.posts, rows, strict=True):
        assert post.url == f"https://t.me/infoscape_test/{pid}"
        assert post.published == utc(when)
        assert post.text == text
        assert post.media == media  # 4's link-preview image is not media
        assert post.service is service and post.views == views
        assert post.channel_title == "infoscape_test"
    assert by_id(INFOSCAPE)[7].reply_to == "https://t.me/infoscape_test/2"  # not the quoted text as body
    assert all(p.reply_to is None for p in page.posts if p.id != 7)
    assert page.channel is not None
    assert (page.channel.title, page.channel.username, page.channel.subscribers) == (
        "infoscape_test", "infoscape_test", "1")
    assert page.before is None  # only rel=canonical; the oldest post is id 1


def test_infoscape_against_the_authors_canon_posts() -> None:
    canon = json.loads((TELEGRAM / "infoscape_test_infoscape_canon_posts.json").read_text(encoding="utf-8"))
    posts = {p.url: p for p in parsed(INFOSCAPE).posts}
    assert sorted(posts) == sorted(c["link"] for c in canon)
    for c in canon:
        post = posts[c["link"]]
        assert int(post.published.timestamp()) == c["timestamp"]
        assert post.text.split("\n")[0] == c["heading"]
        # Their "text" appends an <img> for photos and "> quote" for replies; compare the rest as is.
        if "<img" not in c["text"] and "\n> " not in c["text"]:
            assert post.text == c["text"]
        else:
            assert c["text"].startswith(post.text)


# ------------------------------------------------------------------------------- mchs (FRAGMENT x4)

MCHS = "mchs_bryansk_cdsiren.html"


def test_mchs_fragment_field_by_field() -> None:
    page = parsed(MCHS)
    assert page.kind == PageKind.OK
    assert page.channel is None  # a fragment: no header
    assert [p.id for p in page.posts] == [4656, 4659, 4660, 4661]
    p = by_id(MCHS)
    assert [x.published for x in page.posts] == [utc(t) for t in (
        "2024-12-05T13:10:40+00:00", "2024-12-05T13:56:25+00:00", "2024-12-05T14:30:04+00:00",
        "2024-12-05T15:08:13+00:00")]
    assert [x.views for x in page.posts] == ["4.2K", "3.7K", "3.6K", "3.3K"]
    assert [x.views_count for x in page.posts] == [4200, 3700, 3600, 3300]
    # The album block 4656 swallows 4657 and 4658; only its tiles' ?single hrefs show them.
    assert p[4656].album_ids == [4656, 4657, 4658]
    assert p[4656].media == ["photo", "photo", "photo"]
    assert p[4659].media == ["photo"] and p[4659].album_ids == []
    assert p[4660].forwarded_from == ForwardedFrom("МЧС России", "https://t.me/mchs_official/24927")
    assert p[4661].media == ["video"]  # "Media is too big": still a video
    assert all(x.forwarded_from is None for x in page.posts if x.id != 4660)
    assert all(x.channel_title == "МЧС Брянской области" for x in page.posts)
    assert all(not x.edited and x.author is None and x.reply_to is None and not x.service for x in page.posts)
    assert page.before == 4656  # no cursor markup in a fragment: the smallest id


def test_mchs_texts() -> None:
    p = by_id(MCHS)
    assert p[4660].text == (
        "🔔 Завтра на Ставрополье глава МЧС России Александр Куренков наградит победителей XVI Всероссийского "
        "фестиваля «Созвездие мужества»\n\u00a0\nНа пьедестале лучшие в 43 номинациях. Мероприятие начнется в "
        "15:00 (мск). Прямая трансляция с места событий ЗДЕСЬ.\n\n@mchs_official")
    assert p[4661].text == (
        "✨Ирина Гориславская стала лучшей среди психологов силовых структур\n\nСмотри тут 👆\n\n"
        "#МЧСпоБрянскойОбласти\n\n🌐 МЧС Брянской области в ТГ\n🌐 ГУ МЧС России по Брянской области в ВК\n"
        "🌐 МЧС Брянской области в ОК")
    first_lines = p[4656].text.split("\n")
    assert first_lines[0] == "🧑\u200d🚒 Сегодня отмечается День добровольца"  # ZWJ emoji kept whole
    assert first_lines[2].startswith("📍 Дата была установлена Указом Президента")
    assert p[4656].text.endswith("МЧС Брянской области в ОК")
    for post in p.values():
        assert "Please open Telegram" not in post.text and "VIEW IN TELEGRAM" not in post.text


# ------------------------------------------------------------------------------ tchantest fragments


def tchan(name: str) -> Post:
    page = parsed(f"tchantest_tchan__{name}.html")
    assert page.kind == PageKind.OK
    (post,) = page.posts
    return post


@pytest.mark.parametrize(("name", "pid", "text"), [
    ("service_message_channel_created", 1, "Channel created"),
    ("service_message_channel_name_changed", 2, "Channel name was changed to «tchan's test channel»"),
    ("service_message_channel_photo_updated", 3, "Channel photo updated"),
    ("service_message_pinned", 92, "tchan's test channel 👍 pinned «Going to pin this message»"),
])
def test_tchan_service_messages(name: str, pid: int, text: str) -> None:
    post = tchan(name)
    assert (post.id, post.service, post.text) == (pid, True, text)
    assert post.views is None and post.media == []  # the new channel photo is not post media


def test_tchan_channel_video_changed_is_an_ordinary_post_despite_its_name() -> None:
    post = tchan("service_message_channel_video_changed")
    assert (post.id, post.service, post.text, post.views_count) == (82, False, '+ "Channel video changed"', 3_100_000)


def test_tchan_signatures_and_edited() -> None:
    signed_edited = tchan("signed_edited_text_message")
    assert (signed_edited.author, signed_edited.edited) == ("Álvaro Justen", True)
    assert signed_edited.text == "Hello! Signed and edited message"
    signed = tchan("text_message_signed_not_edited")
    assert (signed.author, signed.edited, signed.text) == ("Álvaro Justen", False, "Signed and not edited")
    unsigned = tchan("unsigned_text_message")
    assert (unsigned.author, unsigned.edited, unsigned.text) == (None, False, "Unsigned message")
    link = tchan("text_message_link_no_preview")
    assert (link.edited, link.text) == (True, "This is a message with a link\n\nhttps://brasil.io/")


def test_tchan_text_shapes() -> None:
    assert tchan("text_message_multiline").text == "Bigger\ntext\nmessage\nnumber\n34"
    assert tchan("emoji_message").text == "👍"
    assert tchan("text_message_link_with_right_preview").text == "link with preview https://python.org/"
    regular = tchan("text_message_link_with_regular_preview")
    assert regular.text.startswith("https://agenciabrasil.ebc.com.br/justica/noticia/2022-08/")
    assert regular.media == []  # the preview image is not media
    assert tchan("unsigned_text_message").channel_title == "tchan's test channel 👍"


def test_tchan_weird_preview_formatting() -> None:
    post = parsed("tchantest_tchan__message_weird_preview.html").posts[0]
    assert (post.channel, post.id, post.edited) == ("CamaradosDeputados", 7334, True)
    assert post.text.startswith("_\n\n✍️ CÂMARA APROVA\n_\n\n\n🔸 Projeto que aumenta penas para crimes sexuais "
                                "contra crianças\n#Punição_ampliada\n🗳 Opine sobre esta proposta clicando aqui!\n____")
    assert post.text.endswith("📬 Convide seus contatos do WhatsApp a conhecerem nosso canal clicando aqui!\n____")
    assert "Portal da Câmara" not in post.text  # link preview


def test_tchan_forward_and_reply() -> None:
    fwd = tchan("forwarded_text_message")
    assert fwd.forwarded_from == ForwardedFrom("Some user", "https://t.me/some_user")
    assert fwd.text == ";)"
    reply = tchan("text_reply_to_video")
    assert reply.reply_to == "https://t.me/tchantest/19"
    assert reply.text == "Reply to a video (not recorded in telegram)"  # not the quote's "Video"
    assert reply.media == []  # the reply thumbnail is not media


def test_tchan_albums_and_media() -> None:
    multi = tchan("photo_multiple")
    assert (multi.id, multi.album_ids, multi.media, multi.text) == (14, [14, 15], ["photo", "photo"], "Multiple pics")
    mixed = tchan("multimedia_message")
    assert mixed.album_ids == [84, 85, 86, 87]
    assert mixed.media == ["video", "photo", "video", "photo"]
    assert mixed.text == "Multiple videos and pictures"
    assert mixed.views_count == 436_600
    single = tchan("photo_single")
    assert (single.media, single.album_ids, single.text) == (["photo"], [], "Picture by telegram camera")
    assert tchan("video_single").media == ["video"]
    assert tchan("video_single_2").media == ["video"]
    assert tchan("round_video_single").media == ["round_video"]
    assert tchan("audio_message").media == ["voice"]
    audio = tchan("audio_document")
    assert (audio.media, audio.text) == (["audio"], "Povo hebreu")  # title/performer are not text
    assert tchan("sticker_message").media == ["sticker"]
    for name in ("location_message", "location_message_2", "location_message_3"):
        assert tchan(name).media == ["location"]


def test_tchan_poll_text_is_excluded() -> None:
    poll = tchan("poll")
    assert poll.media == ["poll"]
    assert poll.text == ""
    assert poll.views == "2"  # not the voter count


def test_tchan_big_video_from_another_channel() -> None:
    post = parsed("tchantest_tchan__video_big.html").posts[0]
    assert (post.channel, post.id, post.url) == ("some_random_user", 5343, "https://t.me/some_random_user/5343")
    assert post.source == "telegram:some_random_user"
    assert post.media == ["video"] and post.text == "some text"


def test_tchan_channel_info_fragment_is_suspicious_empty() -> None:
    page = parsed("tchantest_tchan__channel_info.html")
    assert page.kind == PageKind.SUSPICIOUS_EMPTY
    assert page.channel is not None
    assert page.channel.username == "tchantest"
    assert page.channel.title == "tchan's test channel 👍"  # og:title: the fragment has no header title
    assert (page.channel.subscribers, page.channel.subscribers_count) == ("1", 1)  # singular "subscriber"


def test_tchan_no_posts_found() -> None:
    page = parsed("tchantest_tchan__no_posts_found.html")
    assert page.kind == PageKind.NO_POSTS
    assert page.posts == [] and page.before is None


# --------------------------------------------------------------------------- any2feed fragments


def test_any2feed_fragments() -> None:
    voice = parsed("oper_goblin_any2feed__message_voice.html").posts[0]
    assert voice.media == ["voice"]
    assert voice.forwarded_from == ForwardedFrom("Спортивный Екб", None)  # a span, no link
    assert voice.published == utc("2018-04-24T15:28:46+00:00")
    doc = parsed("oper_goblin_any2feed__message_media_file.html").posts[0]
    assert doc.media == ["document"]
    assert doc.forwarded_from == ForwardedFrom("Кремлёвская прачка", "https://t.me/kremlinprachka/20294")
    mixed = parsed("anna_news_any2feed__message_media_photo_and_video.html").posts[0]
    assert (mixed.album_ids, mixed.media) == ([46908, 46909, 46910], ["video", "photo", "photo"])
    assert parsed("bolshiepushki_any2feed__message_media_round_video.html").posts[0].media == ["round_video"]
    sticker = parsed("channel_any2feed__message_sticker.html").posts[0]
    assert (sticker.media, sticker.author) == (["sticker"], "🅰️User")
    poll = parsed("it_begin_any2feed__message_poll.html").posts[0]
    assert (poll.media, poll.text) == (["poll"], "")
    preview = parsed("fighter_bomber_any2feed__message_link_preview_video.html").posts[0]
    assert preview.media == [] and preview.edited is True


@pytest.mark.parametrize("name", [n for n in ALL_PAGES if n.startswith("fragment_any2feed__")])
def test_inner_element_snippets_have_no_posts(name: str) -> None:
    page = parsed(name)
    assert page.kind == PageKind.NO_PREVIEW and page.posts == [] and page.channel is None


# -------------------------------------------------------------------------------- landing cards


@pytest.mark.parametrize(("name", "username", "title", "subscribers", "count", "says"), [
    ("durov_tmepage_channel_sherlock.html", "durov", "Pavel Durov", "11 286 994", 11_286_994, "/s/durov"),
    ("python_tmepage_group_sherlock.html", "python", "Python", "97 957", 97_957, "without a preview link"),
    ("nikolai_tmepage_user_sherlock.html", "nikolai", "Nikolai", None, None, "Contact @nikolai"),
    ("BotFather_tmepage_bot_sherlock.html", "BotFather", "BotFather", None, None, "without a preview link"),
    ("zzq9x7v2knot44_tmepage_nonexistent_sherlock.html", "zzq9x7v2knot44", None, None, None,
     "Contact @zzq9x7v2knot44"),
])
def test_landing_cards_are_no_preview(name: str, username: str, title: str | None, subscribers: str | None,
                                      count: int | None, says: str) -> None:
    page = parsed(name)
    assert page.kind == PageKind.NO_PREVIEW
    assert page.posts == [] and page.before is None
    assert page.channel is not None
    assert (page.channel.username, page.channel.title) == (username, title)
    assert (page.channel.subscribers, page.channel.subscribers_count) == (subscribers, count)
    assert says in page.reason


def test_landing_card_after_a_redirect() -> None:
    data = sample("durov_tmepage_channel_sherlock.html").read_bytes()
    page = parse_page(data, url="https://t.me/s/durov", final_url="https://t.me/durov")
    assert page.kind == PageKind.NO_PREVIEW
    assert "https://t.me/s/durov ended at https://t.me/durov" in page.reason
    # The real page served from a mirror keeps t.me permalinks.
    real = parse_page(sample(DUROV).read_bytes(), final_url="https://telegram.me/s/durov")
    assert real.kind == PageKind.OK and real.posts[0].url == "https://t.me/durov/519"
