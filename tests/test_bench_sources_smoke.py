"""The source-kind parse benchmark runs (real samples and generated responses) and reports each figure."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import bench_sources


@pytest.mark.parametrize("generated", [False, True])
def test_bench_sources_runs(generated: bool, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    if generated:
        monkeypatch.setattr(bench_sources, "OTHER", tmp_path / "absent")
    rows = bench_sources.run(repeat=1)
    assert {r["kind"] for r in rows} == {"rss", "bluesky", "mastodon"}
    for r in rows:
        assert r["posts"] > 0 and r["desk_ms"] > 0 and r["floor_ms"] > 0
        assert r["floor"] == ("feedparser" if r["response"].endswith(".xml") or "RSS" in r["response"] else "json.loads")
