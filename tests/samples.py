"""Where the real captured samples live, and a marker that skips tests when they are absent.

The samples are read in place from ../shared/samples (beside the checkout); they are never copied
into the project. A clone without ../shared still passes: these tests skip, our own fixtures run.
"""

from __future__ import annotations

from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"
TELEGRAM = SAMPLES / "telegram"
OTHER = SAMPLES / "other"

needs_samples = pytest.mark.skipif(
    not TELEGRAM.is_dir(),
    reason=f"real samples not found at {SAMPLES} (../shared/samples beside the checkout); own fixtures still run",
)


def sample(name: str) -> Path:
    return TELEGRAM / name
