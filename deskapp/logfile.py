"""The desk's log file: bounded in size, a few old files kept.

The desk and `desk poll` may write the same log at once. Each rotates when the file at the path is
full; one that finds the file already rotated by another process moves to the new file instead of
growing the old one (which would otherwise grow without bound, renamed or deleted).
"""

from __future__ import annotations

import logging
import os
from logging.handlers import RotatingFileHandler
from pathlib import Path

LOG_MAX_BYTES = 1_000_000  # one file
LOG_BACKUPS = 3  # desk.log.1 .. desk.log.3 kept beside desk.log


class LogFile(RotatingFileHandler):
    """`LogFile(path)`: a size-rotated log shared safely by several desk processes."""

    def __init__(self, path: Path, max_bytes: int = LOG_MAX_BYTES, backups: int = LOG_BACKUPS) -> None:
        super().__init__(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8", delay=True)

    def shouldRollover(self, record: logging.LogRecord) -> bool:  # noqa: N802 (logging's name)
        if self.stream is not None:
            try:
                current = os.path.samestat(os.fstat(self.stream.fileno()), os.stat(self.baseFilename))
            except OSError:
                current = False
            if not current:  # rotated (or removed) by another process: write to the file at the path
                self.stream.close()
                self.stream = self._open()
        return bool(super().shouldRollover(record))
