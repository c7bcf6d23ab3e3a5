"""The headless `desk` commands, run as a user runs them (subprocess) or through `main()`."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from deskapp.cli import main
from deskapp.demo.server import WireServer
from deskapp.demo.tme import FakePost, render_page
from tests.samples import TELEGRAM, needs_samples
from tests.wire import config_toml, make_channel

ROOT = Path(__file__).resolve().parents[2]


def run_desk(*args: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "deskapp.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=full_env, cwd=ROOT)



def page_file(tmp_path: Path, n: int = 3, handle: str = "Some_Chan") -> Path:
    ch = make_channel(handle, n)
    ch.posts[1].author = "Desk Editor"
    ch.posts[2].text = "edited\n[@click=app.quit] \x1b]52;c;aGk=\x07 text"
    ch.posts[2].edited = True
    path = tmp_path / f"{handle}.html"
    path.write_text(render_page(ch, ch.posts), encoding="utf-8")
    return path


def test_bad_config_is_one_line_and_exit_2(home: Path, capsys: pytest.CaptureFixture) -> None:
    cfg = home / "bad.toml"
    cfg.write_text('[telegram]\nchannels = [{ name = "ok_name", interval = "soon" }]\n')
    assert main(["--config", str(cfg), "sources"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(cfg) in err and "telegram.channels[0].interval" in err
    assert "Traceback" not in err


def test_config_from_env_and_missing_explicit_file(home: Path, capsys: pytest.CaptureFixture,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESK_CONFIG", str(home / "missing.toml"))
    assert main(["locate"]) == 2
    assert "file not found" in capsys.readouterr().err


def test_locate_prints_every_path(home: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["--db", str(home / "x.db"), "locate"]) == 0
    out = capsys.readouterr().out
    for name in ("config", "store", "state", "last citation", "log"):
        assert any(line.startswith(name) for line in out.splitlines()), name
    assert str(home / "x.db") in out


def test_parse_prints_stable_json_lines(home: Path, capsys: pytest.CaptureFixture) -> None:
    path = page_file(home)
    assert main(["parse", str(path)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["id"] for r in rows] == [1, 2, 3]
    assert list(rows[0]) == ["source", "channel", "id", "url", "published", "text", "author", "views", "edited",
                             "forwarded_from", "reply_to", "album_ids", "media", "service"]
    assert rows[0]["source"] == "telegram:some_chan" and rows[0]["channel"] == "Some_Chan"
    assert rows[0]["url"] == "https://t.me/Some_Chan/1" and rows[0]["published"] == "2026-06-30T18:01:00Z"
    assert rows[1]["author"] == "Desk Editor" and rows[2]["edited"] is True
    assert "\x1b" not in rows[2]["text"] and "[@click=app.quit]" in rows[2]["text"]


@needs_samples
def test_parse_real_page(capsys: pytest.CaptureFixture) -> None:
    assert main(["parse", str(TELEGRAM / "durov_sherlock.html")]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 20 and rows[0]["url"] == "https://t.me/durov/519"
    assert rows[0]["published"] == "2026-05-20T15:38:10Z"


def test_parse_unreadable_file_is_one_line(home: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["parse", str(home / "nope.html")]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_import_then_search_and_cite(home: Path, capsys: pytest.CaptureFixture) -> None:
    db = home / "s.db"
    path = page_file(home, n=5)
    assert main(["--db", str(db), "import", str(path)]) == 0
    assert "5 new" in capsys.readouterr().out
    assert main(["--db", str(db), "import", str(path)]) == 0
    assert "0 new" in capsys.readouterr().out

    assert main(["--db", str(db), "search", "number", "--limit", "2", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["id"] for r in rows] == [5, 4]  # newest first

    assert main(["--db", str(db), "cite", "Some_Chan/4", "https://t.me/s/Some_Chan/2"]) == 0
    out = capsys.readouterr().out
    assert "https://t.me/Some_Chan/4" in out and "https://t.me/Some_Chan/2" in out
    assert "2026-06-30 18:04 UTC" in out

    assert main(["--db", str(db), "cite", "Some_Chan/99"]) == 1
    assert "not in the store" in capsys.readouterr().err


def test_import_of_an_unreadable_file_is_one_line(home: Path, capsys: pytest.CaptureFixture) -> None:
    path = page_file(home, n=3)
    assert main(["--db", str(home / "s.db"), "import", str(path), str(home / "gone.html")]) == 1
    out, err = capsys.readouterr()
    assert "3 posts (telegram:some_chan)" in out
    assert err.count("\n") == 1 and "gone.html: cannot read" in err and "files before it are stored" in err


def test_sources_lists_health(home: Path, capsys: pytest.CaptureFixture) -> None:
    cfg = home / "c.toml"
    cfg.write_text('[telegram]\nchannels = ["first_one", "second_one"]\n')
    assert main(["--config", str(cfg), "--db", str(home / "s.db"), "sources"]) == 0
    out = capsys.readouterr().out
    assert "telegram:first_one" in out and "new" in out


def test_poll_once_against_local_server(home: Path) -> None:
    with WireServer() as server:
        server.add(make_channel("wire_one", 25))
        server.add(make_channel("wire_two", 4))
        server.no_preview.add("wire_two")
        cfg = home / "c.toml"
        db = home / "s.db"
        cfg.write_text(config_toml(server, ["wire_one", "wire_two"], db, home / "state"))
        res = run_desk("--config", str(cfg), "poll", "--once")
    assert res.returncode == 1, res.stderr  # one source failed
    lines = res.stdout.strip().splitlines()
    assert lines[0].startswith("telegram:wire_one: ok, 25 new")
    assert lines[1].startswith("telegram:wire_two: FAILED: no public preview")
    with sqlite3.connect(db) as con:
        assert con.execute("select count(*) from posts").fetchone()[0] == 25


def test_sigkill_while_polling_loses_nothing_reported(home: Path) -> None:
    """Kill -9 `desk poll` at random moments while it writes; the store stays sound and holds every
    page the poller reported stored."""
    rng = random.Random(7)
    handles = [f"chan_{i:02d}" for i in range(12)]
    with WireServer() as server:
        for h in handles:
            server.add(make_channel(h, 70))
        for round_ in range(4):
            db = home / f"kill{round_}.db"
            cfg = home / f"kill{round_}.toml"
            cfg.write_text(config_toml(server, handles, db, home / "state", min_gap=0.0, backfill_pages=3))
            env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
            proc = subprocess.Popen([sys.executable, "-m", "deskapp.cli", "--config", str(cfg), "poll"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
            reported: dict[str, int] = {}
            pages = 0
            deadline = time.monotonic() + 20
            kill_after = rng.randint(2, 25)  # kill after this many reported pages
            assert proc.stdout is not None
            while time.monotonic() < deadline:
                line = proc.stdout.readline()
                if not line:
                    break
                if " new, " in line:
                    _, src, rest = line.split(" ", 2)
                    reported[src.rstrip(":")] = reported.get(src.rstrip(":"), 0) + int(rest.split()[0])
                    pages += 1
                    if pages >= kill_after:
                        break
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            con = sqlite3.connect(db)
            try:
                assert con.execute("pragma integrity_check").fetchone()[0] == "ok"
                for src, n in reported.items():
                    have = con.execute("select count(*) from posts where source = ?", [src]).fetchone()[0]
                    assert have >= n, (round_, src, have, n)
            finally:
                con.close()
            assert reported, f"round {round_}: nothing was reported before the kill"


@contextlib.contextmanager
def poll_process(cfg: Path, *, ignore_hup: bool = False) -> Iterator[subprocess.Popen[str]]:
    """`desk poll` in its own process group, with SIGINT at its default whatever the test runner's
    own is (a background job's children start with SIGINT ignored); killed with its group on exit."""

    def child() -> None:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGHUP, signal.SIG_IGN if ignore_hup else signal.SIG_DFL)  # as `nohup` does

    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "deskapp.cli", "--config", str(cfg), "poll"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
                            start_new_session=True, preexec_fn=child)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=10)


def wait_line(proc: subprocess.Popen[str], text: str, timeout: float = 15) -> None:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if text in line:
            return
        assert line, f"desk poll ended before printing {text!r}"
    raise AssertionError(f"no {text!r} from desk poll within {timeout} s")


def test_poll_ctrl_c_stops_cleanly(home: Path) -> None:
    with WireServer() as server:
        server.add(make_channel("calm", 5))
        cfg = home / "c.toml"
        cfg.write_text(config_toml(server, ["calm"], home / "s.db", home / "state"))
        with poll_process(cfg) as proc:
            wait_line(proc, "5 new")
            os.kill(proc.pid, signal.SIGINT)  # to the process itself: no terminal involved
            out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "stopped" in out and "Traceback" not in err


def test_poll_under_nohup_keeps_ignoring_sighup(home: Path) -> None:
    with WireServer() as server:
        ch = make_channel("calm", 5)
        server.add(ch)
        cfg = home / "c.toml"
        cfg.write_text(config_toml(server, ["calm"], home / "s.db", home / "state"))
        with poll_process(cfg, ignore_hup=True) as proc:
            wait_line(proc, "5 new")
            os.kill(proc.pid, signal.SIGHUP)
            ch.posts.append(make_channel("calm", 1, start_id=6).posts[0])
            wait_line(proc, "1 new")  # still polling after the hangup
            assert proc.poll() is None
            os.kill(proc.pid, signal.SIGTERM)
            out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0 and "stopped" in out, err


def test_demo_page_renders_service_post(tmp_path: Path) -> None:
    # Our page generator and the parser agree on service posts (used by the demo).
    from deskapp.core.sources.telegram import parse_page
    from deskapp.demo.tme import FakeChannel

    ch = FakeChannel("svc_chan", "Svc")
    ch.posts = [FakePost(1, make_channel("x", 1).posts[0].published, "Channel created", service=True, views=None)]
    page = parse_page(render_page(ch, ch.posts))
    assert page.posts[0].service and page.posts[0].views is None


def test_desk_names_on_the_command_line_and_in_the_settings(home: Path, capsys: pytest.CaptureFixture) -> None:
    db = home / "d.db"
    assert main(["--db", str(db), "import", str(page_file(home))]) == 0
    from deskapp.core.store import Store

    with Store.open(db, desk="anna") as store:
        store.pin("telegram:some_chan", 2)
    cfg = home / "c.toml"
    cfg.write_text('[desk]\nname = "Anna"\n')
    capsys.readouterr()
    assert main(["--config", str(cfg), "--db", str(db), "cite", "--pins"]) == 0  # [desk] name
    assert "Some_Chan/2" in capsys.readouterr().out
    assert main(["--config", str(cfg), "--db", str(db), "cite", "--pins", "--desk", "ben"]) == 0  # --desk wins
    assert "Some_Chan" not in capsys.readouterr().out
    assert main(["--config", str(cfg), "--db", str(db), "--desk", "no spaces", "cite", "--pins"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("desk: --desk: 'no spaces' is not a desk name") and err.count("\n") == 1
    cfg.write_text('[desk]\nname = "a;b"\n')
    assert main(["--config", str(cfg), "--db", str(db), "cite", "--pins"]) == 2
    assert "desk.name: 'a;b' is not a desk name" in capsys.readouterr().err


def test_desk_cite_uses_the_desks_kept_format_heading_and_options(home: Path, capsys: pytest.CaptureFixture) -> None:
    """What an editor chose in the desk (F, H, O) shapes `desk cite` for that desk; flags still win."""
    db = home / "d.db"
    assert main(["--db", str(db), "import", str(page_file(home))]) == 0
    from deskapp.core.store import Store

    with Store.open(db, desk="anna") as store:
        store.pin("telegram:some_chan", 3)
        store.pin("telegram:some_chan", 1)
        store.set_desk_prefs(format="markdown", heading="Night desk ({count})",
                             options={"chronological": True, "notes": False})
    with Store.open(db, desk="ben") as store:
        store.pin("telegram:some_chan", 3)
    capsys.readouterr()
    assert main(["--db", str(db), "cite", "--pins", "--desk", "anna"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("### Night desk (2)")
    assert out.index("Some_Chan/1") < out.index("Some_Chan/3")  # oldest first, as the desk chose
    assert main(["--db", str(db), "cite", "--pins", "--desk", "anna", "--format", "text"]) == 0
    assert capsys.readouterr().out.startswith("Night desk (2)\n")  # the flag wins, the heading stays
    assert main(["--db", str(db), "cite", "--pins", "--desk", "ben"]) == 0
    assert capsys.readouterr().out.startswith("Wire provenance\n")  # another desk: the defaults


def test_search_language_and_its_errors(home: Path, capsys: pytest.CaptureFixture) -> None:
    db = home / "s.db"
    assert main(["--db", str(db), "import", str(page_file(home))]) == 0
    capsys.readouterr()
    assert main(["--db", str(db), "search", "--json", "source:some_chan since:2000-01-01"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3
    assert main(["--db", str(db), "search", "x since:someday"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("desk: search: cannot read 'someday' as a date") and err.count("\n") == 1
    assert main(["--db", str(db), "search", "source:nobody"]) == 2
    assert "no such source (sources: some_chan)" in capsys.readouterr().err


def test_sources_marks_removed_channels_and_forgets_them(home: Path, capsys: pytest.CaptureFixture) -> None:
    db = home / "f.db"
    assert main(["--db", str(db), "import", str(page_file(home))]) == 0
    capsys.readouterr()
    assert main(["--db", str(db), "sources"]) == 0
    out = capsys.readouterr().out
    assert "telegram:some_chan" in out and "not in settings" in out and "--forget NAME" in out
    cfg = home / "c.toml"
    cfg.write_text('[telegram]\nchannels = ["Some_Chan"]\n')
    assert main(["--config", str(cfg), "--db", str(db), "sources", "--forget", "some_chan"]) == 2
    assert "is in the settings" in capsys.readouterr().err
    assert main(["--db", str(db), "sources", "--forget", "Some_Chan"]) == 0
    assert "forgot telegram:some_chan and its 3 stored posts" in capsys.readouterr().out
    assert main(["--db", str(db), "sources", "--forget", "nobody"]) == 2


def test_small_things_on_the_command_line(home: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.startswith("desk ")
    # The demo needs a terminal like the desk (the test's stdout is not one).
    assert main(["--demo"]) == 1
    assert "the desk needs a terminal" in capsys.readouterr().err
    assert not list((home / "xdg_state_home").glob("**/demo.log"))  # refused before anything started
    # A wrong --format is the command line's mistake, not the settings file's.
    cfg = home / "c.toml"
    cfg.write_text('[cite]\nformat = "markdown"\n')
    assert main(["--config", str(cfg), "--db", str(home / "d.db"), "cite", "--pins", "--format", "xyz"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("desk: --format: unknown format 'xyz'") and str(cfg) not in err
    # Two actions on one key are reported, naming the line the editor wrote.
    cfg.write_text('[keys]\npin = "p,q"\n')
    assert main(["--config", str(cfg), "locate"]) == 2
    assert "keys.pin: 'q' is also the key of quit (Quit)" in capsys.readouterr().err
