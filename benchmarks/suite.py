"""The benchmark suite behind `python -m benchmarks`: build what is needed, measure, one table.

Stores of generated posts (benchmarks/gen.py: 500 channels, Latin/Cyrillic/Arabic/CJK text with
emoji) are built once in a child process by benchmarks/stores.py and cached under benchmarks/.data/.

Each figure is a median of repeated runs and stands next to its budget (DESIGN.md, "Budgets on a
2-core machine") and, where one exists, a baseline measured in the same run. `run_suite()` returns
everything as a dict; `render()` turns it into the Markdown written to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

from benchmarks.stores import (
    CHANNELS,
    DATA,
    FETCHED,
    build_store,
    gen_fingerprint,
    schema_fingerprint,
    store_file,
)

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT.parent / "shared" / "samples"

# DESIGN.md, "Budgets on a 2-core machine" (the sizes are the budget's own).
BUDGETS = {
    "parse_ms": (2.0, "2 ms per real 20-post page (100-150 KB), every field"),
    "ingest_per_s": (20_000, "20,000 posts/s"),
    "startup_s": (1.0, "1 s at 10^6 posts"),
    "key_p95_ms": (30.0, "30 ms at p95, 10^6 posts"),
    "rss_mb": (250.0, "250 MB RSS at 10^6 posts"),
    "search_p95_ms": (20.0, "20 ms at p95, 10^6 posts"),
    "after_fetch_s": (0.5, "0.5 s after the fetch that saw it"),
}


# ----------------------------------------------------------------------------------- settings


class Plan:
    """How much to measure: the full suite, or `quick` (tiny sizes, few repeats, for the smoke test)."""

    def __init__(self, sizes: list[int], quick: bool = False) -> None:
        self.sizes = sizes
        self.quick = quick
        self.parse_repeat = 5 if quick else 300
        self.parse_sessions = 1 if quick else 3  # at the start, before the largest size, at the end
        self.ingest_n = min(sizes[0], 100_000)
        self.ingest_runs = 1 if quick else 3
        self.search_rounds = 1 if quick else 3
        self.search_queries = 20 if quick else 200
        self.ui_runs = 1 if quick else 3
        self.ui_keys = 10 if quick else 200
        self.latency_runs = 1 if quick else 3
        self.latency_keys = 8 if quick else 200
        self.latency_posts = 2 if quick else 12
        self.latency_interval = 0.3 if quick else 1.0
        self.import_pages = 20 if quick else 1000
        self.import_rounds = 1 if quick else 3
        self.poller_channels = 10 if quick else 100
        self.poller_rounds = 1 if quick else 5
        self.dedup_stored = 10_000 if quick else 1_000_000  # posts in the duplicate index (issue 15: 10^6)
        self.rules_posts = 200 if quick else 2000


def cached_store(n: int, data: Path, log: Callable[[str], None]) -> tuple[Path, dict[str, Any], bool]:
    """(path, build facts, built now?) for a store of n posts, building it in a child if missing."""
    path = store_file(n, data)
    if path.exists() and path.with_suffix(".json").exists():
        return path, json.loads(path.with_suffix(".json").read_text()), False
    log(f"building a store of {n:,} generated posts -> {path} (once; cached)")
    _child(["--build", str(n), "--out", str(path)], timeout=4 * 3600)
    return path, json.loads(path.with_suffix(".json").read_text()), True


def _child(args: list[str], timeout: float) -> dict[str, Any]:
    env = dict(os.environ)
    env["PYTHONPATH"] = f"{ROOT}{os.pathsep}{env.get('PYTHONPATH', '')}"
    proc = subprocess.run([sys.executable, "-m", "benchmarks.suite", *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark child {args} failed:\n{proc.stderr[-3000:]}")
    lines = proc.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else {}


# -------------------------------------------------------------------------------- the machine


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {}
    try:
        cpu = Path("/proc/cpuinfo").read_text()
        info["cpu"] = next((line.split(":", 1)[1].strip() for line in cpu.splitlines()
                            if line.startswith("model name")), platform.processor() or "?")
    except OSError:
        info["cpu"] = platform.processor() or "?"
    info["cores"] = os.cpu_count()
    try:
        mem = Path("/proc/meminfo").read_text()
        kb = int(next(line.split()[1] for line in mem.splitlines() if line.startswith("MemTotal:")))
        info["ram_gb"] = round(kb / 1024 / 1024, 1)
    except (OSError, StopIteration, ValueError):
        info["ram_gb"] = None
    info["python"] = platform.python_version()
    info["sqlite"] = sqlite3.sqlite_version
    try:
        from importlib.metadata import version

        info["textual"] = version("textual")
    except Exception:
        info["textual"] = "?"
    info["os"] = f"{platform.system()} {platform.release()}"
    info["date"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT,
                              timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "deskapp", "benchmarks"], capture_output=True,
                               text=True, cwd=ROOT, timeout=10).stdout.split("\n")
        info["commit"] = head or "?"
        info["uncommitted"] = sorted(line[3:] for line in dirty if line.strip() and not line.startswith("??"))
    except (OSError, subprocess.SubprocessError):
        info["commit"], info["uncommitted"] = "?", []
    try:
        info["load_at_start"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        info["load_at_start"] = None
    return info


# ------------------------------------------------------------------------------------- measures


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _p95(values: list[float]) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(0.95 * (len(s) - 1))))]


def measure_parse(plan: Plan) -> dict[str, Any]:
    from benchmarks import bench_parse

    rows = bench_parse.run(SAMPLES, plan.parse_repeat)
    return {"pages": rows[:-1], "overall": rows[-1], "real": SAMPLES.is_dir(), "sessions": 1}


def combine_parse(sessions: list[dict[str, Any]]) -> dict[str, Any]:
    """Per page, the median of each figure over parse sessions spread through the run (a few
    seconds of parsing are easily all caught by one busy spell of a shared machine)."""
    first = sessions[0]
    pages = []
    for i, page in enumerate(first["pages"]):
        merged = dict(page)
        for key, value in page.items():
            if isinstance(value, float):
                merged[key] = _median([s["pages"][i][key] for s in sessions])
        merged["desk_ms_sessions"] = [round(s["pages"][i]["desk_ms"], 3) for s in sessions]
        pages.append(merged)
    return {**first, "pages": pages, "sessions": len(sessions)}


INGEST_CHUNK = 200_000  # posts generated (untimed), then handed to one ingest_many call (timed)


def _ingest_chunks(n: int) -> Any:
    """n generated posts as lists of (source, 20-post page) batches, generated before timing."""
    from benchmarks.gen import generate_posts

    it = generate_posts(n, channels=CHANNELS)
    while True:
        chunk = list(islice(it, INGEST_CHUNK))
        if not chunk:
            return
        pages: dict[str, list[Any]] = defaultdict(list)
        for post in chunk:
            pages[post.source].append(post)
        yield len(chunk), [(s, ps[i:i + 20]) for s, ps in pages.items() for i in range(0, len(ps), 20)]


def _timed_ingest(path: Path, n: int, *, fts: bool = True) -> float:
    """posts/s through Store.ingest_many into a fresh store (FTS trigger dropped when not `fts`)."""
    import gc

    from deskapp.core.store import Store

    spent = 0.0
    with Store.open(path) as store:
        if not fts:
            store._conn.execute("DROP TRIGGER IF EXISTS posts_ai")
        gc.collect()
        for _count, batches in _ingest_chunks(n):
            t0 = time.perf_counter()
            store.ingest_many(batches, fetched_at=FETCHED)
            spent += time.perf_counter() - t0
    return n / spent


def measure_ingest(n: int, runs: int) -> dict[str, Any]:
    """Bulk ingest through Store.ingest_many (FTS on) into fresh stores, median of `runs`; baselines
    in the same run, interleaved: the same code without the FTS trigger, and a bare executemany."""
    from benchmarks import bench_store  # the floor is measured the same way as in bench_store

    out: dict[str, Any] = {"posts": n}
    rates, nofts, bare = [], [], []
    with tempfile.TemporaryDirectory(prefix="bench_ingest_", dir=DATA if DATA.is_dir() else None) as tmp:
        for r in range(runs):
            rates.append(_timed_ingest(Path(tmp) / f"fts{r}.db", n))
            nofts.append(_timed_ingest(Path(tmp) / f"nofts{r}.db", n, fts=False))
            bare.append(bench_store.bare_executemany(Path(tmp) / f"bare{r}.db", n))
            for p in Path(tmp).iterdir():
                p.unlink()
    out["runs"] = [round(x) for x in rates]
    out["posts_per_s"] = round(_median(rates))
    out["no_fts_posts_per_s"] = round(_median(nofts))
    out["bare_posts_per_s"] = round(_median(bare))
    return out


SEARCH_LABELS = {
    "common": "a common word (4 scripts)",
    "rare": "a rare word",
    "two_words": "two words",
    "phrase": '"a phrase" of two frequent words',
    "prefix": "a prefix (rep*)",
    "prefix_long": "a longer prefix (repo*, minis*, offici*)",
    "prefix_short": "a one- or two-letter prefix (r*, po*)",
    "or": "rare OR rare",
    "exclude": "word -word",
    "source": "source:NAME, with or without a word",
    "date_range": "a word since:DAY until:DAY",
    "cjk_inside_runs": "a Chinese word inside unspaced text",
    "thai_inside_runs": "a Thai word inside unspaced text",
}


def search_kinds(store: Any) -> dict[str, Callable[[Any], str]]:
    """Each kind of search the desk offers (deskapp/core/query.py), as a picker of random queries
    over the generated posts (benchmarks/gen.py)."""
    from benchmarks.gen import channel_handle, rare_term
    from deskapp.core.ingest import key_time

    common = ["news", "новости", "الأخبار", "新闻"]
    rare = [rare_term(i, s) for i in range(10) for s in ("latin", "cyrillic", "arabic", "cjk")]
    heads = ["report", "city", "the", "official", "minister", "border", "police", "said", "video"]
    latin = [channel_handle(i) for i in range(CHANNELS) if channel_handle(i).endswith("_lat")]
    first = key_time(store._read(lambda c: c.execute("SELECT coalesce(min(key), 0) FROM posts").fetchone()[0]))
    days = max(1, (key_time(store.max_key()) - first).days)

    def day(rng: Any) -> str:
        return (first + timedelta(days=rng.randrange(days))).strftime("%Y-%m-%d")

    def long_prefix(rng: Any) -> str:
        word = rng.choice([w for w in heads + rare[::4] if len(w) > 4])
        return word[:rng.randrange(4, len(word))] + "*"

    return {
        "common": lambda rng: rng.choice(common),
        "rare": lambda rng: rng.choice(rare),
        "two_words": lambda rng: "news " + rng.choice(["report", "city", "the", "official"]),
        "phrase": lambda rng: f'"{rng.choice(heads)} {rng.choice(heads)}"',
        "prefix": lambda rng: rng.choice(heads + rare[::4])[:3] + "*",
        "prefix_long": lambda rng: long_prefix(rng),
        "prefix_short": lambda rng: rng.choice(heads + rare[::4])[:rng.choice((1, 2))] + "*",
        "or": lambda rng: f"{rng.choice(rare)} OR {rng.choice(rare)}",
        "exclude": lambda rng: f"{rng.choice(['news', 'report', rng.choice(rare)])} -{rng.choice(heads)}",
        "source": lambda rng: f"{rng.choice(['news ', 'report ', ''])}source:{rng.choice(latin)}",
        "date_range": lambda rng: f"{rng.choice(['news', 'report', rng.choice(rare)])} since:{day(rng)} until:{day(rng)}",
        "cjk_inside_runs": lambda rng: rng.choice(["新闻", "部长", "选举", "报道", "北方", "政治", "中国人",
                                                   rare_term(rng.randrange(10), "cjk")]),
        "thai_inside_runs": lambda rng: rng.choice(["ข่าว", "ตำรวจ", "วันนี้", "ชายแดน", rare_term(rng.randrange(10), "thai")]),
    }


def measure_search(path: Path, plan: Plan) -> dict[str, Any]:
    """Store.search(limit=20), newest first, over a cached store: p50/p95 per query kind, median of
    rounds; baselines, the same run: relevance (bm25) order for the most common word, and for
    words inside CJK/Thai text the scan the bigram index replaces (instr over posts, newest first)."""
    import random

    from deskapp.core.query import QueryError
    from deskapp.core.store import Store

    out: dict[str, Any] = {}
    with Store.open(path) as store:
        kinds = search_kinds(store)
        out["matches"] = {t: store.feed_count(query=t) for t in ["news", "новости", "الأخبار", "新闻", "ข่าว"]}
        for name, pick in kinds.items():
            p50s, p95s, hits = [], [], []
            for r in range(plan.search_rounds):
                rng = random.Random(r)
                times = []
                for _ in range(plan.search_queries):
                    q = pick(rng)
                    t0 = time.perf_counter()
                    try:
                        hits.append(len(store.search(q, limit=20)))
                    except QueryError:  # since: after until: in a random pair of days
                        hits.append(0)
                    times.append((time.perf_counter() - t0) * 1000)
                p50s.append(_median(times))
                p95s.append(_p95(times))
            out[name] = {"p50_ms": round(_median(p50s), 3), "p95_ms": round(_median(p95s), 3),
                         "n": plan.search_queries, "rounds": plan.search_rounds,
                         "median_hits": _median([float(h) for h in hits])}
        times = []
        for _ in range(1 if plan.quick else 3):
            t0 = time.perf_counter()
            store._conn.execute(
                "SELECT p.key FROM posts_fts JOIN posts p ON p.key = posts_fts.rowid WHERE posts_fts MATCH ? "
                "ORDER BY rank LIMIT 20", ('"news"',)).fetchall()
            times.append((time.perf_counter() - t0) * 1000)
        out["baseline_rank_common_p50_ms"] = round(_median(times), 1)
        # FTS5's own answer to the longer prefixes (the doclists of every word with the prefix
        # merged first), which the walk through the 3-letter prefix index replaces.
        times = []
        rng = random.Random(0)
        for _ in range(plan.search_queries // 4 or 1):
            q = kinds["prefix_long"](rng)
            t0 = time.perf_counter()
            store._conn.execute("SELECT rowid FROM posts_fts WHERE posts_fts MATCH ? ORDER BY rowid DESC LIMIT 20",
                                ('"' + q.rstrip("*") + '"*',)).fetchall()
            times.append((time.perf_counter() - t0) * 1000)
        out["baseline_prefix_merge_ms"] = {"p50": round(_median(times), 1), "p95": round(_p95(times), 1)}
        times = []
        for word in (["部长", "ตำรวจ"] if plan.quick else ["部长", "ตำรวจ", "中国人", "ชายแดน"]):
            t0 = time.perf_counter()
            store._conn.execute("SELECT key FROM posts WHERE instr(text, ?) ORDER BY key DESC LIMIT 20",
                                (word,)).fetchall()
            times.append((time.perf_counter() - t0) * 1000)
        out["baseline_scan_cjk_p50_ms"] = round(_median(times), 1)
    return out


def measure_ui(n: int, path: Path, plan: Plan) -> dict[str, Any]:
    """benchmarks/bench_ui.py's run(n), pointed at our cached store, `ui_runs` times; medians."""
    from benchmarks import bench_ui

    original = bench_ui.store_path
    bench_ui.store_path = lambda _n: path  # its cache is keyed by n only; ours by generator and schema
    try:
        runs = [bench_ui.run(n, keys=plan.ui_keys) for _ in range(plan.ui_runs)]
    finally:
        bench_ui.store_path = original
    return {
        "runs": len(runs),
        "startup_s": round(_median([r["startup_s"] for r in runs]), 3),
        "startup_runs_s": [r["startup_s"] for r in runs],
        "store_open_s": round(_median([r.get("store_open_s", float("nan")) for r in runs]), 3),
        "import_s": round(_median([r["import_s"] for r in runs]), 3),
        "key_p50_ms": round(_median([r["key_all"]["p50_ms"] for r in runs]), 2),
        "key_p95_ms": round(_median([r["key_all"]["p95_ms"] for r in runs]), 2),
        "key_p95_runs_ms": [r["key_all"]["p95_ms"] for r in runs],
        "key_max_ms": max(r["key_all"]["max_ms"] for r in runs),
        "keys_n": runs[0]["key_all"]["n"],
        "per_key": runs[-1]["keys"],
        "rss_peak_mb": round(_median([r["rss_peak_mb"] for r in runs]), 1),
        "rss_end_mb": round(_median([r["rss_end_mb"] for r in runs]), 1),
    }


def empty_app_rss() -> dict[str, Any]:
    """Baseline for the desk's memory: an empty Textual app, same size, same way of measuring."""
    import asyncio

    from textual.app import App
    from textual.widgets import Static

    class Empty(App[None]):
        def compose(self) -> Any:
            yield Static("empty")

    async def go() -> None:
        async with Empty().run_test(size=(120, 40)) as pilot:
            await pilot.pause()

    asyncio.run(go())
    # VmHWM, not ru_maxrss: the latter survives fork+exec on Linux and would report the suite's peak.
    from benchmarks.bench_ui import _rss_peak_mb

    return {"rss_peak_mb": round(_rss_peak_mb(), 1)}


def measure_latency(path: Path, plan: Plan) -> dict[str, Any]:
    from benchmarks import bench_latency

    runs = [bench_latency.run(path, keys=plan.latency_keys, posts=plan.latency_posts,
                              interval=plan.latency_interval) for _ in range(plan.latency_runs)]
    keys = [r["keys"] for r in runs]
    out: dict[str, Any] = {"runs": len(runs), "keys_n": keys[0]["arriving"].get("n", 0)}
    for phase in ("quiet", "arriving"):
        for q in ("p50_ms", "p95_ms"):
            vals = [k[phase][q] for k in keys if q in k[phase]]
            out[f"{phase}_{q}"] = round(_median(vals), 2) if vals else None
    out["arriving_p95_runs_ms"] = [k["arriving"].get("p95_ms") for k in keys]
    out["arriving_max_ms"] = max(k["arriving"].get("max_ms", 0) for k in keys)
    out["arriving_posts_per_s"] = round(_median([k["arriving_posts_per_s"] for k in keys]), 1)
    out["reloads"] = sum(k["arriving_reloads"] for k in keys)
    out["reload_p50_ms"] = _median([k["reload_ms"]["p50_ms"] for k in keys if "p50_ms" in k["reload_ms"]] or [0])
    out["handlers"] = keys[-1].get("handlers", {})
    for name in ("screen_small", "screen_large"):
        screens = [r[name] for r in runs]
        pooled: dict[str, list[float]] = defaultdict(list)
        for s in screens:
            for part in ("total", "after_fetch", "fetch_to_commit", "commit_to_reread", "reread_to_frame"):
                pooled[part].extend(s.get("samples", {}).get(part, []))
        out[name] = {
            "posts_before": screens[0]["posts_before"],
            "modes": sorted({m for s in screens for m in s["modes"]}),
            "failed": sum(s["failed"] for s in screens),
            "interval_s": screens[0]["interval_s"],
            "handlers": screens[-1].get("handlers", {}),
        }
        for part, vals in pooled.items():
            if vals:
                out[name][part] = {"n": len(vals), "p50_ms": round(_median(vals) * 1000, 1),
                                   "p95_ms": round(_p95(vals) * 1000, 1)}
    return out


def measure_import(plan: Plan) -> dict[str, Any]:
    from benchmarks import bench_import

    return bench_import.run(plan.import_pages, plan.import_rounds)


def measure_poller(plan: Plan, log: Callable[[str], None]) -> dict[str, Any]:
    from benchmarks import bench_poller

    return bench_poller.run(plan.poller_channels, plan.poller_rounds, log=log)


# -------------------------------------------------------------------------------------- the run


def measure_attention(plan: Plan) -> dict[str, Any]:
    """Per new post: 100 alert rules (RuleSet, beside a plain loop of one regex per word) and the
    duplicate lookup (fingerprint + LSH band seek) among plan.dedup_stored indexed posts."""
    from benchmarks import bench_dedup

    return {"rules": bench_dedup.rules_cost(100, plan.rules_posts), "dedup": bench_dedup.lookup_cost(plan.dedup_stored)}


def run_suite(sizes: list[int], *, quick: bool = False, data: Path = DATA,
              only: set[str] | None = None, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Measure everything; returns {"machine", "plan", "parse", "ingest", "sizes": {n: {...}},
    "poller", "errors"}. A part that fails is recorded in "errors" and the rest still runs."""
    plan = Plan(sorted(sizes), quick=quick)
    res: dict[str, Any] = {"machine": machine(), "quick": quick, "sizes": {}, "errors": {},
                           "generator": gen_fingerprint(), "schema": schema_fingerprint()}
    data.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    def attempt(name: str, fn: Callable[[], Any]) -> Any:
        if only is not None and name.split(":")[0] not in only:
            return None
        log(f"-- {name}")
        t0 = time.perf_counter()
        try:
            value = fn()
        except Exception as exc:  # one broken benchmark must not hide the others
            import traceback

            res["errors"][name] = f"{type(exc).__name__}: {exc}"
            log(traceback.format_exc())
            return None
        log(f"   {name}: {time.perf_counter() - t0:.1f} s")
        return value

    res["parse"] = attempt("parse", lambda: measure_parse(plan))
    res["ingest"] = attempt("ingest", lambda: measure_ingest(plan.ingest_n, plan.ingest_runs))
    res["import"] = attempt("import", lambda: measure_import(plan))
    res["poller"] = attempt("poller", lambda: measure_poller(plan, log))
    res["attention"] = attempt("attention", lambda: measure_attention(plan))
    res["empty_app"] = attempt("ui:baseline", lambda: _child(["--empty-app-rss"], timeout=300))
    parse_later: list[dict[str, Any]] = []
    for n in plan.sizes:
        if n == plan.sizes[-1] and res["parse"] is not None and plan.parse_sessions > 2:
            parse_later += [s for s in (attempt("parse", lambda: measure_parse(plan)),) if s]
        entry: dict[str, Any] = {}
        res["sizes"][n] = entry
        built = attempt(f"store:{n}", lambda n=n: cached_store(n, data, log))
        if built is None:
            continue
        path, meta, now = built
        entry["store"] = {**meta, "path": path.name, "built_this_run": now}
        entry["search"] = attempt(f"search:{n}", lambda p=path: measure_search(p, plan))
        entry["ui"] = attempt(f"ui:{n}", lambda n=n, p=path: measure_ui(n, p, plan))
        entry["latency"] = attempt(f"latency:{n}", lambda p=path: measure_latency(p, plan))
    if res["parse"] is not None and plan.parse_sessions > 1:
        # Parse again in the middle and at the end of the run; figures are medians of the sessions.
        sessions = [res["parse"], *parse_later]
        sessions += [s for s in (attempt("parse", lambda: measure_parse(plan)),) if s]
        res["parse"] = combine_parse(sessions)
    res["elapsed_s"] = round(time.perf_counter() - started, 1)
    return res


# ------------------------------------------------------------------------------------ rendering


def _size(n: int) -> str:
    for exp in range(9, 1, -1):
        if n == 10**exp:
            return f"10^{exp}"
    return f"{n:,}"


def _verdict(value: float | None, budget: float, higher_is_better: bool = False) -> str:
    if value is None:
        return "?"
    ok = value >= budget if higher_is_better else value <= budget
    return "within" if ok else "**MISSED**"


def rows(res: dict[str, Any]) -> list[list[str]]:
    """[what, size, measured, budget, baseline (same run), verdict] per line of the table."""
    out: list[list[str]] = []
    parse = res.get("parse")
    if parse:
        budget = BUDGETS["parse_ms"][0]
        for page in parse["pages"]:
            bs4 = page.get("bs4_html_parser_ms")
            base = (f"BeautifulSoup (html.parser, id/time/text only) {bs4:.2f} ms = {page['bs4_html_parser_ratio']:.1f}x "
                    f"ours; bare lexbor id/time/text {page['bare_ms']:.2f} ms" if bs4 else
                    f"bare lexbor id/time/text {page['bare_ms']:.2f} ms")
            kb = round(page["bytes"] / 1024)
            out.append([f"parse a preview page, every field: {page['page'][:40]} ({kb} KB, {page['posts']} posts)",
                        "-", f"{page['desk_ms']:.2f} ms (median of {res['quick'] and 5 or 300} rounds"
                        f"{', median of sessions ' + str(page['desk_ms_sessions']) if 'desk_ms_sessions' in page else ''}; "
                        f"{page['desk_per_bare']:.2f}x the bare pass, where DESIGN's 2 ms / 1.1 ms allow 1.82x)",
                        "2 ms", base,
                        _verdict(page["desk_ms"], budget) if page["posts"] == 20 else "- (the budget is for 20-post pages)"])
    ing = res.get("ingest")
    if ing:
        out.append(["bulk ingest with FTS (Store.ingest_many, fresh store)", _size(ing["posts"]),
                    f"{ing['posts_per_s']:,} posts/s (median of {len(ing['runs'])}: {ing['runs']})", "20,000 posts/s",
                    f"same code without FTS {ing['no_fts_posts_per_s']:,}/s; bare executemany {ing['bare_posts_per_s']:,}/s",
                    _verdict(ing["posts_per_s"], BUDGETS["ingest_per_s"][0], higher_is_better=True)])
    for n, entry in res["sizes"].items():
        st = entry.get("store")
        if st and st.get("ingest_posts_per_s") and n != (ing or {}).get("posts"):
            when = "this run" if st["built_this_run"] else f"cache build {st['built']}"
            if st.get("load") is not None:
                when += f", load average {st['load']} at its end"
            out.append([f"bulk ingest with FTS, building the cached store ({when})", _size(n),
                        f"{st['ingest_posts_per_s']:,} posts/s ({st['ingest_s']} s; one run)", "20,000 posts/s", "-",
                        _verdict(st["ingest_posts_per_s"], BUDGETS["ingest_per_s"][0], higher_is_better=True)])
    for n, entry in res["sizes"].items():
        se = entry.get("search")
        if not se:
            continue
        for kind, label in SEARCH_LABELS.items():
            f = se.get(kind)
            if f is None:
                continue
            base = "-"
            if kind == "common":
                base = f"relevance (bm25) order, 'news': {se['baseline_rank_common_p50_ms']:,} ms"
            elif kind == "prefix_long" and "baseline_prefix_merge_ms" in se:
                b = se["baseline_prefix_merge_ms"]
                base = f"FTS5's own prefix query (merge, no walk): p50 {b['p50']:,} ms, p95 {b['p95']:,} ms"
            elif kind.endswith("_inside_runs") and "baseline_scan_cjk_p50_ms" in se:
                base = f"substring scan of posts (instr), newest first: {se['baseline_scan_cjk_p50_ms']:,} ms p50"
            out.append([f"search newest first, 20 hits, {label}", _size(n),
                        f"p50 {f['p50_ms']:.2f} ms, p95 {f['p95_ms']:.2f} ms"
                        + (f" (median {f['median_hits']:g} hits)" if "median_hits" in f else ""),
                        "20 ms at p95", base, _verdict(f["p95_ms"], BUDGETS["search_p95_ms"][0])])
    empty = res.get("empty_app") or {}
    for n, entry in res["sizes"].items():
        ui = entry.get("ui")
        if not ui:
            continue
        out.append(["desk start-up to first painted feed", _size(n),
                    f"{ui['startup_s'] * 1000:.0f} ms (median of {ui['runs']}; of which Store.open "
                    f"{ui['store_open_s'] * 1000:.0f} ms; imports {ui['import_s'] * 1000:.0f} ms not included)",
                    "1 s", "-", _verdict(ui["startup_s"], BUDGETS["startup_s"][0])])
        out.append(["key-to-repaint while scrolling (j, pagedown, G, k, g)", _size(n),
                    f"p50 {ui['key_p50_ms']:.1f} ms, p95 {ui['key_p95_ms']:.1f} ms (n={ui['keys_n']}, median of "
                    f"{ui['runs']} runs; max {ui['key_max_ms']:.0f} ms)", "30 ms at p95", "-",
                    _verdict(ui["key_p95_ms"], BUDGETS["key_p95_ms"][0])])
    for n, entry in res["sizes"].items():
        la = entry.get("latency")
        if not la or la.get("arriving_p95_ms") is None:
            continue
        refresh = la["handlers"].get("_refresh_from_store") or la["handlers"].get("store_changed") or {}
        out.append([f"key-to-repaint while posts arrive (~{la['arriving_posts_per_s']:.0f} posts/s committed by "
                    "another thread's Store)", _size(n),
                    f"p50 {la['arriving_p50_ms']:.1f} ms, p95 {la['arriving_p95_ms']:.1f} ms (n={la['keys_n']}, median "
                    f"of {la['runs']} runs; max {la['arriving_max_ms']:.0f} ms); the desk's re-read after a commit "
                    f"(_refresh_from_store) p50 {refresh.get('p50_ms', '?')} ms, p95 {refresh.get('p95_ms', '?')} ms",
                    "30 ms at p95",
                    f"same keys, quiet store: p50 {la['quiet_p50_ms']:.1f} ms, p95 {la['quiet_p95_ms']:.1f} ms",
                    _verdict(la["arriving_p95_ms"], BUDGETS["key_p95_ms"][0])])
    for n, entry in res["sizes"].items():
        ui = entry.get("ui")
        if not ui:
            continue
        base = f"an empty Textual app: {empty['rss_peak_mb']:.0f} MB" if empty else "-"
        out.append(["desk memory (peak RSS)", _size(n), f"{ui['rss_peak_mb']:.0f} MB (median of {ui['runs']})",
                    "250 MB", base, _verdict(ui["rss_peak_mb"], BUDGETS["rss_mb"][0])])
    im = res.get("import")
    if im:
        out.append(["desk import of saved pages, whole process (parse pool + ingest_many)", f"{im['pages']:,} pages",
                    f"{im['desk_posts_per_s']:,.0f} posts/s ({im['desk_s']:.2f} s, CPU {im['desk_cpu_s']:.2f} s; "
                    f"median of {im['rounds']})", "5,000 posts/s (issue 10)",
                    f"serial parse + ingest_page per page {im['serial_posts_per_s']:,.0f} posts/s "
                    f"(CPU {im['serial_cpu_s']:.2f} s) = {im['speedup']:.2f}x; parse alone {im['parse_posts_per_s']:,.0f} "
                    "posts/s", _verdict(im["desk_posts_per_s"], 5_000, higher_is_better=True)])
    po = res.get("poller")
    if po:
        out.append(["poller CPU per 100 sources polled, every channel changed (run_once, 200 + parse + store)",
                    f"{po['channels']} channels",
                    f"{po['changed_cpu_ms']:.0f} ms CPU ({po['changed_wall_ms']:.0f} ms wall; median of {po['rounds']})",
                    "none",
                    f"plain httpx, same GETs: {po['httpx_cpu_ms']:.0f} ms; parse_page alone {po['parse_cpu_ms']:.0f} ms; "
                    f"poller's own rest {po['rest_cpu_ms']:.0f} ms", "-"])
        out.append(["poller CPU per 100 sources polled, nothing changed (304 Not Modified)",
                    f"{po['channels']} channels",
                    f"{po['unchanged_cpu_ms']:.0f} ms CPU ({po['unchanged_wall_ms']:.0f} ms wall)", "none",
                    f"plain httpx, 200s with bodies: {po['httpx_cpu_ms']:.0f} ms", "-"])
    at = res.get("attention")
    if at:
        ru, dd = at["rules"], at["dedup"]
        budget = BUDGETS["after_fetch_s"][0]
        out.append(["alert matching per new post (RuleSet, one pass)", f"{ru['rules']} rules",
                    f"{ru['ruleset_us']:.1f} µs (median of 5 rounds)", "within the 0.5 s post-to-screen budget",
                    f"plain loop, one regex per rule word: {ru['plain_loop_us']:.1f} µs",
                    _verdict(ru["ruleset_us"] / 1e6, budget)])
        out.append(["duplicate lookup per new post (MinHash fingerprint + LSH band seek)", _size(dd["stored"]),
                    f"fingerprint {dd['fingerprint_ms']:.2f} ms + lookup {dd['lookup_ms']:.3f} ms median "
                    f"(lookup p95 {dd['lookup_p95_ms']:.3f} ms)", "within the 0.5 s post-to-screen budget",
                    (f"plain loop comparing with each of {dd['plain_window']:,} posts of the window: "
                     f"{dd['plain_scan_ms']:.1f} ms" if "plain_scan_ms" in dd else "-"),
                    _verdict((dd["fingerprint_ms"] + dd["lookup_p95_ms"]) / 1000, budget)])
    small_done = False
    for n, entry in res["sizes"].items():
        la = entry.get("latency")
        if not la:
            continue
        for name in ("screen_small", "screen_large"):
            s = la.get(name) or {}
            if "after_fetch" not in s or (name == "screen_small" and small_done):
                continue
            small_done = small_done or name == "screen_small"
            mode = ("its line drawn in the feed" if "line drawn" in s["modes"]
                    else "feed re-read, counted in '▲ N new above'")
            size = f"{s['posts_before']:,} posts" if name == "screen_small" else _size(n)
            af = s["after_fetch"]
            out.append([f"new post on screen after the fetch that saw it ({mode})", size,
                        f"p50 {af['p50_ms']:.0f} ms, p95 {af['p95_ms']:.0f} ms (n={af['n']}); parts p50: parse+commit "
                        f"{s['fetch_to_commit']['p50_ms']:.0f}, ->feed re-read {s['commit_to_reread']['p50_ms']:.0f}, "
                        f"->frame {s['reread_to_frame']['p50_ms']:.0f} ms", "0.5 s",
                        f"total from the post appearing on the server: p50 {s['total']['p50_ms']:.0f} ms, p95 "
                        f"{s['total']['p95_ms']:.0f} ms (polled every {s['interval_s']} s)",
                        _verdict(af["p95_ms"] / 1000, BUDGETS["after_fetch_s"][0])])
    return out


def render(res: dict[str, Any]) -> str:
    m = res["machine"]
    lines = [
        "# Benchmark results",
        "",
        f"`python -m benchmarks{' --quick' if res['quick'] else ''} --sizes "
        f"{','.join(str(n) for n in res['sizes'])}`, {m['date']}, {res['elapsed_s']:.0f} s.",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM, {m['os']}; Python {m['python']}, "
        f"SQLite {m['sqlite']}, Textual {m['textual']}. Load average at start {m['load_at_start']} "
        "(the machine is shared: other jobs ran meanwhile, so figures are medians of repeated runs).",
        f"Code: commit {m.get('commit', '?')}"
        + (f" plus uncommitted changes in {', '.join(m['uncommitted'])}" if m.get("uncommitted") else "") + ". "
        f"Stores: generated posts over {CHANNELS} channels (benchmarks/gen.py, generator {res['generator']}, "
        f"schema {res['schema']}).",
        "",
        "| what | size | measured | budget (DESIGN.md) | baseline, same run | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows(res):
        lines.append("| " + " | ".join(cell.replace("|", "/") for cell in row) + " |")
    if res["errors"]:
        lines += ["", "Not measured (errors):", ""]
        lines += [f"- {k}: {v}" for k, v in res["errors"].items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Child entry points: --build N --out PATH, --empty-app-rss."""
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--build", type=int)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--empty-app-rss", action="store_true")
    args = ap.parse_args(argv)
    if args.build:
        print(json.dumps(build_store(args.build, args.out)))
    elif args.empty_app_rss:
        print(json.dumps(empty_app_rss()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
