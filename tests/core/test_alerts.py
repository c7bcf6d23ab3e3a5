"""Alert and mute rules: words, phrases, patterns, limits, scripts without spaces, hostile posts."""

from __future__ import annotations

import pytest

from deskapp.core.alerts import Rule, RuleAction, RuleError, RuleSet, split_rules, validate


def names(matches) -> list[str]:
    return [m.rule.name for m in matches]


def test_words_phrases_and_patterns_match_case_and_script_insensitively() -> None:
    rs = RuleSet([
        Rule("evac", words=("evacuation", "эвакуация")),
        Rule("raid", phrases=("air raid",)),
        Rule("dead", patterns=(r"\bcasualt(y|ies)\b",)),
    ])
    assert names(rs.match("Air  RAID sirens; ЭВАКУАЦИЯ объявлена")) == ["evac", "raid"]
    assert names(rs.match("revised Casualty figures")) == ["dead"]
    assert rs.match("air, then raid") == [] or names(rs.match("air, then raid")) == []
    assert rs.match("evacuations planned") == []  # whole words only


def test_a_phrase_needs_its_words_in_order_and_next_to_each_other() -> None:
    rs = RuleSet([Rule("raid", phrases=("air raid",))])
    assert rs.match("raid on the air base") == []
    assert rs.match("air and raid") == []
    assert names(rs.match("An air-raid warning")) == ["raid"]


def test_words_in_scripts_without_spaces_match_inside_the_text() -> None:
    rs = RuleSet([Rule("scene", words=("現場",)), Rule("thai", words=("ไฟไหม้",))])
    assert names(rs.match("現場からの情報です")) == ["scene"]
    assert names(rs.match("เกิดไฟไหม้ที่ตลาด")) == ["thai"]


def test_hyphenated_words_match_as_their_parts() -> None:
    rs = RuleSet([Rule("because", words=("из-за",)), Rule("covid", words=("covid-19",))])
    assert names(rs.match("Рейсы задержаны из-за тумана; COVID-19 cases")) == ["because", "covid"]


def test_limits_to_sources_and_kinds() -> None:
    rs = RuleSet([Rule("fire", words=("fire",), sources=("telegram:harbour_watch",)),
                  Rule("rss-only", words=("fire",), kinds=("rss",))])
    assert names(rs.match("fire", source="telegram:harbour_watch", kind="telegram")) == ["fire"]
    assert names(rs.match("fire", source="telegram:other", kind="telegram")) == []
    assert names(rs.match("fire", source="rss:agency", kind="rss")) == ["rss-only"]


def test_each_rule_reports_once_with_what_matched() -> None:
    rs = RuleSet([Rule("fire", words=("fire", "blaze"))])
    [m] = rs.match("fire fire blaze")
    assert m.what == "fire"


@pytest.mark.parametrize("rule, problem", [
    (Rule("", words=("x",)), "needs a name"),
    (Rule("empty"), "at least one"),
    (Rule("blank", words=(" ",)), "empty"),
    (Rule("two", words=("air raid",)), "not one word"),
    (Rule("bad", patterns=("(a",)), "not a valid regular expression"),
    (Rule("long", phrases=("x" * 501,)), "longer than"),
])
def test_unusable_rules_are_refused_naming_the_rule(rule: Rule, problem: str) -> None:
    with pytest.raises(RuleError, match=problem):
        validate(rule)


def test_a_post_built_against_a_pattern_costs_bounded_time() -> None:
    rs = RuleSet([Rule("evil", patterns=(r"^(\w+\s?)*$",))])
    import time

    start = time.monotonic()
    rs.match("word " * 30 + "!")
    assert time.monotonic() - start < 2.0
    assert rs.timeouts in (0, 1)


def test_split_rules_by_action() -> None:
    alerts, mutes = split_rules([Rule("a", words=("x",)), Rule("m", words=("y",), action=RuleAction.MUTE)])
    assert [r.name for r in alerts.rules] == ["a"] and [r.name for r in mutes.rules] == ["m"]
    assert RuleSet([]).match("anything") == []
