"""Queries of surveys."""
from __future__ import annotations

from datetime import datetime

import strawberry

from app.core import imports
from app.core.pagination import PageArgs
from app.core.permissions import Perm
from app.settings import get_settings
from app.survey import repository, service
from schema.permissions import describe, needs
from schema.relay import Connection, decode
from schema.survey.inputs import SelectionRuleInput, rule_input
from schema.survey.types import SelectionRule, SurveyResult, SurveyResultImport, SurveyTemplate

READ = needs(Perm.CUSTOMERS_READ)


@strawberry.type(description="One result a rule set would select.")
class RulePreviewHit:
    result: SurveyResult
    rule_name: str | None = strawberry.field(description="null: selected because the customer said the problem is unresolved.")
    priority: str
    category_code: str | None


@strawberry.type(description="What a rule set would have selected among past results (nothing is opened).")
class RulePreview:
    examined: int = strawberry.field(description="Results looked at: the newest 10,000 of the window at most.")
    selected: int
    per_rule: strawberry.scalars.JSON = strawberry.field(description="Rule name -> how many it would select ('(unresolved)' too).")
    hits: list[RulePreviewHit] = strawberry.field(description="The first `first` selected, newest first.")


@strawberry.type
class SurveyQuery:
    @strawberry.field(description=describe(Perm.CUSTOMERS_READ, "The brand's survey templates."), permission_classes=READ)
    async def survey_templates(self, info: strawberry.Info) -> list[SurveyTemplate]:
        return [SurveyTemplate.from_row(t) for t in await service.list_templates(info.context.scope)]

    @strawberry.field(description=describe(Perm.CUSTOMERS_READ, "The brand's selection rules, in the order they are tried."),
                      permission_classes=READ)
    async def selection_rules(self, info: strawberry.Info) -> list[SelectionRule]:
        if not info.context.scope.all_dealers:
            return []  # the brand's business: dealer staff see the tickets, not the rules
        return [SelectionRule.from_row(r) for r in await service.list_rules(info.context.scope)]

    @strawberry.field(description=describe(Perm.CUSTOMERS_READ, "Survey results, newest first (dealer staff: their dealers' only)."),
                      permission_classes=READ)
    async def survey_results(self, info: strawberry.Info, first: int | None = None, after: str | None = None,
                             customer_id: strawberry.ID | None = None, selected: bool | None = None) -> Connection[SurveyResult]:
        page = await repository.list_results(info.context.scope, PageArgs(first, after),
                                             customer_id=decode(customer_id, "Customer")[1] if customer_id else None,
                                             selected=selected, max_size=get_settings().graphql_page_max)
        return Connection.of(page, SurveyResult.from_row)

    @strawberry.field(description=describe(Perm.SURVEYS_WRITE, "Bulk imports of survey results, newest first."),
                      permission_classes=needs(Perm.SURVEYS_WRITE))
    async def survey_result_imports(self, info: strawberry.Info, first: int | None = None,
                                    after: str | None = None) -> Connection[SurveyResultImport]:
        page = await imports.list_imports(info.context.scope, "survey_results", PageArgs(first, after),
                                          max_size=get_settings().graphql_page_max)
        return Connection.of(page, SurveyResultImport.from_row)

    @strawberry.field(description=describe(Perm.SURVEYS_WRITE, "Run a rule set (the given rules, else the stored ones) over past "
                                           "results and report what it would select, without opening anything."),
                      permission_classes=needs(Perm.SURVEYS_WRITE))
    async def selection_rule_preview(self, info: strawberry.Info, rules: list[SelectionRuleInput] | None = None,
                                     since: datetime | None = None, until: datetime | None = None,
                                     first: int = 50) -> RulePreview:
        from app.core.errors import ValidationFailed

        if not 0 <= first <= 100:
            raise ValidationFailed("first: 0 to 100.", field="first")
        examined, selected, hits, per_rule = await service.preview(
            info.context.scope, [rule_input(r) for r in rules] if rules is not None else None, since=since, until=until, limit=first)
        return RulePreview(examined=examined, selected=selected, per_rule=per_rule, hits=[
            RulePreviewHit(result=SurveyResult.from_row(h.result), rule_name=h.selection.rule_name, priority=h.selection.priority,
                           category_code=h.selection.category_code) for h in hits])
