"""A throwaway PostgreSQL server for the tests, started from the Debian server binaries.

The server runs as the `postgres` user when the tests run as root (PostgreSQL refuses to run as
root), listens on 127.0.0.1 on a free port and on a socket in its own temporary folder, and is
stopped and removed when the session ends. Durability is switched off: it holds test data only.

Outside CI a machine without the binaries skips the PostgreSQL tests with a reason; in CI
(`CI=true`) a missing server is a failure, because `.ci/run` installs it.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


class PgUnavailable(Exception):
    """The server binaries are missing or the server would not start."""


@dataclass(frozen=True)
class PgServer:
    url: str
    port: int
    folder: Path


def bindir() -> Path | None:
    """Where initdb and pg_ctl live: pg_config's answer, else the newest Debian version folder."""
    found: list[Path] = []
    if shutil.which("pg_config"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, timeout=10)
            found.append(Path(out.stdout.strip()))
    found += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    for path in found:
        if (path / "initdb").is_file() and (path / "pg_ctl").is_file():
            return path
    return None


def _reachable_tmp() -> str:
    """A temporary folder the server user can reach: the run's own one (tests/conftest.py) is
    private to root, so as root the server's folder goes to the system's /tmp instead (and is
    removed at the end all the same)."""
    here = Path(tempfile.gettempdir())
    if os.geteuid() != 0 or all(p.stat().st_mode & 0o001 for p in (here, *here.parents)):
        return str(here)
    return "/tmp"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    runner = shutil.which("runuser") or shutil.which("setpriv")
    if runner is None:
        raise PgUnavailable("running as root and neither runuser nor setpriv is available")
    if runner.endswith("runuser"):
        return [runner, "-u", "postgres", "--", *cmd]
    return [runner, "--reuid=postgres", "--regid=postgres", "--init-groups", *cmd]


@contextlib.contextmanager
def running_server() -> Iterator[PgServer]:
    """Start a fresh cluster, yield its URL, stop and delete it afterwards."""
    bins = bindir()
    if bins is None:
        raise PgUnavailable("PostgreSQL server binaries not found (pg_config --bindir, /usr/lib/postgresql/*/bin)")
    folder = Path(tempfile.mkdtemp(prefix="desk-pg-", dir=_reachable_tmp()))
    data = folder / "data"
    try:
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres", "postgres")
        folder.chmod(0o700)
        init = subprocess.run(
            _as_server_user([str(bins / "initdb"), "-D", str(data), "-U", "desk", "-A", "trust",
                             "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]),
            capture_output=True, text=True, timeout=120,
        )
        if init.returncode != 0:
            raise PgUnavailable(f"initdb failed: {init.stderr.strip()[-400:]}")
        port = _free_port()
        opts = (f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100")
        start = subprocess.run(
            _as_server_user([str(bins / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"),
                             "-o", opts, "-w", "-t", "60", "start"]),
            capture_output=True, text=True, timeout=90,
        )
        if start.returncode != 0:
            log = (folder / "server.log").read_text(errors="replace")[-400:] if (folder / "server.log").exists() else ""
            raise PgUnavailable(f"pg_ctl start failed: {start.stderr.strip()[-300:]} {log}")
        try:
            _wait_ready(port)
            yield PgServer(url=f"postgresql://desk@127.0.0.1:{port}/postgres", port=port, folder=folder)
        finally:
            subprocess.run(_as_server_user([str(bins / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
                           capture_output=True, timeout=60)
    finally:
        # Kill anything left (a crashed stop) before removing the folder.
        shutil.rmtree(folder, ignore_errors=True)


def _wait_ready(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.05)
    raise PgUnavailable(f"server did not accept connections on port {port} within {timeout:.0f} s")
