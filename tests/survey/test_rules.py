"""The pure core of selection (app/survey/rules.py): edge values, missing answers, unknown
questions, all/any, order, the unresolved answer; and what validation refuses."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.survey import errors as err
from app.survey import rules as core

QUESTIONS = core.clean_questions([
    {"key": "nps", "text": "Recommend?", "kind": "score_10", "role": "overall"},
    {"key": "care", "text": "Staff cared", "kind": "score_5", "dimension": "empathy"},
    {"key": "kind", "text": "Polite", "kind": "score_5", "dimension": "empathy"},
    {"key": "fixed", "text": "Resolved?", "kind": "yes_no", "role": "resolved"},
    {"key": "visit", "text": "Why?", "kind": "choice", "options": ["repair", "maintenance"]},
    {"key": "note", "text": "Anything else?", "kind": "text"},
])


def facts(answers, **kw):
    return core.facts(QUESTIONS, core.clean_answers(QUESTIONS, answers), **kw)


def rule(*conditions, match="all", **kw):
    return {"id": kw.get("id", "r"), "name": kw.get("name", "r"), "match": match, "enabled": kw.get("enabled", True),
            "template_id": kw.get("template_id"), "priority": kw.get("priority", "high"),
            "conditions": core.clean_conditions(conditions, QUESTIONS)}


@pytest.mark.parametrize("op,threshold,score,expected", [
    ("lte", 6, 6, True), ("lt", 6, 6, False), ("lte", 6, 7, False), ("gte", 9, 9, True), ("gt", 9, 9, False),
    ("eq", 0, 0, True), ("ne", 0, 0, False), ("lt", 0, 0, False), ("lte", 10, 10, True),
])
def test_threshold_edges(op, threshold, score, expected):
    r = rule({"field": "question", "key": "nps", "op": op, "value": threshold})
    assert core.matches(r, facts({"nps": score})) is expected
    r = rule({"field": "overall", "op": op, "value": threshold})
    assert core.matches(r, facts({"nps": score})) is expected


def test_missing_answers_never_match_whatever_the_operator():
    f = facts({"nps": 8})
    for op in ("lt", "lte", "eq", "ne", "gte", "gt"):
        assert not core.matches(rule({"field": "question", "key": "care", "op": op, "value": 3}), f)
        assert not core.matches(rule({"field": "dimension", "key": "empathy", "op": op, "value": 3}), f)
    assert not core.matches(rule({"field": "question", "key": "visit", "op": "not_in", "values": ["repair"]}), f)
    assert not core.matches(rule({"field": "customer_tier", "op": "not_in", "values": ["A"]}), f)  # no tier known
    assert core.facts(QUESTIONS, {}).overall is None


def test_an_unknown_question_is_refused_when_saved_and_never_matches_if_it_disappears():
    with pytest.raises(err.UnknownQuestion):
        core.clean_conditions([{"field": "question", "key": "gone", "op": "lt", "value": 3}], QUESTIONS)
    with pytest.raises(err.UnknownQuestion):
        core.clean_answers(QUESTIONS, {"gone": 3})
    stale = {"id": 1, "name": "stale", "match": "all", "conditions": [{"field": "question", "key": "gone", "op": "lt", "value": 3}]}
    assert not core.matches(stale, facts({"nps": 0}))  # a rule saved for a template that later lost the question


def test_dimension_is_the_mean_of_its_answered_questions_on_ten():
    f = facts({"care": 1, "kind": 3})  # 0 and 5 on 0-10
    assert f.dimensions == {"empathy": 2.5}
    assert f.overall == 2.5  # no overall answer: the mean of the scored answers
    assert facts({"care": 5}).dimensions == {"empathy": 10.0}


def test_all_any_and_order():
    low = {"field": "overall", "op": "lte", "value": 6}
    care = {"field": "dimension", "key": "empathy", "op": "lt", "value": 5}
    f = facts({"nps": 5, "care": 5})
    assert core.matches(rule(low, care, match="any"), f) and not core.matches(rule(low, care), f)
    rules = [rule(care, name="care", id=1, priority="urgent"), rule(low, name="low", id=2, priority="high")]
    assert core.select(rules, f).rule_name == "low"
    f2 = facts({"nps": 5, "care": 1})
    assert core.select(rules, f2).rule_name == "care"  # both match: the first in order decides
    rules[0]["enabled"] = False
    assert core.select(rules, f2).rule_name == "low"
    assert core.select([rule(low, template_id="other")], f, "mine") is None  # another template's rule


def test_unresolved_selects_without_any_rule_and_a_rule_still_decides_first():
    f = facts({"nps": 10, "fixed": "no"})
    sel = core.select([], f)
    assert (sel.reason, sel.priority, sel.rule_id) == ("unresolved", "high", None)
    assert core.select([], facts({"nps": 10, "fixed": "yes"})) is None
    r = rule({"field": "question", "key": "fixed", "op": "in", "values": ["no"]}, name="open", priority="urgent")
    assert core.select([r], f).rule_name == "open"


def test_tier_region_and_product_line_conditions():
    r = rule({"field": "customer_tier", "op": "in", "values": ["A"]}, {"field": "dealer_region", "op": "not_in", "values": ["east"]},
             {"field": "product_line", "op": "in", "values": ["EV"]})
    assert core.matches(r, facts({"nps": 9}, customer_tier="A", dealer_region="north", product_line="EV"))
    assert not core.matches(r, facts({"nps": 9}, customer_tier="A", dealer_region="east", product_line="EV"))
    assert not core.matches(r, facts({"nps": 9}, customer_tier="B", dealer_region="north", product_line="EV"))


@pytest.mark.parametrize("bad,code", [
    ([], "INVALID_CONDITION"),
    ([{"field": "nope", "op": "lt", "value": 1}], "INVALID_CONDITION"),
    ([{"field": "overall", "op": "in", "values": ["x"]}], "INVALID_CONDITION"),
    ([{"field": "overall", "op": "lt"}], "INVALID_CONDITION"),
    ([{"field": "overall", "op": "lt", "value": float("nan")}], "INVALID_CONDITION"),
    ([{"field": "question", "key": "note", "op": "eq", "value": 1}], "INVALID_CONDITION"),
    ([{"field": "question", "key": "visit", "op": "in", "values": ["picnic"]}], "INVALID_CONDITION"),
    ([{"field": "dimension", "key": "luck", "op": "lt", "value": 1}], "INVALID_CONDITION"),
    ([{"field": "customer_tier", "op": "lt", "value": 1}], "INVALID_CONDITION"),
    ([{"field": "overall", "op": "lt", "value": 1}] * 21, "INVALID_CONDITION"),
])
def test_invalid_conditions_are_refused_with_a_code(bad, code):
    with pytest.raises(err.InvalidCondition) as e:
        core.clean_conditions(bad, QUESTIONS)
    assert e.value.code == code


def test_invalid_questions_are_refused():
    for bad in ([], [{"key": "A B", "text": "x", "kind": "score_10"}], [{"key": "a", "text": "x", "kind": "stars"}],
                [{"key": "a", "text": "x", "kind": "text", "role": "overall"}],
                [{"key": "a", "text": "x", "kind": "score_10", "role": "resolved"}],
                [{"key": "a", "text": "x", "kind": "choice", "options": ["one"]}],
                [{"key": "a", "text": "x", "kind": "score_10"}, {"key": "a", "text": "y", "kind": "score_10"}]):
        with pytest.raises(err.InvalidQuestion):
            core.clean_questions(bad)


@settings(max_examples=300, deadline=None)
@given(nps=st.one_of(st.none(), st.integers(0, 10)), care=st.one_of(st.none(), st.integers(1, 5)),
       threshold=st.floats(-1, 11, allow_nan=False), op=st.sampled_from(["lt", "lte", "eq", "ne", "gte", "gt"]))
def test_a_condition_agrees_with_plain_arithmetic(nps, care, threshold, op):
    answers = {k: v for k, v in (("nps", nps), ("care", care)) if v is not None}
    f = facts(answers)
    got = core.holds({"field": "overall", "op": op, "value": threshold}, f)
    expected_overall = nps if nps is not None else ((care - 1) * 2.5 if care is not None else None)
    if expected_overall is None:
        assert got is False
    else:
        want = {"lt": expected_overall < threshold, "lte": expected_overall <= threshold, "eq": expected_overall == threshold,
                "ne": expected_overall != threshold, "gte": expected_overall >= threshold, "gt": expected_overall > threshold}[op]
        assert got is want
