"""Storage faults through the installed desk, on real file systems: a store on a read-only mount is
said to be on one (never "damaged") and can still be searched; a disk that fills during `desk import`
says so and keeps what was stored; `/dev/zero` as a page or as the settings ends in one line with
bounded memory. Mounting needs root (CAP_SYS_ADMIN): without it those tests skip."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from deskapp.demo.tme import render_page
from tests.adversary.helpers_b import needs_desk, run_measured
from tests.wire import make_channel

pytestmark = needs_desk


@contextmanager
def tmpfs(where: Path, size: str) -> Iterator[Path]:
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def _page(path: Path, handle: str, n: int, text: str | None = None) -> Path:
    ch = make_channel(handle, n)
    for p in ch.posts:
        p.text = text or p.text
    path.write_text(render_page(ch, ch.posts), encoding="utf-8")
    return path


def _one_line(out: str) -> str:
    lines = [ln for ln in out.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in out, out
    return lines[0]


def test_a_store_on_a_read_only_file_system_is_not_damaged(tmp_path: Path) -> None:
    page = _page(tmp_path / "p.html", "ro_chan", 5)
    with tmpfs(tmp_path / "mnt", "16m") as mnt:
        db = mnt / "s.db"
        code, out, _ = run_measured(["--db", str(db), "import", str(page)])
        assert code == 0, out
        subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
        code, out, _ = run_measured(["--db", str(db), "search", "number"])
        assert code == 0 and len(out.splitlines()) == 5, out  # still readable
        for args in (["sources"], ["import", str(page)]):
            code, out, _ = run_measured(["--db", str(db), *args])
            line = _one_line(out)
            assert code == 1 and "read-only file system" in line and "damaged" not in line, (args, out)
        code, out, _ = run_measured(["--db", str(db), "check", "--repair"])
        assert code == 0 and "ok (5 posts" in out and "read-only file system" in out, out


def test_a_full_disk_during_import_says_so(tmp_path: Path) -> None:
    pages = [_page(tmp_path / "small.html", "small_chan", 3)]
    pages += [_page(tmp_path / f"fat{i}.html", f"fat_chan{i}", 20, "x" * 60_000) for i in range(6)]
    with tmpfs(tmp_path / "mnt", "3m") as mnt:
        db = mnt / "s.db"
        code, out, _ = run_measured(["--db", str(db), "import", *map(str, pages)])
        assert code == 1 and "Traceback" not in out and "unexpected" not in out, out
        last = out.splitlines()[-1]
        assert "disk is full" in last and "import stopped" in last, out
        subprocess.run(["mount", "-o", "remount,size=64m", str(mnt)], check=True)
        with sqlite3.connect(db) as con:
            assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            kept = con.execute("SELECT count(*) FROM posts").fetchone()[0]
        assert kept >= 3  # what was stored before the disk filled is still there
        code, out, _ = run_measured(["--db", str(db), "check"])
        assert code == 0, out


def test_endless_files_end_with_one_line_in_bounded_memory(tmp_path: Path) -> None:
    code, out, import_kb = run_measured(["--db", str(tmp_path / "s.db"), "import", "/dev/zero"])
    assert code == 1 and "/dev/zero" in _one_line(out) and "page cap" in out, out
    code, out, config_kb = run_measured(["--config", "/dev/zero", "locate"])
    assert code == 2 and "not a regular file" in _one_line(out), out
    code, out, parse_kb = run_measured(["parse", "/dev/zero"])
    assert code == 1 and "page cap" in _one_line(out), out
    assert max(import_kb, config_kb, parse_kb) < 200 * 1024, (import_kb, config_kb, parse_kb)
