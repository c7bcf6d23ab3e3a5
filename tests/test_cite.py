"""Tests of the citation renderer (deskapp.core.cite).

Golden files live in tests/golden/cite/. When an output changes on purpose, rewrite them with

    DESK_UPDATE_GOLDEN=1 /work/venv/bin/pytest tests/test_cite.py

then read the diff (`git diff tests/golden/cite`) before committing: the golden files ARE the review
of what a standards editor will paste. A missing golden file fails with that same hint.

Two sets of posts feed the goldens: our own fixtures built below (always run) and posts parsed from
the real captures in ../shared/samples by deskapp.core.sources.telegram.parse_file (skipped with the
reason when the samples or the parser are absent).
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import importlib
import json
import os
import re
from datetime import UTC, datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest

from deskapp.core import cite
from deskapp.core.cite import (
    FORMATS,
    Citation,
    CiteOptionError,
    CiteOptions,
    CiteTemplateError,
    CiteTemplates,
    Verification,
    excerpt,
    parse_post_ref,
    permalink,
    render,
)
from deskapp.core.model import ForwardedFrom, Post, StoredPost, fmt_utc
from tests.samples import TELEGRAM, needs_samples

GOLDEN = Path(__file__).resolve().parent / "golden" / "cite"
UPDATE = os.environ.get("DESK_UPDATE_GOLDEN") == "1"
EXT = {"text": "txt", "markdown": "md", "html": "html", "json": "json", "csl-json": "csl.json"}
NOW = datetime(2026, 8, 9, 12, 30, tzinfo=UTC)
CAPTURED = datetime(2026, 8, 9, 12, 9, 39, tzinfo=UTC)  # when durov_sherlock.html was rendered


def check_golden(name: str, text: str) -> None:
    """Compare `text` with tests/golden/cite/<name> (or rewrite it under DESK_UPDATE_GOLDEN=1)."""
    path = GOLDEN / name
    body = text + "\n"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8", newline="")
        return
    if not path.exists():
        pytest.fail(f"golden file {path} is missing; create it with DESK_UPDATE_GOLDEN=1 pytest {__file__}")
    expected = path.read_text(encoding="utf-8")
    if body != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(True), body.splitlines(True), f"golden/{name}", "rendered", n=1
            )
        )
        pytest.fail(f"output differs from golden/{name} (DESK_UPDATE_GOLDEN=1 rewrites it):\n{diff}")


# --------------------------------------------------------------------------- our own fixtures


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def stored(
    post: Post,
    *,
    first_seen: datetime | None = None,
    revisions: int = 0,
    note: str = "",
    views_seen: datetime | None = None,
    sha: str | None = None,
) -> StoredPost:
    first = first_seen or (post.published.astimezone(UTC) + timedelta(minutes=3))
    return StoredPost(
        post=post,
        key=0,
        first_seen=first,
        last_seen=first + timedelta(hours=2),
        text_sha256=sha if sha is not None else hashlib.sha256(post.text.encode()).hexdigest(),
        views_seen=views_seen,
        revisions=revisions,
        pinned=bool(note),
        pin_note=note,
    )


def tg(channel: str, pid: int, published: str, text: str = "", **kw) -> Post:
    return Post(
        source=f"telegram:{channel.lower()}",
        channel=channel,
        id=pid,
        url=f"https://t.me/s/{channel}/{pid}",  # the /s/ form on purpose: cite must not use it
        published=ts(published),
        text=text,
        **kw,
    )


def wire_posts() -> list[StoredPost]:
    """A desk's worth of pins: one channel three times, forwards (public and hidden), a reply, edits,
    a media-only post, a non-Telegram item, and times given in another zone."""
    return [
        stored(
            tg(
                "durov",
                519,
                "2026-06-30T18:02:11+00:00",
                "Today we are launching a new feature for all channels. It lets admins schedule "
                "posts in advance and keeps an audit trail of every edit made by the team.",
                author="Pavel Durov",
                views="11.4M",
                views_count=11_400_000,
                edited=True,
                channel_title="Pavel Durov",
            ),
            note="main claim, para 2",
            views_seen=CAPTURED,
        ),
        stored(
            Post(
                source="rss:bbc_photo",
                channel="bbc_photo",
                id=70123,
                url="https://www.bbc.co.uk/news/in-pictures-70123",
                published=ts("2026-06-30T20:15:00+01:00"),  # a feed in BST: cited as 19:15 UTC
                text="In pictures: the flood seen from the air",
                channel_title="BBC News - In Pictures",
            ),
        ),
        stored(
            tg(
                "OSINTdefender",
                12345,
                "2026-07-01T06:40:00+00:00",
                "Пожарные расчёты работают на месте. Подробности уточняются.",
                forwarded_from=ForwardedFrom("МЧС России", "https://t.me/s/mchs_official/24927"),
                views="826K",
                channel_title="OSINTdefender",
            ),
            revisions=2,
            views_seen=ts("2026-07-01T07:00:00+00:00"),
        ),
        stored(
            tg(
                "oper_goblin",
                300,
                "2026-07-01T05:00:00+00:00",
                "",
                forwarded_from=ForwardedFrom("Иван Петров"),
                media=["voice"],
                channel_title="Опер Гоблин",
            ),
        ),
        stored(
            tg(
                "OSINTdefender",
                12346,
                "2026-07-01T06:55:30+00:00",
                "Update: two more units sent.",
                channel_title="OSINTdefender",
                edited=True,
            ),
            revisions=1,
            note="confirms the first",
        ),
        stored(
            tg(
                "infoscape_test",
                7,
                "2022-05-24T22:10:44+03:00",
                "ответ на сообщение",
                reply_to="https://t.me/infoscape_test/2",
            ),
        ),
        stored(
            tg(
                "durov",
                522,
                "2026-07-02T09:00:00+00:00",
                "",
                media=["photo", "photo"],
                author="Pavel Durov",
                channel_title="Pavel Durov",
            ),
        ),
        stored(
            tg(
                "OSINTdefender",
                12350,
                "2026-07-01T09:12:00+00:00",
                "Satellite images show the damaged bridge; officials have not commented.",
                channel_title="OSINTdefender",
            ),
        ),
    ]


def hostile_posts() -> list[StoredPost]:
    """Names, notes and texts written to break out of each format, and URLs that must be refused."""
    return [
        stored(
            tg(
                "evil_md",
                1,
                "2026-07-03T10:00:00+00:00",
                "see [proof](javascript:alert(1)) and ![img](http://x/y.png) `code` <b>bold</b> *em* _u_",
                channel_title="[Official News](javascript:alert(document.cookie))",
                author="**Admin** <img src=x onerror=alert(1)>",
            ),
            note="<script>alert('note')</script> | a | b |",
        ),
        stored(
            tg(
                "evil_html",
                2,
                "2026-07-03T10:01:00+00:00",
                "</li></ul><script>alert(1)</script>",
                channel_title="<script>alert(1)</script>\x1b]52;c;ZXZpbA==\x07 & co\nsecond line",
            ),
        ),
        stored(
            tg(
                "evil_lines",
                3,
                "2026-07-03T10:02:00+00:00",
                "x",
                channel_title="1. # not a heading",
                forwarded_from=ForwardedFrom("Trusted \u202eSource", "javascript:alert(1)"),
                reply_to="https://t.me/infoscape_test/2\u200b",
            ),
        ),
        stored(
            Post(
                source="rss:evil",
                channel="evil",
                id=4,
                url="data:text/html,<script>alert(1)</script>",
                published=ts("2026-07-03T10:03:00+00:00"),
                text="an item with a data: link",
                channel_title="- Evil feed",
            ),
        ),
        stored(
            tg("bad\u202echannel", 5, "2026-07-03T10:04:00+00:00", "a channel name that is no username"),
        ),
    ]


ALL_ON = CiteOptions(excerpt=True, views=True, archive=True, sha256=True)


def own(fmt: str, **kw) -> Citation:
    return render(wire_posts(), dataclasses.replace(CiteOptions(fmt=fmt), **kw), now=NOW)


# --------------------------------------------------------------------------- golden: own fixtures


@pytest.mark.parametrize("fmt", FORMATS)
def test_golden_own_default(fmt: str) -> None:
    c = own(fmt)
    assert c.count == 8 and c.refused == [] and c.duplicates == 0
    check_golden(f"own_default.{EXT[fmt]}", c.text)


@pytest.mark.parametrize("fmt", FORMATS)
def test_golden_own_all_options(fmt: str) -> None:
    c = render(wire_posts(), dataclasses.replace(ALL_ON, fmt=fmt), now=NOW)
    check_golden(f"own_all.{EXT[fmt]}", c.text)


OPTION_CASES = {
    "excerpt": {"excerpt": True},
    "excerpt_40": {"excerpt": True, "excerpt_chars": 40},
    "no_notes": {"notes": False},
    "views": {"views": True},
    "no_edited": {"edited": False},
    "no_forwards": {"forwards": False},
    "no_replies": {"replies": False},
    "archive": {"archive": True},
    "sha256": {"sha256": True},
    "chronological": {"order": "chronological"},
}


@pytest.mark.parametrize("case", OPTION_CASES)
def test_golden_own_each_option(case: str) -> None:
    """Each option alone, in plain text (the all-options goldens cover every format)."""
    check_golden(f"own_opt_{case}.txt", own("text", **OPTION_CASES[case]).text)


@pytest.mark.parametrize("fmt", FORMATS)
def test_golden_hostile(fmt: str) -> None:
    c = render(hostile_posts(), dataclasses.replace(ALL_ON, fmt=fmt), now=NOW)
    check_golden(f"hostile.{EXT[fmt]}", c.text)


def test_golden_custom_templates() -> None:
    tpl = CiteTemplates(
        heading="Sources ({count}) — {date}",
        intro="Generated {generated}; literal braces: {{like this}}.",
        line="{n}. {name} [{handle}] {url} at {time}{extras}",
    )
    c = render(wire_posts(), CiteOptions(views=True), tpl, now=NOW)
    check_golden("own_custom_templates.txt", c.text)
    check_golden(
        "own_custom_templates.html", render(wire_posts(), CiteOptions(fmt="html"), tpl, now=NOW).text
    )


# --------------------------------------------------------------------------- the newsroom's bug


@pytest.mark.parametrize("fmt", FORMATS)
def test_three_posts_of_one_channel_give_three_permalinks_with_times(fmt: str) -> None:
    posts = [
        stored(tg("osintdefender", 12345, "2026-07-01T06:40:00+00:00", "a")),
        stored(tg("osintdefender", 12346, "2026-07-01T06:55:30+00:00", "b")),
        stored(tg("osintdefender", 12350, "2026-07-01T09:12:00+00:00", "c")),
    ]
    c = render(posts, CiteOptions(fmt=fmt), now=NOW)
    assert c.count == 3
    urls = re.findall(r"https://t\.me/[A-Za-z0-9_/]+", c.text)
    assert sorted(set(urls)) == [
        "https://t.me/osintdefender/12345",
        "https://t.me/osintdefender/12346",
        "https://t.me/osintdefender/12350",
    ]
    assert "/s/" not in c.text
    assert not re.search(r"https://t\.me/osintdefender(?![/\w])", c.text), "bare channel link emitted"
    if fmt in ("json", "csl-json"):
        data = json.loads(c.text)
        key = "published" if fmt == "json" else None
        times = [d[key] if key else d["custom"]["published"] for d in data]
        assert times == ["2026-07-01T06:40:00Z", "2026-07-01T06:55:30Z", "2026-07-01T09:12:00Z"]
    else:
        lines = [ln for ln in c.text.splitlines() if "osintdefender/123" in ln]
        assert len(lines) == 3
        for line, (pid, when) in zip(
            lines,
            [
                (12345, "2026-07-01 06:40 UTC"),
                (12346, "2026-07-01 06:55 UTC"),
                (12350, "2026-07-01 09:12 UTC"),
            ],
            strict=True,
        ):
            assert f"https://t.me/osintdefender/{pid}" in line and when in line


def test_text_default_shape_matches_the_newsroom_block() -> None:
    lines = render(wire_posts()[:1], now=NOW).text.splitlines()
    assert lines == [
        "Wire provenance",
        "This report draws on the following public posts, each named by its permalink and publication time (UTC):",
        "- Pavel Durov (@durov), https://t.me/durov/519, 2026-06-30 18:02 UTC; note: main claim, para 2; "
        "edited at source",
    ]


# --------------------------------------------------------------------------- dedup, order, empty


def test_same_post_twice_appears_once_where_it_first_appeared() -> None:
    a = stored(tg("durov", 519, "2026-06-30T18:02:11+00:00", "x"), note="first note")
    b = stored(tg("durov", 520, "2026-06-30T19:00:00+00:00", "y"))
    again = stored(tg("durov", 519, "2026-06-30T18:02:11+00:00", "x"), note="second note")
    other_case = dataclasses.replace(a, post=dataclasses.replace(a.post, source="Telegram:Durov"))
    for fmt in FORMATS:
        c = render([a, b, again, other_case, b], CiteOptions(fmt=fmt), now=NOW)
        assert c.count == 2 and c.duplicates == 3
        if fmt in ("json", "csl-json"):
            assert len(json.loads(c.text)) == 2
        else:
            lines = c.text.splitlines()
            assert sum("durov/519" in ln for ln in lines) == 1 and sum("durov/520" in ln for ln in lines) == 1
            assert "first note" in c.text and "second note" not in c.text
            assert c.text.index("durov/519") < c.text.index("durov/520")


def test_same_id_in_two_channels_is_two_posts() -> None:
    c = render(
        [
            stored(tg("durov", 1, "2026-06-30T18:00:00+00:00")),
            stored(tg("telegram", 1, "2026-06-30T18:00:00+00:00")),
        ]
    )
    assert c.count == 2 and c.duplicates == 0


def test_order_editor_and_chronological() -> None:
    posts = wire_posts()
    ed = json.loads(render(posts, CiteOptions(fmt="json")).text)
    assert [d["id"] for d in ed] == [sp.post.id for sp in posts]
    ch = json.loads(render(posts, CiteOptions(fmt="json", order="chronological")).text)
    assert [d["published"] for d in ch] == sorted(d["published"] for d in ed)
    assert ch[0]["source"] == "telegram:infoscape_test"  # 2022, given in +03:00
    assert [d["n"] for d in ch] == list(range(1, 9))


@pytest.mark.parametrize("fmt", FORMATS)
def test_empty_input_is_a_clear_text_not_an_error(fmt: str) -> None:
    c = render([], CiteOptions(fmt=fmt), now=NOW)
    assert c.count == 0 and c.refused == []
    if fmt in ("json", "csl-json"):
        assert json.loads(c.text) == []
    else:
        assert "No posts to cite." in c.text


def test_render_rejects_what_is_not_a_stored_post() -> None:
    with pytest.raises(TypeError, match="StoredPost"):
        render([wire_posts()[0].post])  # type: ignore[list-item]


# --------------------------------------------------------------------------- post lines in detail


def test_other_kinds_cite_their_own_item_url_and_time() -> None:
    c = render([wire_posts()[1]], now=NOW)
    assert (
        "- BBC News - In Pictures (RSS feed bbc_photo), https://www.bbc.co.uk/news/in-pictures-70123, "
        "2026-06-30 19:15 UTC" in c.text
    )
    assert "@" not in c.text.splitlines()[-1]


def test_forward_origin_public_and_hidden() -> None:
    text = own("text").text
    assert "forwarded from МЧС России, https://t.me/mchs_official/24927" in text  # /s/ form canonicalised
    assert "forwarded from Иван Петров (link not public)" in text
    assert "forwarded from" not in own("text", forwards=False).text


def test_edited_after_capture_versus_at_source() -> None:
    data = {d["id"]: d for d in json.loads(own("json").text)}
    assert data[519]["edited_at_source"] and not data[519]["edited_after_capture"]
    assert data[12345]["edited_after_capture"] and data[12345]["revisions"] == 2
    assert data[12350]["edited"] is False
    text = own("text").text
    line = next(ln for ln in text.splitlines() if "/12346" in ln)
    assert line.endswith("edited after capture")  # both marks: the stronger fact wins
    assert "edited" not in own("text", edited=False).text


def test_views_carry_the_time_they_were_seen() -> None:
    text = own("text", views=True).text
    assert "11.4M views as of 2026-08-09 12:09 UTC" in text
    assert "826K views as of 2026-07-01 07:00 UTC" in text


def test_archive_is_the_recorded_snapshot_or_none_yet() -> None:
    sp = stored(
        tg("durov", 519, "2026-06-30T18:02:11+00:00", "x"), first_seen=ts("2026-06-30T18:05:09+00:00")
    )
    snap = "https://web.archive.org/web/20260701080000/https://t.me/durov/519"
    facts = {("telegram:durov", 519): Verification(snapshot=snap)}
    assert f"; archive: {snap}" in render([sp], CiteOptions(archive=True), verified=facts).text
    # Never built from a timestamp: without a recorded snapshot the line says so.
    assert "; archive: none yet" in render([sp], CiteOptions(archive=True)).text
    hostile = {("telegram:durov", 519): Verification(snapshot="javascript:alert(1)")}
    c = render([sp], CiteOptions(archive=True), verified=hostile)
    assert "[refused:" in c.text and c.refused[0].what == "archive"
    assert json.loads(render([sp], CiteOptions(fmt="json"), verified=facts).text)[0]["archive"] == snap


def test_checked_says_when_and_keeps_the_hash_of_a_deleted_post() -> None:
    sp = stored(tg("durov", 519, "2026-06-30T18:02:11+00:00", "what it said"))
    key = ("telegram:durov", 519)
    when = ts("2026-07-01T09:30:00+00:00")
    opts = CiteOptions(checked=True)
    assert "; not re-checked" in render([sp], opts).text
    ok = render([sp], opts, verified={key: Verification(checked=when, result="unchanged")}).text
    assert ok.endswith("; checked 2026-07-01 09:30 UTC")
    edited = render([sp], opts, verified={key: Verification(checked=when, result="edited")}).text
    assert edited.endswith("; checked 2026-07-01 09:30 UTC: edited since capture")
    cap = hashlib.sha256(b"what it said at capture").hexdigest()
    gone = render([sp], opts, verified={key: Verification(checked=when, result="deleted", captured_sha256=cap)}).text
    assert gone.endswith(f"; checked 2026-07-01 09:30 UTC: deleted after capture; captured text SHA-256 {cap}")
    d = json.loads(render([sp], CiteOptions(fmt="json"), verified={key: Verification(checked=when, result="deleted")}).text)[0]
    assert (d["checked"], d["check_result"]) == ("2026-07-01T09:30:00Z", "deleted")
    assert "checked" not in render([sp], CiteOptions(), verified={key: Verification(checked=when)}).text


def test_sha256_is_the_stored_hash_or_computed() -> None:
    sp = stored(tg("durov", 1, "2026-06-30T18:00:00+00:00", "hello"))
    want = hashlib.sha256(b"hello").hexdigest()
    assert f"text SHA-256 {want}" in render([sp], CiteOptions(sha256=True)).text
    blank = dataclasses.replace(sp, text_sha256="")
    assert f"text SHA-256 {want}" in render([blank], CiteOptions(sha256=True)).text


def test_media_only_post_has_no_excerpt_and_a_csl_title() -> None:
    sp = wire_posts()[6]
    text = render([sp], CiteOptions(excerpt=True)).text
    assert "“" not in text and "; (photo ×2, no text)" in text
    assert json.loads(render([sp], CiteOptions(fmt="csl-json")).text)[0]["title"] == "Post 522"


def test_csl_json_shape() -> None:
    items = json.loads(render(wire_posts(), dataclasses.replace(ALL_ON, fmt="csl-json")).text)
    first = items[0]
    assert first["type"] == "post" and first["id"] == "telegram:durov/519"
    assert first["URL"] == "https://t.me/durov/519"
    assert first["container-title"] == "Pavel Durov"
    assert first["author"] == [{"literal": "Pavel Durov"}]
    assert first["issued"] == {"date-parts": [[2026, 6, 30]]}
    assert first["accessed"] == {"date-parts": [[2026, 6, 30]]}
    assert first["title"].startswith("Today we are launching")
    custom = first["custom"]
    assert custom["published"] == "2026-06-30T18:02:11Z"
    assert custom["views"] == "11.4M"
    assert custom["archive"] is None  # no snapshot recorded
    assert re.fullmatch(r"[0-9a-f]{64}", custom["sha256"])
    assert custom["edited"] is True
    fwd = next(i for i in items if i["id"] == "telegram:osintdefender/12345")
    assert fwd["custom"]["forwarded_from"] == {
        "name": "МЧС России",
        "url": "https://t.me/mchs_official/24927",
    }
    assert "author" not in fwd  # unsigned channel
    bbc = next(i for i in items if i["id"] == "rss:bbc_photo/70123")
    assert bbc["URL"] == "https://www.bbc.co.uk/news/in-pictures-70123"
    assert bbc["custom"]["published"] == "2026-06-30T19:15:00Z"


def test_names_and_excerpts_are_single_line_and_clean() -> None:
    sp = hostile_posts()[1]
    for fmt in ("text", "markdown", "html"):
        c = render([sp], CiteOptions(fmt=fmt, excerpt=True), now=NOW)
        assert "\x1b" not in c.text and "\x07" not in c.text and "]52;" not in c.text
        body = [ln for ln in c.text.splitlines() if "evil_html/2" in ln]
        assert len(body) == 1 and "second line" in body[0]


def test_long_hostile_name_is_capped() -> None:
    sp = stored(tg("durov", 1, "2026-06-30T18:00:00+00:00", "x", channel_title="A" * 100_000))
    assert len(render([sp]).text) < 1000


# --------------------------------------------------------------------------- refusals

BAD_URLS = {
    "javascript": "javascript:alert(1)",
    "javascript_upper": "JaVaScRiPt:alert(1)",
    "data": "data:text/html;base64,PHNjcmlwdD4=",
    "vbscript": "vbscript:msgbox(1)",
    "file": "file:///etc/passwd",
    "no_scheme": "//t.me/durov/519",
    "bidi_rlo": "https://t.me/durov/519\u202e",
    "bidi_isolate": "https://\u2067t.me/durov/519",
    "zero_width_space": "https://t.me/du\u200brov/519",
    "zero_width_bom": "https://t.me/\ufeffdurov/519",
    "control_nul": "https://t.me/du\x00rov/519",
    "control_esc": "https://t.me/durov/519\x1b]8;;https://evil\x07",
    "control_c1": "https://t.me/durov/519\x9b",
    "newline": "https://t.me/durov/519\nhttps://evil.example/",
    "space": "https://t.me/durov/519 https://evil.example/",
}
_MARKERS = (
    "javascript:",
    "data:",
    "vbscript:",
    "file:",
    "evil",
    "\u202e",
    "\u2067",
    "\u200b",
    "\ufeff",
    "\x00",
    "\x1b",
    "\x9b",
)


def _assert_not_emitted(text: str, bad: str) -> None:
    for marker in _MARKERS:
        if marker in bad.lower():
            assert marker not in text.lower(), f"{marker!r} leaked into the output"


@pytest.mark.parametrize("case", BAD_URLS)
def test_bad_permalink_is_refused_visibly(case: str) -> None:
    bad = BAD_URLS[case]
    sp = stored(
        Post(
            source="rss:feed",
            channel="feed",
            id=9,
            url=bad,
            published=ts("2026-07-03T10:00:00+00:00"),
            text="item",
            channel_title="A feed",
        )
    )
    for fmt in FORMATS:
        c = render([sp], dataclasses.replace(ALL_ON, fmt=fmt), now=NOW)
        assert c.count == 1
        assert [(r.post, r.what) for r in c.refused] == [("rss:feed/9", "permalink")]
        assert c.refused[0].reason
        assert not re.search(r"[\x00-\x1f\x7f-\x9f\u200b\u202e\u2067\ufeff]", c.refused[0].url), (
            "Refusal.url not printable"
        )
        _assert_not_emitted(c.text, bad)
        if fmt == "json":
            d = json.loads(c.text)[0]
            assert d["url"] is None and d["url_refused"] == c.refused[0].reason and d["archive"] is None
        elif fmt == "csl-json":
            d = json.loads(c.text)[0]
            assert "URL" not in d and d["custom"]["url_refused"] == c.refused[0].reason
        else:
            assert "refused: " in c.text


@pytest.mark.parametrize("case", BAD_URLS)
def test_bad_forward_and_reply_links_are_refused(case: str) -> None:
    bad = BAD_URLS[case]
    sp = stored(
        tg(
            "durov",
            600,
            "2026-07-03T10:00:00+00:00",
            "x",
            reply_to=bad,
            forwarded_from=ForwardedFrom("Someone", bad),
        )
    )
    for fmt in FORMATS:
        c = render([sp], dataclasses.replace(ALL_ON, fmt=fmt), now=NOW)
        assert sorted(r.what for r in c.refused) == ["forward", "reply"]
        assert all(r.post == "telegram:durov/600" for r in c.refused)
        _assert_not_emitted(c.text, bad)
        assert "https://t.me/durov/600" in c.text  # the post itself is still cited
        if fmt == "text":
            assert "forwarded from Someone, [refused: " in c.text
            assert "in reply to [refused: " in c.text


def test_telegram_channel_that_is_no_username_is_refused() -> None:
    c = render([hostile_posts()[4]], now=NOW)
    assert [r.what for r in c.refused] == ["permalink"]
    assert "\u202e" not in c.text and "[refused: channel name is not a Telegram username" in c.text
    assert "\\u202e" in c.refused[0].url and c.refused[0].post == "telegram:bad\\u202echannel/5"
    # Not "@badchannel": stripping the override would name another, real channel.
    assert c.text.splitlines()[-1].startswith("- @bad\\u202echannel, [refused: ")


def test_good_urls_are_encoded_not_refused() -> None:
    sp = stored(
        Post(
            source="rss:x",
            channel="x",
            id=1,
            url='https://пример.рф/новости/1?q=<a>"b"',
            published=ts("2026-07-03T10:00:00+00:00"),
            text="t",
        )
    )
    c = render([sp], CiteOptions(fmt="markdown"))
    assert c.refused == []
    assert (
        "<https://xn--e1afmkfd.xn--p1ai/%D0%BD%D0%BE%D0%B2%D0%BE%D1%81%D1%82%D0%B8/1?q=%3Ca%3E%22b%22>"
        in c.text
    )


# --------------------------------------------------------------------------- Markdown / HTML injection


def test_markdown_injection_is_inert() -> None:
    from markdown_it import MarkdownIt

    c = render(hostile_posts(), dataclasses.replace(ALL_ON, fmt="markdown"), now=NOW)
    out = MarkdownIt("commonmark").enable("table").render(c.text)
    hrefs = re.findall(r'href="([^"]*)"', out)
    assert hrefs and all(h.startswith("https://") for h in hrefs), hrefs
    assert set(hrefs) <= {
        "https://t.me/evil_md/1",
        "https://t.me/evil_html/2",
        "https://t.me/evil_lines/3",
        *(f"https://web.archive.org/web/{s}" for s in re.findall(r"web/(\S+?)\"", out)),
    }
    assert "<script" not in out and "<img" not in out and "<b>" not in out and "<em>" not in out
    assert "<strong>" not in out and "<code>" not in out and "<table" not in out
    assert "<h1" not in out and "<ol" not in out  # "1. # not a heading" stays text
    # One list, one item a post: nothing broke out of its bullet.
    assert out.count("<ul>") == 1 and out.count("<li>") == len(hostile_posts())
    assert "[Official News](javascript:alert(document.cookie))" in out  # shown, as text
    assert "<li>1. # not a heading (@evil_lines)" in out  # no nested list, no heading, no stray backslash
    assert "<li>- Evil feed (RSS feed evil), [refused: " in out


def test_html_injection_is_inert() -> None:
    c = render(hostile_posts(), dataclasses.replace(ALL_ON, fmt="html"), now=NOW)

    class Collect(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.tags: list[tuple[str, dict[str, str | None]]] = []

        def handle_starttag(self, tag, attrs):
            self.tags.append((tag, dict(attrs)))

    p = Collect()
    p.feed(c.text)
    assert {t for t, _ in p.tags} <= {"section", "h3", "p", "ul", "li", "a", "span"}
    for tag, attrs in p.tags:
        if tag == "a":
            assert set(attrs) == {"href"} and attrs["href"].startswith("https://")
        elif tag in ("section", "span"):
            assert set(attrs) == {"class"}
        else:
            assert attrs == {}
    assert [t for t, _ in p.tags].count("li") == len(hostile_posts())
    assert "&lt;script&gt;" in c.text


# --------------------------------------------------------------------------- templates and options


@pytest.mark.parametrize(
    ("tpl", "field", "message", "name"),
    [
        (
            CiteTemplates(line="{who}, {chanel}, {url}"),
            "cite.line",
            "unknown field {chanel} (did you mean {channel}?); known: {n}, {who}",
            "chanel",
        ),
        (CiteTemplates(line="{who} {url"), "cite.line", "bad braces", None),
        (CiteTemplates(line="{who} {url}}"), "cite.line", "bad braces", None),
        (CiteTemplates(line="{} {url}"), "cite.line", "positional field {} is not allowed", ""),
        (CiteTemplates(line="{0} {url}"), "cite.line", "positional field {0} is not allowed", "0"),
        (
            CiteTemplates(line="{url.__class__}"),
            "cite.line",
            "field {url.__class__} is not a plain name",
            "url.__class__",
        ),
        (CiteTemplates(line="{url[0]}"), "cite.line", "field {url[0]} is not a plain name", "url[0]"),
        (CiteTemplates(line="{url!r}"), "cite.line", "only !s is allowed", "url"),
        (CiteTemplates(line="{url:d}"), "cite.line", "field {url:d}: Unknown format code 'd'", "url"),
        (CiteTemplates(line="{url:{n}}"), "cite.line", "nested fields", "url"),
        (CiteTemplates(line="{who}, {time}"), "cite.line", "must contain {url}", "url"),
        (
            CiteTemplates(heading="Sources for {url}"),
            "cite.heading",
            "unknown field {url}; known: {count}, {generated}, {date}",
            "url",
        ),
        (CiteTemplates(intro="Line one\nline two"), "cite.intro", "must be one line", None),
        (
            CiteTemplates(intro="{cuont} posts"),
            "cite.intro",
            "unknown field {cuont} (did you mean {count}?)",
            "cuont",
        ),
    ],
)
def test_template_errors_name_the_field(
    tpl: CiteTemplates, field: str, message: str, name: str | None
) -> None:
    with pytest.raises(CiteTemplateError) as info:
        tpl.validate()
    assert str(info.value).startswith(f"{field}: ")
    assert message in str(info.value)
    assert info.value.field == field and info.value.name == name
    with pytest.raises(CiteTemplateError):  # render validates too
        render(wire_posts(), CiteOptions(), tpl)


def test_template_prefix_follows_the_config_table() -> None:
    with pytest.raises(CiteTemplateError, match=r"^desk\.cite\.line: unknown field \{x\}"):
        CiteTemplates(line="{x}").validate(prefix="desk.cite")


def test_every_known_field_renders() -> None:
    line = " ".join("{" + k + "}" for k in cite.LINE_FIELDS)
    head = " ".join("{" + k + "}" for k in cite.HEAD_FIELDS)
    c = render(wire_posts(), ALL_ON, CiteTemplates(heading=head, intro=head, line=line), now=NOW)
    assert c.text.splitlines()[0] == "8 2026-08-09 12:30 UTC 2026-08-09"
    assert len(c.text.splitlines()) == 2 + 8


def test_template_format_spec_applies() -> None:
    c = render(wire_posts()[:1], CiteOptions(), CiteTemplates(heading="", intro="", line="{id:>6}|{url}"))
    assert c.text == "-    519|https://t.me/durov/519"


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"fmt": "xml"}, "cite.format"),
        ({"order": "newest"}, "cite.order"),
        ({"excerpt_chars": 3}, "cite.excerpt_chars"),
        ({"excerpt_chars": "120"}, "cite.excerpt_chars"),
    ],
)
def test_option_errors_name_the_field(kw: dict, field: str) -> None:
    with pytest.raises(CiteOptionError) as info:
        render(wire_posts(), CiteOptions(**kw))
    assert info.value.field == field and str(info.value).startswith(field + ": ")


# --------------------------------------------------------------------------- helpers


@pytest.mark.parametrize(
    ("ref", "want"),
    [
        ("https://t.me/durov/519", ("telegram:durov", 519)),
        ("https://t.me/s/durov/519", ("telegram:durov", 519)),
        ("http://t.me/durov/519", ("telegram:durov", 519)),
        ("t.me/durov/519", ("telegram:durov", 519)),
        ("t.me/s/durov/519", ("telegram:durov", 519)),
        ("durov/519", ("telegram:durov", 519)),
        ("@durov/519", ("telegram:durov", 519)),
        ("  https://t.me/OSINTdefender/12345/  ", ("telegram:osintdefender", 12345)),
        ("https://telegram.me/durov/519?single", ("telegram:durov", 519)),
        ("https://T.ME/durov/519#x", ("telegram:durov", 519)),
        ("telegram:durov/519", ("telegram:durov", 519)),
        ("rss:bbc_photo/70123", ("rss:bbc_photo", 70123)),
    ],
)
def test_parse_post_ref_accepts(ref: str, want: tuple[str, int]) -> None:
    assert parse_post_ref(ref) == want


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("", "empty post reference"),
        ("https://t.me/durov", "names a channel, not a post"),
        ("https://t.me/s/durov", "names a channel, not a post"),
        ("durov", "names a channel, not a post"),
        ("https://t.me/c/1234567/89", "private-channel link"),
        ("https://example.com/durov/519", "is not a Telegram post link"),
        ("example.com/durov/519", "is not a Telegram post link"),
        ("javascript:alert(1)", "cannot read"),
        ("ftp://t.me/durov/519", "only http(s) links"),
        ("durov/abc", "is not a post number"),
        ("durov/0", "is not a post number"),
        ("du-rov/5", "is not a Telegram channel name"),
        ("durov/519/extra", "cannot read"),
        ("https://t.me/durov/519\u202e", "control or invisible characters"),
        ("durov /519", "control or invisible characters"),
    ],
)
def test_parse_post_ref_refuses_readably(ref: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_post_ref(ref)
    assert message in str(info.value)
    assert "\u202e" not in str(info.value)


def test_permalink_is_canonical() -> None:
    p = tg("Durov", 519, "2026-06-30T18:02:11+00:00")
    p.url = "https://telegram.me/s/Durov/519?single"
    assert permalink(p) == "https://t.me/Durov/519"
    assert permalink(wire_posts()[1].post) == "https://www.bbc.co.uk/news/in-pictures-70123"


def test_fmt_utc() -> None:
    assert fmt_utc(ts("2026-06-30T18:02:59+00:00")) == "2026-06-30 18:02 UTC"
    assert fmt_utc(ts("2026-07-01T01:02:00+07:00")) == "2026-06-30 18:02 UTC"
    assert fmt_utc(datetime(2026, 6, 30, 18, 2)) == "2026-06-30 18:02 UTC"  # naive = UTC
    assert (
        fmt_utc(datetime(2026, 6, 30, 18, 2, tzinfo=timezone(timedelta(hours=-5)))) == "2026-06-30 23:02 UTC"
    )


def test_excerpt_cuts_on_a_word_boundary() -> None:
    text = "The quick brown fox jumps over the lazy dog"
    assert excerpt(text, 100) == text
    assert excerpt(text, 20) == "The quick brown fox…"  # "fox" ends at 19, the cut is at a space
    assert excerpt(text, 18) == "The quick brown…"
    assert len(excerpt(text, 18)) <= 18
    assert excerpt("https://example.com/" + "a" * 100, 20) == "https://example.com…"[:19] + "…"
    assert excerpt("line one\nline\ttwo  three", 100) == "line one line two three"
    assert excerpt("Hello, world and more", 13) == "Hello, world…"
    assert excerpt("Hello, wonderful", 9) == "Hello…"  # no trailing comma before the ellipsis
    assert excerpt("One. Two three four", 8) == "One…"  # no ".…"
    assert excerpt("", 10) == ""


# --------------------------------------------------------------------------- golden: real samples


# When each capture was rendered (MANIFEST.md); the store would have first seen its posts then.
REAL_FILES = {
    "durov": ("durov_sherlock.html", CAPTURED),
    "mchs": ("mchs_bryansk_cdsiren.html", datetime(2024, 12, 5, 18, 13, 42, tzinfo=UTC)),
    "infoscape": ("infoscape_test_infoscape.html", datetime(2022, 5, 24, 19, 11, 15, tzinfo=UTC)),
    # No render time in the file: the fixture's commit day (rust-any2feed 734216592af5).
    "hidden": ("oper_goblin_any2feed__message_voice.html", datetime(2023, 2, 28, tzinfo=UTC)),
}


def _real_posts() -> dict[str, list[StoredPost]]:
    """Posts parsed from the real captures by the project's parser, as the store would hold them
    after one poll at the capture time (skip when the parser is not there yet)."""
    try:
        telegram = importlib.import_module("deskapp.core.sources.telegram")
    except ImportError as exc:
        pytest.skip(f"deskapp.core.sources.telegram is not importable yet ({exc}); own fixtures still run")
    parse_file = getattr(telegram, "parse_file", None)
    if parse_file is None:
        pytest.skip("deskapp.core.sources.telegram has no parse_file yet; own fixtures still run")
    out: dict[str, list[StoredPost]] = {}
    for key, (name, captured) in REAL_FILES.items():
        page = parse_file(TELEGRAM / name)
        out[key] = [
            stored(p, first_seen=captured, views_seen=captured if p.views else None)
            for p in getattr(page, "posts", page)
        ]
    return out


@needs_samples
@pytest.mark.samples
def test_golden_real_durov_all_posts_text() -> None:
    durov = _real_posts()["durov"]
    assert len(durov) == 20
    durov[0].pin_note = "lead item"
    c = render(durov, now=NOW)
    assert c.count == 20 and c.refused == []
    assert len(set(re.findall(r"https://t\.me/durov/\d+", c.text))) == 20
    check_golden("real_durov_default.txt", c.text)


@needs_samples
@pytest.mark.samples
@pytest.mark.parametrize("fmt", FORMATS)
def test_golden_real_mixed_all_options(fmt: str) -> None:
    real = _real_posts()
    by_id = {sp.post.id: sp for sp in real["durov"]}
    picked = [by_id[539], by_id[519], by_id[527]]
    by_id[539].pin_note = "lead item"
    fwd = [sp for sp in real["mchs"] if sp.post.forwarded_from is not None][:1]
    reply = [sp for sp in real["infoscape"] if sp.post.reply_to][:1]
    hidden = [sp for sp in real["hidden"] if sp.post.forwarded_from is not None][:1]
    assert fwd and reply and hidden, "the parser lost a forward or a reply"
    posts = picked + fwd + reply + hidden + [by_id[539]]  # the last one is a repeat
    c = render(posts, dataclasses.replace(ALL_ON, fmt=fmt), now=NOW)
    assert c.count == 6 and c.duplicates == 1 and c.refused == []
    check_golden(f"real_mixed_all.{EXT[fmt]}", c.text)


def test_naive_times_are_taken_as_utc_whatever_the_local_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        post = tg("durov", 519, "2026-06-30T18:02:11")  # naive
        sp = stored(post, first_seen=datetime(2026, 6, 30, 18, 5), views_seen=datetime(2026, 6, 30, 19, 0))
        sp.last_seen = datetime(2026, 6, 30, 20, 0)
        post.views = "1K"
        d = json.loads(render([sp], CiteOptions(fmt="json")).text)[0]
        assert (d["published"], d["first_seen"], d["last_seen"], d["views_seen"]) == (
            "2026-06-30T18:02:11Z",
            "2026-06-30T18:05:00Z",
            "2026-06-30T20:00:00Z",
            "2026-06-30T19:00:00Z",
        )
        assert d["archive"] is None
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_compact_date_parts_leave_string_values_alone() -> None:
    sp = stored(tg("durov", 1, "2026-06-30T18:00:00+00:00", "[[2026, 6, 30]]", channel_title="[[1,\t2,\t3]]"))
    item = json.loads(render([sp], CiteOptions(fmt="csl-json")).text)[0]
    assert item["issued"] == {"date-parts": [[2026, 6, 30]]}
    assert item["title"] == "[[2026, 6, 30]]" and item["container-title"] == "[[1, 2, 3]]"


def test_excerpt_of_a_huge_post_reads_only_its_head_but_stays_exact() -> None:
    import time

    huge = "слово " * 200_000  # 1.2 M characters
    start = time.perf_counter()
    got = excerpt(huge, 120)
    assert time.perf_counter() - start < 0.05
    assert got == ("слово " * 20).strip() + "…" and len(got) <= 120
    # A head eaten by blanks or escape sequences falls back to the whole text.
    assert excerpt(" " * 5000 + "hello world", 20) == "hello world"
    assert excerpt("\x1b[31m" * 3000 + "abc def " * 10, 20) == "abc def abc def abc…"
