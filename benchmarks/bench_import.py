"""`desk import` of saved pages as a whole process, beside the one-page-at-a-time way it replaced.

    python -m benchmarks.bench_import [--pages 1000] [--rounds 3]

Writes `--pages` generated 20-post preview pages (benchmarks/bench_parse.generate_page: the real
page's structure and weight, our own words; 50 channels, distinct ids) to a temporary folder, then
in each round, each into a fresh store, times as child processes (start-up and imports included):

* `desk`      `python -m deskapp.cli import FILES...`: pages parsed in worker processes
              (deskapp/core/parse_pool.py) while this process writes them with ingest_many;
* `serial`    the same-run baseline: the import as it was (parse each page here, then one
              transaction per page with Store.ingest_page);
* `parse`     parsing every page here and nothing else: the floor of a one-process import.

Prints medians in posts/s (and seconds, and the CPU seconds used: on a shared machine the wall
time depends on the neighbours, the CPU time much less). Rounds interleave the variants so that a busy neighbour on
a shared machine slows them alike.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHANNELS = 50
TARGET_POSTS_PER_S = 5_000  # issue 10: "at least 5,000 posts/s" for 1,000 pages


def write_pages(folder: Path, pages: int) -> list[Path]:
    from benchmarks.bench_parse import generate_page

    out = []
    for i in range(pages):
        path = folder / f"page-{i:05d}.html"
        path.write_text(generate_page(20, seed=i, handle=f"bench_chan_{i % CHANNELS:02d}",
                                      first=1000 + (i // CHANNELS) * 30), encoding="utf-8")
        out.append(path)
    return out


def serial_import(db: Path, files: list[Path]) -> int:
    """The import before issue 10, kept here as the baseline: parse, then ingest_page per page."""
    from deskapp.core.sources import telegram
    from deskapp.core.store import Store

    n = 0
    with Store.open(db) as store:
        for path in files:
            page = telegram.parse_page(path.read_bytes())
            by_source: dict[str, list] = {}
            for post in page.posts:
                by_source.setdefault(post.source, []).append(post)
            for source, posts in by_source.items():
                n += store.ingest_page(source, posts, fetched_at=datetime.now(UTC), channel=page.channel).new
    return n


def parse_only(files: list[Path]) -> int:
    from deskapp.core.sources import telegram

    return sum(len(telegram.parse_page(p.read_bytes()).posts) for p in files)


def _child(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child and its own children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    spent = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"{args[:3]} failed: {proc.stderr[-2000:]}")
    return spent, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def run(pages: int = 1000, rounds: int = 3) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench_import_") as tmp:
        folder = Path(tmp)
        files = write_pages(folder, pages)
        listing = folder / "files.json"
        listing.write_text(json.dumps([str(p) for p in files]))
        env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CONFIG_HOME": str(folder / "config"),
               "XDG_STATE_HOME": str(folder / "state"), "XDG_DATA_HOME": str(folder / "data")}
        env.pop("DESK_CONFIG", None)
        times: dict[str, list[float]] = {"desk": [], "serial": [], "parse": []}
        cpu: dict[str, list[float]] = {name: [] for name in times}
        for r in range(rounds):
            for name in times:
                db = folder / f"{name}-{r}.db"
                if name == "desk":
                    args = ["-m", "deskapp.cli", "--db", str(db), "import", *map(str, files)]
                else:
                    args = ["-m", "benchmarks.bench_import", f"--child-{name}", str(listing), str(db)]
                wall, used = _child(args, env)
                times[name].append(wall)
                cpu[name].append(used)
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{db}{suffix}").unlink(missing_ok=True)
    posts = pages * 20
    out: dict = {"pages": pages, "posts": posts, "rounds": rounds}
    for name, spent in times.items():
        out[f"{name}_s"] = statistics.median(spent)
        out[f"{name}_posts_per_s"] = posts / statistics.median(spent)
        out[f"{name}_cpu_s"] = statistics.median(cpu[name])
    out["speedup"] = out["serial_s"] / out["desk_s"]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--child-serial", nargs=2, type=Path, metavar=("FILES_JSON", "DB"), help=argparse.SUPPRESS)
    ap.add_argument("--child-parse", nargs=2, type=Path, metavar=("FILES_JSON", "DB"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child_serial:
        serial_import(args.child_serial[1], [Path(p) for p in json.loads(args.child_serial[0].read_text())])
        return 0
    if args.child_parse:
        parse_only([Path(p) for p in json.loads(args.child_parse[0].read_text())])
        return 0
    res = run(args.pages, args.rounds)
    print(f"desk import of {res['pages']:,} saved pages ({res['posts']:,} posts), whole process, "
          f"medians of {res['rounds']} rounds:")
    for name, label in (("desk", "desk import (parse pool + ingest_many)"),
                        ("serial", "baseline: serial parse, ingest_page per page"),
                        ("parse", "parse only, one process (no store)")):
        print(f"  {label:<48} {res[name + '_posts_per_s']:8,.0f} posts/s  ({res[name + '_s']:.2f} s, "
              f"CPU {res[name + '_cpu_s']:.2f} s)")
    verdict = "meets" if res["desk_posts_per_s"] >= TARGET_POSTS_PER_S else "MISSES"
    print(f"  {res['speedup']:.2f}x the same-run baseline; {verdict} the {TARGET_POSTS_PER_S:,} posts/s target; "
          f"cores: {os.cpu_count()}, load {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
