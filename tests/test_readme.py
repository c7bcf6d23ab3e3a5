"""The README's examples are what the desk really prints."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from deskapp.core import cite
from deskapp.core.model import Post, StoredPost

README = Path(__file__).resolve().parents[1] / "README.md"
TEXT = "Port authority reports a fire in a warehouse near the east quay; no injuries so far."


def example_post() -> StoredPost:
    """The post the README's citation examples show."""
    post = Post(source="telegram:harbour_watch", channel="harbour_watch", id=412,
                url="https://t.me/harbour_watch/412", published=datetime(2026, 6, 30, 18, 2, tzinfo=UTC),
                text=TEXT, views="12.4K", views_count=12400, channel_title="Harbour Watch")
    return StoredPost(post=post, key=1, first_seen=datetime(2026, 6, 30, 18, 20, tzinfo=UTC),
                      last_seen=datetime(2026, 6, 30, 18, 40, tzinfo=UTC),
                      text_sha256=hashlib.sha256(TEXT.encode()).hexdigest(),
                      views_seen=datetime(2026, 6, 30, 18, 40, tzinfo=UTC), pinned=True, pin_note="fire, para 2")


def readme_block(intro: str) -> str:
    """The first ```json block after the paragraph that starts with `intro`."""
    text = README.read_text(encoding="utf-8")
    at = text.index(intro)
    m = re.compile(r"```json\n(.*?)\n```", re.S).search(text, at)
    assert m is not None, intro
    return m.group(1)


@pytest.mark.parametrize(("intro", "fmt"), [("JSON (every field", "json"), ("CSL-JSON (for reference", "csl-json")])
def test_json_examples_match_the_output(intro: str, fmt: str) -> None:
    printed = cite.render([example_post()], cite.CiteOptions(fmt=fmt)).text
    assert json.loads(readme_block(intro)) == json.loads(printed)
    assert readme_block(intro) == printed.rstrip("\n")  # the same layout too
