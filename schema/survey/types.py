"""GraphQL types of surveys: templates and their questions, selection rules, results."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import strawberry

from app.core.permissions import Perm
from app.survey import enums
from app.survey import models as m
from schema.customer.types import Customer
from schema.imports import ImportRecord, import_node
from schema.relay import Node, gid, node_type
from schema.tenant.types import Dealer

QuestionKind = strawberry.enum(enums.QuestionKind, description="SCORE_10: 0-10; SCORE_5: 1-5; YES_NO; CHOICE (one of its options); TEXT.")
QuestionRole = strawberry.enum(enums.QuestionRole, description="OVERALL: its score is the result's overall score; RESOLVED: the "
                               "yes/no 'was your problem resolved?' question (a 'no' opens a ticket whatever the score).")
RuleMatch = strawberry.enum(enums.RuleMatch)
ConditionField = strawberry.enum(enums.ConditionField, description="What a condition looks at (app/survey/rules.py).")
Comparison = strawberry.enum(enums.Comparison)
Unmatched = strawberry.enum(enums.Unmatched, description="What to do with a result whose customer is not in the archive.")
SurveyOutcome = strawberry.enum(enums.Outcome, name="SurveyOutcome", description="What one submitted result did.")


def _dimension():
    from schema.complaint.types import Dimension

    return Dimension


@strawberry.type(description="One question of a survey template.")
class SurveyQuestion:
    key: str
    text: str
    kind: QuestionKind
    dimension: Annotated["Dimension", strawberry.lazy("schema.complaint.types")] | None  # noqa: F821
    role: QuestionRole
    options: list[str] | None

    @classmethod
    def of(cls, q: dict) -> "SurveyQuestion":
        return cls(key=q["key"], text=q["text"], kind=QuestionKind(q["kind"]),
                   dimension=_dimension()(q["dimension"]) if q.get("dimension") else None,
                   role=QuestionRole(q.get("role") or "none"), options=q.get("options"))


@strawberry.type(description="A survey the brand runs (its questions, each optionally measuring a service-quality dimension).")
class SurveyTemplate(Node):
    id: strawberry.ID
    code: str
    name: str
    active: bool
    questions: list[SurveyQuestion]
    updated_at: datetime

    @classmethod
    def from_row(cls, t: m.SurveyTemplate) -> "SurveyTemplate":
        return cls(id=gid("SurveyTemplate", t.id), code=t.code, name=t.name, active=t.active,
                   questions=[SurveyQuestion.of(q) for q in t.questions], updated_at=t.updated_at)


@strawberry.type(description="One structured condition of a selection rule.")
class RuleCondition:
    field: ConditionField
    key: str | None = strawberry.field(description="The question's key (QUESTION) or the dimension (DIMENSION).")
    op: Comparison
    value: float | None
    values: list[str] | None

    @classmethod
    def of(cls, c: dict) -> "RuleCondition":
        return cls(field=ConditionField(c["field"]), key=c.get("key"), op=Comparison(c["op"]), value=c.get("value"),
                   values=c.get("values"))


@strawberry.type(description="A selection rule: results matching all (or any) of its conditions get a care ticket. Rules are "
                             "tried in position order; the first match decides priority, category and dimension.")
class SelectionRule(Node):
    id: strawberry.ID
    name: str
    position: int
    enabled: bool
    match: RuleMatch
    conditions: list[RuleCondition]
    priority: Annotated["Priority", strawberry.lazy("schema.complaint.types")]  # noqa: F821
    category_code: str | None
    dimension: Annotated["Dimension", strawberry.lazy("schema.complaint.types")] | None  # noqa: F821
    template_id: strawberry.ID | None = strawberry.field(description="null: results of every template.")

    @classmethod
    def from_row(cls, r: m.SelectionRule) -> "SelectionRule":
        from schema.complaint.types import Priority

        return cls(id=gid("SelectionRule", r.id), name=r.name, position=r.position, enabled=r.enabled, match=RuleMatch(r.match),
                   conditions=[RuleCondition.of(c) for c in r.conditions], priority=Priority(r.priority),
                   category_code=r.category_code, dimension=_dimension()(r.dimension) if r.dimension else None,
                   template_id=gid("SurveyTemplate", r.template_id) if r.template_id else None)


@strawberry.type(description="A dimension's score in one result, 0-10 (the mean of its answered questions).")
class DimensionScore:
    dimension: Annotated["Dimension", strawberry.lazy("schema.complaint.types")]  # noqa: F821
    score: float


@strawberry.type(description="One answered survey (a routine result), stored once per source and response id.")
class SurveyResult(Node):
    id: strawberry.ID
    source: str
    response_id: str
    answered_at: datetime
    overall_score: float | None = strawberry.field(description="0-10: the overall question's, else the mean of the scored answers.")
    unresolved: bool = strawberry.field(description="The customer said the problem is not resolved.")
    selected: bool = strawberry.field(description="A rule (or the unresolved answer) chose it for a care ticket.")
    selection_reason: str | None = strawberry.field(description="rule | unresolved")
    episode: str | None
    product_line: str | None
    answers: strawberry.scalars.JSON = strawberry.field(description="Question key -> answer, as given (validated).")
    dimension_scores: list[DimensionScore]
    row: strawberry.Private[m.ResultRow]

    @classmethod
    def from_row(cls, r: m.ResultRow) -> "SurveyResult":
        dim = _dimension()
        return cls(id=gid("SurveyResult", r.id), source=r.source, response_id=r.response_id, answered_at=r.answered_at,
                   overall_score=r.overall_score, unresolved=r.unresolved, selected=r.selected, selection_reason=r.selection_reason,
                   episode=r.episode or None, product_line=r.product_line, answers=r.answers,
                   dimension_scores=[DimensionScore(dimension=dim(k), score=v) for k, v in sorted(r.dimension_scores.items())], row=r)

    @strawberry.field
    async def template(self, info: strawberry.Info) -> SurveyTemplate | None:
        row = await info.context.loaders.survey_template.load(self.row.template_id)
        return SurveyTemplate.from_row(row) if row else None

    @strawberry.field
    async def customer(self, info: strawberry.Info) -> Customer | None:
        row = await info.context.loaders.customer.load(self.row.customer_id)
        return Customer.from_row(row) if row else None

    @strawberry.field(description="The dealer that served the customer.")
    async def dealer(self, info: strawberry.Info) -> Dealer | None:
        if self.row.dealer_id is None:
            return None
        row = await info.context.loaders.dealer.load(self.row.dealer_id)
        return Dealer.from_row(row) if row else None

    @strawberry.field(description="The rule that selected it (null when none did, or for the unresolved answer).")
    def rule_id(self) -> strawberry.ID | None:
        return gid("SelectionRule", self.row.rule_id) if self.row.rule_id else None

    @strawberry.field(description="The care ticket holding it: the one it opened, or the customer's open one it joined "
                                  "(null when not selected, or for callers without tickets:read).")
    async def ticket(self, info: strawberry.Info) -> Annotated["Ticket", strawberry.lazy("schema.complaint.types")] | None:  # noqa: F821
        if not self.row.selected:
            return None
        from schema.complaint.types import Ticket

        row = await info.context.loaders.result_ticket.load(self.row.id)
        return Ticket.from_row(row) if row else None


@strawberry.type(description="A bulk import of survey results (CSV or JSON Lines), processed by a worker.")
class SurveyResultImport(ImportRecord, Node):
    pass


import_node(SurveyResultImport, "survey_results", Perm.SURVEYS_WRITE)


@node_type("SurveyResult", perm=Perm.CUSTOMERS_READ)
async def _result_node(info: strawberry.Info, pk: uuid.UUID):
    row = await info.context.loaders.survey_result.load(pk)
    return SurveyResult.from_row(row) if row else None


@node_type("SurveyTemplate", perm=Perm.CUSTOMERS_READ)
async def _template_node(info: strawberry.Info, pk: uuid.UUID):
    row = await info.context.loaders.survey_template.load(pk)
    return SurveyTemplate.from_row(row) if row else None


@node_type("SelectionRule", perm=Perm.SURVEYS_WRITE)
async def _rule_node(info: strawberry.Info, pk: uuid.UUID):
    from app.survey import service

    if not info.context.scope.all_dealers:
        return None
    row = next((r for r in await service.list_rules(info.context.scope) if r.id == pk), None)
    return SelectionRule.from_row(row) if row else None
