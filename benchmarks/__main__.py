"""`python -m benchmarks [--quick] [--sizes 100000,1000000] [--only PARTS] [--out FILE] [--json]`

Builds what it needs (cached stores under benchmarks/.data/), measures, prints one table with each
figure beside its DESIGN.md budget and a same-run baseline, and writes it to benchmarks/RESULTS.md
(`--quick`: tiny sizes and few repeats, written to benchmarks/.data/RESULTS-quick.md unless --out).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from benchmarks.stores import DATA
from benchmarks.suite import render, run_suite

PARTS = ("parse", "ingest", "import", "poller", "attention", "store", "search", "ui", "latency")


NOTES = "\n## Notes"


def _notes(path: Path) -> str:
    """The hand-written "## Notes" section of an earlier RESULTS.md (why budgets are missed), kept
    below the new table: a re-run refreshes the figures without dropping the analysis."""
    try:
        old = path.read_text()
    except OSError:
        return ""
    at = old.find(NOTES)
    return old[at:] if at >= 0 else ""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes, few repeats (the smoke test)")
    ap.add_argument("--sizes", default=None, help="store sizes, comma-separated (default 100000,1000000; "
                                                  "quick: 3000)")
    ap.add_argument("--only", default=None, help=f"comma-separated parts of {', '.join(PARTS)} "
                                                 "(search/ui/latency need store)")
    ap.add_argument("--out", type=Path, default=None, help="where the Markdown table goes")
    ap.add_argument("--json", type=Path, default=None, help="also write every figure as JSON here")
    args = ap.parse_args(argv)
    default_sizes = "3000" if args.quick else "100000,1000000"
    sizes = [int(s.replace("_", "")) for s in (args.sizes or default_sizes).split(",") if s.strip()]
    only = set(args.only.split(",")) if args.only else None
    if only and only & {"search", "ui", "latency"}:
        only.add("store")
    res = run_suite(sizes, quick=args.quick, only=only, log=lambda msg: print(msg, file=sys.stderr, flush=True))
    text = render(res)
    out = args.out or (DATA / "RESULTS-quick.md" if args.quick else Path(__file__).resolve().parent / "RESULTS.md")
    out.parent.mkdir(parents=True, exist_ok=True)
    notes = _notes(out)
    out.write_text(text + notes)
    if args.json:
        args.json.write_text(json.dumps(res, indent=1, default=str))
    print(text)
    print(f"(written to {out})", file=sys.stderr)
    return 1 if res["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
