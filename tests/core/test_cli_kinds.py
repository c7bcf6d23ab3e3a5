"""`desk parse` and `desk import` with responses of every kind: recognised, or named by --kind."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from deskapp.cli import main
from deskapp.demo.others import Account, Item, render_account_rss, render_bluesky, render_rss, render_statuses

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)



def files(home: Path) -> dict[str, Path]:
    items = [Item(i, T0.replace(minute=i), f"update {i} on the storm") for i in range(1, 4)]
    masto = Account("mastodon", "fire@social.example", "Fire", items, account_id=100)
    bodies = {
        "rss": render_rss(Account("rss", "alerts", "Alerts", items), "https://alerts.example.gov"),
        "bluesky": render_bluesky(Account("bluesky", "alerts.example.org", "Alerts", items), None),
        "mastodon": render_statuses(masto, None, "https://social.example")[0],
        "mastodon-rss": render_account_rss(masto),
    }
    out = {}
    for name, body in bodies.items():
        out[name] = home / f"{name}.saved"
        out[name].write_bytes(body)
    return out


@pytest.mark.parametrize(("name", "source", "url"), [
    ("rss", "rss:https://alerts.example.gov/", "https://alerts.example.gov/news/1"),
    ("bluesky", "bluesky:alerts.example.org", "https://bsky.app/profile/alerts.example.org/post/"),
    ("mastodon", "mastodon:fire@social.example", "https://social.example/@fire/1"),
    ("mastodon-rss", "mastodon:fire@social.example", "https://social.example/@fire/1"),
])
def test_parse_recognises_the_kind(home: Path, capsys: pytest.CaptureFixture, name: str, source: str,
                                   url: str) -> None:
    assert main(["parse", str(files(home)[name])]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 3 and all(r["source"] == source for r in rows)
    assert rows[0]["url"].startswith(url) and rows[0]["native_id"] and rows[0]["kind"] == source.split(":")[0]
    assert all(r["published"].startswith("2026-12-01T09:0") for r in rows)


def test_parse_kind_option_and_errors(home: Path, capsys: pytest.CaptureFixture) -> None:
    paths = files(home)
    assert main(["parse", "--kind", "rss", "--url", "https://alerts.example.gov/feed.xml", str(paths["rss"])]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows[0]["source"] == "rss:https://alerts.example.gov/feed.xml"
    assert main(["parse", "--kind", "bluesky", str(paths["rss"])]) == 0  # told wrong: nothing, and why
    captured = capsys.readouterr()
    assert captured.out == "" and "not JSON" in captured.err
    junk = home / "junk.txt"
    junk.write_text("hello")
    assert main(["parse", str(junk)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "name the kind with --kind" in err[0]


def test_import_every_kind_then_search_and_cite(home: Path, capsys: pytest.CaptureFixture) -> None:
    db = home / "s.db"
    paths = files(home)
    assert main(["--db", str(db), "import", *map(str, paths.values())]) == 0
    out = capsys.readouterr().out
    assert "imported: 9 new" in out  # the Mastodon RSS repeats the statuses' ids: the same 3 posts
    assert main(["--db", str(db), "search", "--json", "storm"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {r["source"] for r in rows} == {"rss:https://alerts.example.gov/", "bluesky:alerts.example.org",
                                           "mastodon:fire@social.example"}
    bsky = next(r for r in rows if r["source"].startswith("bluesky:"))
    assert bsky["id"] >= 10**12  # a TID's value: the store's form takes up to 19 digits
    assert main(["--db", str(db), "cite", f"bluesky:alerts.example.org/{bsky['id']}"]) == 0
    assert bsky["url"] in capsys.readouterr().out
    assert main(["--db", str(db), "cite", "https://social.example/@fire/2",
                 "https://alerts.example.gov/news/3?utm_source=rss&utm_medium=feed"]) == 2  # not canonical: unknown
    capsys.readouterr()
    assert main(["--db", str(db), "cite", "https://social.example/@fire/2", "https://alerts.example.gov/news/3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "- Fire (@fire@social.example on Mastodon), https://social.example/@fire/2, 2026-12-01 09:02 UTC" in lines
    assert any(ln.startswith("- Alerts (RSS feed https://alerts.example.gov/), https://alerts.example.gov/news/3, "
                             "2026-12-01 09:03 UTC") for ln in lines)
