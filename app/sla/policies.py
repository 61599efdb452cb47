"""SLA policies: which targets a ticket's clocks get, and how they behave (pure: no I/O).

A brand's policies are an ordered list. For each metric, a ticket's clock takes its target from
the first enabled policy (by position) that sets a target for that metric and whose conditions
all hold for the ticket: priority, category, service-quality dimension, source, the customer's
value tier, the round and the dealer's region (a condition left empty holds for every ticket).
So a narrow policy ("tier A: first contact in 4 business hours") can sit above a broad one that
gives every other target, and a ticket's four clocks may come from different policies.

The policy that gives a clock its target also gives it the rest of its behaviour, copied onto
the clock when it starts (so a clock keeps what it started with when the brand chooses KEEP):
the statuses that pause it, its warning fractions, its escalation chain (levels, each a
business-time delay after the breach), the calendar it runs on (the dealer's business calendar,
else the brand's, or 24x7) and the calendar its notifications wait for.

Stored JSON (`sla_policy` columns): conditions ``{"priorities": [...], "category_ids": [...],
"dimensions": [...], "sources": [...], "tiers": [...], "regions": [...], "min_round": 2,
"max_round": null}``, targets ``{"first_contact": 14400, ...}`` (business seconds), pauses
``{"resolution": ["pending_customer"], ...}``, warnings ``[0.75, 0.9]``, escalation
``[{"level": "dealer_manager", "after_seconds": 0}, ...]``."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from app.complaint.enums import Dimension, Priority, TicketSource, TicketStatus
from app.core.errors import InputErrors
from app.customer.enums import Tier
from app.sla import errors as err
from app.sla.enums import CalendarChoice, EscalationLevel, Metric, OpenClocks

MIN_TARGET_SECONDS = 60
MAX_TARGET_SECONDS = 365 * 86_400
MAX_DELAY_SECONDS = 90 * 86_400
MAX_WARNINGS = 5
MAX_CONDITION_VALUES = 100
MAX_ROUND = 10
NAME_MAX = 120
DEFAULT_WARNINGS = (0.75, 0.9)
DEFAULT_PAUSES = (TicketStatus.PENDING_CUSTOMER.value,)
# a ticket in one of these has nothing left to measure: every open clock stops
TERMINAL = frozenset({TicketStatus.CANCELLED, TicketStatus.DUPLICATE, TicketStatus.CLOSED})
# the statuses that meet each metric (reaching one of them, or any later one, stops its clock)
_AFTER_RESOLUTION = {TicketStatus.RESOLVED, TicketStatus.AWAITING_RESURVEY, TicketStatus.RECOVERED,
                     TicketStatus.STILL_DISSATISFIED}
MEETS: dict[Metric, frozenset[TicketStatus]] = {
    Metric.FIRST_CONTACT: frozenset({TicketStatus.CONTACTED, TicketStatus.SOLUTION_PROPOSED, TicketStatus.PENDING_CUSTOMER,
                                     *_AFTER_RESOLUTION}),
    Metric.SOLUTION_PROPOSED: frozenset({TicketStatus.SOLUTION_PROPOSED, *_AFTER_RESOLUTION}),
    Metric.RESOLUTION: frozenset(_AFTER_RESOLUTION),
    # the re-survey module will stop it when the re-survey goes out; until then an outcome
    # recorded by hand (the answer came back) proves it was sent, at the latest then
    Metric.RESURVEY_SENT: frozenset({TicketStatus.RECOVERED, TicketStatus.STILL_DISSATISFIED}),
}
PAUSABLE = frozenset(TicketStatus) - TERMINAL


@dataclass(frozen=True)
class Facts:
    """What a policy's conditions are evaluated on: the ticket as the SLA engine knows it."""

    priority: str | None = None
    category_id: uuid.UUID | None = None
    dimension: str | None = None
    source: str | None = None
    tier: str | None = None
    round: int = 1
    region: str | None = None


@dataclass(frozen=True)
class Conditions:
    priorities: frozenset[str] = frozenset()
    category_ids: frozenset[uuid.UUID] = frozenset()
    dimensions: frozenset[str] = frozenset()
    sources: frozenset[str] = frozenset()
    tiers: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    min_round: int | None = None
    max_round: int | None = None

    def matches(self, f: Facts) -> bool:
        return ((not self.priorities or f.priority in self.priorities)
                and (not self.category_ids or f.category_id in self.category_ids)
                and (not self.dimensions or f.dimension in self.dimensions)
                and (not self.sources or f.source in self.sources)
                and (not self.tiers or f.tier in self.tiers)
                and (not self.regions or f.region in self.regions)
                and (self.min_round is None or f.round >= self.min_round)
                and (self.max_round is None or f.round <= self.max_round))

    @classmethod
    def of(cls, raw: Mapping[str, Any] | None) -> "Conditions":
        raw = raw or {}
        return cls(priorities=frozenset(raw.get("priorities") or ()),
                   category_ids=frozenset(uuid.UUID(str(c)) for c in raw.get("category_ids") or ()),
                   dimensions=frozenset(raw.get("dimensions") or ()), sources=frozenset(raw.get("sources") or ()),
                   tiers=frozenset(raw.get("tiers") or ()), regions=frozenset(raw.get("regions") or ()),
                   min_round=raw.get("min_round"), max_round=raw.get("max_round"))


@dataclass(frozen=True)
class Policy:
    id: uuid.UUID
    version: int
    name: str
    position: int
    enabled: bool
    conditions: Conditions
    targets: Mapping[str, int]  # metric -> business seconds
    pauses: Mapping[str, tuple[str, ...]]  # metric -> statuses that pause its clock
    warnings: tuple[float, ...]
    escalation: tuple[tuple[str, int], ...]  # (level, seconds after the breach), in chain order
    calendar: str = CalendarChoice.BUSINESS.value
    notification_calendar_id: uuid.UUID | None = None
    open_clocks: str = OpenClocks.RECOMPUTE.value  # what its last change asked for its open clocks
    deleted: bool = False
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def active(self) -> bool:
        return self.enabled and not self.deleted

    def pauses_for(self, metric: str) -> tuple[str, ...]:
        return tuple(self.pauses.get(metric, DEFAULT_PAUSES))

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> "Policy":
        """From an `sla_policy` row (dict-like, JSON columns decoded)."""
        return cls(id=row["id"], version=row["version"], name=row["name"], position=row["position"], enabled=row["enabled"],
                   conditions=Conditions.of(row["conditions"]), targets={k: int(v) for k, v in (row["targets"] or {}).items()},
                   pauses={k: tuple(v) for k, v in (row["pauses"] or {}).items()},
                   warnings=tuple(float(w) for w in row["warnings"] or ()),
                   escalation=tuple((s["level"], int(s["after_seconds"])) for s in row["escalation"] or ()),
                   calendar=row["calendar"], notification_calendar_id=row["notification_calendar_id"],
                   open_clocks=row["open_clocks"], deleted=row["deleted_at"] is not None, raw=row)


def resolve(policies: Iterable[Policy], facts: Facts, metric: str) -> Policy | None:
    """The policy that gives `metric` its target for a ticket with these facts: the first
    active one by position that has a target for it and whose conditions hold."""
    for p in policies:
        if p.active and metric in p.targets and p.conditions.matches(facts):
            return p
    return None


def ordered(policies: Iterable[Policy]) -> list[Policy]:
    return sorted(policies, key=lambda p: (p.position, p.id))


# ---- validation of an admin's input -----------------------------------------------------------


def _values(errors: list, raw: Any, field_name: str, allowed: Iterable[str] | None, *, limit: int = 64) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, (list, tuple)) or len(raw) > MAX_CONDITION_VALUES:
        errors.append(err.InvalidPolicy(f"At most {MAX_CONDITION_VALUES} values.", field=field_name))
        return []
    allowed_set = set(allowed) if allowed is not None else None
    out = []
    for v in raw:
        if not isinstance(v, str) or not v.strip() or len(v) > limit or (allowed_set is not None and v not in allowed_set):
            errors.append(err.InvalidPolicy(f"Unknown value {str(v)[:64]!r}.", field=field_name))
            return []
        out.append(v.strip() if allowed_set is None else v)
    return sorted(set(out))


def _seconds(errors: list, value: Any, field_name: str, lo: int, hi: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        errors.append(err.InvalidPolicy(f"Seconds between {lo} and {hi}.", field=field_name))
        return None
    return value


def validate(*, name: Any, conditions: Mapping[str, Any] | None, targets: Any, pauses: Any, warnings: Any,
             escalation: Any, calendar: Any, category_ids: Iterable[uuid.UUID] | None = None) -> dict[str, Any]:
    """Check an admin's policy and return its stored form (see the module docstring). Raises
    `InputErrors` of `InvalidPolicy`, each naming its field. `category_ids`: the brand's
    categories (a condition may only name those)."""
    errors: list = []
    name_ = name.strip() if isinstance(name, str) else ""
    if not 1 <= len(name_) <= NAME_MAX:
        errors.append(err.InvalidPolicy(f"A name of 1 to {NAME_MAX} characters.", field="name"))
    c = conditions or {}
    known_categories = {str(i) for i in category_ids} if category_ids is not None else None
    stored_conditions = {
        "priorities": _values(errors, c.get("priorities"), "conditions.priorities", Priority),
        "category_ids": _values(errors, [str(i) for i in c.get("category_ids") or ()], "conditions.categoryIds", known_categories),
        "dimensions": _values(errors, c.get("dimensions"), "conditions.dimensions", Dimension),
        "sources": _values(errors, c.get("sources"), "conditions.sources", TicketSource),
        "tiers": _values(errors, c.get("tiers"), "conditions.tiers", Tier),
        "regions": _values(errors, c.get("regions"), "conditions.regions", None),
        "min_round": None, "max_round": None,
    }
    for key, gql in (("min_round", "minRound"), ("max_round", "maxRound")):
        value = c.get(key)
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ROUND:
                errors.append(err.InvalidPolicy(f"A round from 1 to {MAX_ROUND}.", field=f"conditions.{gql}"))
            else:
                stored_conditions[key] = value
    if (stored_conditions["min_round"] or 0) > (stored_conditions["max_round"] or MAX_ROUND):
        errors.append(err.InvalidPolicy("minRound is above maxRound.", field="conditions.minRound"))

    stored_targets: dict[str, int] = {}
    if not isinstance(targets, (list, tuple)) or not targets:
        errors.append(err.InvalidPolicy("At least one target.", field="targets"))
        targets = []
    seen: set[str] = set()
    for i, t in enumerate(targets):
        metric = t.get("metric") if isinstance(t, Mapping) else None
        if metric not in set(Metric) or metric in seen:
            errors.append(err.InvalidPolicy("One target per metric.", field=f"targets[{i}].metric"))
            continue
        seen.add(metric)
        seconds = _seconds(errors, t.get("seconds"), f"targets[{i}].seconds", MIN_TARGET_SECONDS, MAX_TARGET_SECONDS)
        if seconds is not None:
            stored_targets[metric] = seconds

    stored_pauses: dict[str, list[str]] = {}
    for i, p in enumerate(pauses or ()):
        metric = p.get("metric") if isinstance(p, Mapping) else None
        if metric not in set(Metric) or metric in stored_pauses or metric not in seen:
            errors.append(err.InvalidPolicy("One pause list per metric the policy has a target for.", field=f"pauses[{i}].metric"))
            continue
        statuses = _values(errors, p.get("statuses") or [], f"pauses[{i}].statuses", PAUSABLE)
        stored_pauses[metric] = statuses
    stored_pauses = {m: stored_pauses.get(m, list(DEFAULT_PAUSES)) for m in stored_targets}

    if warnings is None:
        warnings = list(DEFAULT_WARNINGS)
    stored_warnings: list[float] = []
    if not isinstance(warnings, (list, tuple)) or len(warnings) > MAX_WARNINGS:
        errors.append(err.InvalidPolicy(f"At most {MAX_WARNINGS} warning fractions.", field="warnings"))
    else:
        for w in warnings:
            if isinstance(w, bool) or not isinstance(w, (int, float)) or not 0.01 <= w <= 0.99:
                errors.append(err.InvalidPolicy("Warning fractions lie between 0.01 and 0.99.", field="warnings"))
                break
            stored_warnings.append(round(float(w), 3))
        if len(set(stored_warnings)) != len(stored_warnings):
            errors.append(err.InvalidPolicy("Each warning fraction once.", field="warnings"))
        stored_warnings.sort()

    stored_escalation: list[dict[str, Any]] = []
    order = list(EscalationLevel)
    for i, step in enumerate(escalation or ()):
        level = step.get("level") if isinstance(step, Mapping) else None
        if level not in set(EscalationLevel):
            errors.append(err.InvalidPolicy("Unknown escalation level.", field=f"escalation[{i}].level"))
            continue
        if stored_escalation and order.index(level) <= order.index(stored_escalation[-1]["level"]):
            errors.append(err.InvalidPolicy("Escalation levels go up the chain: dealer agent, dealer manager, regional "
                                            "manager, brand; each once.", field=f"escalation[{i}].level"))
            continue
        after = _seconds(errors, step.get("after_seconds"), f"escalation[{i}].afterSeconds", 0, MAX_DELAY_SECONDS)
        if after is None:
            continue
        if stored_escalation and after < stored_escalation[-1]["after_seconds"]:
            errors.append(err.InvalidPolicy("Each step comes no earlier than the one before.", field=f"escalation[{i}].afterSeconds"))
            continue
        stored_escalation.append({"level": level, "after_seconds": after})
    if calendar not in set(CalendarChoice):
        errors.append(err.InvalidPolicy("BUSINESS or ALWAYS.", field="calendar"))
    if errors:
        raise InputErrors(errors)
    return {"name": name_, "conditions": stored_conditions, "targets": stored_targets, "pauses": stored_pauses,
            "warnings": stored_warnings, "escalation": stored_escalation, "calendar": calendar}


_HOUR = 3600
DEFAULT_ESCALATION = [{"level": EscalationLevel.DEALER_MANAGER.value, "after_seconds": 0},
                      {"level": EscalationLevel.REGIONAL_MANAGER.value, "after_seconds": 4 * _HOUR},
                      {"level": EscalationLevel.BRAND.value, "after_seconds": 8 * _HOUR}]
# seeded for a new brand on first use (business hours of the brand's calendar)
DEFAULT_POLICIES: tuple[dict[str, Any], ...] = (
    {"name": "Tier A customers: first contact within 4 business hours", "conditions": {"tiers": [Tier.A.value]},
     "targets": {Metric.FIRST_CONTACT.value: 4 * _HOUR}},
    {"name": "Standard recovery", "conditions": {},
     "targets": {Metric.FIRST_CONTACT.value: 24 * _HOUR, Metric.SOLUTION_PROPOSED.value: 48 * _HOUR,
                 Metric.RESOLUTION.value: 72 * _HOUR, Metric.RESURVEY_SENT.value: 40 * _HOUR}},
)


def default_rows() -> list[dict[str, Any]]:
    """The seeded policies in their stored form, in order."""
    out = []
    for position, p in enumerate(DEFAULT_POLICIES):
        stored = validate(name=p["name"], conditions=p["conditions"],
                          targets=[{"metric": m, "seconds": s} for m, s in p["targets"].items()], pauses=None,
                          warnings=None, escalation=DEFAULT_ESCALATION, calendar=CalendarChoice.BUSINESS.value)
        out.append({**stored, "position": position})
    return out
