"""Poller CPU per 100 sources polled, beside plain httpx fetching the same pages.

    python -m benchmarks.bench_poller [--channels N] [--rounds R] [--json]

A local WireServer (deskapp/demo/server.py) runs in a CHILD process, so rendering the pages never
counts against the poller; it serves N channels of 20 posts of generated multi-script text
(benchmarks/gen.py). In this process, `Poller.run_once()` polls every channel once (one host,
`min_gap=0`, no jitter, no backfill), and the process CPU time (`time.process_time`: user + system,
all threads) is measured around it. Scenarios, each a median over R rounds:

* `changed`   every channel got one new post since the last poll: N x (200, parse, ingest 1 new +
              19 unchanged posts). The headline figure.
* `unchanged` nothing new: N x 304 Not Modified (the poller sends the ETag it stored).
* `first`     first sight of N channels in a fresh store: N x (200, parse, ingest 20 new posts).

Baselines in the same run: the same N GETs with a plain `httpx.AsyncClient` (no parsing, no store),
and `parse_page` alone over the same N bodies, so the poller's own overhead is visible. Every figure
is scaled to 100 sources. `run_once` includes one `Store.open` (with its quick_check) and one
`sync_sources`; `store_open_cpu_ms` says what that costs (the long-running `run()` pays it once).

`run(channels=100, rounds=5) -> dict` is the entry point for the suite. `start_server()` is shared
with benchmarks/bench_latency.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parents[1]
POSTS_PER_CHANNEL = 20


# --------------------------------------------------------------------------------- server child


def handle(i: int) -> str:
    """Server channel handles: distinct from the generated stores' channels (benchmarks/gen.py)."""
    return f"Bench{i:04d}"


def _channels(n: int, posts: int) -> list[Any]:
    """n channels of `posts` posts of generated text (several scripts), oldest first."""
    from benchmarks.gen import generate_posts
    from deskapp.demo.tme import FakeChannel, FakePost

    chans = [FakeChannel(handle(i), f"Bench channel {i}", f"Channel {i} of the poller benchmark.")
             for i in range(n)]
    texts = generate_posts(n * posts, channels=n, seed=7)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    for i, ch in enumerate(chans):
        for j in range(posts):
            post = next(texts)
            ch.posts.append(FakePost(1000 + j, t0 + timedelta(minutes=i * posts + j), post.text,
                                     views=post.views, photo=bool(post.media)))
    return chans


def _serve(channels: int, posts: int) -> None:
    """The server child: prints `READY <url>`, serves until stdin closes."""
    from deskapp.demo.server import WireServer
    from deskapp.demo.tme import FakePost

    class BenchServer(WireServer):
        """WireServer plus a control path: GET /_bench/add[?handle=H] adds a post now."""

        def _handle(self, req: Any) -> None:
            parts = urlsplit(req.path)
            if parts.path != "/_bench/add":
                super()._handle(req)
                return
            handle = parse_qs(parts.query).get("handle", [None])[0]
            added = []
            now = datetime.now(UTC).replace(microsecond=0)
            with self.lock:
                targets = [self.channels[handle.lower()]] if handle else list(self.channels.values())
                for ch in targets:
                    pid = ch.posts[-1].id + 1
                    ch.posts.append(FakePost(pid, now, f"Fresh report {pid} from {ch.handle}: новости 新闻 عاجل",
                                             views="1"))
                    added.append([ch.handle, pid, now.isoformat()])
                self.hits.clear()  # keep the server's memory flat over long runs
            self._send(req, 200, json.dumps({"added": added}).encode())

    server = BenchServer()
    # TCP_NODELAY: WireServer writes the headers and the body in two sends; with Nagle on, the
    # body's last segment waits for the client's delayed ACK (~40 ms a request on loopback).
    server._httpd.RequestHandlerClass.disable_nagle_algorithm = True  # type: ignore[attr-defined]
    for ch in _channels(channels, posts):
        server.add(ch)
    server.start()
    print(f"READY {server.url}", flush=True)
    try:
        sys.stdin.read()  # EOF: the parent is done (or gone)
    finally:
        server.stop()


@dataclass
class ServerProc:
    """A WireServer in a child process; `add()` puts a new post on it and returns what was added."""

    proc: subprocess.Popen[str]
    url: str
    handles: list[str]

    def add(self, handle: str | None = None) -> list[tuple[str, int, str]]:
        query = f"?handle={handle}" if handle else ""
        with urllib.request.urlopen(f"{self.url}/_bench/add{query}", timeout=10) as resp:
            return [tuple(x) for x in json.loads(resp.read())["added"]]  # type: ignore[misc]

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()  # type: ignore[union-attr]
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(timeout=10)

    def __enter__(self) -> ServerProc:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_server(channels: int, posts: int = POSTS_PER_CHANNEL) -> ServerProc:
    env = dict(os.environ)
    env["PYTHONPATH"] = f"{ROOT}{os.pathsep}{env.get('PYTHONPATH', '')}"
    proc = subprocess.Popen([sys.executable, "-m", "benchmarks.bench_poller", "--serve", "--channels",
                             str(channels), "--posts", str(posts)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    line = ""
    deadline = time.monotonic() + 60

    def read() -> None:
        nonlocal line
        line = proc.stdout.readline()  # type: ignore[union-attr]

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(max(0.0, deadline - time.monotonic()))
    if not line.startswith("READY "):
        proc.kill()
        raise RuntimeError(f"benchmark server did not start (said {line!r})")
    return ServerProc(proc, line.split()[1], [handle(i) for i in range(channels)])


# ------------------------------------------------------------------------------------- measuring


def settings_for(url: str, handles: list[str], **poller: Any) -> Any:
    from deskapp.config import Settings
    from deskapp.core.model import SourceConfig
    from deskapp.core.settings import PollerSettings

    cfg = dict(min_gap=0.0, gap_jitter=0.0, backfill_pages=0, timeout=10.0)
    cfg.update(poller)
    interval = cfg.pop("source_interval", None)
    sources = [SourceConfig(name=f"telegram:{h.lower()}", kind="telegram", handle=h, base_url=url,
                            interval=interval) for h in handles]
    return Settings(base_url=url, sources=sources, poller=PollerSettings(**cfg))


def _cpu() -> tuple[float, float]:
    return time.process_time(), time.perf_counter()


async def _poller_round(store: Path, settings: Any) -> tuple[float, float, list[Any]]:
    from deskapp.core.poller import Poller

    poller = Poller(store, settings)
    c0, w0 = _cpu()
    summaries = await poller.run_once()
    c1, w1 = _cpu()
    return c1 - c0, w1 - w0, summaries


async def _httpx_round(urls: list[str]) -> tuple[float, float, list[bytes]]:
    import httpx

    c0, w0 = _cpu()
    bodies = []
    async with httpx.AsyncClient(follow_redirects=True, timeout=10.0, trust_env=False) as client:
        for url in urls:
            resp = await client.get(url)
            bodies.append(resp.content)
    c1, w1 = _cpu()
    return c1 - c0, w1 - w0, bodies


def _parse_cpu(bodies: list[bytes], urls: list[str]) -> float:
    from deskapp.core.sources.telegram import parse_page

    c0 = time.process_time()
    for body, url in zip(bodies, urls, strict=True):
        parse_page(body, url=url, final_url=url)
    return time.process_time() - c0


def _store_open_cpu(store: Path, settings: Any) -> float:
    from deskapp.core.store import Store

    c0 = time.process_time()
    with Store.open(store) as s:
        s.sync_sources(settings.sources)
    return time.process_time() - c0


def _med_ms(values: list[float], scale: float) -> float:
    return round(statistics.median(values) * 1000 * scale, 2)


def run(channels: int = 100, rounds: int = 5, *, log: Any = None) -> dict[str, Any]:
    """Poller CPU per 100 sources polled (median of `rounds`), with the httpx and parse baselines."""
    log = log or (lambda _msg: None)
    scale = 100 / channels
    tmp = Path(tempfile.mkdtemp(prefix="bench_poller_"))
    store = tmp / "poller.db"
    out: dict[str, Any] = {"channels": channels, "rounds": rounds, "scaled_to": 100}
    with start_server(channels) as server:
        settings = settings_for(server.url, server.handles)
        urls = [s.url for s in settings.sources]

        async def main() -> None:
            first_cpu, first_wall, summ = await _poller_round(store, settings)
            bad = [s.line() for s in summ if not s.ok]
            if bad:
                raise RuntimeError("poller failed on the benchmark server: " + "; ".join(bad[:3]))
            out["first_posts_new"] = sum(s.new for s in summ)
            changed: dict[str, list[float]] = {"cpu": [], "wall": []}
            unchanged: dict[str, list[float]] = {"cpu": [], "wall": []}
            base: dict[str, list[float]] = {"cpu": [], "wall": []}
            parse: list[float] = []
            new_seen = []
            for r in range(rounds):
                await asyncio.to_thread(server.add)
                cpu, wall, summ = await _poller_round(store, settings)
                changed["cpu"].append(cpu)
                changed["wall"].append(wall)
                new_seen.append(sum(s.new for s in summ))
                cpu, wall, summ = await _poller_round(store, settings)
                unchanged["cpu"].append(cpu)
                unchanged["wall"].append(wall)
                # Baseline: the same pages (all 200, full bodies) with plain httpx.
                cpu, wall, bodies = await _httpx_round(urls)
                base["cpu"].append(cpu)
                base["wall"].append(wall)
                parse.append(_parse_cpu(bodies, urls))
                log(f"poller round {r + 1}/{rounds}: changed {changed['cpu'][-1] * 1000 * scale:.0f} ms CPU, "
                    f"httpx {cpu * 1000 * scale:.0f} ms CPU per 100 sources")
            out["first_cpu_ms"] = round(first_cpu * 1000 * scale, 1)
            out["first_wall_ms"] = round(first_wall * 1000 * scale, 1)
            out["changed_cpu_ms"] = _med_ms(changed["cpu"], scale)
            out["changed_cpu_runs_ms"] = [round(x * 1000 * scale, 1) for x in changed["cpu"]]
            out["changed_wall_ms"] = _med_ms(changed["wall"], scale)
            out["changed_new_posts"] = new_seen
            out["unchanged_cpu_ms"] = _med_ms(unchanged["cpu"], scale)
            out["unchanged_wall_ms"] = _med_ms(unchanged["wall"], scale)
            out["httpx_cpu_ms"] = _med_ms(base["cpu"], scale)
            out["httpx_wall_ms"] = _med_ms(base["wall"], scale)
            out["parse_cpu_ms"] = _med_ms(parse, scale)
            out["page_kb"] = round(statistics.median(len(b) for b in bodies) / 1024, 1)

        asyncio.run(main())
        out["store_open_cpu_ms"] = round(statistics.median(
            _store_open_cpu(store, settings) for _ in range(3)) * 1000, 1)
    out["overhead_cpu_ms"] = round(out["changed_cpu_ms"] - out["httpx_cpu_ms"], 1)
    out["rest_cpu_ms"] = round(out["changed_cpu_ms"] - out["httpx_cpu_ms"] - out["parse_cpu_ms"], 1)
    for p in tmp.iterdir():
        p.unlink()
    tmp.rmdir()
    return out


def _print(res: dict[str, Any]) -> None:
    print(f"== poller, {res['channels']} channels on a local server (figures per 100 sources, medians of "
          f"{res['rounds']})")
    print(f"  every channel changed  {res['changed_cpu_ms']:8.1f} ms CPU  ({res['changed_wall_ms']:.0f} ms wall)"
          f"  runs {res['changed_cpu_runs_ms']}")
    print(f"    baseline plain httpx {res['httpx_cpu_ms']:8.1f} ms CPU  ({res['httpx_wall_ms']:.0f} ms wall)")
    print(f"    parse_page alone     {res['parse_cpu_ms']:8.1f} ms CPU  ({res['page_kb']} KB pages)")
    print(f"    the rest (store, scheduling) {res['rest_cpu_ms']:.1f} ms CPU; Store.open+sync_sources "
          f"{res['store_open_cpu_ms']} ms CPU per run_once")
    print(f"  nothing changed (304)  {res['unchanged_cpu_ms']:8.1f} ms CPU  ({res['unchanged_wall_ms']:.0f} ms wall)")
    print(f"  first sight (20 new)   {res['first_cpu_ms']:8.1f} ms CPU  ({res['first_wall_ms']:.0f} ms wall)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--channels", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--posts", type=int, default=POSTS_PER_CHANNEL, help=argparse.SUPPRESS)
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.serve:
        _serve(args.channels, args.posts)
        return 0
    res = run(args.channels, args.rounds, log=print)
    print(json.dumps(res) if args.json else "", end="\n" if args.json else "")
    if not args.json:
        _print(res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
