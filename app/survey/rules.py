"""The pure core of surveys: questions, answers, the facts a result offers, and selection rules
as structured conditions (never evaluated as code). No database: the service and
`selectionRulePreview` call these, and so do the tests.

A **question** is `{"key", "text", "kind", "dimension"?, "role"?, "options"?}` (kinds: 0-10,
1-5, yes/no, choice, text; role OVERALL makes its score the overall score, role RESOLVED marks
the yes/no "was your problem resolved?" question).

A result's **facts**: each answer; each dimension's score on 0-10 (the mean of its answered
scored questions, a 1-5 answer mapped onto 0-10); the overall score (the OVERALL question's,
else the mean of every answered scored question); whether the customer said the problem is
unresolved; the customer's tier, the dealer's region and the product line.

A **condition** is `{"field", "key"?, "op", "value"? | "values"?}`:
- `question` (key: the question's key): scores and yes/no (1 = yes, 0 = no) compare with
  lt/lte/eq/ne/gte/gt against `value`, on the question's own scale; choices and yes/no
  ("yes"/"no") with in/not_in against `values`;
- `dimension` (key: a dimension) and `overall`: lt ... gt against `value`, on 0-10;
- `customer_tier`, `dealer_region`, `product_line`: in/not_in against `values`.
A fact that is missing (an unanswered or unknown question, no tier, no region) makes its
condition false, whatever the operator: a rule never fires on what the customer did not say.

A **rule** matches when all (or any) of its conditions hold. Rules are tried in order; the first
that matches selects the result. A result that says the problem is unresolved is selected even
when no rule matches (and its score is high)."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterable

from app.survey import errors as err
from app.survey.enums import Comparison, ConditionField, Dimension, QuestionKind, QuestionRole, RuleMatch

KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_]{0,39}$")
MAX_QUESTIONS, MAX_OPTIONS, TEXT_MAX, ANSWER_TEXT_MAX = 50, 30, 500, 4000
MAX_CONDITIONS, MAX_VALUES = 20, 50
SCORED = {QuestionKind.SCORE_10: (0, 10), QuestionKind.SCORE_5: (1, 5)}
NUMERIC_OPS = {Comparison.LT, Comparison.LTE, Comparison.EQ, Comparison.NE, Comparison.GTE, Comparison.GT}
SET_OPS = {Comparison.IN, Comparison.NOT_IN}
UNRESOLVED_PRIORITY = "high"


# ---- questions ----------------------------------------------------------------------------------

def clean_questions(items: Iterable[dict]) -> list[dict]:
    """Validate a template's questions; returns them normalised (stored as JSON)."""
    items = list(items)
    if not items:
        raise err.InvalidQuestion("A template needs at least one question.", field="questions")
    if len(items) > MAX_QUESTIONS:
        raise err.InvalidQuestion(f"At most {MAX_QUESTIONS} questions.", field="questions")
    out, keys, roles = [], set(), set()
    for i, q in enumerate(items):
        where = f"questions.{i}"
        key = str(q.get("key") or "").strip().lower()
        if not KEY_RE.match(key):
            raise err.InvalidQuestion("A question key is 1-40 lower-case letters, digits or '_'.", field=f"{where}.key")
        if key in keys:
            raise err.InvalidQuestion(f"The key {key!r} appears twice.", field=f"{where}.key")
        keys.add(key)
        text = str(q.get("text") or "").strip()
        if not text or len(text) > TEXT_MAX:
            raise err.InvalidQuestion(f"A question's text is 1-{TEXT_MAX} characters.", field=f"{where}.text")
        try:
            kind = QuestionKind(q.get("kind"))
        except ValueError:
            raise err.InvalidQuestion("Unknown question kind.", field=f"{where}.kind") from None
        dimension = q.get("dimension")
        if dimension is not None:
            try:
                dimension = Dimension(dimension).value
            except ValueError:
                raise err.InvalidQuestion("Unknown dimension.", field=f"{where}.dimension") from None
            if kind not in SCORED and kind is not QuestionKind.YES_NO:
                raise err.InvalidQuestion("Only scored and yes/no questions measure a dimension.", field=f"{where}.dimension")
        try:
            role = QuestionRole(q.get("role") or QuestionRole.NONE)
        except ValueError:
            raise err.InvalidQuestion("Unknown question role.", field=f"{where}.role") from None
        if role is not QuestionRole.NONE:
            if role in roles:
                raise err.InvalidQuestion(f"Only one question may have the role {role.value}.", field=f"{where}.role")
            roles.add(role)
        if role is QuestionRole.OVERALL and kind not in SCORED:
            raise err.InvalidQuestion("The overall question must be scored (0-10 or 1-5).", field=f"{where}.role")
        if role is QuestionRole.RESOLVED and kind is not QuestionKind.YES_NO:
            raise err.InvalidQuestion("The 'resolved' question must be yes/no.", field=f"{where}.role")
        options = None
        if kind is QuestionKind.CHOICE:
            options = [str(o).strip() for o in q.get("options") or []]
            if not 2 <= len(options) <= MAX_OPTIONS or any(not o or len(o) > 80 for o in options) or len(set(options)) != len(options):
                raise err.InvalidQuestion(f"A choice question has 2-{MAX_OPTIONS} distinct options of 1-80 characters.",
                                          field=f"{where}.options")
        elif q.get("options"):
            raise err.InvalidQuestion("Only choice questions have options.", field=f"{where}.options")
        out.append({"key": key, "text": text, "kind": kind.value, "dimension": dimension, "role": role.value, "options": options})
    return out


# ---- answers and facts --------------------------------------------------------------------------

YES, NO = {"yes", "y", "true", "1", "是"}, {"no", "n", "false", "0", "否"}


@dataclass(frozen=True, slots=True)
class Question:
    """A clean question, ready for answers (built once per template, not per result)."""

    key: str
    kind: QuestionKind
    lo: float | None
    hi: float | None
    dimension: str | None
    role: QuestionRole
    options: frozenset[str]


def compile_questions(questions: list[dict]) -> dict[str, Question]:
    out = {}
    for q in questions:
        kind = QuestionKind(q["kind"])
        lo, hi = SCORED.get(kind, (None, None))
        out[q["key"]] = Question(q["key"], kind, lo, hi, q.get("dimension"), QuestionRole(q.get("role") or "none"),
                                 frozenset(q.get("options") or ()))
    return out


def _compiled(questions) -> dict[str, Question]:
    return questions if isinstance(questions, dict) else compile_questions(questions)


def clean_answers(questions: list[dict] | dict[str, Question], answers: dict[str, Any]) -> dict[str, Any]:
    """The answers of one result, checked against the template's questions (as stored, or as
    compile_questions made them): scores as numbers in range, yes/no as booleans ("yes"/"no",
    true/false, 1/0 accepted), a choice among the options, text up to 4000 characters. An
    unanswered question is simply absent."""
    by_key = _compiled(questions)
    out: dict[str, Any] = {}
    for key, value in answers.items():
        q = by_key.get(key)
        if q is None:
            raise err.UnknownQuestion(f"The template has no question {str(key)[:40]!r}.", field=f"answers.{str(key)[:40]}")
        if value is None or (value.__class__ is str and not value.strip()):
            continue
        kind = q.kind
        if q.lo is not None:
            number = _number(value)
            if number is None or not q.lo <= number <= q.hi:
                raise err.InvalidAnswer(f"{key!r} takes a number from {q.lo:g} to {q.hi:g}.", field=f"answers.{key}")
            out[key] = int(number) if number.is_integer() else number
        elif kind is QuestionKind.YES_NO:
            if value is True or value is False:
                out[key] = value
            else:
                word = str(value).strip().lower()
                if word in YES:
                    out[key] = True
                elif word in NO:
                    out[key] = False
                else:
                    raise err.InvalidAnswer(f"{key!r} takes yes or no.", field=f"answers.{key}")
        elif kind is QuestionKind.CHOICE:
            if not isinstance(value, str) or value.strip() not in q.options:
                raise err.InvalidAnswer(f"{key!r} takes one of its options.", field=f"answers.{key}")
            out[key] = value.strip()
        else:
            if not isinstance(value, str) or len(value) > ANSWER_TEXT_MAX or "\x00" in value:
                raise err.InvalidAnswer(f"{key!r} takes text of at most {ANSWER_TEXT_MAX} characters.", field=f"answers.{key}")
            out[key] = value.strip()
    return out


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, Decimal)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


@dataclass(frozen=True, slots=True)
class Facts:
    answers: dict[str, Any]
    dimensions: dict[str, float] = field(default_factory=dict)  # 0-10
    overall: float | None = None  # 0-10
    unresolved: bool = False
    customer_tier: str | None = None
    dealer_region: str | None = None
    product_line: str | None = None


def facts(questions: list[dict] | dict[str, Question], answers: dict[str, Any], *, customer_tier: str | None = None,
          dealer_region: str | None = None, product_line: str | None = None) -> Facts:
    """What rules can look at, from clean answers."""
    per_dim: dict[str, list[float]] = {}
    scored: list[float] = []
    overall = None
    unresolved = False
    by_key = _compiled(questions)
    for key, value in answers.items():
        q = by_key.get(key)
        if q is None or value is None:
            continue
        if q.lo is not None:
            ten = (float(value) - q.lo) * 10 / (q.hi - q.lo)
            scored.append(ten)
            if q.role is QuestionRole.OVERALL:
                overall = ten
        elif q.kind is QuestionKind.YES_NO:
            ten = 10.0 if value else 0.0
            if q.role is QuestionRole.RESOLVED and value is False:
                unresolved = True
        else:
            continue
        if q.dimension:
            per_dim.setdefault(q.dimension, []).append(ten)
    if overall is None and scored:
        overall = sum(scored) / len(scored)
    return Facts(answers=answers, dimensions={d: round(sum(v) / len(v), 4) for d, v in per_dim.items()},
                 overall=round(overall, 4) if overall is not None else None, unresolved=unresolved,
                 customer_tier=customer_tier, dealer_region=dealer_region, product_line=product_line)


# ---- conditions and rules -----------------------------------------------------------------------

def clean_conditions(items: Iterable[dict], questions: list[dict] | None = None) -> list[dict]:
    """Validate a rule's conditions (against its template's questions when it has one)."""
    items = list(items)
    if not items:
        raise err.InvalidCondition("A rule needs at least one condition.", field="conditions")
    if len(items) > MAX_CONDITIONS:
        raise err.InvalidCondition(f"At most {MAX_CONDITIONS} conditions.", field="conditions")
    by_key = {q["key"]: q for q in questions} if questions is not None else None
    out = []
    for i, c in enumerate(items):
        where = f"conditions.{i}"
        try:
            fld = ConditionField(c.get("field"))
        except ValueError:
            raise err.InvalidCondition("Unknown condition field.", field=f"{where}.field") from None
        try:
            op = Comparison(c.get("op"))
        except ValueError:
            raise err.InvalidCondition("Unknown comparison.", field=f"{where}.op") from None
        key = c.get("key")
        kind = None
        if fld is ConditionField.QUESTION:
            key = str(key or "").strip().lower()
            if not KEY_RE.match(key):
                raise err.InvalidCondition("A question condition names the question's key.", field=f"{where}.key")
            if by_key is not None:
                if key not in by_key:
                    raise err.UnknownQuestion(f"The template has no question {key!r}.", field=f"{where}.key")
                kind = QuestionKind(by_key[key]["kind"])
                if kind is QuestionKind.TEXT:
                    raise err.InvalidCondition("Text answers cannot be compared.", field=f"{where}.key")
        elif fld is ConditionField.DIMENSION:
            try:
                key = Dimension(key).value
            except ValueError:
                raise err.InvalidCondition("A dimension condition names a dimension.", field=f"{where}.key") from None
        elif key is not None:
            raise err.InvalidCondition("Only question and dimension conditions take a key.", field=f"{where}.key")
        numeric = fld in (ConditionField.DIMENSION, ConditionField.OVERALL) or (
            fld is ConditionField.QUESTION and (kind is None or kind in SCORED or kind is QuestionKind.YES_NO) and op in NUMERIC_OPS)
        if numeric:
            if op not in NUMERIC_OPS:
                raise err.InvalidCondition("Scores compare with lt, lte, eq, ne, gte or gt.", field=f"{where}.op")
            value = _number(c.get("value"))
            if value is None or not -1e6 < value < 1e6:
                raise err.InvalidCondition("This comparison needs a number in 'value'.", field=f"{where}.value")
            if kind is QuestionKind.CHOICE:
                raise err.InvalidCondition("Choices compare with in or not_in.", field=f"{where}.op")
            out.append({"field": fld.value, "key": key, "op": op.value, "value": value})
        else:
            if op not in SET_OPS:
                raise err.InvalidCondition("This field compares with in or not_in.", field=f"{where}.op")
            values = c.get("values")
            if not isinstance(values, (list, tuple)) or not 1 <= len(values) <= MAX_VALUES or any(
                    not isinstance(v, str) or not v.strip() or len(v) > 80 for v in values):
                raise err.InvalidCondition(f"This comparison needs 1-{MAX_VALUES} texts in 'values'.", field=f"{where}.values")
            values = sorted({v.strip() for v in values})
            if kind is QuestionKind.YES_NO and not set(values) <= {"yes", "no"}:
                raise err.InvalidCondition("A yes/no question compares with 'yes' or 'no'.", field=f"{where}.values")
            if kind is QuestionKind.CHOICE and not set(values) <= set(by_key[key]["options"]):
                raise err.InvalidCondition("Not one of the question's options.", field=f"{where}.values")
            out.append({"field": fld.value, "key": key, "op": op.value, "values": values})
    return out


def _fact(c: dict, f: Facts):
    fld = c["field"]
    if fld == ConditionField.QUESTION:
        return f.answers.get(c["key"])
    if fld == ConditionField.DIMENSION:
        return f.dimensions.get(c["key"])
    if fld == ConditionField.OVERALL:
        return f.overall
    return {ConditionField.CUSTOMER_TIER: f.customer_tier, ConditionField.DEALER_REGION: f.dealer_region,
            ConditionField.PRODUCT_LINE: f.product_line}[ConditionField(fld)]


def holds(c: dict, f: Facts) -> bool:
    """One condition on one result's facts. A missing fact never holds."""
    v = _fact(c, f)
    if v is None:
        return False
    op = c["op"]
    if op in (Comparison.IN, Comparison.NOT_IN):
        if isinstance(v, bool):
            v = "yes" if v else "no"
        if isinstance(v, (int, float)):
            return False  # a numeric answer is not compared with texts (the question changed kind)
        inside = v in c["values"]
        return inside if op == Comparison.IN else not inside
    if isinstance(v, bool):
        v = 1.0 if v else 0.0
    if not isinstance(v, (int, float)):
        return False  # a choice answer compared as a number: the question changed kind
    x = c["value"]
    return {"lt": v < x, "lte": v <= x, "eq": v == x, "ne": v != x, "gte": v >= x, "gt": v > x}[op]


def matches(rule: dict, f: Facts) -> bool:
    conditions = rule["conditions"]
    if rule.get("match", RuleMatch.ALL) == RuleMatch.ANY:
        return any(holds(c, f) for c in conditions)
    return all(holds(c, f) for c in conditions)


@dataclass(frozen=True)
class Selection:
    rule_id: Any | None  # None: selected because the customer said the problem is unresolved
    rule_name: str | None
    priority: str
    category_code: str | None
    dimension: str | None
    reason: str  # "rule" | "unresolved"


def select(rules: list[dict], f: Facts, template_id=None) -> Selection | None:
    """The first enabled rule (in order) that applies to the result's template and matches; else
    the unresolved answer; else None. Rules are dicts: id, name, template_id, match, conditions,
    priority, category_code, dimension, enabled."""
    for r in rules:
        if not r.get("enabled", True) or (r.get("template_id") is not None and r["template_id"] != template_id):
            continue
        if matches(r, f):
            return Selection(r.get("id"), r.get("name"), r.get("priority") or "normal", r.get("category_code"),
                             r.get("dimension"), "rule")
    if f.unresolved:
        return Selection(None, None, UNRESOLVED_PRIORITY, None, None, "unresolved")
    return None
