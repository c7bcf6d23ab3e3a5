"""What a feed line shows besides its text: forwards, replies, edits and media are marked; a post of
media only says what it is instead of '(no text)'."""

from __future__ import annotations

import dataclasses

from deskapp.core.model import ForwardedFrom
from deskapp.ui.text import post_marks
from tests.ui.conftest import add_posts, build_store, make_app, make_post, settle
from tests.ui.screen_text import screen_text


def test_marks_name_media_as_an_editor_would() -> None:
    assert post_marks(forwarded=True, reply=True, edited=True, media=["photo", "photo", "document"]) == [
        "fwd", "reply", "edited", "2 photos", "file"]
    assert post_marks(forwarded=False, reply=False, edited=False, media=["round_video", "poll"]) == ["video", "poll"]
    assert post_marks(forwarded=False, reply=False, edited=False, media=[]) == []


def line_of(text: str, needle: str) -> str:
    return next(line for line in text.splitlines() if needle in line)


async def test_feed_lines_mark_forwards_replies_edits_and_media(desk_paths) -> None:
    posts = [
        dataclasses.replace(make_post(1, text="Forwarded report"), forwarded_from=ForwardedFrom("Other Desk", None)),
        dataclasses.replace(make_post(2, text="Answering the ministry"), reply_to="https://t.me/alpha_news/900"),
        dataclasses.replace(make_post(3, text="Corrected figure"), edited=True),
        dataclasses.replace(make_post(4, text=""), media=["photo"]),
        dataclasses.replace(make_post(5, text="Footage from the port"), media=["video"]),
        dataclasses.replace(make_post(6, text="The decree"), media=["document"]),
        dataclasses.replace(make_post(7, text="Which bridge?"), media=["poll"]),
        dataclasses.replace(make_post(8, text=""), media=["photo", "photo", "photo"]),
        make_post(9, text="Plain words"),
        make_post(10, text=""),
    ]
    build_store(desk_paths.store, 0, extra=posts)
    app = make_app(desk_paths, watch_interval=30)
    async with app.run_test(size=(120, 30)) as pilot:
        text = screen_text(app)
        assert "[fwd] Forwarded report" in line_of(text, "Forwarded report")
        assert "[reply] Answering the ministry" in line_of(text, "Answering")
        assert "[edited] Corrected figure" in line_of(text, "Corrected")
        assert "[photo] (no caption)" in text and "[3 photos] (no caption)" in text
        assert "[video] Footage from the port" in text
        assert "[file] The decree" in text and "[poll] Which bridge?" in text
        assert "Plain words" in text and "[" not in line_of(text, "Plain words").split("Plain")[0].split("Osint")[-1]
        assert "(no text)" in line_of(text, "1010")  if "1010" in text else "(no text)" in text
        # A text that changes after capture is marked as edited, in place.
        add_posts(desk_paths.store, [make_post(9, text="Plain words, corrected")])
        app._refresh_from_store()
        await settle(pilot)
        assert "[edited] Plain words, corrected" in screen_text(app)
        # The pinboard shows the same marks, and a photo alone says so.
        await pilot.press("g", *["j"] * 2, "p")  # post 8: three photos, no caption
        await settle(pilot)
        assert "[3 photos] (no caption)" in line_of(screen_text(app), " 1  ")
