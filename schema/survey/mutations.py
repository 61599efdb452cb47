"""Mutations of surveys: templates, selection rules, and the intake of results."""
from __future__ import annotations

from datetime import datetime

import strawberry

from app.core.errors import ValidationFailed
from app.core.permissions import Perm
from app.survey import errors as survey_errors
from app.survey import service
from app.survey.enums import Outcome
from app.survey.enums import Unmatched as U
from schema.errors import domain_errors, run_mutation
from schema.permissions import describe, needs
from schema.relay import decode
from schema.survey.inputs import SelectionRuleInput, SurveyQuestionInput, rule_input
from schema.survey.types import SelectionRule, SurveyOutcome, SurveyResult, SurveyTemplate, Unmatched

WRITE = needs(Perm.SURVEYS_WRITE)
SurveyError = domain_errors("Survey", survey_errors, "survey")


@strawberry.input
class SurveyTemplateInput:
    code: str = strawberry.field(description="Unique in the brand; saving an existing code replaces its name and questions.")
    name: str
    questions: list[SurveyQuestionInput]
    active: bool = True


@strawberry.type
class SurveyTemplatePayload:
    template: SurveyTemplate | None
    errors: list[SurveyError]


@strawberry.type
class SelectionRulePayload:
    rule: SelectionRule | None
    errors: list[SurveyError]


@strawberry.type
class SelectionRulesPayload:
    rules: list[SelectionRule]
    errors: list[SurveyError]


@strawberry.type
class SelectionRuleDeletePayload:
    deleted_id: strawberry.ID | None
    errors: list[SurveyError]


@strawberry.input
class SurveyRespondentInput:
    external_source: str | None = strawberry.field(default=None, description="With externalId: the customer's id in that system.")
    external_id: str | None = None
    phone: str | None = None
    email: str | None = None
    name: str | None = strawberry.field(default=None, description="For a customer created from the result (unmatched: CREATE).")


@strawberry.input
class SurveyResultInput:
    template_code: str
    source: str = strawberry.field(description="The survey tool the result comes from; with responseId, the result's identity.")
    response_id: str = strawberry.field(description="The tool's own id of the response: a second delivery changes nothing.")
    answers: strawberry.scalars.JSON = strawberry.field(description="Question key -> answer (a number, yes/no, an option, text).")
    customer: SurveyRespondentInput
    answered_at: datetime | None = None
    dealer_code: str | None = strawberry.field(default=None, description="The dealer that served them (default: the customer's).")
    episode: str | None = strawberry.field(default=None, description="The visit or order the survey is about: one open care "
                                                                     "ticket per customer and episode.")
    product_line: str | None = None


@strawberry.type(description="What one submitted result did.")
class SurveyResultOutcome:
    index: int = strawberry.field(description="Its position in the submitted list.")
    response_id: str
    outcome: SurveyOutcome
    result: SurveyResult | None
    errors: list[SurveyError]


@strawberry.type
class SurveyResultsSubmitPayload:
    outcomes: list[SurveyResultOutcome]
    stored: int = strawberry.field(description="Newly stored results (a redelivery counts nothing).")
    selected: int = strawberry.field(description="Of those, how many a rule (or the unresolved answer) selected for a care ticket.")
    errors: list[SurveyError] = strawberry.field(description="Problems with the call itself (e.g. more than 1,000 results).")


def _rule(info, op):
    return run_mutation(info, op, lambda r: SelectionRulePayload(rule=SelectionRule.from_row(r), errors=[]),
                        lambda errors: SelectionRulePayload(rule=None, errors=errors), SurveyError)


def _result_input(r: SurveyResultInput) -> service.ResultInput:
    if not isinstance(r.answers, dict):
        raise ValidationFailed("answers must be an object of question key to answer.", field="answers")
    c = r.customer
    return service.ResultInput(template_code=r.template_code, source=r.source, response_id=r.response_id, answers=r.answers,
                               answered_at=r.answered_at, external_source=c.external_source, external_id=c.external_id,
                               phone=c.phone, email=c.email, name=c.name, dealer_code=r.dealer_code, episode=r.episode,
                               product_line=r.product_line)


@strawberry.type
class SurveyMutation:
    @strawberry.mutation(description=describe(Perm.SURVEYS_WRITE, "Create a survey template, or replace the one with this code."),
                         permission_classes=WRITE)
    async def survey_template_save(self, info: strawberry.Info, input: SurveyTemplateInput) -> SurveyTemplatePayload:
        async def op():
            return await service.save_template(info.context.scope, code=input.code, name=input.name, active=input.active, questions=[
                {"key": q.key, "text": q.text, "kind": q.kind.value, "dimension": q.dimension.value if q.dimension else None,
                 "role": q.role.value, "options": q.options} for q in input.questions])

        return await run_mutation(info, op, lambda t: SurveyTemplatePayload(template=SurveyTemplate.from_row(t), errors=[]),
                                  lambda errors: SurveyTemplatePayload(template=None, errors=errors), SurveyError)

    @strawberry.mutation(description=describe(Perm.SURVEYS_WRITE, "Add a selection rule (at `position`, default last)."),
                         permission_classes=WRITE)
    async def selection_rule_create(self, info: strawberry.Info, input: SelectionRuleInput,
                                    position: int | None = None) -> SelectionRulePayload:
        return await _rule(info, lambda: service.create_rule(info.context.scope, rule_input(input), position))

    @strawberry.mutation(description=describe(Perm.SURVEYS_WRITE, "Replace a selection rule's conditions and outcome."),
                         permission_classes=WRITE)
    async def selection_rule_update(self, info: strawberry.Info, id: strawberry.ID, input: SelectionRuleInput) -> SelectionRulePayload:
        return await _rule(info, lambda: service.update_rule(info.context.scope, decode(id, "SelectionRule")[1], rule_input(input)))

    @strawberry.mutation(description=describe(Perm.SURVEYS_WRITE, "Move a rule to `position` (0: tried first)."), permission_classes=WRITE)
    async def selection_rule_move(self, info: strawberry.Info, id: strawberry.ID, position: int) -> SelectionRulesPayload:
        return await run_mutation(
            info, lambda: service.move_rule(info.context.scope, decode(id, "SelectionRule")[1], position),
            lambda rules: SelectionRulesPayload(rules=[SelectionRule.from_row(r) for r in rules], errors=[]),
            lambda errors: SelectionRulesPayload(rules=[], errors=errors), SurveyError)

    @strawberry.mutation(description=describe(Perm.SURVEYS_WRITE, "Delete a selection rule."), permission_classes=WRITE)
    async def selection_rule_delete(self, info: strawberry.Info, id: strawberry.ID) -> SelectionRuleDeletePayload:
        from schema.relay import gid

        return await run_mutation(
            info, lambda: service.delete_rule(info.context.scope, decode(id, "SelectionRule")[1]),
            lambda pk: SelectionRuleDeletePayload(deleted_id=gid("SelectionRule", pk), errors=[]),
            lambda errors: SelectionRuleDeletePayload(deleted_id=None, errors=errors), SurveyError)

    @strawberry.mutation(description=describe(Perm.SURVEYS_WRITE, "Submit up to 1,000 routine survey results: each is matched to "
                                              "its customer and dealer, stored once per source and response id, and run through "
                                              "the selection rules; a selected one opens (or joins) the customer's care ticket."),
                         permission_classes=WRITE)
    async def survey_results_submit(self, info: strawberry.Info, results: list[SurveyResultInput],
                                    unmatched: Unmatched = Unmatched.REPORT) -> SurveyResultsSubmitPayload:
        async def op():
            if len(results) > service.MAX_BATCH:
                from app.survey.errors import TooMany

                raise TooMany(f"At most {service.MAX_BATCH} results per call; send the rest in further calls or as a file.",
                              field="results")
            items, refused = [], {}
            for i, r in enumerate(results):
                try:
                    items.append(_result_input(r))
                except ValidationFailed as e:
                    refused[i] = e
                    items.append(service.ResultInput(template_code="", source="", response_id=r.response_id or "", answers={}))
            outcomes = await service.submit_results(info.context.scope, items, unmatched=U(unmatched.value))
            for i, e in refused.items():
                outcomes[i].outcome, outcomes[i].errors = Outcome.INVALID, [e]
            return outcomes

        def ok(outcomes):
            readable = info.context.scope.can(Perm.CUSTOMERS_READ)
            return SurveyResultsSubmitPayload(
                outcomes=[SurveyResultOutcome(index=o.index, response_id=o.response_id, outcome=SurveyOutcome(o.outcome.value),
                                              result=SurveyResult.from_row(o.result) if o.result is not None and readable else None,
                                              errors=[x for e in o.errors for x in SurveyError.of(e)]) for o in outcomes],
                stored=sum(o.outcome in (Outcome.STORED, Outcome.SELECTED) for o in outcomes),
                selected=sum(o.outcome is Outcome.SELECTED for o in outcomes), errors=[])

        return await run_mutation(info, op, ok, lambda errors: SurveyResultsSubmitPayload(outcomes=[], stored=0, selected=0,
                                                                                           errors=errors), SurveyError)
