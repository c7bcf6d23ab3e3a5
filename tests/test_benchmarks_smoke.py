"""Smoke tests: every benchmark runs at a tiny size and returns sane figures, so none of them rots.

One quick suite run (tiny store, few repeats; servers on 127.0.0.1 in child processes) feeds all
the tests below. No timing is asserted: the machine is shared and noisy; only that each figure
exists and is positive, and that the table carries a row for each.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from benchmarks import bench_parse
from benchmarks.stores import store_file
from benchmarks.suite import Plan, render, rows, run_suite

SIZE = 2000


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    data = tmp_path_factory.mktemp("bench-data")
    logs: list[str] = []
    res = run_suite([SIZE], quick=True, data=data, log=logs.append)
    res["_data"] = data
    res["_log"] = logs
    return res


def _positive(*values: Any) -> bool:
    return all(isinstance(v, int | float) and v > 0 for v in values)


def test_no_benchmark_failed(results: dict[str, Any]) -> None:
    assert results["errors"] == {}, "\n".join(results["_log"][-20:])


def test_parse(results: dict[str, Any]) -> None:
    parse = results["parse"]
    assert parse["pages"]
    for page in parse["pages"]:
        assert _positive(page["desk_ms"], page["bare_ms"], page["parse_ms"], page["posts"])
        assert _positive(page["bs4_html_parser_ms"], page["bs4_html_parser_ratio"])
        assert page["bs4_html_parser_agrees"]


def test_parse_without_samples_uses_a_generated_page(tmp_path: Path) -> None:
    out = bench_parse.run(tmp_path / "no-samples-here", 2)
    assert out[0]["page"].startswith("generated")
    assert out[0]["posts"] == 20 and _positive(out[0]["desk_ms"])


def test_import(results: dict[str, Any]) -> None:
    im = results["import"]
    assert im["pages"] == Plan([SIZE], quick=True).import_pages and im["posts"] == 20 * im["pages"]
    assert _positive(im["desk_posts_per_s"], im["serial_posts_per_s"], im["parse_posts_per_s"], im["desk_cpu_s"])


def test_ingest(results: dict[str, Any]) -> None:
    ing = results["ingest"]
    assert ing["posts"] == SIZE
    assert _positive(ing["posts_per_s"], ing["no_fts_posts_per_s"], ing["bare_posts_per_s"])


def test_store_is_cached_by_size_generator_and_schema(results: dict[str, Any]) -> None:
    st = results["sizes"][SIZE]["store"]
    assert st["posts"] == SIZE and st["built_this_run"]
    path = store_file(SIZE, results["_data"])
    assert path.name == st["path"] and path.exists() and path.with_suffix(".json").exists()
    assert f"-g{results['generator']}-s{results['schema']}" in path.name


def test_search(results: dict[str, Any]) -> None:
    se = results["sizes"][SIZE]["search"]
    for kind in ("common", "rare", "two_words"):
        assert _positive(se[kind]["p50_ms"], se[kind]["p95_ms"])
    assert se["matches"]["news"] > 0
    assert _positive(se["baseline_rank_common_p50_ms"])


def test_ui(results: dict[str, Any]) -> None:
    ui = results["sizes"][SIZE]["ui"]
    assert _positive(ui["startup_s"], ui["key_p50_ms"], ui["key_p95_ms"], ui["rss_peak_mb"])
    assert ui["keys_n"] > 0
    assert _positive(results["empty_app"]["rss_peak_mb"])


def test_latency(results: dict[str, Any]) -> None:
    la = results["sizes"][SIZE]["latency"]
    assert _positive(la["quiet_p95_ms"], la["arriving_p95_ms"], la["arriving_posts_per_s"])
    assert la["reloads"] > 0  # the desk noticed the other Store's commits
    for name in ("screen_small", "screen_large"):
        s = la[name]
        assert s["failed"] == 0
        assert _positive(s["total"]["p50_ms"], s["after_fetch"]["p50_ms"])
    assert la["screen_small"]["modes"] == ["line drawn"]


def test_poller(results: dict[str, Any]) -> None:
    po = results["poller"]
    assert po["channels"] == Plan([SIZE], quick=True).poller_channels
    assert all(n == po["channels"] for n in po["changed_new_posts"])  # one new post per channel seen
    assert _positive(po["changed_cpu_ms"], po["unchanged_cpu_ms"], po["httpx_cpu_ms"], po["parse_cpu_ms"])


def test_table_has_a_row_for_every_figure(results: dict[str, Any]) -> None:
    text = render(results)
    whats = " ".join(r[0] for r in rows(results))
    for needle in ("parse a preview page", "bulk ingest with FTS", "search newest first", "start-up",
                   "while scrolling", "while posts arrive", "memory", "poller CPU per 100 sources",
                   "new post on screen"):
        assert needle in whats
    assert "AMD" in text or "Machine:" in text
    assert text.count("\n| ") >= 12


def test_verify_benchmark_counts_requests() -> None:
    from benchmarks import bench_verify

    res = bench_verify.run(pins=12, channels=3, gap=0.0, jitter=0.0)
    assert res["one_per_pin_nogap"]["requests"] == 12 and res["capture_nogap"]["requests"] == 12
    assert 0 < res["grouped_nogap"]["requests"] <= 12
    assert res["grouped_polite"]["results"] == {"unchanged": 12}
    assert "one per pin, polite" in bench_verify.render(res)


def test_parse_parts_runs_on_our_own_page() -> None:
    from benchmarks import bench_parse_parts

    res = bench_parse_parts.run(bench_parse.generate_page().encode(), 2)
    assert {label for label, _, _ in bench_parse_parts.PARTS} < set(res)
    assert all(_positive(r["us"], r["per_bare"]) for r in res.values())
