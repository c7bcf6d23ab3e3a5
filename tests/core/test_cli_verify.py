"""`desk pin / unpin / pins / verify / evidence / archive / cite --checked --archive`, end to end against a
loopback wire whose posts change and vanish between fetches, and a Save Page Now stand-in."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from deskapp.cli import main
from deskapp.demo.server import Fault, SavePageNow, WireServer
from tests.wire import config_toml, make_channel


@pytest.fixture(params=["sqlite", "postgresql"])
def wire(request, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The wire, polled once into s.db; on PostgreSQL, `desk db copy` then moves the store to a new
    database on the session's throwaway server and the settings point at it ([store] url)."""
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    monkeypatch.delenv("DESK_CONFIG", raising=False)
    with WireServer() as server:
        server.add(make_channel("alpha", 30))
        server.add(make_channel("beta", 4))
        SavePageNow(server)
        cfg = tmp_path / "desk.toml"
        cfg.write_text(config_toml(server, ["alpha", "beta"], tmp_path / "s.db", tmp_path / "state", min_gap=0.0)
                       + f'[verify]\narchive = "{server.url}"\narchive_gap = 0\n')
        monkeypatch.setenv("DESK_CONFIG", str(cfg))
        assert main(["poll", "--once"]) == 0
        if request.param == "postgresql":
            from tests.conftest import new_pg_database

            url = new_pg_database(request.getfixturevalue("pg_server"))
            assert main(["db", "copy", str(tmp_path / "s.db"), url]) == 0
            cfg.write_text(cfg.read_text().replace("[store]\n", f'[store]\nurl = "{url}"\n'))
        yield server


def out_of(capsys: pytest.CaptureFixture) -> tuple[str, str]:
    cap = capsys.readouterr()
    return cap.out, cap.err


def test_pin_verify_evidence_archive_cite(wire: WireServer, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out_of(capsys)
    assert main(["pin", "alpha/5", "https://t.me/alpha/6", "alpha/7", "beta/2", "--note", "lead"]) == 0
    out, _ = out_of(capsys)
    assert "pinned 4 posts" in out and out.count("captured") == 4
    assert [h.path for h in wire.hits[-4:]] == ["/s/alpha/5", "/s/alpha/6", "/s/alpha/7", "/s/beta/2"]

    assert main(["pins", "--json"]) == 0
    rows = [json.loads(line) for line in out_of(capsys)[0].splitlines()]
    assert [r["post"] for r in rows] == ["telegram:alpha/5", "telegram:alpha/6", "telegram:alpha/7",
                                         "telegram:beta/2"]
    assert rows[0]["permalink"] == "https://t.me/alpha/5" and rows[0]["note"] == "lead"
    assert rows[0]["last_check"]["result"] == "captured"

    assert main(["verify", "--pins"]) == 0  # nothing changed yet
    assert out_of(capsys)[0].count("unchanged") == 4

    # Between fetches: one post edited, one deleted, one channel gone.
    alpha = wire.channels["alpha"]
    alpha.posts[5].text = "alpha post number 6\nsecond line (corrected)"
    alpha.posts = [p for p in alpha.posts if p.id != 7]
    wire.no_preview.add("beta")
    before = len(wire.hits)
    assert main(["verify", "--pins", "--json"]) == 1
    res = {r["post"]: r for r in map(json.loads, out_of(capsys)[0].splitlines())}
    assert res["telegram:alpha/5"]["result"] == "unchanged"
    assert res["telegram:alpha/6"]["result"] == "edited" and "{+(corrected)+}" in res["telegram:alpha/6"]["detail"]
    assert res["telegram:alpha/7"]["result"] == "deleted"
    assert res["telegram:beta/2"]["result"] == "channel_gone"
    assert all(r["checked"].endswith("Z") for r in res.values())
    assert len(wire.hits) - before == 3  # alpha once for three pins, beta and its redirect

    assert main(["pins"]) == 0
    listing = out_of(capsys)[0]
    assert "[deleted or hidden just now]" in listing and "[edited since capture just now]" in listing

    # Archive through the stand-in; the citation uses what it answered.
    assert main(["archive", "alpha/5", "alpha/6"]) == 0
    out = out_of(capsys)[0]
    assert wire.archive is not None and wire.archive.saved == ["https://t.me/alpha/5", "https://t.me/alpha/6"]
    assert f"archived: {wire.url}/web/" in out
    assert main(["cite", "--pins", "--archive", "--checked"]) == 0
    cite = out_of(capsys)[0]
    line5 = next(line for line in cite.splitlines() if "t.me/alpha/5" in line)
    assert f"archive: {wire.url}/web/" in line5 and "/https://t.me/alpha/5" in line5 and "; checked 20" in line5
    line7 = next(line for line in cite.splitlines() if "t.me/alpha/7" in line)
    assert "deleted after capture; captured text SHA-256 " in line7 and "archive: none yet" in line7

    # The evidence file: warcio reads it back, and so do its own check and index commands.
    warc = tmp_path / "ev.warc.gz"
    assert main(["evidence", "--pins", "-o", str(warc)]) == 0
    assert "4 posts, 12 checks" in out_of(capsys)[0]
    kinds, manifest, bodies = [], {}, {}
    with open(warc, "rb") as fh:
        for rec in ArchiveIterator(fh):
            kinds.append(rec.rec_type)
            if rec.rec_type == "resource":
                assert rec.rec_headers.get_header("WARC-Target-URI") == "urn:desk:manifest"
                manifest = json.loads(rec.content_stream().read())
            elif rec.rec_type == "response":
                bodies[rec.rec_headers.get_header("WARC-Record-ID")] = rec.content_stream().read()
    assert kinds[0] == "warcinfo" and kinds[-1] == "resource"
    assert kinds.count("request") == kinds.count("response") >= 7
    post7 = next(p for p in manifest["posts"] if p["post"] == "telegram:alpha/7")
    assert post7["permalink"] == "https://t.me/alpha/7"
    assert [c["result"] for c in post7["checks"]] == ["captured", "unchanged", "deleted"]
    post5 = next(p for p in manifest["posts"] if p["post"] == "telegram:alpha/5")
    [snap] = post5["snapshots"]
    assert snap["snapshot"].startswith(f"{wire.url}/web/") and snap["exchanges"][0]["status"] == 302
    assert snap["exchanges"][0]["response_record"] in bodies
    first = post7["checks"][0]["exchanges"][0]
    assert hashlib.sha256(bodies[first["response_record"]]).hexdigest() == first["body_sha256"]
    assert b"alpha post number 7" in bodies[first["response_record"]]
    for tool in ("check", "index"):
        proc = subprocess.run([sys.executable, "-m", "warcio.cli", tool, str(warc)], capture_output=True,
                              text=True, timeout=60)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    index = [json.loads(line) for line in proc.stdout.splitlines()]
    assert any(i.get("warc-target-uri") == f"{wire.url}/s/alpha/7" for i in index)

    assert main(["unpin", "alpha/7"]) == 0
    assert main(["pins", "--json"]) == 0
    assert "alpha/7" not in out_of(capsys)[0]


def test_archive_stops_politely_on_429(wire: WireServer, capsys: pytest.CaptureFixture) -> None:
    assert wire.archive is not None
    wire.archive.faults.append(Fault("status", code=429, retry_after="600"))
    assert main(["archive", "alpha/1", "alpha/2"]) == 1
    out = out_of(capsys)[0]
    assert "alpha/1  not archived: rate limited (HTTP 429)" in out
    assert "alpha/2  not archived: not asked: the archive asked us to slow down" in out
    assert wire.archive.saved == []


def test_usage_errors_are_one_line(wire: WireServer, capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    out_of(capsys)
    assert main(["verify"]) == 2
    assert main(["pin", "alpha/999"]) == 1
    assert main(["evidence", "--pins", "-o", str(tmp_path / "nope" / "x.warc.gz")]) == 2
    assert main(["pins", "--desk", "no such desk"]) == 2
    err = out_of(capsys)[1]
    assert len(err.splitlines()) == 4 and "Traceback" not in err


def test_pin_says_when_the_capture_failed(wire: WireServer, capsys: pytest.CaptureFixture) -> None:
    wire.fault("alpha", Fault("status", code=503))
    assert main(["pin", "alpha/3"]) == 1
    out, err = out_of(capsys)
    assert "could not check" in out and "HTTP 503" in out and "pins are kept" in err
    assert main(["pins", "--json"]) == 0
    assert json.loads(out_of(capsys)[0])["last_check"]["result"] == "unchecked"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_replay_tool_opens_the_evidence_file(wire: WireServer, tmp_path: Path,
                                               capsys: pytest.CaptureFixture) -> None:
    """pywb (Webrecorder's replay tools) indexes the file and replays the captured page from it."""
    import time
    import urllib.request

    bin_dir = Path(sys.executable).parent
    assert main(["pin", "alpha/7"]) == 0
    warc = tmp_path / "ev.warc.gz"
    assert main(["evidence", "alpha/7", "-o", str(warc)]) == 0
    out_of(capsys)
    coll = tmp_path / "replay"
    coll.mkdir()
    for args in (["init", "ev"], ["add", "ev", str(warc)]):
        proc = subprocess.run([str(bin_dir / "wb-manager"), *args], cwd=coll, capture_output=True, text=True,
                              timeout=60)
        assert proc.returncode == 0, proc.stderr
    port = _free_port()
    server = subprocess.Popen([str(bin_dir / "wayback"), "-p", str(port), "-b", "127.0.0.1"], cwd=coll,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/ev/2id_/{wire.url}/s/alpha/7"  # id_: the page as captured
        body = b""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=5) as resp:
                    body = resp.read()
                    break
            except OSError:
                time.sleep(0.2)  # the replay server is still starting
        assert b"alpha post number 7" in body
    finally:
        server.terminate()
        server.wait(10)
