"""What the editor types in a search, parsed: words, phrases, prefixes, OR, exclusions and filters.

    flood "river bank" evac*  -rumour  strike OR attack  source:durov  since:2024-05-01  until:2d

- words are all required (AND); `"a phrase"` keeps its words together and in order;
- `word*` matches words starting with `word`;
- `a OR b` needs one of them (OR binds tighter than the implicit AND: `x a OR b` is x AND (a OR b));
- `-word` / `-"a phrase"` leaves out posts that have it;
- `source:NAME` keeps posts of that source (its name `telegram:durov`, its handle `durov` or its label,
  quoted when it has spaces: `source:"Wire A"`; several `source:` filters widen to any of them);
- `since:WHEN` / `until:WHEN`: a UTC date `2024-05-01` (until: to the end of that day), a UTC time
  `2024-05-01T14:30`, or an age (`30m`, `6h`, `2d`: that long before now).

Words in Chinese, Japanese, Korean, Thai, Lao, Khmer or Myanmar script also match inside longer
runs of text (`現場` in `現場からの情報です`); see core/grams.py. Everything else goes to the
posts_fts index (unicode61: case and diacritics do not matter).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from deskapp.core import grams
from deskapp.core.model import parse_utc_iso
from deskapp.core.sanitize import clean_text

FILTERS = ("source", "since", "until")
_AGE = re.compile(r"^(\d{1,6})([mhdw])$")
_AGE_UNIT = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class QueryError(ValueError):
    """A filter the desk cannot read; the message is one line for the editor."""


@dataclass(frozen=True, slots=True)
class Part:
    """One piece of a term for one index: "fts" (posts_fts) or "grams" (posts_grams), as a MATCH expression."""

    index: str
    match: str


@dataclass(frozen=True, slots=True)
class Term:
    """A word or phrase the editor typed; `parts` are AND-ed (a term mixing scripts has several)."""

    text: str
    parts: tuple[Part, ...]

    def relaxed(self, indexed: int) -> Term:
        """This term with each prefix cut to its first `indexed` characters (the longest prefix
        posts_fts indexes): it matches every post this term matches, and some more."""
        return Term(self.text, tuple(Part(p.index, _cut_prefix(p.match, indexed)) if p.index == "fts" else p
                                     for p in self.parts))

    @property
    def index(self) -> str | None:
        """The one index this term needs, or None when it needs both."""
        kinds = {p.index for p in self.parts}
        return kinds.pop() if len(kinds) == 1 else None


@dataclass(slots=True)
class Query:
    """AND of `clauses` (each an OR of terms), minus `excluded`, within the filters."""

    clauses: list[list[Term]] = field(default_factory=list)
    excluded: list[Term] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # as typed; the store resolves them
    since: datetime | None = None
    until: datetime | None = None  # exclusive

    @property
    def empty(self) -> bool:
        return not (self.clauses or self.excluded or self.sources or self.since or self.until)


def _tokens(text: str) -> list[tuple[bool, bool, str]]:
    """(negated, quoted, text) tokens: `"..."` groups (an unclosed quote runs to the end)."""
    out: list[tuple[bool, bool, str]] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        neg = False
        if text[i] == "-" and i + 1 < n and not text[i + 1].isspace():
            neg, i = True, i + 1
        if text[i] == '"':
            end = text.find('"', i + 1)
            end = n if end < 0 else end
            out.append((neg, True, text[i + 1:end]))
            i = end + 1
            continue
        j = i
        while j < n and not text[j].isspace() and text[j] != '"':
            j += 1
        if j < n and text[j] == '"' and text[i:j].endswith(":"):  # source:"Wire A": a quoted value
            end = text.find('"', j + 1)
            end = n if end < 0 else end
            out.append((neg, False, text[i:j] + text[j + 1:end]))
            i = end + 1
            continue
        out.append((neg, False, text[i:j]))
        i = j
    return out


def _fts_words(text: str) -> list[str]:
    # Tokens without a letter or digit are dropped: the tokenizer makes nothing of them, and an
    # empty phrase AND-ed in would make "item -" match nothing.
    return [w for w in text.split() if any(ch.isalnum() for ch in w)]


def _term(text: str, *, phrase: bool, prefix: bool) -> Term | None:
    """The index parts of one typed word or phrase; None when nothing in it is searchable."""
    parts: list[Part] = []
    fts_words: list[str] = []

    def flush() -> None:
        if fts_words:
            quoted = '"' + " ".join(fts_words).replace('"', '""') + '"'
            parts.append(Part("fts", quoted))
            fts_words.clear()

    pieces = grams.split_runs(text)
    for at, (is_run, piece) in enumerate(pieces):
        if is_run:
            flush()
            if parts and parts[-1].index == "fts" and at > 0 and not pieces[at - 1][1][-1:].isspace():
                # `GDP成長`: unicode61 made one token of `gdp成長率...`, so the Latin part is its prefix.
                parts[-1] = Part("fts", parts[-1].match + "*")
            parts.append(Part("grams", grams.match(piece)))
        else:
            words = _fts_words(piece.replace('"', " "))
            if not phrase:
                for w in words:
                    fts_words.append(w)
                    flush()
            else:
                fts_words.extend(words)
    flush()
    if not parts:
        return None
    if prefix and parts[-1].index == "fts":
        parts[-1] = Part("fts", parts[-1].match + "*")
    return Term(text, tuple(parts))


def _cut_prefix(match: str, keep: int) -> str:
    """`"river bank"*` -> `"river ban"*`: the last word of a prefix phrase cut to `keep` characters
    (any cut is a prefix of the token FTS5 makes of it, so the match only widens)."""
    if not match.endswith('"*'):
        return match
    body = match[1:-2]
    head, _, last = body.rpartition(" ")
    if len(last) <= keep:
        return match
    cut = last[:keep]
    if cut.count('"') % 2:  # never split a doubled quote (escaped) in two
        cut = cut[:-1]
    return '"' + (head + " " if head else "") + cut + '"*'


def _when(value: str, *, end_of_day: bool, now: datetime) -> datetime:
    age = _AGE.match(value)
    if age:
        return now - timedelta(**{_AGE_UNIT[age.group(2)]: int(age.group(1))})
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            day = datetime.fromisoformat(value).replace(tzinfo=UTC)
            return day + timedelta(days=1) if end_of_day else day
        return parse_utc_iso(value)
    except ValueError:
        raise QueryError(f"cannot read {value!r} as a date: use 2024-05-01, 2024-05-01T14:30 (UTC) or 6h / 2d") from None


def parse(text: str, *, prefix: bool = False, now: datetime | None = None) -> Query:
    """The editor's search text as a Query. `prefix`: the last plain word also matches as a prefix
    (search as you type). Raises QueryError for a filter it cannot read."""
    now = now or datetime.now(UTC)
    q = Query()
    pending_or = False
    # Controls go first: a NUL would end the query string early inside SQLite ("unterminated string").
    tokens = _tokens(clean_text(text or ""))
    last_plain = max((i for i, (neg, quoted, t) in enumerate(tokens)
                      if not neg and not quoted and t != "OR" and ":" not in t), default=-1)
    for i, (neg, quoted, raw) in enumerate(tokens):
        if not quoted and raw == "OR":
            pending_or = bool(q.clauses)
            continue
        if not quoted and not neg and ":" in raw:
            name, _, value = raw.partition(":")
            name = name.lower()
            if name in FILTERS:
                if not value:
                    raise QueryError(f"{name}: needs a value (for example {name}:{'durov' if name == 'source' else '2d'})")
                if name == "source":
                    q.sources.append(value)
                elif name == "since":
                    q.since = _when(value, end_of_day=False, now=now)
                else:
                    q.until = _when(value, end_of_day=True, now=now)
                pending_or = False
                continue
        word_prefix = not quoted and raw.endswith("*")
        body = raw.rstrip("*") if word_prefix else raw
        term = _term(body, phrase=quoted, prefix=word_prefix or (prefix and i == last_plain))
        if term is None:
            continue
        if neg:
            q.excluded.append(term)
        elif pending_or:
            q.clauses[-1].append(term)
        else:
            q.clauses.append([term])
        pending_or = False
    if q.since and q.until and q.since >= q.until:
        raise QueryError("since: is not before until: nothing can match")
    return q
