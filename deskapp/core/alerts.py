"""Alert and mute rules: which new posts to bring to the editor, and which to keep out of the way.

A rule matches a post when any of its words, phrases or regular expressions does, and the post's
source and kind are within the rule's limits (empty limits mean every source or kind). The same
rule shape serves alerts (raise) and mutes (hide from the feed; never from the store or search).

Matching is one pass over the post's words, whatever the number of rules: words and phrases sit in
a dictionary keyed by their first word, so 100 rules cost about what one does. Words written in
scripts without spaces (CJK, Thai, ...) match anywhere inside the text, because there is no word
boundary to find. Regular expressions use the `regex` module for its time limit: a post crafted
against an editor's pattern (catastrophic backtracking) costs at most PATTERN_TIMEOUT, is counted
as not matching that pattern, and is logged; the stdlib `re` has no limit at all.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

import regex

from deskapp.core.model import utc_iso

log = logging.getLogger("desk.alerts")

_WORD = re.compile(r"\w+")
# Scripts written without spaces between words: a rule word in them is matched as a substring.
_NO_SPACE_SCRIPTS = re.compile(
    "[\u0e00-\u0e7f\u0e80-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff"
    "\uf900-\ufaff\uac00-\ud7af\U00020000-\U0002fa1f]"
)
MAX_RULE_TEXT = 500  # one word, phrase or pattern; a rule is typed by a person


class RuleAction(StrEnum):
    ALERT = "alert"
    MUTE = "mute"


class RuleError(ValueError):
    """A rule that cannot be used, with a reason that names the rule."""


def fold(text: str) -> str:
    """The form both rules and posts are compared in: compatibility-normalised and case-folded."""
    return unicodedata.normalize("NFKC", text).casefold()


def words_of(text: str) -> list[str]:
    return _WORD.findall(fold(text))


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    action: RuleAction = RuleAction.ALERT
    words: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()  # regular expressions (Python syntax), case-insensitive
    sources: tuple[str, ...] = ()  # store source names ("telegram:harbour_watch"); empty = all
    kinds: tuple[str, ...] = ()  # "telegram", "rss", ...; empty = all

    def applies_to(self, source: str, kind: str) -> bool:
        return (not self.sources or source in self.sources) and (not self.kinds or kind in self.kinds)

    def describe(self) -> str:
        parts = [*(repr(w) for w in self.words), *(f'"{p}"' for p in self.phrases),
                 *(f"/{p}/" for p in self.patterns)]
        return " or ".join(parts) or "(nothing)"


@dataclass(frozen=True, slots=True)
class Match:
    rule: Rule
    what: str  # the word, phrase or pattern that matched, for the notification


def validate(rule: Rule) -> Rule:
    """The rule as given, or RuleError naming it and the problem."""
    if not rule.name.strip():
        raise RuleError("a rule needs a name")
    if not (rule.words or rule.phrases or rule.patterns):
        raise RuleError(f"rule {rule.name!r}: give at least one of words, phrases, patterns")
    for text in (*rule.words, *rule.phrases, *rule.patterns):
        if not text.strip():
            raise RuleError(f"rule {rule.name!r}: an empty word, phrase or pattern")
        if len(text) > MAX_RULE_TEXT:
            raise RuleError(f"rule {rule.name!r}: {text[:20]!r}… is longer than {MAX_RULE_TEXT} characters")
    for word in rule.words:
        if len(word.split()) != 1 or not (words_of(word) or _NO_SPACE_SCRIPTS.search(word)):
            raise RuleError(f"rule {rule.name!r}: {word!r} is not one word (put it under phrases)")
    for pattern in rule.patterns:
        _compile(rule, pattern)
    return rule


def _compile(rule: Rule, pattern: str) -> regex.Pattern[str]:
    try:
        return regex.compile(pattern, regex.IGNORECASE)
    except (regex.error, OverflowError, RecursionError) as exc:
        raise RuleError(f"rule {rule.name!r}: pattern /{pattern}/ is not a valid regular expression: {exc}") from None


PATTERN_TIMEOUT = 0.05  # seconds one pattern may spend on one post


@dataclass(slots=True)
class RuleSet:
    """Compiled rules; `match` checks one post against all of them in one pass over its words."""

    rules: Sequence[Rule]
    _by_first: dict[str, list[tuple[int, tuple[str, ...], str]]] = field(default_factory=dict)
    _substrings: list[tuple[int, str, str]] = field(default_factory=list)
    _patterns: list[tuple[int, regex.Pattern[str], str]] = field(default_factory=list)
    timeouts: int = 0  # pattern searches that hit PATTERN_TIMEOUT (a post built against a pattern)

    def __post_init__(self) -> None:
        for i, rule in enumerate(self.rules):
            validate(rule)
            for word in rule.words:
                if _NO_SPACE_SCRIPTS.search(word):
                    self._substrings.append((i, fold(word), word))
                else:  # "из-за", "covid-19": the words it is made of, in order
                    seq = tuple(words_of(word))
                    self._by_first.setdefault(seq[0], []).append((i, seq, word))
            for phrase in rule.phrases:
                seq = tuple(words_of(phrase))
                if _NO_SPACE_SCRIPTS.search(phrase) or not seq:
                    self._substrings.append((i, fold(phrase), phrase))
                else:
                    self._by_first.setdefault(seq[0], []).append((i, seq, phrase))
            for pattern in rule.patterns:
                self._patterns.append((i, _compile(rule, pattern), pattern))

    def __len__(self) -> int:
        return len(self.rules)

    def match(self, text: str, *, source: str = "", kind: str = "") -> list[Match]:
        """The rules this post matches, each once, in rule order."""
        if not self.rules:
            return []
        hits: dict[int, str] = {}
        folded = fold(text)
        words = _WORD.findall(folded)
        by_first = self._by_first
        for pos, word in enumerate(words):
            entries = by_first.get(word)
            if entries is None:
                continue
            for i, seq, shown in entries:
                if i in hits:
                    continue
                if len(seq) == 1 or tuple(words[pos:pos + len(seq)]) == seq:
                    hits[i] = shown
        for i, needle, shown in self._substrings:
            if i not in hits and needle in folded:
                hits[i] = shown
        for i, pattern, shown in self._patterns:
            if i in hits:
                continue
            try:
                found = pattern.search(text, timeout=PATTERN_TIMEOUT)
            except TimeoutError:
                self.timeouts += 1
                log.warning("alert rule %r: pattern /%s/ gave up after %.0f ms on one post",
                            self.rules[i].name, shown, PATTERN_TIMEOUT * 1000)
                continue
            if found:
                hits[i] = f"/{shown}/"
        out = []
        for i in sorted(hits):
            rule = self.rules[i]
            if rule.applies_to(source, kind):
                out.append(Match(rule, hits[i]))
        return out


_TERM = re.compile(r'/((?:[^/\\]|\\.)+)/|"([^"]*)"|(\S+)')


def rule_from_text(name: str, action: RuleAction, match: str, limit: str = "") -> Rule:
    """A rule as an editor types it in the desk: `match` holds words, "phrases" and /patterns/;
    `limit` holds source names (telegram:harbour_watch) and kinds (kind:rss). RuleError says what is wrong."""
    words: list[str] = []
    phrases: list[str] = []
    patterns: list[str] = []
    for m in _TERM.finditer(match):
        pattern, phrase, word = m.groups()
        if pattern is not None:
            patterns.append(pattern.replace("\\/", "/"))
        elif phrase is not None:
            phrases.append(phrase.strip())
        elif word.startswith(('"', "/")):
            raise RuleError(f"rule {name!r}: {word!r} is not closed")
        else:
            words.append(word)
    sources: list[str] = []
    kinds: list[str] = []
    for token in limit.split():
        if token.startswith("kind:") and token[5:]:
            kinds.append(token[5:].lower())
        elif ":" in token.strip(":"):
            sources.append(token)
        else:
            raise RuleError(f"rule {name!r}: limit {token!r} is neither a source (kind:handle) nor kind:KIND")
    return validate(Rule(name.strip(), action, tuple(words), tuple(phrases), tuple(patterns), tuple(sources),
                         tuple(kinds)))


def split_rules(rules: Iterable[Rule]) -> tuple[RuleSet, RuleSet]:
    """(alerts, mutes) from one list of rules."""
    rules = list(rules)
    return (RuleSet([r for r in rules if r.action is RuleAction.ALERT]),
            RuleSet([r for r in rules if r.action is RuleAction.MUTE]))


def rule_to_json(rule: Rule) -> dict[str, object]:
    return {"name": rule.name, "action": str(rule.action), "words": list(rule.words),
            "phrases": list(rule.phrases), "patterns": list(rule.patterns), "sources": list(rule.sources),
            "kinds": list(rule.kinds)}


def rule_from_json(data: dict[str, object]) -> Rule:
    """A rule as kept in the store; RuleError when it no longer makes sense."""
    def strings(key: str) -> tuple[str, ...]:
        value = data.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise RuleError(f"rule {data.get('name')!r}: {key} must be a list of strings")
        return tuple(value)

    try:
        action = RuleAction(str(data.get("action", "alert")))
    except ValueError:
        raise RuleError(f"rule {data.get('name')!r}: action must be alert or mute") from None
    return validate(Rule(str(data.get("name", "")), action, strings("words"), strings("phrases"),
                         strings("patterns"), strings("sources"), strings("kinds")))


class AlertKind(StrEnum):
    RULE = "rule"
    PINNED_EDIT = "pinned_edit"


@dataclass(frozen=True, slots=True)
class AlertRow:
    id: int
    key: int
    source: str
    post_id: int
    rule: str
    what: str
    kind: AlertKind
    at: datetime
    url: str = ""
    text: str = ""

    def line(self) -> str:
        what = "pinned post edited" if self.kind is AlertKind.PINNED_EDIT else f"{self.rule}: {self.what}"
        return f"{utc_iso(self.at)}  {what}  {self.url}"

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "rule": self.rule, "what": self.what, "kind": str(self.kind),
                "at": utc_iso(self.at), "source": self.source, "post_id": self.post_id, "url": self.url,
                "text": self.text}
