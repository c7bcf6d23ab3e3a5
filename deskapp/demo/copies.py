"""How a story is repeated across channels: the copies and near-copies the demo wire posts.

The same functions build the labelled set that measures duplicate grouping
(benchmarks/bench_dedup.py): each variant is what channels really do to a post they take over.
All text is ours.
"""

from __future__ import annotations

import random

ATTRIBUTIONS = ["Via {who}:", "According to {who},", "{who} reports:", "Forwarded from {who}"]
TAILS = ["Subscribe: @{handle}", "#breaking #news", "https://t.me/{handle}/{n}", "🔴🔴", "Source: {who}"]
SWAPS = {"fire": "blaze", "closed": "shut", "reports": "says", "power": "electricity", "delays": "disruption",
         "warning": "alert", "homes": "households", "area": "district", "video": "footage"}


def variants(text: str, rng: random.Random, *, who: str = "Harbour Watch", handle: str = "harbour_watch"
             ) -> list[tuple[str, str]]:
    """(kind, text) copies of `text`, each of a kind channels make."""
    fill = {"who": who, "handle": handle, "n": rng.randint(10, 9999)}
    words = text.split()
    swapped = [SWAPS.get(w.lower(), w) for w in words]
    if swapped == words and len(words) > 3:
        i = rng.randrange(len(words))
        swapped[i] = swapped[i] + "s"
    cut = max(8, int(len(words) * 0.8))
    return [
        ("exact", text),
        ("attributed", f"{rng.choice(ATTRIBUTIONS).format(**fill)} {text}"),
        ("tail", f"{text}\n\n{rng.choice(TAILS).format(**fill)}"),
        ("reworded", " ".join(swapped)),
        ("truncated", " ".join(words[:cut]) + "…"),
        ("restyled", text.upper() if rng.random() < 0.3 else f"⚡️ {text.replace(';', ',').replace('.', '!')}"),
    ]
