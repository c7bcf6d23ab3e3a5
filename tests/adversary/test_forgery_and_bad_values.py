"""An adversary's attacks on the installed `desk` (the venv's console script, run as a process) with
a hostile server on 127.0.0.1 (tests/rawwire.py serves exactly the forged bytes and headers):

* forged provenance: posts of another channel on the page asked for, a page that is all another
  channel's, a redirect to another origin, one id twice with different content; and the citation
  must say how each post was captured;
* unclean fields: every escape, C1 and bidi trick of tests/hostile.py, read back as raw bytes from
  `desk search --json`, `desk parse` and `desk cite --format json`;
* bad values: times at year 1 and 9999, view counts past int64, ids of 0 and 2^64, cursors of 10^30
  and a non-ASCII ETag: the sound posts are kept, and every later poll works.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from deskapp.demo.tme import FakeChannel, FakePost, render_page
from tests.adversary.helpers_b import desk_config, needs_desk
from tests.e2e.tmux import DESK
from tests.hostile import EDGE_HANDLE, EDGE_KEPT, EDGE_REFUSED, edge_values_page, hostile_channel, page_mixing
from tests.scripted_http import ScriptedServer
from tests.wire import T0, make_channel

pytestmark = needs_desk

# Bytes a terminal would obey or that disguise text, as they appear in UTF-8 output: ESC and the
# other C0 controls but \t \n, DEL, C1 (U+0080..U+009F) and the bidi controls.
_C1 = [bytes([0xC2, b]) for b in range(0x80, 0xA0)]
_BIDI = [ch.encode() for ch in "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"]


def unsafe_bytes(data: bytes) -> list[bytes]:
    found = [bytes([b]) for b in set(data) if (b < 0x20 and b not in b"\t\n") or b == 0x7F]
    return found + [seq for seq in _C1 + _BIDI if seq in data]


def desk(home: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    """The installed desk, its paths kept in the test's folder, bounded in time."""
    assert DESK is not None
    env = {**os.environ, **{v: str(home / v.lower()) for v in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME")}}
    env.pop("DESK_CONFIG", None)
    return subprocess.run([DESK, *args], capture_output=True, timeout=60, env=env, cwd=home)


@pytest.fixture
def wire():
    with ScriptedServer() as w:
        yield w


def test_posts_of_another_channel_are_refused_and_the_rest_is_cited_with_its_capture(
        wire: ScriptedServer, tmp_path: Path) -> None:
    alpha, beta = make_channel("alpha", 3), FakeChannel("beta", "Beta")
    wire.route("/s/alpha", page_mixing(alpha, [(beta, FakePost(9, T0, "forged"))]))
    cfg = desk_config(tmp_path, wire.url, ["alpha"])
    run = desk(tmp_path, "--config", str(cfg), "poll", "--once")
    assert run.returncode == 0, run.stderr
    assert b"1 post of @beta on the page of @alpha: refused" in run.stdout
    found = desk(tmp_path, "--config", str(cfg), "search", "--json", "forged")
    assert found.returncode == 0 and found.stdout == b""
    sources = desk(tmp_path, "--config", str(cfg), "sources")
    assert b"warning" in sources.stdout and b"@beta" in sources.stdout
    cite = desk(tmp_path, "--config", str(cfg), "cite", "--format", "json", "alpha/3")
    [item] = json.loads(cite.stdout)
    assert item["captured"]["how"] == "fetched" and item["captured"]["from"] == f"{wire.url}/s/alpha"
    assert desk(tmp_path, "--config", str(cfg), "cite", "beta/9").returncode == 1  # not in the store


def test_a_page_of_another_channel_or_another_origin_stores_nothing(wire: ScriptedServer, tmp_path: Path) -> None:
    beta = make_channel("beta", 3)
    wire.route("/s/alpha", render_page(beta, beta.posts))
    with ScriptedServer() as elsewhere:
        elsewhere.route("/s/gamma", render_page(make_channel("gamma", 2), make_channel("gamma", 2).posts))
        wire.route("/s/gamma", b"", 302, {"Location": f"{elsewhere.url}/s/gamma"})
        cfg = desk_config(tmp_path, wire.url, ["alpha", "gamma"])
        run = desk(tmp_path, "--config", str(cfg), "poll", "--once")
        assert elsewhere.hits == []
    assert run.returncode == 1
    out = run.stdout.decode()
    assert "telegram:alpha: FAILED: page refused" in out and "@beta" in out
    assert "telegram:gamma: FAILED:" in out and "another origin" in out
    assert "Traceback" not in run.stderr.decode()
    for query in ("beta", "gamma", "post"):
        assert desk(tmp_path, "--config", str(cfg), "search", "--json", query).stdout == b""


def test_an_id_twice_with_different_content_is_not_stored(wire: ScriptedServer, tmp_path: Path) -> None:
    alpha = make_channel("alpha", 3)
    wire.route("/s/alpha", page_mixing(alpha, [(alpha, FakePost(2, T0, "the other post 2"))]))
    cfg = desk_config(tmp_path, wire.url, ["alpha"])
    run = desk(tmp_path, "--config", str(cfg), "poll", "--once")
    assert run.returncode == 0 and b"alpha/2 appears twice" in run.stdout
    ids = [json.loads(x)["id"] for x in desk(tmp_path, "--config", str(cfg), "search", "--json", "alpha").stdout.splitlines()]
    assert sorted(ids) == [1, 3]


def test_no_unsafe_byte_reaches_the_json_commands(wire: ScriptedServer, tmp_path: Path) -> None:
    ch = hostile_channel()
    page = render_page(ch, ch.posts)
    wire.route(f"/s/{ch.handle}", page)
    cfg = desk_config(tmp_path, wire.url, [ch.handle])
    assert desk(tmp_path, "--config", str(cfg), "poll", "--once").returncode == 0
    for query in ("copy", "bidi", "forwarded", "link", "title"):
        out = desk(tmp_path, "--config", str(cfg), "search", "--json", "--limit", "100", query)
        assert out.returncode == 0 and out.stdout and unsafe_bytes(out.stdout) == [], query
    cite = desk(tmp_path, "--config", str(cfg), "cite", "--format", "json",
                *[f"{ch.handle}/{p.id}" for p in ch.posts])
    assert cite.returncode == 0 and unsafe_bytes(cite.stdout) == []
    assert len(json.loads(cite.stdout)) == len(ch.posts)
    file = tmp_path / "hostile.html"
    file.write_text(page, encoding="utf-8")
    parsed = desk(tmp_path, "--db", str(tmp_path / "other.db"), "parse", str(file))
    assert parsed.returncode == 0 and len(parsed.stdout.splitlines()) == len(ch.posts)
    assert unsafe_bytes(parsed.stdout) == [] and unsafe_bytes(parsed.stderr) == []


def test_bad_values_cost_only_themselves_poll_after_poll(wire: ScriptedServer, tmp_path: Path) -> None:
    wire.route(f"/s/{EDGE_HANDLE}", edge_values_page(), headers={"ETag": '"caf\u00e9"'})
    cfg = desk_config(tmp_path, wire.url, [EDGE_HANDLE])
    for n in range(3):
        run = desk(tmp_path, "--config", str(cfg), "poll", "--once")
        assert run.returncode == 0, (n, run.stdout, run.stderr)
        assert f"telegram:{EDGE_HANDLE}: ok".encode() in run.stdout
    assert {h.headers.get("If-None-Match") for h in wire.hits} == {None}
    found = desk(tmp_path, "--config", str(cfg), "search", "--json", "edge")
    assert sorted(json.loads(x)["id"] for x in found.stdout.splitlines()) == sorted(EDGE_KEPT)
    sources = desk(tmp_path, "--config", str(cfg), "sources")
    assert sources.returncode == 0 and f"refused {len(EDGE_REFUSED)} items".encode() in sources.stdout
    # The same page by file: parse and import keep the same posts and say what they refused.
    file = tmp_path / "edge.html"
    file.write_text(edge_values_page(), encoding="utf-8")
    parsed = desk(tmp_path, "--db", str(tmp_path / "f.db"), "parse", str(file))
    assert parsed.returncode == 0 and len(parsed.stdout.splitlines()) == len(EDGE_KEPT)
    assert parsed.stderr.count(b"refused") == len(EDGE_REFUSED) and b"Traceback" not in parsed.stderr
    imported = desk(tmp_path, "--db", str(tmp_path / "f.db"), "import", str(file))
    assert imported.returncode == 0 and f"{len(EDGE_KEPT)} new".encode() in imported.stdout
