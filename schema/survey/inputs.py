"""Input types of surveys shared by queries (the preview) and mutations."""
from __future__ import annotations

from typing import Annotated

import strawberry

from app.survey import service
from schema.survey.types import Comparison, ConditionField, QuestionKind, QuestionRole, RuleMatch


@strawberry.input
class RuleConditionInput:
    field: ConditionField
    op: Comparison
    key: str | None = strawberry.field(default=None, description="QUESTION: the question's key; DIMENSION: the dimension's name.")
    value: float | None = strawberry.field(default=None, description="For LT, LTE, EQ, NE, GTE, GT.")
    values: list[str] | None = strawberry.field(default=None, description="For IN and NOT_IN.")


@strawberry.input
class SelectionRuleInput:
    name: str
    conditions: list[RuleConditionInput]
    match: RuleMatch = RuleMatch.ALL
    template_code: str | None = strawberry.field(default=None, description="Only results of this template (default: every template).")
    priority: Annotated["Priority", strawberry.lazy("schema.complaint.types")] | None = None  # noqa: F821
    category_code: str | None = None
    dimension: Annotated["Dimension", strawberry.lazy("schema.complaint.types")] | None = None  # noqa: F821
    enabled: bool = True


@strawberry.input
class SurveyQuestionInput:
    key: str = strawberry.field(description="1-40 lower-case letters, digits or '_'; what answers and rules name.")
    text: str
    kind: QuestionKind
    dimension: Annotated["Dimension", strawberry.lazy("schema.complaint.types")] | None = None  # noqa: F821
    role: QuestionRole = QuestionRole.NONE
    options: list[str] | None = None


def rule_input(r: SelectionRuleInput) -> service.RuleInput:
    return service.RuleInput(
        name=r.name, match=r.match.value, template_code=r.template_code, priority=r.priority.value if r.priority else "normal",
        category_code=r.category_code, dimension=r.dimension.value if r.dimension else None, enabled=r.enabled,
        conditions=[{"field": c.field.value, "op": c.op.value, "key": c.key, "value": c.value, "values": c.values}
                    for c in r.conditions])
