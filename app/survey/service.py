"""Surveys: templates, selection rules, and the intake of routine results (seed 000 step 2).

Intake (`submit_results`, the GraphQL mutation and the bulk file both end here) is set-based: a
batch of up to 1,000 results costs a constant number of statements. For each result: the
template's questions check its answers; it is matched to a customer (external id, then
normalised phone, then e-mail; an unmatched one is created or reported, as the caller chooses)
and to the dealer that served them (the named dealer code, else the customer's dealer); it is
stored once per (source, response id), so a second delivery changes nothing; the brand's rules
select it or not (app/survey/rules.py); the customer's latest score and timeline get it; and a
selected one is recorded as `survey.result_selected`, which the complaint module turns into a
care ticket in the same transaction."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app.core import clock, db, events
from app.core.errors import AppError, InputErrors, NotFound, PermissionDenied, ValidationFailed
from app.core.ids import uuid7
from app.core.permissions import Perm
from app.core.tenancy import Scope
from app.customer import service as customer_service
from app.survey import errors as err
from app.survey import repository as repo
from app.survey import rules as core
from app.survey.enums import Dimension, Outcome, RuleMatch, Unmatched
from app.survey.models import ResultRow, SelectionRule, SurveyTemplate
from app.tenant import service as tenant_service

MAX_BATCH = 1000
MAX_TEMPLATES, MAX_RULES = 200, 100
PREVIEW_MAX = 10000
SELECTED = "survey.result_selected"
PRIORITIES = ("low", "normal", "high", "urgent")


def _brand(scope: Scope, perm: Perm) -> None:
    scope.require(perm)
    if not scope.all_dealers:
        raise PermissionDenied("Surveys are run by the brand: dealer staff and dealer-bound apps cannot change them.")


def _text(value, field: str, limit: int, *, required: bool = False) -> str | None:
    value = value.strip() if isinstance(value, str) else value
    if not value:
        if required:
            raise ValidationFailed(f"{field} is required.", field=field)
        return None
    if len(value) > limit or "\x00" in value:
        raise ValidationFailed(f"At most {limit} characters.", field=field)
    return value


# ---- templates ----------------------------------------------------------------------------------

async def list_templates(scope: Scope) -> list[SurveyTemplate]:
    scope.require(Perm.CUSTOMERS_READ)
    return await repo.templates(scope)


async def save_template(scope: Scope, *, code: str, name: str, questions: list[dict], active: bool = True) -> SurveyTemplate:
    """Create a template, or replace the questions of the one with this code. A question a
    stored rule compares cannot be removed (the rule would never fire again)."""
    _brand(scope, Perm.SURVEYS_WRITE)
    import re

    code = (code or "").strip().lower()
    if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]{0,63}", code):
        raise ValidationFailed("Code: 1-64 lower-case letters, digits, '_', '.' or '-'.", field="code")
    name_ = _text(name, "name", 200, required=True)
    clean = core.clean_questions(questions)
    t = await repo.template_by_code(scope, code, lock=True)
    if t is None:
        if len(await repo.templates(scope)) >= MAX_TEMPLATES:
            raise ValidationFailed(f"A brand has at most {MAX_TEMPLATES} templates.", field="code")
        created = await repo.add_template(scope, code=code, name=name_, questions=clean, active=active)
        if created is None:
            raise err.TemplateTaken(field="code")
        return created
    keys = {q["key"] for q in clean}
    for r in await repo.rules(scope):
        if r.template_id == t.id:
            for c in r.conditions:
                if c["field"] == "question" and c["key"] not in keys:
                    raise err.InvalidQuestion(f"Rule {r.name!r} compares question {c['key']!r}; change the rule first.",
                                              field="questions")
    t.name, t.questions, t.active = name_, clean, active
    await t.save(update_fields=["name", "questions", "active", "updated_at"])
    return t


# ---- selection rules ----------------------------------------------------------------------------

@dataclass
class RuleInput:
    name: str
    conditions: list[dict]
    match: str = RuleMatch.ALL.value
    template_code: str | None = None
    priority: str = "normal"
    category_code: str | None = None
    dimension: str | None = None
    enabled: bool = True


async def list_rules(scope: Scope) -> list[SelectionRule]:
    scope.require(Perm.CUSTOMERS_READ)
    return await repo.rules(scope)


async def _clean_rule(scope: Scope, r: RuleInput) -> dict:
    errors: list[AppError] = []
    name = None
    try:
        name = _text(r.name, "name", 120, required=True)
    except ValidationFailed as e:
        errors.append(e)
    if r.match not in set(RuleMatch):
        errors.append(ValidationFailed("all or any.", field="match"))
    if r.priority not in PRIORITIES:
        errors.append(ValidationFailed("Unknown priority.", field="priority"))
    if r.dimension is not None and r.dimension not in set(Dimension):
        errors.append(ValidationFailed("Unknown dimension.", field="dimension"))
    if r.category_code is not None and (not r.category_code.strip() or len(r.category_code) > 64):
        errors.append(ValidationFailed("A category code of at most 64 characters.", field="categoryCode"))
    template = None
    if r.template_code:
        template = await repo.template_by_code(scope, r.template_code.strip().lower())
        if template is None:
            errors.append(err.UnknownTemplate(field="templateCode"))
    try:
        conditions = core.clean_conditions(r.conditions, template.questions if template else None)
    except AppError as e:
        errors.append(e)
        conditions = []
    if errors:
        raise InputErrors(errors)
    return dict(name=name, match=r.match, template_id=template.id if template else None, conditions=conditions,
                priority=r.priority, category_code=r.category_code.strip() if r.category_code else None,
                dimension=r.dimension, enabled=r.enabled)


async def create_rule(scope: Scope, r: RuleInput, position: int | None = None) -> SelectionRule:
    _brand(scope, Perm.SURVEYS_WRITE)
    values = await _clean_rule(scope, r)
    existing = await repo.rules(scope)
    if len(existing) >= MAX_RULES:
        raise ValidationFailed(f"A brand has at most {MAX_RULES} selection rules.", field="name")
    pos = len(existing) if position is None else max(0, min(position, len(existing)))
    return await repo.insert_rule(scope, values, pos)


async def update_rule(scope: Scope, rule_id: uuid.UUID, r: RuleInput) -> SelectionRule:
    _brand(scope, Perm.SURVEYS_WRITE)
    rule = await repo.rule_for_update(scope, rule_id)
    if rule is None:
        raise NotFound("No such selection rule.", field="id")
    rule.update_from_dict(await _clean_rule(scope, r))
    await rule.save()
    return rule


async def move_rule(scope: Scope, rule_id: uuid.UUID, position: int) -> list[SelectionRule]:
    """Put a rule at `position` (0 = tried first); the others keep their order."""
    _brand(scope, Perm.SURVEYS_WRITE)
    rules = await repo.rules(scope, lock=True)
    rule = next((x for x in rules if x.id == rule_id), None)
    if rule is None:
        raise NotFound("No such selection rule.", field="id")
    order = [x for x in rules if x.id != rule_id]
    order.insert(max(0, min(position, len(order))), rule)
    await repo.set_positions(scope, [x.id for x in order])
    return await repo.rules(scope)


async def delete_rule(scope: Scope, rule_id: uuid.UUID) -> uuid.UUID:
    _brand(scope, Perm.SURVEYS_WRITE)
    if not await repo.delete_rule(scope, rule_id):
        raise NotFound("No such selection rule.", field="id")
    return rule_id


def _rule_dicts(rules: list[SelectionRule]) -> list[dict]:
    return [{"id": r.id, "name": r.name, "template_id": r.template_id, "match": r.match, "conditions": r.conditions,
             "priority": r.priority, "category_code": r.category_code, "dimension": r.dimension, "enabled": r.enabled}
            for r in rules]


# ---- intake -------------------------------------------------------------------------------------

@dataclass
class ResultInput:
    template_code: str
    source: str
    response_id: str
    answers: dict
    answered_at: datetime | None = None
    external_source: str | None = None  # the customer's id in a partner system
    external_id: str | None = None
    phone: str | None = None
    email: str | None = None
    name: str | None = None  # for a customer created from the result
    dealer_code: str | None = None  # the dealer that served them (default: the customer's)
    episode: str | None = None  # the visit or order the survey is about
    product_line: str | None = None
    line: int | None = None  # the line of a bulk file


@dataclass
class ResultOutcome:
    index: int
    response_id: str
    outcome: Outcome
    result: ResultRow | None = None
    errors: list[AppError] = field(default_factory=list)


async def submit_results(scope: Scope, items: list[ResultInput], *, unmatched: Unmatched = Unmatched.REPORT,
                         import_id: uuid.UUID | None = None) -> list[ResultOutcome]:
    """Store a batch of results (at most 1,000) and select among them; one outcome per item, in
    order. Invalid items are reported and the rest are stored."""
    _brand(scope, Perm.SURVEYS_WRITE)
    if len(items) > MAX_BATCH:
        raise err.TooMany(f"At most {MAX_BATCH} results per call; send the rest in further calls or as a file.", field="results")
    out = [ResultOutcome(i, (it.response_id or "")[:120], Outcome.INVALID) for i, it in enumerate(items)]
    templates = {t.code: t for t in await repo.templates(scope)}
    compiled = {t.id: core.compile_questions(t.questions) for t in templates.values()}
    dealers = await tenant_service.dealer_ids_by_code(scope) if any(it.dealer_code for it in items) else {}
    now = clock.now()
    valid: list[tuple[int, ResultInput, SurveyTemplate, dict]] = []
    seen: dict[tuple[str, str], int] = {}
    for i, it in enumerate(items):
        try:
            source = _text(it.source, "source", 40, required=True)
            response_id = _text(it.response_id, "responseId", 120, required=True)
            t = templates.get((it.template_code or "").strip().lower())
            if t is None:
                raise err.UnknownTemplate(f"No survey template {str(it.template_code)[:64]!r}.", field="templateCode")
            if not t.active:
                raise err.UnknownTemplate("The template is retired.", field="templateCode")
            answers = core.clean_answers(compiled[t.id], it.answers or {})
            at = it.answered_at or now
            if at.tzinfo is None:
                raise ValidationFailed("answeredAt needs a time zone.", field="answeredAt")
            if at > now + timedelta(minutes=5) or at.year < 2000:
                raise ValidationFailed("answeredAt is in the future or before 2000.", field="answeredAt")
            if it.dealer_code and it.dealer_code not in dealers:
                raise NotFound(f"No dealer with code {it.dealer_code[:32]!r}.", field="dealerCode")
            for value, name, limit in ((it.episode, "episode", 120), (it.product_line, "productLine", 60),
                                       (it.name, "name", 200), (it.external_id, "externalId", 120),
                                       (it.external_source, "externalSource", 40)):
                _text(value, name, limit)
            if not (it.external_id or it.phone or it.email):
                raise ValidationFailed("Identify the customer: externalSource and externalId, phone or email.", field="externalId")
        except AppError as e:
            out[i].errors.append(e)
            continue
        key = (source, response_id)
        if key in seen:
            out[i].outcome = Outcome.DUPLICATE  # delivered twice in one call: stored once
            continue
        seen[key] = i
        valid.append((i, it, t, {"source": source, "response_id": response_id, "answers": answers, "at": at}))
    # one outcome per stored response id: a redelivery changes nothing
    stored = await repo.results_by_response(scope, [(v[3]["source"], v[3]["response_id"]) for v in valid])
    fresh = []
    for v in valid:
        prior = stored.get((v[3]["source"], v[3]["response_id"]))
        if prior is not None:
            out[v[0]].outcome, out[v[0]].result = Outcome.DUPLICATE, prior
        else:
            fresh.append(v)
    matches = await customer_service.match_customers(scope, [
        {"external_source": it.external_source, "external_id": it.external_id, "phone": it.phone, "email": it.email}
        for _, it, _, _ in fresh])
    rows, todo = [], []
    created: dict[tuple, tuple] = {}  # one new customer per person, however many of their results arrive
    for (i, it, t, v), hit in zip(fresh, matches):
        if hit is None:
            if unmatched is Unmatched.REPORT:
                out[i].outcome = Outcome.UNMATCHED
                out[i].errors.append(err.CustomerNotFound(field="externalId"))
                continue
            who = [k for k in (("ref", it.external_source, it.external_id), ("phone", it.phone), ("email", it.email)) if all(k)]
            hit = next((created[k] for k in who if k in created), None)
            if hit is None:
                try:
                    hit = await _create_customer(scope, it, dealers)
                except AppError as e:
                    out[i].errors.append(e)
                    continue
            created.update({k: hit for k in who})
        todo.append((i, it, t, v, hit))
    if not todo:
        return out
    dealer_of = {i: dealers[it.dealer_code] if it.dealer_code else hit[1] for i, it, _, _, hit in todo}
    regions = {d.id: d.region for d in (await tenant_service.dealers_by_ids(scope, list({d for d in dealer_of.values() if d}))).values()}
    rules = _rule_dicts([r for r in await repo.rules(scope) if r.enabled])
    selections = {}
    for i, it, t, v, hit in todo:
        f = core.facts(compiled[t.id], v["answers"], customer_tier=hit[2], dealer_region=regions.get(dealer_of[i]),
                       product_line=(it.product_line or "").strip() or None)
        sel = core.select(rules, f, t.id)
        selections[i] = sel
        rows.append(ResultRow(
            id=uuid7(), tenant_id=scope.tenant_id, template_id=t.id, source=v["source"], response_id=v["response_id"],
            customer_id=hit[0], dealer_id=dealer_of[i], episode=(it.episode or "").strip(), product_line=f.product_line,
            answered_at=v["at"], answers=v["answers"], overall_score=f.overall, dimension_scores=f.dimensions,
            unresolved=f.unresolved, selected=sel is not None, selection_reason=sel.reason if sel else None,
            rule_id=sel.rule_id if sel else None, priority=sel.priority if sel else None, import_id=import_id, created_at=now))
    inserted = await repo.insert_results(scope, rows)  # a concurrent delivery of the same response: theirs stands
    if len(inserted) < len(rows):
        again = await repo.results_by_response(scope, [(r.source, r.response_id) for r in rows if r.id not in inserted])
    by_index = dict(zip([x[0] for x in todo], rows))
    kept = []
    for i, r in by_index.items():
        if r.id in inserted:
            out[i].outcome, out[i].result = (Outcome.SELECTED if r.selected else Outcome.STORED), r
            kept.append((i, r))
        else:
            out[i].outcome, out[i].result = Outcome.DUPLICATE, again.get((r.source, r.response_id))
    template_code = {t.id: t.code for t in templates.values()}
    await customer_service.record_survey_results(scope, [
        {"customer_id": r.customer_id, "score": r.overall_score, "at": r.answered_at, "result_id": r.id,
         "template": template_code[r.template_id], "selected": r.selected} for _, r in kept])
    await events.record_many(scope, SELECTED, subject_type="SurveyResult", items=[
        (r.id, {"result_id": str(r.id), "response_id": r.response_id[:120], "customer_id": str(r.customer_id),
                "dealer_id": str(r.dealer_id) if r.dealer_id else None, "episode": r.episode, "product_line": r.product_line,
                "priority": selections[i].priority, "category_code": selections[i].category_code,
                "dimension": selections[i].dimension, "rule_id": str(selections[i].rule_id) if selections[i].rule_id else None,
                "reason": selections[i].reason, "score": r.overall_score,
                "title": _title(selections[i], r, template_code[r.template_id])})
        for i, r in kept if r.selected])
    return out


def _title(sel: core.Selection, r: ResultRow, template: str) -> str:
    score = f"{r.overall_score:g}/10" if r.overall_score is not None else "no score"
    why = "problem unresolved" if sel.reason == "unresolved" else f"rule {sel.rule_name}"
    return f"Survey alert ({template}, {score}): {why}"[:200]


async def _create_customer(scope: Scope, it: ResultInput, dealers: dict) -> tuple:
    """The brand chose CREATE: a customer from the result's own fields."""
    contacts = [{"channel": ch, "value": v} for ch, v in (("phone", it.phone), ("email", it.email)) if v]
    refs = [{"source": it.external_source, "external_id": it.external_id}] if it.external_source and it.external_id else []
    dealer_id = dealers.get(it.dealer_code) if it.dealer_code else None
    async with db.savepoint():
        c = await customer_service.create_customer(scope, name=(it.name or "").strip() or "(survey respondent)",
                                                   dealer_id=dealer_id, contact_points=contacts, external_refs=refs)
    return c.id, c.dealer_id, c.tier


# ---- reading and preview ------------------------------------------------------------------------

async def get_results(scope: Scope, ids) -> dict[uuid.UUID, ResultRow]:
    if not scope.can(Perm.CUSTOMERS_READ):
        return {}
    return await repo.results_by_ids(scope, ids)


@dataclass
class PreviewRow:
    result: ResultRow
    selection: core.Selection


async def preview(scope: Scope, rules_in: list[RuleInput] | None, *, since: datetime | None, until: datetime | None,
                  limit: int = 1000) -> tuple[int, int, list[PreviewRow], dict[str, int]]:
    """Run a rule set (the given one, else the stored one) over past results and report what
    would be selected, opening nothing. Returns (results examined, selected, the first `limit`
    selected, count per rule name). At most the newest 10,000 results of the window."""
    _brand(scope, Perm.SURVEYS_WRITE)
    if rules_in is None:
        rules = _rule_dicts([r for r in await repo.rules(scope) if r.enabled])
    else:
        if len(rules_in) > MAX_RULES:
            raise err.TooMany(f"At most {MAX_RULES} rules.", field="rules")
        rules = []
        for n, r in enumerate(rules_in):
            try:
                values = await _clean_rule(scope, r)
            except InputErrors as e:  # a query reports one error: the first
                raise e.errors[0] from None
            rules.append({"id": None, **values, "name": values["name"] or f"#{n + 1}"})
    results = await repo.recent_results(scope, since, until, PREVIEW_MAX)
    templates = {t.id: t for t in await repo.templates(scope)}
    compiled = {t.id: core.compile_questions(t.questions) for t in templates.values()}
    customers = await customer_service.tiers(scope, {r.customer_id for r in results})
    regions = {d.id: d.region for d in (await tenant_service.dealers_by_ids(
        scope, list({r.dealer_id for r in results if r.dealer_id}))).values()}
    picked, per_rule = [], {}
    for r in results:
        t = templates.get(r.template_id)
        if t is None:
            continue
        f = core.facts(compiled[t.id], r.answers, customer_tier=customers.get(r.customer_id), dealer_region=regions.get(r.dealer_id),
                       product_line=r.product_line)
        sel = core.select(rules, f, t.id)
        if sel is not None:
            key = sel.rule_name or "(unresolved)"
            per_rule[key] = per_rule.get(key, 0) + 1
            if len(picked) < limit:
                picked.append(PreviewRow(r, sel))
    return len(results), sum(per_rule.values()), picked, per_rule
