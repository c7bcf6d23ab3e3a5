"""Where desk keeps its files (platformdirs), with overrides from the command line and environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP = "desk"


@dataclass(frozen=True, slots=True)
class Paths:
    config: Path  # the settings file (may not exist: defaults apply)
    store: Path  # the SQLite store
    state: Path  # folder for logs and the last citation
    store_url: str | None = None  # a PostgreSQL server (--db / [store] url) instead of the file

    @property
    def last_citation(self) -> Path:
        return self.state / "last-citation.txt"

    @property
    def log(self) -> Path:
        return self.state / "desk.log"

    @property
    def demo_log(self) -> Path:
        """`desk --demo` logs here, apart from the desk's own log (its other files are thrown away)."""
        return self.state / "demo.log"

    def as_rows(self) -> list[tuple[str, Path]]:
        return [
            ("config", self.config),
            ("store", Path(self.store_url) if self.store_url else self.store),
            ("state", self.state),
            ("last citation", self.last_citation),
            ("log", self.log),
            ("demo log", self.demo_log),
        ]


def default_config() -> Path:
    return Path(platformdirs.user_config_dir(APP)) / "config.toml"


def default_store() -> Path:
    return Path(platformdirs.user_data_dir(APP)) / "desk.db"


def default_state() -> Path:
    return Path(platformdirs.user_state_dir(APP))


def resolve_config(cli_value: str | None) -> Path:
    """--config wins, then DESK_CONFIG, then the platform default."""
    if cli_value:
        return Path(cli_value).expanduser()
    env = os.environ.get("DESK_CONFIG")
    if env:
        return Path(env).expanduser()
    return default_config()
