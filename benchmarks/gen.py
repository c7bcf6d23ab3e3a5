"""Deterministic generated posts for benchmarks and tests: many channels, several scripts.

`generate_posts(n, channels=500, seed=0)` yields `n` posts in publication order (oldest first),
spread over `channels` Telegram-like channels. Each channel writes mostly in one script (Latin,
Cyrillic, Arabic, CJK, or a mix with Thai) with emoji sprinkled in; CJK and Thai often without spaces; words follow a Zipf-like law, so a few
words are in a large share of posts (COMMON_TERMS) and the tail is rare (`rare_term(i)`). Several
posts often share a publication second, which exercises the store's key tie-break and probing.
A small share of posts carry terminal escape sequences, forwarded-from, replies, albums and media.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import accumulate

from deskapp.core.model import ForwardedFrom, Post

START = datetime(2024, 1, 1, tzinfo=UTC)
VOCAB_SIZE = 4000  # words per script

# Head of each vocabulary: real, frequent words (rank 0 is the most frequent).
_HEAD = {
    "latin": ["the", "news", "breaking", "report", "city", "minister", "attack", "official", "update",
              "power", "army", "border", "election", "police", "market", "said", "today", "video"],
    "cyrillic": ["новости", "сегодня", "город", "удар", "министр", "армия", "граница", "выборы",
                 "полиция", "рынок", "заявил", "видео", "срочно", "области", "власти"],
    "arabic": ["الأخبار", "اليوم", "مدينة", "وزير", "الجيش", "الحدود", "الانتخابات", "الشرطة", "السوق",
               "عاجل", "فيديو", "قال"],
    "cjk": ["新闻", "今天", "城市", "部长", "军队", "边境", "选举", "警察", "市场", "视频", "报道", "官方"],
    "thai": ["ข่าว", "วันนี้", "เมือง", "รัฐมนตรี", "กองทัพ", "ชายแดน", "เลือกตั้ง", "ตำรวจ", "ตลาด", "วิดีโอ"],
}
_SYLLABLES = {
    "latin": ["ka", "to", "ri", "men", "sa", "lo", "ver", "an", "tes", "pol", "dra", "in", "gor", "el",
              "mu", "ne", "sta", "bri", "ox", "ul", "qua", "zen", "fi", "ro"],
    "cyrillic": ["ка", "то", "ри", "мен", "са", "ло", "вер", "ан", "тес", "пол", "дра", "ин", "гор",
                 "ел", "му", "не", "ста", "бри", "ох", "ул", "жи", "щу", "ый", "ро"],
    "arabic": ["كا", "تو", "ري", "من", "سا", "لو", "فر", "ان", "تس", "بل", "در", "ين", "غر", "ال",
               "مو", "ني", "ست", "بر", "عا", "قو", "زي", "في", "رو", "ها"],
    "cjk": ["中", "国", "人", "大", "年", "会", "发", "行", "地", "方", "生", "民", "时", "经", "动",
            "政", "治", "战", "区", "北", "南", "东", "西", "海"],
    "thai": ["กา", "ตู", "ริ", "เมน", "สา", "โล", "แวร์", "อัน", "เทส", "พล", "ดรา", "อิน", "กอร์", "เอล",
             "มู", "เน", "สตา", "บริ", "อ็อก", "อุล", "ควา", "เซน", "ฟี", "โร่"],
}
_SCRIPTS = ["latin", "latin", "latin", "latin", "cyrillic", "cyrillic", "cyrillic", "arabic", "cjk", "mixed"]
_EMOJI = ["🔥", "⚡️", "❗️", "🇺🇦", "🇷🇺", "👍🏽", "📹", "💥", "🚨", "👨‍👩‍👧"]
_HOSTILE = ["\x1b[31m", "\x1b]52;c;SGVsbG8=\x07", "\x1b]8;;https://evil.example\x1b\\", "\x9b2J", "\u202e"]

# Terms the benchmark searches for: frequent in the Latin and Cyrillic channels.
COMMON_TERMS = ["news", "новости"]
# Chinese is written without spaces half of the time and Thai always (as real posts are), so
# words inside those runs are only found through the bigram index (deskapp/core/grams.py).
UNSPACED = {"cjk": 0.5, "thai": 1.0}


def _vocab(script: str) -> list[str]:
    """Head words, then deterministic synthetic words built from the script's syllables."""
    rng = random.Random(f"vocab-{script}")
    words = list(_HEAD[script])
    seen = set(words)
    syl = _SYLLABLES[script]
    while len(words) < VOCAB_SIZE:
        w = "".join(rng.choice(syl) for _ in range(rng.randint(2, 4)))
        if w not in seen:
            seen.add(w)
            words.append(w)
    return words


_VOCABS = {s: _vocab(s) for s in _HEAD}
# Zipf weights 1/(rank+1): rank 0 ends up in a large share of posts, the last ranks in very few.
_CUM = list(accumulate(1.0 / (r + 1) for r in range(VOCAB_SIZE)))


def rare_term(i: int = 0, script: str = "latin") -> str:
    """A word from the far tail of a vocabulary (in roughly 0.01-0.1 % of that script's posts)."""
    return _VOCABS[script][VOCAB_SIZE - 1 - i]


def channel_handle(i: int) -> str:
    return f"Chan{i:04d}_{_SCRIPTS[i % len(_SCRIPTS)][:3]}"


def generate_posts(n: int, channels: int = 500, seed: int = 0) -> Iterator[Post]:
    """Yield n posts, oldest first, over `channels` channels; the same (n, channels, seed) -> same posts."""
    rng = random.Random(seed)
    handles = [channel_handle(i) for i in range(channels)]
    scripts = [_SCRIPTS[i % len(_SCRIPTS)] for i in range(channels)]
    next_id = [rng.randint(1, 5000) for _ in range(channels)]
    t = START
    second = timedelta(seconds=1)
    choices = rng.choices
    for _ in range(n):
        # 0..3 s between posts: about two posts a second, often several in the same second.
        gap = rng.random()
        if gap > 0.5:
            t += second * (1 if gap < 0.8 else 3)
        c = rng.randrange(channels)
        handle = handles[c]
        script = scripts[c]
        post_id = next_id[c]
        next_id[c] += 1 if rng.random() < 0.9 else rng.randint(2, 5)
        nwords = rng.randint(6, 70)
        if script == "mixed":
            half = nwords // 2
            other = rng.choice(("cyrillic", "arabic", "cjk", "thai"))
            words = choices(_VOCABS["latin"], cum_weights=_CUM, k=half)
            tail = choices(_VOCABS[other], cum_weights=_CUM, k=nwords - half)
            words.append(("" if rng.random() < UNSPACED.get(other, 0) else " ").join(tail))
        else:
            words = choices(_VOCABS[script], cum_weights=_CUM, k=nwords)
        if rng.random() < 0.3:
            words.insert(rng.randrange(len(words) + 1), rng.choice(_EMOJI))
        if rng.random() < 0.1:
            words.insert(rng.randrange(len(words) + 1), "\n\n")
        if rng.random() < 0.05:
            words.append(f"https://example.org/{handle.lower()}/{post_id}")
        if rng.random() < 0.01:
            words.insert(rng.randrange(len(words) + 1), rng.choice(_HOSTILE))
        sep = ("" if rng.random() < UNSPACED["cjk"] else "，") if script == "cjk" else " "
        r = rng.random()
        views = None
        views_count = None
        if r < 0.9:
            views_count = rng.randint(10, 2_000_000)
            views = f"{views_count / 1000:.1f}K" if views_count >= 1000 else str(views_count)
        yield Post(
            source=f"telegram:{handle.lower()}",
            channel=handle,
            id=post_id,
            url=f"https://t.me/{handle}/{post_id}",
            published=t,
            text=sep.join(words),
            author="Desk Editor" if r < 0.1 else None,
            views=views,
            views_count=views_count,
            edited=r > 0.95,
            forwarded_from=ForwardedFrom("Other Channel", "https://t.me/other") if 0.3 < r < 0.35 else None,
            reply_to=f"https://t.me/{handle}/{post_id - 1}" if 0.4 < r < 0.45 else None,
            album_ids=[post_id, post_id + 1] if 0.5 < r < 0.53 else [],
            media=["photo"] if 0.6 < r < 0.9 else [],
            service=r > 0.995,
            channel_title=f"Channel {c}",
        )
