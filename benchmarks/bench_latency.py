"""Latency in the desk while posts arrive: key-to-repaint, and a new post's way onto the screen.

    python -m benchmarks.bench_latency [--store PATH] [--keys K] [--posts P] [--interval S] [--json]

Both run the real DeskApp headless (`App.run_test`, 120x40) in a CHILD process (fresh imports, no
other work in it), with timestamps taken by thin wrappers around FeedView/DeskApp methods in that
child only. A given store is copied first (posts are written into it); without one, a small store
of generated posts is built.

* `keys`: key-to-repaint (`j` x K, `pagedown` x K/4, `k` x K/2), first with a quiet store (the
  baseline, same run, same keys), then while another thread with its own Store commits a page of
  new posts every 0.25 s (as a poller would), which the desk notices through `PRAGMA data_version`.
  Latency = from sending the key to the first feed line drawn after the cursor moved. Keys are sent
  to the driver directly, 20 ms apart (key auto-repeat pace), not through Pilot.press (whose
  idle-waits would dominate). p50/p95/max, and how many store reloads the desk did meanwhile.
  The same keys again with the cursor half-way down the feed (`quiet_far`, `arriving_far`): there
  a reload must find the post under the cursor among hundreds of thousands of newer ones.

* `screen`: the desk polls (poll=True, the real Poller in its worker thread) a local WireServer
  running in another process, every source on a fixed `interval` (min_gap 0). A post is added on
  the server at a random phase of the poll cycle; measured until a frame that shows it is drawn.
  "Shows it" means the feed drew the post's line when the new line can be on screen (a small feed:
  a few channels over an otherwise empty store), and the frame after the feed was re-read with the
  post counted ("N new above" in the pane title) over a large store, where the desk deliberately
  keeps the line being read in place. Reported: total (post added -> on screen, dominated by the
  poll interval) and after the fetch that saw it (fetch done -> on screen: DESIGN's 0.5 s budget),
  with the parts: fetch -> committed (parse + store), committed -> feed re-read, -> frame drawn.

`run(store, *, keys=200, posts=8, interval=1.0) -> dict` is the entry point for the suite.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import dataclasses
import gc
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SIZE = (120, 40)
BUDGET_AFTER_FETCH_S = 0.5
BUDGET_KEY_P95_MS = 30.0


def _pct_ms(samples: list[float]) -> dict[str, Any]:
    if not samples:
        return {"n": 0}
    s = sorted(samples)
    return {"n": len(s), "p50_ms": round(statistics.median(s) * 1000, 2),
            "p95_ms": round(s[min(len(s) - 1, int(round(0.95 * (len(s) - 1))))] * 1000, 2),
            "max_ms": round(s[-1] * 1000, 2)}


# ------------------------------------------------------------------------------ instrumentation


class Marks:
    """Timestamps (perf_counter) collected by the wrappers below, in the child process."""

    def __init__(self) -> None:
        self.frames: list[float] = []
        self.moved: list[float] = []
        self.reloads: list[tuple[float, float]] = []
        self.titles: list[float] = []
        self.painted: dict[tuple[str, int], float] = {}
        self.fetched: dict[str, float] = {}  # url -> end of the last fetch
        self.stored: list[tuple[str, float, int, float]] = []  # (source, committed, new, fetch done)
        self.exit_races = 0
        self.handlers: dict[str, list[float]] = defaultdict(list)  # DeskApp handler -> durations
        self.lock = threading.Lock()


MARKS = Marks()
_INSTRUMENTED: list[Any] = []


def _instrument() -> Any:
    """Wrap FeedView methods (once) and return a DeskApp subclass recording frames and handlers."""
    if _INSTRUMENTED:
        return _INSTRUMENTED[0]
    from deskapp.ui.app import DeskApp
    from deskapp.ui.widgets.feed import FeedView

    clock = time.perf_counter
    render_line, reload, move_to = FeedView.render_line, FeedView.reload, FeedView.move_to

    def render_line_marked(self: FeedView, y: int) -> Any:
        strip = render_line(self, y)
        row = self.windows.cached(round(self.scroll_y) + y)
        if row is not None and (row.source, row.post_id) not in MARKS.painted:
            MARKS.painted[(row.source, row.post_id)] = clock()
        return strip

    def reload_marked(self: FeedView) -> None:
        t = clock()
        reload(self)
        MARKS.reloads.append((t, clock()))

    def move_to_marked(self: FeedView, index: int, **kw: Any) -> None:
        move_to(self, index, **kw)
        MARKS.moved.append(clock())

    FeedView.render_line = render_line_marked  # type: ignore[method-assign]
    FeedView.reload = reload_marked  # type: ignore[method-assign]
    FeedView.move_to = move_to_marked  # type: ignore[method-assign]

    class MarkedDesk(DeskApp):
        # A relative CSS_PATH is resolved against the subclass's module: point at the desk's own.
        CSS_PATH = str(Path(sys.modules[DeskApp.__module__].__file__ or "").parent / DeskApp.CSS_PATH)

        def _display(self, screen: Any, renderable: Any) -> None:
            if renderable is not None:
                MARKS.frames.append(clock())
            super()._display(screen, renderable)

        def _update_titles(self) -> None:
            super()._update_titles()
            MARKS.titles.append(clock())

    # Handler durations; signature-agnostic, and only for the methods this version of the desk has.
    for name in ("store_changed", "_refresh_from_store", "refresh_status", "refresh_pins", "_check_data_version",
                 "on_feed_view_unseen", "on_poller_event"):
        if hasattr(DeskApp, name):
            setattr(MarkedDesk, name, _timed_method(name, getattr(DeskApp, name)))
    _INSTRUMENTED.append(MarkedDesk)
    return MarkedDesk


def _timed_method(name: str, method: Any) -> Any:
    from textual.css.query import NoMatches

    def timed(self: Any, *args: Any, **kw: Any) -> Any:
        t = time.perf_counter()
        try:
            return method(self, *args, **kw)
        except NoMatches:
            # The desk's own shutdown race (a store-change timer or message handled after the main
            # screen is gone; reported): counted so the benchmark can finish.
            MARKS.exit_races += 1
            return None
        finally:
            MARKS.handlers[name].append(time.perf_counter() - t)

    return timed


def _marked_poller() -> Any:
    from deskapp.core.events import PollEvent, PollEventKind
    from deskapp.core.poller import Poller

    clock = time.perf_counter

    class MarkedPoller(Poller):
        def __init__(self, store_path: Path, settings: Any, *, on_event: Any = None, **kw: Any) -> None:
            def on_event_marked(event: PollEvent) -> None:
                if event.kind is PollEventKind.STORED and event.new:
                    url = next((s.url for s in settings.sources if s.name == event.source), "")
                    with MARKS.lock:
                        MARKS.stored.append((event.source, clock(), event.new, MARKS.fetched.get(url, 0.0)))
                if on_event is not None:
                    on_event(event)

            super().__init__(store_path, settings, on_event=on_event_marked, **kw)

        async def _fetch(self, client: Any, url: str, **kw: Any) -> Any:
            out = await super()._fetch(client, url, **kw)
            with MARKS.lock:
                MARKS.fetched[url] = clock()
            return out

    return MarkedPoller


def _first_after(times: list[float], t: float) -> float | None:
    return next((x for x in times if x >= t), None)


async def _wait(cond: Any, timeout: float, step: float = 0.001) -> bool:
    end = time.perf_counter() + timeout
    while not cond():
        if time.perf_counter() > end:
            return False
        await asyncio.sleep(step)
    return True


def _paths(store: Path) -> Any:
    from deskapp.paths import Paths

    state = Path(tempfile.mkdtemp(prefix="bench-latency-"))
    atexit.register(shutil.rmtree, state, ignore_errors=True)  # the desk's state (log, citation) is throwaway
    return Paths(config=state / "none.toml", store=store, state=state)


# ------------------------------------------------------------------------- keys while arriving


def _send_key(app: Any, key: str) -> None:
    from textual import events

    char = key if len(key) == 1 else None
    event = events.Key(key, char)
    event.set_sender(app)
    app._driver.send_message(event)


class Writer(threading.Thread):
    """Another Store in another thread: a page of `page` new posts every `every` s, newest first."""

    def __init__(self, store: Path, *, page: int = 5, every: float = 0.25) -> None:
        super().__init__(name="bench-writer", daemon=True)
        self.path, self.page, self.every = store, page, every
        self.halt = threading.Event()
        self.posts = 0
        self.pages = 0

    def run(self) -> None:
        from benchmarks.gen import generate_posts
        from deskapp.core.store import Store

        texts = generate_posts(100_000, channels=50, seed=99)
        with Store.open(self.path) as store:
            pid = 10_000_000
            while not self.halt.wait(self.every):
                now = datetime.now(UTC)
                batch = []
                for _ in range(self.page):
                    p = next(texts)
                    pid += 1
                    batch.append(dataclasses.replace(p, id=pid, published=now,
                                                     url=f"https://t.me/{p.channel}/{pid}"))
                by_source: dict[str, list[Any]] = defaultdict(list)
                for p in batch:
                    by_source[p.source].append(p)
                for source, items in by_source.items():
                    store.ingest_page(source, items, fetched_at=now)
                self.posts += len(batch)
                self.pages += 1


async def _keys(store: Path, keys: int) -> dict[str, Any]:
    from deskapp.config import Settings

    global MARKS
    MARKS = Marks()
    desk_cls = _instrument()
    app = desk_cls(settings=Settings(), paths=_paths(store), poll=False)
    out: dict[str, Any] = {}
    async with app.run_test(size=SIZE):
        feed = app.feed
        await _wait(lambda: feed.first_paint, 60)
        await asyncio.sleep(0.3)
        out["posts"] = feed.windows.total
        sequence = ["j"] * keys + ["pagedown"] * (keys // 4) + ["k"] * (keys // 2)

        async def phase(start: int = 0) -> tuple[list[float], int]:
            lat: list[float] = []
            waits.clear()
            draws.clear()
            gc_pauses.clear()
            missed = 0
            feed.move_to(start)
            await asyncio.sleep(0.05)
            for key in sequence:
                n_moved = len(MARKS.moved)
                t0 = time.perf_counter()
                _send_key(app, key)
                ok = await _wait(lambda n=n_moved: len(MARKS.moved) > n and feed.last_paint > MARKS.moved[n], 5.0,
                                 step=0.0005)
                if ok:
                    lat.append(feed.last_paint - t0)
                    waits.append(MARKS.moved[n_moved] - t0)  # queued behind other work on the UI loop
                    draws.append(feed.last_paint - MARKS.moved[n_moved])  # handler done -> line drawn
                else:
                    missed += 1
                await asyncio.sleep(0.02)
            return lat, missed

        waits: list[float] = []
        draws: list[float] = []
        gc_pauses: dict[int, list[float]] = defaultdict(list)
        gc_started = [0.0]

        def on_gc(stage: str, info: dict[str, Any]) -> None:
            if stage == "start":
                gc_started[0] = time.perf_counter()
            else:
                gc_pauses[info["generation"]].append(time.perf_counter() - gc_started[0])

        gc.callbacks.append(on_gc)

        def split(prefix: str) -> None:
            out[f"{prefix}_queued"] = _pct_ms(waits)
            out[f"{prefix}_drawn"] = _pct_ms(draws)
            out[f"{prefix}_gc"] = {str(g): {"n": len(v), "total_ms": round(sum(v) * 1000, 1),
                                            "max_ms": round(max(v) * 1000, 1)} for g, v in gc_pauses.items()}

        reloads_before = len(MARKS.reloads)
        quiet, missed_quiet = await phase()
        split("quiet")
        out["quiet"] = _pct_ms(quiet)
        out["quiet_reloads"] = len(MARKS.reloads) - reloads_before
        far = feed.windows.total // 2  # the editor reading far down: the anchor's index is large
        quiet_far, missed_far = await phase(far)
        split("quiet_far")
        out["quiet_far"] = _pct_ms(quiet_far)
        writer = Writer(store)
        writer.start()
        await asyncio.sleep(0.6)
        reloads_before = len(MARKS.reloads)
        t_start = time.perf_counter()
        busy, missed_busy = await phase()
        split("arriving")
        busy_far, missed_busy_far = await phase(far)
        split("arriving_far")
        out["arriving_far"] = _pct_ms(busy_far)
        spent = time.perf_counter() - t_start
        writer.halt.set()
        writer.join(10)
        gc.callbacks.remove(on_gc)
        out["arriving"] = _pct_ms(busy)
        reloads = MARKS.reloads[reloads_before:]
        out["arriving_reloads"] = len(reloads)
        out["reload_ms"] = _pct_ms([b - a for a, b in reloads])
        out["arriving_posts"] = writer.posts
        out["arriving_posts_per_s"] = round(writer.posts / spent, 1) if spent else 0
        out["missed_keys"] = missed_quiet + missed_busy + missed_far + missed_busy_far
        await asyncio.sleep(0.6)  # let the last store change be handled before shutting down
        out["handlers"] = {k: _pct_ms(v) for k, v in MARKS.handlers.items()}
    out["exit_races"] = MARKS.exit_races
    return out


# ----------------------------------------------------------------------------- post to screen


def _small_store(path: Path) -> None:
    """An empty store: the poller fills it from the server (first sight), so new lines fit on screen."""
    from deskapp.core.store import Store

    Store.open(path).close()


async def _screen(store: Path, server: Any, posts: int, interval: float) -> dict[str, Any]:
    from benchmarks.bench_poller import settings_for

    global MARKS
    MARKS = Marks()
    desk_cls = _instrument()
    poller_cls = _marked_poller()
    channels = len(server.handles)
    out: dict[str, Any] = {"interval_s": interval, "channels": channels}
    settings = settings_for(server.url, server.handles, source_interval=interval, interval=interval,
                            min_interval=interval, max_interval=interval, backoff_base=1.0, backoff_max=2.0)
    app = desk_cls(settings=settings, paths=_paths(store), poll=True, poller_factory=poller_cls)
    async with app.run_test(size=SIZE):
        feed = app.feed
        await _wait(lambda: feed.first_paint, 60)
        # Every source seen once (first sight) before the trials.
        await _wait(lambda: len({s for s, *_ in MARKS.stored}) >= channels, 30)
        await asyncio.sleep(interval)
        out["posts_before"] = feed.windows.total
        out["feed_rows_on_screen"] = feed.page_height
        rng = random.Random(5)
        total, after, parse_store, to_reload, to_frame = [], [], [], [], []
        modes: list[str] = []
        failed = 0
        for i in range(posts):
            await asyncio.sleep(rng.uniform(0.1, interval))
            handle = server.handles[i % channels]
            source = f"telegram:{handle.lower()}"
            added = await asyncio.to_thread(server.add, handle)
            t_add = time.perf_counter()
            key = (source, int(added[0][1]))
            visible = feed.windows.total + 1 <= feed.page_height

            def stored_after(t: float = t_add, src: str = source) -> tuple[str, float, int, float] | None:
                with MARKS.lock:
                    return next((s for s in MARKS.stored if s[0] == src and s[1] >= t), None)

            def on_screen(k: tuple[str, int] = key, vis: bool = visible) -> float | None:
                hit = stored_after()
                if hit is None:
                    return None
                if vis:
                    painted = MARKS.painted.get(k)
                    return _first_after(MARKS.frames, painted) if painted else None
                reload = next((r for r in MARKS.reloads if r[0] >= hit[1]), None)
                if reload is None:
                    return None
                title = _first_after(MARKS.titles, reload[1]) or reload[1]
                return _first_after(MARKS.frames, max(reload[1], title))

            if not await _wait(lambda: on_screen() is not None, interval * 3 + 10):
                failed += 1
                continue
            t_screen = on_screen()
            hit = stored_after()
            assert t_screen is not None and hit is not None
            _, t_stored, _, t_fetch = hit
            reload = next((r for r in MARKS.reloads if r[0] >= t_stored), None)
            total.append(t_screen - t_add)
            after.append(t_screen - t_fetch)
            parse_store.append(t_stored - t_fetch)
            if reload is not None:
                to_reload.append(reload[1] - t_stored)
                to_frame.append(t_screen - reload[1])
            modes.append("line drawn" if visible else "counted above")
        out["total"] = _pct_ms(total)
        out["after_fetch"] = _pct_ms(after)
        out["fetch_to_commit"] = _pct_ms(parse_store)
        out["commit_to_reread"] = _pct_ms(to_reload)
        out["reread_to_frame"] = _pct_ms(to_frame)
        out["modes"] = sorted(set(modes))
        out["samples"] = {"total": total, "after_fetch": after, "fetch_to_commit": parse_store,
                          "commit_to_reread": to_reload, "reread_to_frame": to_frame}
        out["failed"] = failed
        app.stop_poller()
        await asyncio.sleep(0.5)
    out["exit_races"] = MARKS.exit_races
    out["handlers"] = {k: _pct_ms(v) for k, v in MARKS.handlers.items()}
    return out


# ------------------------------------------------------------------------------------ parent side


async def _child_main(copy: Path, empty: Path, keys: int, posts: int, interval: float,
                      channels: int) -> dict[str, Any]:
    """Everything that runs the desk, in one child: keys over the copy, then one server for both
    post-to-screen variants (the small feed first, then the copy)."""
    from benchmarks.bench_poller import start_server

    res: dict[str, Any] = {"keys": await _keys(copy, keys)}
    with start_server(channels, posts=1) as server:
        res["screen_small"] = await _screen(empty, server, posts, interval)
        res["screen_large"] = await _screen(copy, server, posts, interval)
    return res


def _child(args: list[str], timeout: float) -> dict[str, Any]:
    env = dict(os.environ)
    env["PYTHONPATH"] = f"{ROOT}{os.pathsep}{env.get('PYTHONPATH', '')}"
    proc = subprocess.run([sys.executable, "-m", "benchmarks.bench_latency", *args], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"bench_latency child failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _copy_store(store: Path, into: Path) -> Path:
    dest = into / "copy.db"
    shutil.copyfile(store, dest)
    return dest


def run(store: Path | None = None, *, keys: int = 200, posts: int = 8, interval: float = 1.0,
        channels: int = 3) -> dict[str, Any]:
    """Key-to-repaint while posts arrive (over a copy of `store`, or a small generated store) and
    post-to-screen delays (on a small feed where the line is drawn; over the copy where it is counted)."""
    tmp = Path(tempfile.mkdtemp(prefix="bench_latency_", dir=store.parent if store else None))
    try:
        if store is not None:
            copy = _copy_store(store, tmp)
        else:
            copy = tmp / "small.db"
            _build_small(copy, 3000)
        empty = tmp / "empty.db"
        _small_store(empty)
        res: dict[str, Any] = {"store_posts_copy": str(store) if store else "3,000 generated"}
        res.update(_child(["--child", str(copy), str(empty), "--keys", str(keys), "--posts", str(posts),
                           "--interval", str(interval), "--channels", str(channels)], timeout=3600))
        res["budget"] = {"after_fetch_s": BUDGET_AFTER_FETCH_S, "key_p95_ms": BUDGET_KEY_P95_MS}
        return res
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _build_small(path: Path, n: int) -> None:
    from benchmarks.gen import generate_posts
    from deskapp.core.store import Store

    by_source: dict[str, list[Any]] = defaultdict(list)
    for p in generate_posts(n, channels=50):
        by_source[p.source].append(p)
    with Store.open(path) as store:
        store.ingest_many([(s, ps[i:i + 20]) for s, ps in by_source.items() for i in range(0, len(ps), 20)],
                          fetched_at=datetime(2025, 1, 1, tzinfo=UTC))


def _print(res: dict[str, Any]) -> None:
    k = res["keys"]
    print(f"== desk latency over {res['store_posts_copy']} ({k['posts']:,} posts)")
    for phase in ("quiet", "arriving", "quiet_far", "arriving_far"):
        p = k.get(phase)
        if not p:
            continue
        print(f"  key-to-repaint, {phase:<9} n={p['n']:<4} p50 {p['p50_ms']:7.2f} ms  p95 {p['p95_ms']:7.2f} ms  "
              f"max {p['max_ms']:7.2f} ms")
    print(f"    while {k['arriving_posts']} posts arrived ({k['arriving_posts_per_s']}/s): {k['arriving_reloads']} "
          f"feed re-reads, each p50 {k['reload_ms'].get('p50_ms')} ms p95 {k['reload_ms'].get('p95_ms')} ms")
    for name in ("screen_small", "screen_large"):
        s = res[name]
        print(f"  post on screen ({', '.join(s['modes'])}; {s['posts_before']:,} posts; poll every "
              f"{s['interval_s']} s): total p50 {s['total'].get('p50_ms')} ms; after the fetch p50 "
              f"{s['after_fetch'].get('p50_ms')} ms p95 {s['after_fetch'].get('p95_ms')} ms")
        print(f"    fetch->commit p50 {s['fetch_to_commit'].get('p50_ms')} ms, commit->re-read p50 "
              f"{s['commit_to_reread'].get('p50_ms')} ms, re-read->frame p50 {s['reread_to_frame'].get('p50_ms')} ms"
              f"{'; FAILED ' + str(s['failed']) if s['failed'] else ''}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--store", type=Path, default=None, help="a store to copy (default: a small generated one)")
    ap.add_argument("--keys", type=int, default=200)
    ap.add_argument("--posts", type=int, default=8)
    ap.add_argument("--interval", type=float, default=1.0)
    ap.add_argument("--channels", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--child", type=Path, nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(asyncio.run(_child_main(*args.child, args.keys, args.posts, args.interval,
                                                 args.channels))))
        return 0
    res = run(args.store, keys=args.keys, posts=args.posts, interval=args.interval, channels=args.channels)
    print(json.dumps(res) if args.json else "", end="\n" if args.json else "")
    if not args.json:
        _print(res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
