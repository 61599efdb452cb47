"""Complaint tickets: opening, the workflow (app/complaint/workflow.py is the only source of
truth for what may happen), the recovery record, rounds. Every change is a domain event
(`complaint.ticket_opened`, `complaint.ticket_changed`), which is the ticket's history and, through
the customer module's handler, its timeline."""
from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation

from app.complaint import errors as err
from app.complaint import repository as repo
from app.complaint import workflow
from app.complaint.enums import CompensationKind, ContactChannel, Dimension, Priority, Severity, TicketAction, TicketSource, TicketStatus
from app.complaint.models import AssignmentRule, Ticket
from app.core import clock, events
from app.core.errors import InputErrors, NotFound, PermissionDenied, ValidationFailed
from app.core.ids import uuid7
from app.core.permissions import Perm, Role
from app.core.tenancy import Scope
from app.customer import service as customer_service
from app.tenant import service as tenant_service

TITLE_MAX, TEXT_MAX = 200, 4000
# the brand's defaults until it sets its own (ticketPolicyUpdate)
MAX_ROUNDS = 2  # past this many rounds the brand takes the ticket over from the dealer
APPROVAL_THRESHOLD = Decimal("1000")  # compensation above this needs a brand approver
MAX_PROMISES = 10
BRAND_CURRENCY = "CNY"
MAX_CATEGORIES = 500  # ticketCategories is one unpaged list
OPENED, CHANGED = "complaint.ticket_opened", "complaint.ticket_changed"
RESULT_ADDED = "complaint.ticket_result_added"  # another selected survey result joined an open care ticket
MAX_ASSIGNMENT_RULES = 200


def _text(value: str | None, field: str, limit: int = TEXT_MAX, *, required: bool = False) -> str | None:
    value = value.strip() if isinstance(value, str) else value
    if not value:
        if required:
            raise err.RecordRequired(f"{field} is required.", field=field)
        return None
    if len(value) > limit:
        raise err.TooLong(f"At most {limit} characters.", field=field)
    return value


async def get_ticket(scope: Scope, ticket_id: uuid.UUID) -> Ticket:
    scope.require(Perm.TICKETS_READ)
    t = (await repo.tickets_by_ids(scope, [ticket_id])).get(ticket_id)
    if t is None:
        raise NotFound("No such ticket.", field="id")
    return t


async def create_ticket(scope: Scope, *, customer_id: uuid.UUID, source: str, title: str, verbatim: str | None = None,
                        channel: str | None = None, dealer_id: uuid.UUID | None = None, category_code: str | None = None,
                        dimension: str | None = None, severity: str = "medium", priority: str = "normal",
                        tags: list[str] | None = None, external_ref: str | None = None, product_line: str | None = None) -> Ticket:
    """A complaint from any source. It goes to the dealer named, else where the brand's
    assignment rules route it (by the customer's dealer's region, the product line, the source),
    else to the customer's dealer, and is then ASSIGNED; without a dealer it waits, NEW, for the
    brand to assign it."""
    scope.require(Perm.TICKETS_WRITE)
    errors = []
    for value, allowed_values, field in ((source, TicketSource, "source"), (severity, Severity, "severity"),
                                         (priority, Priority, "priority"), (dimension, Dimension, "dimension")):
        if value is not None and value not in set(allowed_values):
            errors.append(ValidationFailed(f"Unknown {field}.", field=field))
    try:
        title_ = _text(title, "title", TITLE_MAX, required=True)
        verbatim_ = _text(verbatim, "verbatim")
        channel_ = _text(channel, "channel", 40)
        external_ref_ = _text(external_ref, "externalRef", 120)
        product_line_ = _text(product_line, "productLine", 60)
    except ValidationFailed as e:
        errors.append(e)
    if len(tags or []) > 20:
        errors.append(err.TooLong("At most 20 tags of at most 40 characters.", field="tags"))
        tags = []
    tags_ = sorted({t.strip().lower() for t in tags or [] if t and t.strip()})
    if len(tags_) > 20 or any(len(t) > 40 for t in tags_):
        errors.append(err.TooLong("At most 20 tags of at most 40 characters.", field="tags"))
    if errors:
        raise InputErrors(errors)
    found = await customer_service.visible_customer(scope, customer_id)
    if found is None:
        raise NotFound("No such customer.", field="customerId")
    dealer = dealer_id
    if dealer is None:
        region = None
        if found[1] is not None:
            row = (await tenant_service.dealers_by_ids(scope, [found[1]])).get(found[1])
            region = row.region if row else None
        dealer = route(await repo.assignment_rules(scope), region=region, product_line=product_line_, source=source) or found[1]
    if dealer is not None and not await tenant_service.dealers_by_ids(scope, [dealer]):
        if dealer_id is not None:
            raise NotFound("No such dealer.", field="dealerId")
        dealer = found[1]  # a rule routing to a dealer this caller cannot see: the customer's own
    category_id = None
    if category_code:
        await repo.ensure_categories(scope)
        cat = await repo.category_by_code(scope, category_code)
        if cat is None:
            raise err.UnknownCategory(f"No category {category_code[:64]!r}.", field="categoryCode")
        category_id = cat.id
    now = clock.now()
    number = await repo.next_number(scope, now.year)
    status = TicketStatus.ASSIGNED if dealer else TicketStatus.NEW
    t = await Ticket.create(
        tenant_id=scope.tenant_id, number=f"T-{now.year}-{number:06d}", customer_id=customer_id, dealer_id=dealer,
        status=status.value, source=source, channel=channel_, external_ref=external_ref_, category_id=category_id,
        dimension=dimension, severity=severity, priority=priority, tags=tags_, title=title_, verbatim=verbatim_,
        product_line=product_line_, created_by=scope.actor.label)
    await events.record(scope, OPENED, subject_type="Ticket", subject_id=t.id, payload={
        "number": t.number, "status": t.status, "source": source, "customer_id": str(customer_id),
        "dealer_id": str(dealer) if dealer else None, "round": 1, **_facts(t)})
    return t


def route(rules, *, region: str | None, product_line: str | None, source: str | None) -> uuid.UUID | None:
    """The dealer the first enabled assignment rule (by position) sends a new ticket to: every
    condition a rule sets must hold (a rule setting none matches everything)."""
    for r in rules:
        if r.enabled and (r.region is None or r.region == region) and (
                r.product_line is None or (product_line or "").lower() == r.product_line.lower()) and (
                r.source is None or r.source == source):
            return r.dealer_id
    return None


async def open_care_tickets(scope: Scope, selected: list[events.Event]) -> None:
    """Care tickets (hot alerts) for survey results a rule selected (`survey.result_selected`,
    recorded by the survey module in its own transaction): at most one open survey ticket per
    customer and episode, whatever the number of rules, results or duplicate deliveries (the
    database holds it: a partial unique index). A result whose customer already has one joins it
    (`complaint.ticket_result_added` on that ticket). Set-based: a constant number of statements
    per batch, whatever its size."""
    if not selected:
        return
    items = [(e, e.payload) for e in selected]
    keys = [(uuid.UUID(p["customer_id"]), p.get("episode") or "") for _, p in items]
    existing = await repo.open_care_tickets(scope, list(set(keys)))
    openers: dict[tuple, tuple] = {}
    for key, (e, p) in zip(keys, items):
        if key not in existing and key not in openers:
            openers[key] = (e, p)
    inserted: dict = {}
    if openers:
        rules = await repo.assignment_rules(scope)
        dealer_ids = {uuid.UUID(p["dealer_id"]) for _, p in openers.values() if p.get("dealer_id")}
        dealers = await tenant_service.dealers_by_ids(scope, list(dealer_ids)) if dealer_ids else {}
        codes = {p.get("category_code") for _, p in openers.values() if p.get("category_code")}
        categories = {}
        if codes:
            await repo.ensure_categories(scope)
            categories = {c.code: c.id for c in await repo.categories(scope) if c.code in codes}
        now = clock.now()
        first = await repo.reserve_numbers(scope, now.year, len(openers))
        rows = []
        for n, (key, (e, p)) in enumerate(openers.items()):
            own = uuid.UUID(p["dealer_id"]) if p.get("dealer_id") else None
            region = dealers[own].region if own in dealers else None
            dealer = route(rules, region=region, product_line=p.get("product_line"), source=TicketSource.SURVEY.value) or own
            rows.append({"id": uuid7(), "number": f"T-{now.year}-{first + n:06d}", "customer_id": key[0], "dealer_id": dealer,
                         "status": (TicketStatus.ASSIGNED if dealer else TicketStatus.NEW).value,
                         "priority": p.get("priority") or "normal", "category_id": categories.get(p.get("category_code")),
                         "dimension": p.get("dimension"), "title": (p.get("title") or "Survey alert")[:TITLE_MAX],
                         "episode": key[1], "product_line": p.get("product_line"), "external_ref": p.get("response_id")})
        inserted = await repo.insert_care_tickets(scope, rows)
        if len(inserted) < len(rows):  # a concurrent intake opened some first: join theirs
            existing.update(await repo.open_care_tickets(scope, [k for k in openers if k not in inserted]))
        by_id = {r["id"]: r for r in rows}
        await events.record_many(scope, OPENED, subject_type="Ticket", items=[
            (tid, {"number": by_id[tid]["number"], "status": by_id[tid]["status"], "source": TicketSource.SURVEY.value,
                   "customer_id": str(key[0]), "dealer_id": str(by_id[tid]["dealer_id"]) if by_id[tid]["dealer_id"] else None,
                   "round": 1, "survey_result_id": openers[key][1]["result_id"], "priority": by_id[tid]["priority"],
                   "dimension": by_id[tid]["dimension"], "category_id": str(by_id[tid]["category_id"]) if by_id[tid]["category_id"] else None,
                   "product_line": by_id[tid]["product_line"]})
            for key, tid in inserted.items()])
    links, joined = [], []
    for key, (e, p) in zip(keys, items):
        result_id = uuid.UUID(p["result_id"])
        if key in inserted and openers[key][0] is e:
            links.append((inserted[key], result_id, True))
        elif (tid := inserted.get(key) or existing.get(key)) is not None:
            links.append((tid, result_id, False))
            joined.append((tid, {"survey_result_id": p["result_id"], "customer_id": p["customer_id"],
                                 "priority": p.get("priority"), "rule_id": p.get("rule_id")}))
    await repo.link_results(scope, links)
    await events.record_many(scope, RESULT_ADDED, subject_type="Ticket", items=joined)


async def keep_sla_flags(scope: Scope, batch: list[events.Event]) -> None:
    """The SLA engine's `sla.ticket_clocks` events (its picture of each ticket after a change),
    written onto the tickets; the last event of a ticket in the batch wins."""
    from datetime import datetime

    latest = {}
    for e in batch:
        p = e.payload
        latest[uuid.UUID(p["ticket_id"])] = (datetime.fromisoformat(p["next_due_at"]) if p.get("next_due_at") else None,
                                            bool(p.get("warned")), bool(p.get("breached")))
    await repo.set_sla_flags(scope, [(tid, *v) for tid, v in latest.items()])


async def list_assignment_rules(scope: Scope):
    scope.require(Perm.TICKETS_READ)
    if not scope.all_dealers:
        raise PermissionDenied("Assignment rules are the brand's.")
    return await repo.assignment_rules(scope)


async def save_assignment_rule(scope: Scope, *, rule_id: uuid.UUID | None = None, name: str, dealer_id: uuid.UUID,
                               region: str | None = None, product_line: str | None = None, source: str | None = None,
                               position: int | None = None, enabled: bool = True):
    """Create or replace one of the brand's assignment rules (brand admins)."""
    scope.require(Perm.ADMIN)
    errors = []
    try:
        name_ = _text(name, "name", 120, required=True)
        region_ = _text(region, "region", 64)
        product_line_ = _text(product_line, "productLine", 60)
    except ValidationFailed as e:
        errors.append(e)
        name_ = region_ = product_line_ = None
    if source is not None and source not in set(TicketSource):
        errors.append(ValidationFailed("Unknown source.", field="source"))
    if position is not None and not 0 <= position <= 10000:
        errors.append(ValidationFailed("A position from 0 to 10000.", field="position"))
    if errors:
        raise InputErrors(errors)
    if not await tenant_service.dealers_by_ids(scope, [dealer_id]):
        raise NotFound("No such dealer.", field="dealerId")
    rules = await repo.assignment_rules(scope)
    values = dict(name=name_, dealer_id=dealer_id, region=region_, product_line=product_line_, source=source, enabled=enabled)
    if rule_id is not None:
        rule = next((r for r in rules if r.id == rule_id), None)
        if rule is None:
            raise NotFound("No such assignment rule.", field="id")
        rule.update_from_dict({**values, "position": rule.position if position is None else position})
        await rule.save()
        return rule
    if len(rules) >= MAX_ASSIGNMENT_RULES:
        raise ValidationFailed(f"A brand has at most {MAX_ASSIGNMENT_RULES} assignment rules.", field="name")
    return await AssignmentRule.create(tenant_id=scope.tenant_id, position=position if position is not None else len(rules), **values)


async def delete_assignment_rule(scope: Scope, rule_id: uuid.UUID) -> uuid.UUID:
    scope.require(Perm.ADMIN)
    if not await AssignmentRule.filter(tenant_id=scope.tenant_id, id=rule_id).delete():
        raise NotFound("No such assignment rule.", field="id")
    return rule_id


async def result_tickets(scope: Scope, result_ids) -> dict[uuid.UUID, Ticket]:
    """The care ticket holding each survey result, among those the caller may see (the survey
    module's `SurveyResult.ticket`)."""
    if not scope.can(Perm.TICKETS_READ):
        return {}
    held = await repo.tickets_of_results(scope, list(result_ids))
    tickets = await repo.tickets_by_ids(scope, list(set(held.values())))
    return {rid: tickets[tid] for rid, tid in held.items() if tid in tickets}


def level(scope: Scope, t: Ticket, region: str | None) -> workflow.Who:
    """The caller's level on this ticket: BRAND when they see every dealer; MANAGER as the
    manager of the ticket's own dealer or the regional manager of its region (a manager role at
    another dealer counts for nothing here); else AGENT."""
    if scope.all_dealers:
        return workflow.Who.BRAND
    for m in scope.actor.memberships:
        if (m.role is Role.DEALER_MANAGER and t.dealer_id is not None and m.dealer_id == t.dealer_id) or (
                m.role is Role.REGIONAL_MANAGER and region is not None and region in m.regions):
            return workflow.Who.MANAGER
    return workflow.Who.AGENT


def needed(t: Ticket, tr: workflow.Transition) -> workflow.Who:
    """An escalated ticket, or one the brand has taken over, is the brand's to act on."""
    if t.brand_owned or t.status == TicketStatus.ESCALATED:
        return workflow.Who.BRAND
    return tr.who


def available_actions(scope: Scope, t: Ticket, region: str | None) -> list[TicketAction]:
    if not scope.can(Perm.TICKETS_WRITE):
        return []
    mine = level(scope, t, region)
    return [tr.action for tr in workflow.allowed(TicketStatus(t.status)) if mine >= needed(t, tr)]


async def _region(scope: Scope, t: Ticket) -> str | None:
    if t.dealer_id is None:
        return None
    row = (await tenant_service.dealers_by_ids(scope, [t.dealer_id])).get(t.dealer_id)
    return row.region if row else None


async def act(scope: Scope, ticket_id: uuid.UUID, action: TicketAction | str, *, expected_version: int | None = None,
              **record) -> Ticket:
    """Take `action` on the ticket, as the transition table allows: from the ticket's status, by
    the caller's level, recording what the action requires. A ticket changed by someone else
    in the meantime (or at `expected_version` no longer) is a TICKET_CHANGED conflict."""
    scope.require(Perm.TICKETS_WRITE)
    action = TicketAction(action)
    tr = workflow.BY_ACTION[action]
    t = (await repo.tickets_by_ids(scope, [ticket_id])).get(ticket_id)
    if t is None:
        raise NotFound("No such ticket.", field="id")
    reads = scope.can(Perm.TICKETS_READ)  # a write-only caller learns nothing of the ticket from refusals
    if expected_version is not None and expected_version != t.version:
        raise err.TicketChanged(f"The ticket is at version {t.version}, not {expected_version}." if reads else None,
                                field="expectedVersion")
    current = TicketStatus(t.status)
    region = await _region(scope, t)
    if current not in tr.sources:
        if not reads:
            raise err.TransitionNotAllowed(f"{action.name} is not allowed in the ticket's current status.", field="id")
        raise err.TransitionNotAllowed(
            f"A ticket in status {current.name} cannot {action.name}; allowed now: "
            f"{', '.join(a.name for a in available_actions(scope, t, region)) or 'nothing'}.",
            field="id", extensions={"status": current.name})
    who = needed(t, tr)
    if level(scope, t, region) < who:
        raise err.ActionNotPermitted(f"{action.name} needs a {who.name.lower()}-level caller on this ticket"
                                     + (" (escalated to the brand)." if who > tr.who else "."), field="id")
    for name in tr.requires:
        value = record.get(name)
        if not (value.strip() if isinstance(value, str) else value):
            raise err.RecordRequired(f"{action.name} must record {name}.", field=_camel(name))
    changes = await _changes(scope, t, action, record)
    changes["status"] = tr.target.value
    if tr.target is TicketStatus.ASSIGNED and action is TicketAction.REOPEN:
        changes["round"] = t.round + 1
        changes["brand_flagged"] = True
        if t.round + 1 > (await get_policy(scope))["max_rounds"]:  # the brand takes it over
            changes["status"] = TicketStatus.ESCALATED.value
            changes["brand_owned"] = True
    now = clock.now()
    if changes["status"] == TicketStatus.RESOLVED.value:
        changes["resolved_at"] = now
    if changes["status"] == TicketStatus.CLOSED.value:
        changes["closed_at"] = now
    changes["updated_at"] = now
    updated = await repo.update_ticket(scope, t.id, t.version, changes)
    if updated is None:
        raise err.TicketChanged("The ticket changed while you were acting on it; reload it and try again.", field="id")
    await events.record(scope, CHANGED, subject_type="Ticket", subject_id=t.id, payload={
        "number": t.number, "action": action.value, "from": current.value, "to": updated.status, "round": updated.round,
        "customer_id": str(t.customer_id), "dealer_id": str(updated.dealer_id) if updated.dealer_id else None,
        "agent_id": str(updated.agent_id) if updated.agent_id else None, **_facts(updated)})  # ids only: free text stays on the ticket
    return updated


def _facts(t: Ticket) -> dict:
    """What reacting modules choose by (the SLA engine's policy conditions): small facts, no text."""
    return {"priority": t.priority, "dimension": t.dimension, "source": t.source,
            "category_id": str(t.category_id) if t.category_id else None, "product_line": t.product_line}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.capitalize() for p in rest)


async def _changes(scope: Scope, t: Ticket, action: TicketAction, r: dict) -> dict:
    """What the action writes besides the status (validated)."""
    out: dict = {}
    if r.get("reason") is not None:
        out["status_reason"] = _text(r["reason"], "reason")
    if action in (TicketAction.ASSIGN, TicketAction.REASSIGN):
        dealer_id = r.get("dealer_id") or t.dealer_id
        if dealer_id is None:
            raise err.RecordRequired("Name the dealer to assign the ticket to.", field="dealerId")
        if dealer_id != t.dealer_id and not await tenant_service.dealers_by_ids(scope, [dealer_id]):
            raise NotFound("No such dealer.", field="dealerId")
        agent_id = r.get("agent_id")
        if agent_id is not None and not await tenant_service.works_at(scope, agent_id, dealer_id):
            raise err.AgentNotAtDealer(field="agentId")
        out.update(dealer_id=dealer_id, agent_id=agent_id if agent_id is not None else (t.agent_id if dealer_id == t.dealer_id else None))
    if action is TicketAction.RECORD_CONTACT:
        if r["contact_channel"] not in set(ContactChannel):
            raise ValidationFailed("Unknown contact channel.", field="contactChannel")
        out.update(contact_channel=r["contact_channel"], contact_notes=_text(r["contact_notes"], "contactNotes"))
    if action in (TicketAction.PROPOSE_SOLUTION, TicketAction.RESOLVE):
        out["solution"] = _text(r["solution"], "solution", required=True)
        for key, field in (("root_cause", "rootCause"), ("follow_up", "followUp")):
            if r.get(key) is not None:
                out[key] = _text(r[key], field)
    if action is TicketAction.RESOLVE and r.get("compensation_kind"):
        out.update(await _compensation(scope, r))
    if action is TicketAction.RESOLVE and r.get("promises"):
        if len(r["promises"]) > MAX_PROMISES:
            raise ValidationFailed(f"At most {MAX_PROMISES} promises.", field="promises")
        for p in r["promises"]:  # step 5 of seed 004: the promises become the customer's, kept or broken there
            await customer_service.add_promise(scope, t.customer_id, description=p["description"], due_date=p.get("due_date"),
                                               promised_by=None, perm=Perm.TICKETS_WRITE)
    if action is TicketAction.MARK_DUPLICATE:
        other = (await repo.tickets_by_ids(scope, [r["duplicate_of"]])).get(r["duplicate_of"])
        if other is None or other.id == t.id:
            raise NotFound("No such other ticket.", field="duplicateOf")
        out["duplicate_of_id"] = other.id
    return out


async def _compensation(scope: Scope, r: dict) -> dict:
    kind = r["compensation_kind"]
    if kind not in set(CompensationKind):
        raise ValidationFailed("Unknown compensation kind.", field="compensationKind")
    value = None
    if r.get("compensation_value") is not None:
        try:
            value = Decimal(str(r["compensation_value"]))
        except InvalidOperation:
            raise err.InvalidAmount("Not a number.", field="compensationValue") from None
        if not value.is_finite() or value < 0 or value > Decimal("1000000") or value != value.quantize(Decimal("0.01")):
            raise err.InvalidAmount("An amount between 0 and 1,000,000 with at most two decimals.", field="compensationValue")
    currency = (r.get("compensation_currency") or "CNY").upper()
    if len(currency) != 3 or not currency.isalpha():
        raise ValidationFailed("A three-letter ISO 4217 currency code.", field="compensationCurrency")
    approved_by = None
    threshold = (await get_policy(scope))["approval_threshold"]
    # the threshold is in the brand's currency (CNY): compensation in another always needs brand staff
    if value is not None and (value > threshold or currency != BRAND_CURRENCY):
        if not scope.all_dealers or scope.actor.user_id is None:
            raise err.ApprovalRequired(f"Over {threshold} {currency}, a brand staff member must resolve it.",
                                       field="compensationValue")
        approved_by = scope.actor.user_id
    return {"compensation_kind": kind, "compensation_value": value, "compensation_currency": currency,
            "compensation_approved_by": approved_by}


async def list_categories(scope: Scope):
    scope.require(Perm.TICKETS_READ)
    await repo.ensure_categories(scope)
    return await repo.categories(scope)


async def create_category(scope: Scope, *, code: str, name: str, name_zh: str | None = None, parent_code: str | None = None):
    """A brand's own cause, under one of its categories or at the top (brand admins)."""
    import re

    scope.require(Perm.ADMIN)
    code = (code or "").strip().lower()
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,30}(\.[a-z][a-z0-9_]{0,30}){0,2}", code):
        raise ValidationFailed("Code: lower-case letters, digits and '_', dotted levels (e.g. 'service_failure.parking').",
                               field="code")
    name_ = _text(name, "name", 120, required=True)
    name_zh_ = _text(name_zh, "nameZh", 120)
    await repo.ensure_categories(scope)
    if len(await repo.categories(scope)) >= MAX_CATEGORIES:
        raise ValidationFailed(f"A brand has at most {MAX_CATEGORIES} categories.", field="code")
    parent = None
    if parent_code:
        parent = await repo.category_by_code(scope, parent_code)
        if parent is None:
            raise err.UnknownCategory(f"No category {parent_code[:64]!r}.", field="parentCode")
    created = await repo.add_category(scope, code=code, name=name_, name_zh=name_zh_, parent_id=parent.id if parent else None)
    if created is None:
        raise err.CategoryTaken(f"A category {code!r} exists.", field="code")
    return created


async def get_policy(scope: Scope) -> dict:
    row = await repo.policy(scope)
    return {"max_rounds": row.max_rounds if row else MAX_ROUNDS,
            "approval_threshold": row.approval_threshold if row else APPROVAL_THRESHOLD}


async def update_policy(scope: Scope, *, max_rounds: int | None = None, approval_threshold=None) -> dict:
    """The brand's round limit (1-10) and compensation approval threshold (0-1,000,000)."""
    scope.require(Perm.ADMIN)
    current = await get_policy(scope)
    errors = []
    if max_rounds is not None:
        if not 1 <= max_rounds <= 10:
            errors.append(ValidationFailed("Between 1 and 10 rounds.", field="maxRounds"))
        current["max_rounds"] = max_rounds
    if approval_threshold is not None:
        try:
            value = Decimal(str(approval_threshold))
        except InvalidOperation:
            value = Decimal("NaN")
        if not value.is_finite() or not 0 <= value <= Decimal("1000000") or value != value.quantize(Decimal("0.01")):
            errors.append(err.InvalidAmount("An amount between 0 and 1,000,000 with at most two decimals.", field="approvalThreshold"))
        else:
            current["approval_threshold"] = value
    if errors:
        raise InputErrors(errors)
    await repo.save_policy(scope, current["max_rounds"], current["approval_threshold"])
    return current
