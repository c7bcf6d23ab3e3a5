"""Bounded cost: a hostile server on 127.0.0.1 serving compression bombs (gzip of gzip, deflate,
raw deflate, stacked and unknown encodings) to the installed `desk poll --once`. The body cap holds
for DECODED bytes: the poller refuses each bomb with a reason while its peak memory stays near that
of polling one ordinary page, and the healthy channel beside them is stored."""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest

from deskapp.demo.tme import render_page
from tests.adversary.helpers_b import desk_config, needs_desk, run_measured
from tests.scripted_http import ScriptedServer
from tests.wire import make_channel

pytestmark = needs_desk
BOMB_MB = 512  # decoded size of each bomb; the cap is 4 MB


def _compress(chunks, wbits: int, level: int = 1) -> bytes:
    c = zlib.compressobj(level, zlib.DEFLATED, wbits)
    return b"".join([c.compress(x) for x in chunks] + [c.flush()])


@pytest.fixture(scope="module")
def bombs() -> dict[str, tuple[str, bytes]]:
    zeros = b"\0" * (8 << 20)
    inner_gzip = _compress([zeros] * (BOMB_MB // 8), 16 + zlib.MAX_WBITS)
    deflate = _compress([zeros] * (BOMB_MB // 8), zlib.MAX_WBITS)
    return {
        "gzip_gzip": ("gzip, gzip", _compress([inner_gzip], 16 + zlib.MAX_WBITS, 9)),
        "deflate_gzip": ("deflate, gzip", _compress([deflate], 16 + zlib.MAX_WBITS, 9)),
        "deflate_bomb": ("deflate", deflate),
        "raw_deflate": ("deflate", _compress([zeros] * (BOMB_MB // 8), -zlib.MAX_WBITS)),
        "x_gzip": ("x-gzip", inner_gzip),
        "three_layers": ("gzip, gzip, gzip", _compress([_compress([inner_gzip], 16 + zlib.MAX_WBITS, 9)],
                                                       16 + zlib.MAX_WBITS, 9)),
        "brotli_claim": ("br", b"\x1b\xff\xff"),
        "lying_gzip": ("gzip", b"this is not gzip at all" * 10),
    }


def test_compression_bombs_are_refused_in_bounded_memory(tmp_path: Path, bombs: dict[str, tuple[str, bytes]],
                                                          capsys: pytest.CaptureFixture) -> None:
    with ScriptedServer() as server:
        server.channel(make_channel("calm_chan", 5))
        base_cfg = desk_config(tmp_path, server.url, ["calm_chan"], name="calm.toml")
        code, out, baseline_kb = run_measured(["--config", str(base_cfg), "poll", "--once"])
        assert code == 0, out
        for handle, (encoding, body) in bombs.items():
            server.route(f"/s/{handle}", body, headers={"Content-Encoding": encoding})
        # Honest pages in the same encodings are read as usual.
        for handle, encoding, wbits in (("twice_ok", "gzip, gzip", 16 + zlib.MAX_WBITS),
                                        ("raw_ok", "deflate", -zlib.MAX_WBITS)):
            ch = make_channel(handle, 4)
            once = _compress([render_page(ch, ch.posts).encode()], wbits, 6)
            body = _compress([once], wbits, 6) if "," in encoding else once
            server.route(f"/s/{handle}", body, headers={"Content-Encoding": encoding})
        cfg = desk_config(tmp_path, server.url, ["calm_chan", "twice_ok", "raw_ok", *bombs])
        code, out, peak_kb = run_measured(["--config", str(cfg), "poll", "--once"])
    lines = {ln.split(":", 2)[1]: ln for ln in out.splitlines() if ln.startswith("telegram:")}
    assert code == 1 and "ok" in lines["calm_chan"], out
    assert "ok, 4 new" in lines["twice_ok"] and "ok, 4 new" in lines["raw_ok"], out
    for handle in ("gzip_gzip", "deflate_gzip", "deflate_bomb", "raw_deflate", "x_gzip"):
        assert "FAILED: response too large" in lines[handle] and "once decoded" in lines[handle], lines[handle]
    assert "3 stacked Content-Encodings" in lines["three_layers"]
    assert "unsupported Content-Encoding 'br'" in lines["brotli_claim"]
    assert "does not decode as gzip" in lines["lying_gzip"]
    sizes = {h: len(b) for h, (_, b) in bombs.items()}
    with capsys.disabled():
        print(f"\nbombs of {BOMB_MB} MB decoded ({sizes['gzip_gzip']:,} bytes on the wire for gzip, gzip): "
              f"peak RSS {peak_kb / 1024:.0f} MB; the same desk polling one ordinary page: "
              f"{baseline_kb / 1024:.0f} MB")
    assert peak_kb < baseline_kb + 64 * 1024, (peak_kb, baseline_kb)
