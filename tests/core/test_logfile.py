"""The log rotates: bounded in size with a few old files kept, also when two desk processes write it."""

from __future__ import annotations

import logging
from pathlib import Path

from deskapp import cli
from deskapp.logfile import LOG_BACKUPS, LOG_MAX_BYTES, LogFile
from deskapp.paths import Paths


def record(i: int) -> logging.LogRecord:
    return logging.LogRecord("desk.poller", logging.INFO, __file__, 1, "poll %d " + "x" * 180, (i,), None)


def log_files(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in sorted(folder.iterdir())}


def test_the_log_rotates_and_keeps_a_few_files(tmp_path: Path) -> None:
    handler = LogFile(tmp_path / "desk.log", max_bytes=10_000, backups=2)
    try:
        for i in range(2_000):  # ~400 KB written
            handler.handle(record(i))
    finally:
        handler.close()
    files = log_files(tmp_path)
    assert set(files) == {"desk.log", "desk.log.1", "desk.log.2"}
    assert all(size <= 10_000 for size in files.values())
    assert "poll 1999 " in (tmp_path / "desk.log").read_text(encoding="utf-8")  # the newest is kept


def test_two_processes_sharing_the_log_keep_it_bounded(tmp_path: Path) -> None:
    # Two handlers on one path, as the desk and `desk poll` each have: one rotating the file must
    # not leave the other writing into the renamed or deleted one without bound.
    a = LogFile(tmp_path / "desk.log", max_bytes=10_000, backups=2)
    b = LogFile(tmp_path / "desk.log", max_bytes=10_000, backups=2)
    try:
        for i in range(2_000):
            (a if i % 3 else b).handle(record(i))
            for h in (a, b):  # what each has open is never far past the cap
                assert h.stream is None or h.stream.tell() <= 10_000 + 400
    finally:
        a.close()
        b.close()
    files = log_files(tmp_path)
    assert set(files) <= {"desk.log", "desk.log.1", "desk.log.2"}
    assert all(size <= 10_000 + 400 for size in files.values())
    # Each wrote its last records into the current file, not into one the other had rotated away.
    current = (tmp_path / "desk.log").read_text(encoding="utf-8")
    assert "poll 1999 " in current and "poll 1998 " in current and "poll 1997 " in current


def test_the_cli_logs_through_the_rotating_file(tmp_path: Path) -> None:
    paths = Paths(config=tmp_path / "c.toml", store=tmp_path / "desk.db", state=tmp_path / "state")
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        cli._setup_logging(paths, verbose=False)
        handlers = [h for h in root.handlers if isinstance(h, LogFile)]
        assert len(handlers) == 1 and handlers[0].baseFilename == str(paths.log)
        assert handlers[0].maxBytes == LOG_MAX_BYTES and handlers[0].backupCount == LOG_BACKUPS
        logging.getLogger("desk").info("hello")
        handlers[0].flush()
        assert "hello" in paths.log.read_text(encoding="utf-8")
    finally:
        for h in root.handlers:
            if h not in saved[0]:
                h.close()
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
