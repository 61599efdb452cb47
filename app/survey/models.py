"""Surveys: the brand's templates (questions, each optionally measuring a service-quality
dimension), the routine results that arrive from survey tools, and the selection rules that pick
the results whose customers get a care ticket (seed 000 step 2)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import orjson
from tortoise import fields

from app.customer import links
from app.tenant.models import TenantModel


class SurveyTemplate(TenantModel):
    code = fields.CharField(max_length=64)
    name = fields.CharField(max_length=200)
    active = fields.BooleanField(default=True)
    questions = fields.JSONField(default=list)  # app/survey/rules.py clean_questions
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "survey_template"
        unique_together = (("tenant_id", "code"),)


class SurveyResult(TenantModel):
    """One answered survey, idempotent by (source, response_id): a second delivery stores
    nothing. `selected`: a rule (or the unresolved answer) chose it for a care ticket."""

    template_id = fields.UUIDField()
    source = fields.CharField(max_length=40)
    response_id = fields.CharField(max_length=120)
    customer_id = fields.UUIDField()
    dealer_id = fields.UUIDField(null=True)
    episode = fields.CharField(max_length=120, default="")  # the visit or order it is about ("" = none named)
    product_line = fields.CharField(max_length=60, null=True)
    answered_at = fields.DatetimeField()
    answers = fields.JSONField(default=dict)
    overall_score = fields.FloatField(null=True)  # 0-10
    dimension_scores = fields.JSONField(default=dict)  # {dimension: 0-10}
    unresolved = fields.BooleanField(default=False)
    selected = fields.BooleanField(default=False)
    selection_reason = fields.CharField(max_length=16, null=True)  # rule | unresolved
    rule_id = fields.UUIDField(null=True)
    priority = fields.CharField(max_length=12, null=True)
    import_id = fields.UUIDField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "survey_result"
        unique_together = (("tenant_id", "source", "response_id"),)
        indexes = (("tenant_id", "answered_at", "id"), ("tenant_id", "customer_id", "answered_at"),
                   ("tenant_id", "dealer_id", "answered_at"))


@dataclass(slots=True)
class ResultRow:
    """A survey result as the intake builds and reads it in bulk: the columns of SurveyResult
    without the ORM's per-object cost (tens of microseconds each, at thousands per second)."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    template_id: uuid.UUID
    source: str
    response_id: str
    customer_id: uuid.UUID
    dealer_id: uuid.UUID | None
    episode: str
    product_line: str | None
    answered_at: datetime
    answers: dict
    overall_score: float | None
    dimension_scores: dict
    unresolved: bool
    selected: bool
    selection_reason: str | None
    rule_id: uuid.UUID | None
    priority: str | None
    import_id: uuid.UUID | None
    created_at: datetime

    @classmethod
    def of(cls, r) -> "ResultRow":
        """From a database record (asyncpg or dict), JSON columns decoded."""
        values = {f: r[f] for f in cls.__slots__}
        for f in ("answers", "dimension_scores"):
            if isinstance(values[f], (str, bytes)):
                values[f] = orjson.loads(values[f])
        return cls(**values)


class SelectionRule(TenantModel):
    name = fields.CharField(max_length=120)
    position = fields.IntField(default=0)
    enabled = fields.BooleanField(default=True)
    template_id = fields.UUIDField(null=True)  # None: results of every template
    match = fields.CharField(max_length=3, default="all")  # all | any
    conditions = fields.JSONField(default=list)  # app/survey/rules.py clean_conditions
    priority = fields.CharField(max_length=12, default="normal")
    category_code = fields.CharField(max_length=64, null=True)
    dimension = fields.CharField(max_length=16, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "survey_selection_rule"
        indexes = (("tenant_id", "position"),)


# results land on the customer's timeline as the archive's own `survey` entries, pointing here
links.ref_node("survey_result", "SurveyResult")
links.customer_table("survey_result", erase=(
    "UPDATE survey_result SET answers = '{}'::jsonb, episode = '', product_line = NULL WHERE tenant_id = $1 AND customer_id = $2",))
