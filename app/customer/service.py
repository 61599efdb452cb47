"""Customer archives: validation, masking, timeline entries, merge, erasure, export, tiers.

Services never commit; each call runs inside the operation's tenant transaction."""
from __future__ import annotations

import math
import re
import unicodedata
import uuid
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation

import phonenumbers
from tortoise.exceptions import IntegrityError

from app.audit import service as audit
from app.core import clock, jobs
from app.core.errors import AppError, InputErrors, NotFound, PermissionDenied, ValidationFailed
from app.core.permissions import Perm
from app.core.tenancy import Scope
from app.customer import errors as err
from app.customer import repository as repo
from app.customer.enums import (
    Channel,
    ChurnStatus,
    Gender,
    InteractionKind,
    InteractionOutcome,
    LostType,
    WinbackActionKind,
    WinbackOutcome,
)
from app.customer.models import (
    ContactPoint,
    Customer,
    Interaction,
    OwnedProduct,
    Promise,
    WinbackAction,
)
from app.tenant import service as tenant_service

CHANNELS = tuple(Channel)  # in this order: the first of each channel is primary
GENDERS = frozenset(Gender)
CHURN = frozenset(ChurnStatus)
LOST_TYPES = frozenset(LostType)
INTERACTION_KINDS = frozenset(InteractionKind)
OUTCOMES = frozenset(InteractionOutcome)
WINBACK_ACTIONS = frozenset(WinbackActionKind)
WINBACK_OUTCOMES = frozenset(WinbackOutcome)
TIER_JOB = "customer.recompute_tiers"
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{2,}$")
DEFAULT_POLICY = {"w_purchases": 10.0, "w_spend": 1.0, "w_tenure": 2.0, "w_referrals": 5.0, "a_min": 40.0, "b_min": 15.0}
POLICY_MAX = 1_000_000  # weights and thresholds: 0..POLICY_MAX
POLICY_FIELDS = {"w_purchases": "wPurchases", "w_spend": "wSpend", "w_tenure": "wTenure", "w_referrals": "wReferrals",
                 "a_min": "aMin", "b_min": "bMin"}
# contact points per customer: a bound on what one profile holds (and on what a merge can compare)
MAX_CONTACT_POINTS = 20
MAX_CONTACT_POINTS_PER_CHANNEL = 10
# free text, the same caps everywhere (service and importer)
NAME_MAX = 200        # customer names
NOTES_MAX = 4000      # notes and descriptions
REASON_MAX = 2000     # reasons and resolution notes
# every date and datetime input, after conversion to UTC
EARLIEST = datetime(1900, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(2100, 1, 1, tzinfo=timezone.utc)
# phone numbers without a country code are read in the brand's region (a per-brand setting can
# feed this later; today every brand is Chinese)
DEFAULT_REGION = "CN"


# ---- contact points: normalisation and masking -----------------------------------------------

def ascii_digits(value: str) -> str:
    """Digits of any script (Arabic-Indic ٠-٩, full-width ０-９ from Chinese input methods, ...)
    become ASCII digits, so the stored value, its mask and the search text agree."""
    return "".join(str(unicodedata.digit(ch)) if not ch.isascii() and unicodedata.category(ch) == "Nd" else ch for ch in value)


def clean_value(channel: str, value: str) -> str:
    """The value as stored and shown (phones: ASCII digits, the caller's formatting kept)."""
    v = (value or "").strip()
    return ascii_digits(v) if channel == "phone" else v


def normalize_contact(channel: str, value: str, region: str = DEFAULT_REGION) -> str:
    """Raises ValidationFailed; returns the comparable form (E.164 phone, lower-case e-mail)."""
    v = clean_value(channel, value)
    if len(v) > 254:
        raise err.TooLong("A contact value is at most 254 characters.", field="contactPoints")
    if channel == "phone":
        if re.search(r"[^0-9\s\-+().]", v):  # no letters (vanity numbers), no extensions
            raise err.InvalidPhone("A phone number holds digits, spaces, +, -, ( and ) only.", field="contactPoints")
        try:
            number = phonenumbers.parse(v, region)
        except phonenumbers.NumberParseException:
            number = None
        if number is None or not phonenumbers.is_valid_number(number):
            raise err.InvalidPhone("Not a valid phone number (give the country code, e.g. +44, for numbers outside "
                                   f"{region}).", field="contactPoints")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if channel == "email":
        if not EMAIL_RE.match(v) or len(v) > 254:
            raise err.InvalidEmail("Not an e-mail address.", field="contactPoints")
        return v.lower()
    if channel in ("wechat", "qq", "other_im"):
        if not 1 <= len(v) <= 64 or (channel == "qq" and not (v.isascii() and v.isdigit())):
            raise err.InvalidImId(f"Not a valid {channel} id.", field="contactPoints")
        return v.lower()
    raise err.InvalidChannel("Unknown channel.", field="contactPoints")


def check_contact_bounds(channels: list[str], field: str = "contactPoints") -> None:
    """At most MAX_CONTACT_POINTS contact points, MAX_CONTACT_POINTS_PER_CHANNEL per channel."""
    per: dict[str, int] = {}
    for ch in channels:
        per[ch] = per.get(ch, 0) + 1
    if len(channels) > MAX_CONTACT_POINTS or any(n > MAX_CONTACT_POINTS_PER_CHANNEL for n in per.values()):
        raise err.TooManyContactPoints(f"A customer has at most {MAX_CONTACT_POINTS} contact points, at most "
                               f"{MAX_CONTACT_POINTS_PER_CHANNEL} per channel.", field=field)


def check_text(value: str | None, field: str, limit: int, errors: list | None = None) -> None:
    """TOO_LONG past `limit` characters; appended to `errors` when given, else raised."""
    if value is not None and len(value) > limit:
        e = err.TooLong(f"At most {limit} characters.", field=field)
        if errors is None:
            raise e
        errors.append(e)


def check_datetime(value: datetime | None, field: str, *, not_future: bool = False) -> datetime | None:
    """A time zone is required; the instant must lie in 1900-01-01..2100-01-01 UTC (and not in
    the future when `not_future`). Returns the value in UTC."""
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationFailed(f"Give {field} with a time zone (e.g. 2024-05-01T10:00:00+08:00).", field=field)
    try:
        utc = value.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        utc = None
    if utc is None or not EARLIEST <= utc < LATEST:
        raise err.OutOfRange(f"{field} must lie between 1900-01-01 and 2100-01-01 (UTC).", field=field)
    if not_future and utc > clock.now():
        raise err.OutOfRange(f"{field} cannot be in the future.", field=field)
    return utc


def check_date(value: date | None, field: str, *, not_future: bool = False) -> None:
    if value is None:
        return
    if not EARLIEST.date() <= value < LATEST.date():
        raise err.OutOfRange(f"{field} must lie between 1900-01-01 and 2100-01-01.", field=field)
    if not_future and value > clock.now().date():
        raise err.OutOfRange(f"{field} cannot be in the future.", field=field)


def mask(channel: str, value: str) -> str:
    """138****5678, w***@example.cn, wx***id: enough to recognise, not enough to contact."""
    if channel == "phone":
        digits = re.sub(r"\D", "", value)
        return digits[:3] + "****" + digits[-4:] if len(digits) >= 8 else "****" + digits[-2:]
    if channel == "email":
        local, _, domain = value.partition("@")
        return (local[:1] or "*") + "***@" + domain
    return value[:2] + "***" + value[-2:] if len(value) > 4 else "***"


def _search_text(name: str, contacts: list[dict], refs: list[dict]) -> str:
    parts = [name] + [c["normalized"] for c in contacts]
    parts += [c["value"] for c in contacts if c["channel"] == "phone"]
    parts += [r["external_id"] for r in refs]
    return " ".join(p.lower() for p in parts if p)


def _search_name(name: str, refs: list[dict]) -> str:
    """What callers without customers:pii may search: never contact details."""
    return " ".join(p.lower() for p in [name, *[r["external_id"] for r in refs]] if p)


def _clean_contacts(items: list[dict] | None, region: str = DEFAULT_REGION) -> list[dict]:
    out, seen, errors = [], set(), []
    if len(items or []) > 2 * MAX_CONTACT_POINTS:  # do not even parse thousands
        check_contact_bounds([x.get("channel") for x in items])
    for i, item in enumerate(items or []):
        channel = item.get("channel")
        try:
            normalized = normalize_contact(channel, item.get("value", ""), region)
        except ValidationFailed as e:
            errors.append(type(e)(f"Contact point {i + 1}: {e.message}", field="contactPoints"))
            continue
        if item.get("label") is not None and len(item["label"]) > 40:
            errors.append(err.TooLong(f"Contact point {i + 1}: labels are at most 40 characters.", field="contactPoints"))
            continue
        if (channel, normalized) in seen:
            continue
        seen.add((channel, normalized))
        # None = not stated: defaults on create, the stored value on update
        out.append({"channel": channel, "value": clean_value(channel, item["value"]), "normalized": normalized,
                    "label": item.get("label"), "verified": item.get("verified"),
                    "consent": item.get("consent"), "do_not_contact": item.get("do_not_contact"),
                    "is_primary": False})
    if errors:
        raise InputErrors(errors)
    check_contact_bounds([c["channel"] for c in out])
    for channel in CHANNELS:  # the first of each channel is primary
        first = next((c for c in out if c["channel"] == channel), None)
        if first:
            first["is_primary"] = True
    return out


def _default_flags(x: dict, previous: ContactPoint | None) -> None:
    """Fill unstated flags: from the stored contact point if there is one (a restated number
    keeps its do-not-contact), else the defaults (unverified, consent given)."""
    for flag, default in (("verified", False), ("consent", True), ("do_not_contact", False)):
        if x[flag] is None:
            x[flag] = getattr(previous, flag) if previous is not None else default


def _clean_refs(items: list[dict] | None) -> list[dict]:
    out, seen = [], set()
    for r in items or []:
        source, ext = (r.get("source") or "").strip(), (r.get("external_id") or "").strip()
        if not (source and ext):
            raise ValidationFailed("External references need a source (≤40) and an id (≤120).", field="externalRefs")
        if len(source) > 40 or len(ext) > 120:
            raise err.TooLong("External references need a source (≤40) and an id (≤120).", field="externalRefs")
        if (source, ext) not in seen:
            seen.add((source, ext))
            out.append({"source": source, "external_id": ext})
    return out


def _check_profile(values: dict) -> None:
    errors: list[AppError] = []
    if "name" in values:
        values["name"] = (values["name"] or "").strip()
        if not values["name"]:
            errors.append(ValidationFailed(f"Name must be 1-{NAME_MAX} characters.", field="name"))
        elif len(values["name"]) > NAME_MAX:
            errors.append(err.TooLong(f"Name must be 1-{NAME_MAX} characters.", field="name"))
    if values.get("gender") is not None and values["gender"] not in GENDERS:
        errors.append(ValidationFailed("Unknown gender.", field="gender"))
    by = values.get("birth_year")
    if by is not None and not 1900 <= by <= clock.now().year:
        errors.append(ValidationFailed("Birth year out of range.", field="birthYear"))
    if values.get("tags") is not None:
        tags = values["tags"] = sorted({t.strip().lower() for t in values["tags"] if t and t.strip()})
        if len(tags) > 30 or any(len(t) > 40 for t in tags):
            errors.append((err.TooLong if len(tags) <= 30 else ValidationFailed)("At most 30 tags of at most 40 characters.", field="tags"))
    for f, gql_name, limit in (("household_notes", "householdNotes", NOTES_MAX), ("hobby_notes", "hobbyNotes", NOTES_MAX),
                               ("preferred_contact_hours", "preferredContactHours", 200),
                               ("preferred_language", "preferredLanguage", 16)):
        check_text(values.get(f), gql_name, limit, errors)
    if values.get("service_spend") is not None and not 0 <= values["service_spend"] < 10**11:
        errors.append(ValidationFailed("Must be between 0 and 100,000,000,000.", field="serviceSpend"))
    if values.get("referrals") is not None and not 0 <= values["referrals"] <= 10**6:
        errors.append(ValidationFailed("Must be between 0 and 1,000,000.", field="referrals"))
    if errors:
        raise InputErrors(errors)


async def _check_dealer(scope: Scope, dealer_id: uuid.UUID | None, field: str = "dealerId") -> None:
    if dealer_id is None:
        if not scope.all_dealers:
            raise err.DealerRequired("Dealer staff must name their dealer.", field=field)
        return
    dealer = (await tenant_service.dealers_by_ids(scope, [dealer_id])).get(dealer_id)
    if dealer is None:
        raise NotFound("No such dealer.", field=field)


async def get_customer(scope: Scope, customer_id: uuid.UUID) -> Customer:
    scope.require(Perm.CUSTOMERS_READ)
    c = (await repo.customers_by_ids(scope, [customer_id])).get(customer_id)
    if c is None:
        raise NotFound("No such customer.", field="id")
    return c


async def customer_after_write(scope: Scope, customer_id: uuid.UUID) -> Customer:
    """The customer a write just changed, for the mutation's payload (which the GraphQL layer
    shows only to callers holding customers:read)."""
    scope.require(Perm.CUSTOMERS_WRITE)
    c = (await repo.customers_by_ids(scope, [customer_id])).get(customer_id)
    if c is None:
        raise NotFound("No such customer.", field="id")
    return c


async def _for_update(scope: Scope, customer_id: uuid.UUID, perm: Perm = Perm.CUSTOMERS_WRITE) -> Customer:
    scope.require(perm)
    c = await repo.customer_for_update(scope, customer_id)
    if c is None:
        raise NotFound("No such customer.", field="id")
    if c.erased_at is not None or c.merged_into_id is not None:
        raise err.CustomerClosed("This customer was erased or merged and cannot change.", field="id")
    return c


REF_UNUSABLE = "This external reference cannot be used."


async def _check_refs_free(scope: Scope, refs: list[dict], owner: uuid.UUID | None) -> None:
    """EXTERNAL_ID_TAKEN either way (the reference is unique in the brand, so the write must
    fail); the message names the reference only when the caller can see the customer holding it."""
    for r in refs:
        other = await repo.external_ref_owner(scope, r["source"], r["external_id"])
        if other is not None and other != owner:
            visible = bool(await repo.customers_by_ids(scope, [other])) and scope.can(Perm.CUSTOMERS_READ)
            message = (f"External id {r['source']}:{r['external_id']} belongs to another customer." if visible
                       else REF_UNUSABLE)
            raise err.ExternalIdTaken(message, field="externalRefs")


async def _replace_refs(scope: Scope, customer_id: uuid.UUID, refs: list[dict]) -> None:
    """A concurrent writer may take a reference between the check and the insert: the unique
    constraint then answers, and so do we, with the same code (never a 500)."""
    try:
        await repo.replace_external_refs(scope, customer_id, refs)
    except IntegrityError:
        raise err.ExternalIdTaken(REF_UNUSABLE, field="externalRefs") from None


def enqueue_tier(scope: Scope, customer_id: uuid.UUID) -> None:
    jobs.enqueue(TIER_JOB, scope.tenant_id, str(customer_id), job_id=f"tier:{scope.tenant_id}:{customer_id}")


def _collect(*checks):
    """Run every check and report all field errors at once."""
    errors: list[AppError] = []
    results = []
    for check in checks:
        try:
            results.append(check())
        except InputErrors as e:
            errors += e.errors
            results.append(None)
        except AppError as e:
            errors.append(e)
            results.append(None)
    if errors:
        raise InputErrors(errors)
    return results


async def create_customer(scope: Scope, *, name: str, dealer_id: uuid.UUID | None = None, contact_points: list[dict] | None = None,
                          external_refs: list[dict] | None = None, **profile) -> Customer:
    scope.require(Perm.CUSTOMERS_WRITE)
    if dealer_id is None and not scope.all_dealers and scope.dealer_ids and len(scope.dealer_ids) == 1:
        dealer_id = next(iter(scope.dealer_ids))  # dealer staff create for their dealer
    values = {"name": name, **profile}
    _, contacts, refs = _collect(lambda: _check_profile(values), lambda: _clean_contacts(contact_points),
                                 lambda: _clean_refs(external_refs))
    await _check_dealer(scope, dealer_id)
    await _check_refs_free(scope, refs, None)
    for x in contacts:
        _default_flags(x, None)
    c = await repo.create_customer(scope, dealer_id=dealer_id, search_text=_search_text(values["name"], contacts, refs),
                                   search_name=_search_name(values["name"], refs), **values)
    await repo.replace_contacts(scope, c.id, contacts)
    await _replace_refs(scope, c.id, refs)
    await repo.add_event(scope, c.id, "created", c.created_at, summary={"by": scope.actor.label})
    enqueue_tier(scope, c.id)
    return c


async def update_customer(scope: Scope, customer_id: uuid.UUID, *, contact_points: list[dict] | None = None,
                          external_refs: list[dict] | None = None, dealer_id: uuid.UUID | None = None, **changes) -> Customer:
    c = await _for_update(scope, customer_id)
    changes = {k: v for k, v in changes.items() if v is not None}
    _, contacts, refs = _collect(
        lambda: _check_profile(changes),
        lambda: _clean_contacts(contact_points) if contact_points is not None else None,
        lambda: _clean_refs(external_refs) if external_refs is not None else None)
    if dealer_id is not None and dealer_id != c.dealer_id:
        await _check_dealer(scope, dealer_id)
        changes["dealer_id"] = dealer_id
    if refs is not None:
        await _check_refs_free(scope, refs, c.id)
    if contacts is not None:
        old = {(x.channel, x.normalized): x for x in (await repo.contacts_of(scope, [c.id]))[c.id]}
        for x in contacts:  # what is not restated about a known contact point is kept
            _default_flags(x, old.get((x["channel"], x["normalized"])))
        await repo.replace_contacts(scope, c.id, contacts)
    if refs is not None:
        await _replace_refs(scope, c.id, refs)
    for k, v in changes.items():
        setattr(c, k, v)
    if contacts is None:
        contacts = [{"channel": x.channel, "value": x.value, "normalized": x.normalized} for x in (await repo.contacts_of(scope, [c.id]))[c.id]]
    if refs is None:
        refs = [{"external_id": r.external_id} for r in (await repo.external_refs_of(scope, [c.id]))[c.id]]
    c.search_text = _search_text(c.name, contacts, refs)
    c.search_name = _search_name(c.name, refs)
    await repo.save_customer(scope, c, [*changes, "search_text", "search_name"])
    if {"service_spend", "referrals"} & changes.keys():
        enqueue_tier(scope, c.id)
    return c


async def merge_customers(scope: Scope, survivor_id: uuid.UUID, duplicate_id: uuid.UUID) -> Customer:
    """Keep `survivor`; move every contact point, reference, product, promise, interaction,
    win-back action, tier change and timeline entry of `duplicate` to it; fill the survivor's
    empty profile fields from the duplicate; the duplicate points at the survivor.

    Needs customers:pii: the merge compares both customers' contact details (a shared number is
    kept once), so its result depends on values the caller would otherwise see masked; a caller
    who may not read them could probe them with crafted duplicates. The duplicate's tier history
    stays with it (the survivor's tier is recomputed and records its own changes)."""
    if survivor_id == duplicate_id:
        raise err.SameCustomer("A customer cannot be merged into itself.", field="duplicateId")
    scope.require(Perm.CUSTOMERS_WRITE)
    require_pii(scope)
    locked = await repo.customers_for_update(scope, [survivor_id, duplicate_id])  # one statement, id order: no deadlock
    survivor, duplicate = locked.get(survivor_id), locked.get(duplicate_id)
    if survivor is None or duplicate is None:
        raise NotFound("No such customer.", field="survivorId" if survivor is None else "duplicateId")
    for c in (survivor, duplicate):
        if c.erased_at is not None or c.merged_into_id is not None:
            raise err.CustomerClosed("This customer was erased or merged and cannot change.", field="id")
    both = await repo.contacts_of(scope, [survivor.id, duplicate.id])
    merged = {(x.channel, x.normalized) for x in both[survivor.id]} | {(x.channel, x.normalized) for x in both[duplicate.id]}
    check_contact_bounds([ch for ch, _ in merged], field="duplicateId")
    await repo.move_children(scope, duplicate.id, survivor.id)
    fields = ["gender", "birth_year", "preferred_language", "preferred_contact_hours", "household_notes", "hobby_notes",
              "dealer_id"]
    changed = []
    for f in fields:
        if getattr(survivor, f) is None and getattr(duplicate, f) is not None:
            setattr(survivor, f, getattr(duplicate, f))
            changed.append(f)
    if duplicate.last_survey_at is not None and (survivor.last_survey_at is None or duplicate.last_survey_at > survivor.last_survey_at):
        survivor.last_survey_score, survivor.last_survey_at = duplicate.last_survey_score, duplicate.last_survey_at
        changed += ["last_survey_score", "last_survey_at"]
    survivor.tags = sorted(set(survivor.tags or []) | set(duplicate.tags or []))
    survivor.service_spend = (survivor.service_spend or 0) + (duplicate.service_spend or 0)
    survivor.referrals = (survivor.referrals or 0) + (duplicate.referrals or 0)
    survivor.open_ticket_count = survivor.open_ticket_count + duplicate.open_ticket_count
    contacts = (await repo.contacts_of(scope, [survivor.id]))[survivor.id]
    refs = (await repo.external_refs_of(scope, [survivor.id]))[survivor.id]
    survivor.search_text = _search_text(survivor.name, [{"channel": x.channel, "value": x.value, "normalized": x.normalized} for x in contacts],
                                        [{"external_id": r.external_id} for r in refs])
    survivor.search_name = _search_name(survivor.name, [{"external_id": r.external_id} for r in refs])
    await repo.save_customer(scope, survivor, [*changed, "tags", "service_spend", "referrals", "open_ticket_count",
                                               "search_text", "search_name"])
    duplicate.merged_into_id = survivor.id
    duplicate.search_text = duplicate.search_name = ""
    duplicate.open_ticket_count = 0
    await repo.save_customer(scope, duplicate, ["merged_into_id", "search_text", "search_name", "open_ticket_count"])
    await repo.add_event(scope, survivor.id, "merged", clock.now(), ref_type="customer", ref_id=duplicate.id,
                         summary={"merged": str(duplicate.id), "by": scope.actor.label})
    enqueue_tier(scope, survivor.id)
    return survivor


async def add_interaction(scope: Scope, customer_id: uuid.UUID, *, kind: str, outcome: str, notes: str | None,
                          occurred_at: datetime | None) -> Interaction:
    c = await _for_update(scope, customer_id)
    if kind not in INTERACTION_KINDS:
        raise ValidationFailed("Unknown interaction kind.", field="kind")
    if outcome not in OUTCOMES:
        raise ValidationFailed("Unknown outcome.", field="outcome")
    check_text(notes, "notes", NOTES_MAX)
    at = check_datetime(occurred_at, "occurredAt", not_future=True) or clock.now()
    row = await repo.add(scope, Interaction, customer_id=c.id, dealer_id=c.dealer_id, kind=kind, outcome=outcome, notes=notes,
                         occurred_at=at, user_id=scope.actor.user_id)
    await repo.add_event(scope, c.id, "interaction", at, ref_type="interaction", ref_id=row.id,
                         summary={"kind": kind, "outcome": outcome, "by": scope.actor.label})
    return row


async def add_promise(scope: Scope, customer_id: uuid.UUID, *, description: str, due_date: date | None,
                      promised_by: str | None, perm: Perm = Perm.CUSTOMERS_WRITE) -> Promise:
    """Published: the complaint module records a recovery's promises here with `tickets:write`
    (`perm`), so they are the customer's promises (kept or broken) like any other."""
    c = await _for_update(scope, customer_id, perm)
    description = (description or "").strip()
    if not description:
        raise ValidationFailed(f"Describe the promise (1-{NOTES_MAX} characters).", field="description")
    check_text(description, "description", NOTES_MAX)
    promised_by = (promised_by or "").strip() or None
    check_text(promised_by, "promisedBy", 120)
    check_date(due_date, "dueDate")
    row = await repo.add(scope, Promise, customer_id=c.id, dealer_id=c.dealer_id, description=description, due_date=due_date,
                         promised_by=promised_by or scope.actor.label[:120], created_by=scope.actor.user_id)
    await repo.add_event(scope, c.id, "promise", row.created_at, ref_type="promise", ref_id=row.id,
                         summary={"due": due_date.isoformat() if due_date else None})
    return row


async def resolve_promise(scope: Scope, promise_id: uuid.UUID, *, status: str, note: str | None) -> Promise:
    scope.require(Perm.CUSTOMERS_WRITE)
    p = await repo.promise_for_update(scope, promise_id)
    if p is None or not (await repo.customers_by_ids(scope, [p.customer_id])):
        raise NotFound("No such promise.", field="id")
    if status not in ("kept", "broken"):
        raise ValidationFailed("A promise is resolved as kept or broken.", field="status")
    check_text(note, "note", REASON_MAX)
    if p.status != "open":
        raise err.AlreadyResolved("This promise is already resolved.", field="id")
    p.status, p.resolved_at, p.resolution_note = status, clock.now(), note
    await p.save(update_fields=["status", "resolved_at", "resolution_note"])
    await repo.add_event(scope, p.customer_id, "promise_resolved", p.resolved_at, ref_type="promise", ref_id=p.id,
                         summary={"status": status})
    return p


async def add_product(scope: Scope, customer_id: uuid.UUID, *, product_model: str, serial: str | None = None,
                      purchase_date: date | None = None, purchase_dealer_id: uuid.UUID | None = None,
                      purchase_reason: str | None = None, usage_notes: str | None = None,
                      warranty_end: date | None = None) -> OwnedProduct:
    c = await _for_update(scope, customer_id)
    product_model = (product_model or "").strip()
    if not product_model:
        raise ValidationFailed("Product model must be 1-120 characters.", field="productModel")
    _collect(lambda: check_text(product_model, "productModel", 120), lambda: check_text(serial, "serial", 64),
             lambda: check_text(purchase_reason, "purchaseReason", REASON_MAX),
             lambda: check_text(usage_notes, "usageNotes", NOTES_MAX),
             lambda: check_date(purchase_date, "purchaseDate", not_future=True), lambda: check_date(warranty_end, "warrantyEnd"))
    if warranty_end and purchase_date and warranty_end < purchase_date:
        raise ValidationFailed("Warranty ends before the purchase.", field="warrantyEnd")
    if purchase_dealer_id is not None and not (await tenant_service.dealers_by_ids(scope, [purchase_dealer_id])):
        raise NotFound("No such dealer.", field="purchaseDealerId")
    row = await repo.add(scope, OwnedProduct, customer_id=c.id, product_model=product_model, serial=serial,
                         purchase_date=purchase_date, purchase_dealer_id=purchase_dealer_id,
                         purchase_reason=purchase_reason, usage_notes=usage_notes, warranty_end=warranty_end)
    at = datetime.combine(purchase_date, datetime.min.time(), tzinfo=clock.now().tzinfo) if purchase_date else clock.now()
    await repo.add_event(scope, c.id, "purchase", at, ref_type="product", ref_id=row.id, summary={"model": product_model})
    enqueue_tier(scope, c.id)
    return row


async def set_churn(scope: Scope, customer_id: uuid.UUID, *, status: str, lost_type: str | None) -> Customer:
    c = await _for_update(scope, customer_id)
    if status not in CHURN:
        raise ValidationFailed("Unknown churn status.", field="status")
    if status == "lost" and lost_type not in LOST_TYPES:
        raise err.LostTypeRequired("A lost customer needs one of the six lost-customer types.", field="lostType")
    if status != "lost" and lost_type is not None:
        raise ValidationFailed("Only lost customers have a lost type.", field="lostType")
    old = c.churn_status
    c.churn_status, c.lost_type, c.churn_updated_at = status, lost_type, clock.now()
    await repo.save_customer(scope, c, ["churn_status", "lost_type", "churn_updated_at"])
    await repo.add_event(scope, c.id, "churn_changed", c.churn_updated_at,
                         summary={"from": old, "to": status, "lost_type": lost_type})
    return c


async def add_winback(scope: Scope, customer_id: uuid.UUID, *, action: str, notes: str | None, outcome: str) -> WinbackAction:
    c = await _for_update(scope, customer_id)
    if action not in WINBACK_ACTIONS or outcome not in WINBACK_OUTCOMES:
        raise ValidationFailed("Unknown win-back action or outcome.", field="action")
    check_text(notes, "notes", NOTES_MAX)
    row = await repo.add(scope, WinbackAction, customer_id=c.id, action=action, notes=notes, outcome=outcome,
                         occurred_at=clock.now(), user_id=scope.actor.user_id)
    await repo.add_event(scope, c.id, "winback", row.occurred_at, ref_type="winback", ref_id=row.id,
                         summary={"action": action, "outcome": outcome})
    if outcome == "won_back" and c.churn_status != "active":
        await set_churn(scope, c.id, status="active", lost_type=None)
    return row


async def erase_customer(scope: Scope, customer_id: uuid.UUID, *, ip: str | None = None) -> Customer:
    """Right to erasure: the person is anonymised (name, profile, contact points, references,
    free-text notes); anonymous history (tickets, scores, tiers, interactions' kinds and
    outcomes, timeline kinds) stays so every aggregate keeps its counts."""
    scope.require(Perm.ADMIN)
    c = await repo.customer_for_update(scope, customer_id)
    if c is None:
        raise NotFound("No such customer.", field="id")
    if c.erased_at is not None:
        return c
    for merged_id in await repo.merged_into(scope, c.id):  # the same person's earlier duplicates
        await erase_customer(scope, merged_id, ip=ip)
    refs = (await repo.external_refs_of(scope, [c.id]))[c.id]
    await repo.add_tombstones(scope, [ref_hash(r.source, r.external_id) for r in refs], clock.now())
    await repo.erase_children(scope, c.id)
    c.name, c.gender, c.birth_year = "Erased customer", None, None
    c.preferred_language = c.preferred_contact_hours = c.household_notes = c.hobby_notes = None
    c.tags, c.search_text, c.search_name, c.erased_at = [], "", "", clock.now()
    await repo.save_customer(scope, c, ["name", "gender", "birth_year", "preferred_language", "preferred_contact_hours",
                                        "household_notes", "hobby_notes", "tags", "search_text", "search_name", "erased_at"])
    await repo.add_event(scope, c.id, "erased", c.erased_at, summary={})
    await audit.record(scope, "customer.erased", target_type="Customer", target_id=str(c.id), ip=ip)
    return c


async def export_customer(scope: Scope, customer_id: uuid.UUID, *, ip: str | None = None) -> dict:
    """Everything stored about one customer (data subject access request), as JSON."""
    scope.require(Perm.ADMIN)
    scope.require(Perm.CUSTOMERS_PII)  # the export is unmasked
    c = await get_customer(scope, customer_id)
    ids = [c.id]

    def rows(items, fields):
        return [{f: _json(getattr(i, f)) for f in fields} for i in items]

    out = {
        "customer": {f: _json(getattr(c, f)) for f in (
            "id", "name", "gender", "birth_year", "preferred_language", "preferred_contact_hours", "household_notes",
            "hobby_notes", "tags", "dealer_id", "service_spend", "referrals", "tier", "tier_score", "churn_status",
            "lost_type", "last_survey_score", "last_survey_at", "open_ticket_count", "merged_into_id", "erased_at",
            "created_at", "updated_at")},
        "contact_points": rows((await repo.contacts_of(scope, ids))[c.id],
                               ("channel", "value", "label", "verified", "consent", "do_not_contact", "is_primary", "created_at")),
        "external_refs": rows((await repo.external_refs_of(scope, ids))[c.id], ("source", "external_id", "created_at")),
        "products": rows((await repo.products_of(scope, ids))[c.id], (
            "product_model", "serial", "purchase_date", "purchase_dealer_id", "purchase_reason", "usage_notes", "warranty_end")),
        "promises": rows((await repo.promises_of(scope, ids))[c.id], (
            "description", "promised_by", "due_date", "status", "resolved_at", "resolution_note", "created_at")),
        "interactions": rows(await Interaction.filter(tenant_id=scope.tenant_id, customer_id=c.id).order_by("occurred_at"),
                             ("kind", "outcome", "notes", "occurred_at")),
        "winback_actions": rows((await repo.winbacks_of(scope, ids))[c.id], ("action", "notes", "outcome", "occurred_at")),
        "tier_history": rows((await repo.tier_history_of(scope, ids))[c.id], ("from_tier", "to_tier", "score", "at")),
        "timeline": rows(await repo.all_events(scope, c.id), ("kind", "occurred_at", "summary")),
        "merged_records": [str(i) for i in await repo.merged_into(scope, c.id)],
    }
    await audit.record(scope, "customer.exported", target_type="Customer", target_id=str(c.id), ip=ip)
    return out


def ref_hash(source: str, external_id: str) -> str:
    """The tombstone of an external reference: enough to recognise it, nothing to read back."""
    import hashlib

    return hashlib.sha256(f"{source}\x1f{external_id}".encode()).hexdigest()


def _json(v):
    if isinstance(v, (datetime, date)):
        return v.isoformat()
    if isinstance(v, uuid.UUID):
        return str(v)
    if isinstance(v, Decimal):
        return str(v)
    return v


async def record_survey_score(scope: Scope, customer_id: uuid.UUID, score: float, *, survey: str,
                              at: datetime | None = None) -> Customer:
    """A survey result (0-10) for the customer: kept as the latest score and on the timeline.
    The survey-intake module calls this for every scored response."""
    if not 0 <= score <= 10:
        raise ValidationFailed("Scores are between 0 and 10.", field="score")
    at = check_datetime(at, "answeredAt", not_future=True)
    c = await _for_update(scope, customer_id, perm=Perm.SURVEYS_WRITE)
    at = at or clock.now()
    if c.last_survey_at is None or at >= c.last_survey_at:
        c.last_survey_score, c.last_survey_at = score, at
        await repo.save_customer(scope, c, ["last_survey_score", "last_survey_at"])
    await repo.add_event(scope, c.id, "survey", at, summary={"score": score, "survey": survey[:80]})
    return c


async def match_customers(scope: Scope, people: list[dict]) -> list[tuple[uuid.UUID, uuid.UUID | None, str | None] | None]:
    """For each person ({external_source, external_id, phone, email}, any may be missing), the
    live customer they are: by external id, then normalised phone, then e-mail. Returns
    (customer_id, dealer_id, tier) or None per person, in order; one batch of lookups. Values
    that do not normalise simply match nothing."""
    keys = []
    for p in people:
        ref = (p["external_source"], p["external_id"]) if p.get("external_source") and p.get("external_id") else None
        phone = email = None
        for channel in ("phone", "email"):
            if p.get(channel):
                try:
                    value = normalize_contact(channel, p[channel])
                except ValidationFailed:
                    value = None
                phone, email = (value, email) if channel == "phone" else (phone, value)
        keys.append((ref, phone, email))
    found = await repo.match_customers(scope, [k[0] for k in keys if k[0]], [k[1] for k in keys if k[1]],
                                       [k[2] for k in keys if k[2]])
    out = []
    for ref, phone, email in keys:
        hit = (found.get(("ref", f"{ref[0]}\x1f{ref[1]}")) if ref else None) or (
            found.get(("phone", phone)) if phone else None) or (found.get(("email", email)) if email else None)
        out.append(hit)
    return out


async def tiers(scope: Scope, customer_ids) -> dict[uuid.UUID, str | None]:
    """The value tier of each customer the caller may see."""
    return {c.id: c.tier for c in (await repo.customers_by_ids(scope, list(customer_ids))).values()}


async def record_survey_results(scope: Scope, items: list[dict]) -> None:
    """Survey results for many customers at once (the survey module's batch path): each becomes
    a `survey` entry on the customer's timeline pointing at the result, and the newest score per
    customer becomes their latest score. Items: customer_id, score (0-10 or None), at, result_id,
    template (its code), selected."""
    scope.require(Perm.SURVEYS_WRITE)
    await repo.set_latest_scores(scope, [(i["customer_id"], i["score"], i["at"]) for i in items if i.get("score") is not None])
    await repo.add_events_many(scope, [
        (i["customer_id"], "survey", i["at"], "survey_result", i["result_id"],
         {"score": i.get("score"), "survey": i["template"][:80], "selected": bool(i.get("selected"))}) for i in items])


async def on_tickets_opened(scope: Scope, items: list[tuple[uuid.UUID, datetime, uuid.UUID, dict]]) -> None:
    """Timeline entries and open-ticket counts for many opened tickets (customer_id, at, ticket_id, summary)."""
    await repo.add_events_many(scope, [(cid, "ticket", at, "ticket", tid, summary) for cid, at, tid, summary in items])
    deltas: dict[uuid.UUID, int] = {}
    for cid, *_ in items:
        deltas[cid] = deltas.get(cid, 0) + 1
    await repo.adjust_open_tickets_many(scope, deltas)


# ---- value tiers ------------------------------------------------------------------------------

async def get_tier_policy(scope: Scope) -> dict:
    p = await repo.tier_policy(scope)
    return {k: getattr(p, k) for k in DEFAULT_POLICY} if p else dict(DEFAULT_POLICY)


async def update_tier_policy(scope: Scope, **values) -> dict:
    scope.require(Perm.ADMIN)
    current = await get_tier_policy(scope)
    errors: list[AppError] = []
    for k, v in values.items():
        if v is None:
            continue
        v = float(v)
        if not math.isfinite(v) or not 0 <= v <= POLICY_MAX:
            errors.append(err.InvalidPolicy(f"Weights and thresholds lie between 0 and {POLICY_MAX:,}.",
                                           field=POLICY_FIELDS[k]))
        current[k] = v
    if errors:
        raise InputErrors(errors)
    if current["a_min"] <= current["b_min"]:
        raise err.InvalidPolicy("Weights must not be negative and the A threshold must exceed the B threshold.",
                               field="aMin")
    await repo.save_tier_policy(scope, current)
    await audit.record(scope, "tier_policy.updated", target_type="TierPolicy", details=current)
    jobs.enqueue(TIER_JOB, scope.tenant_id, "", job_id=f"tier:{scope.tenant_id}:all")
    return current


async def recompute_tiers(scope: Scope, customer_id: str = "") -> int:
    """The job: the whole brand (no id) or one customer. Idempotent: unchanged rows are not
    touched and write no history."""
    policy = await get_tier_policy(scope)
    ids = [uuid.UUID(customer_id)] if customer_id else None
    return await repo.recompute_tiers(scope, policy, ids)


def parse_decimal(v) -> Decimal:
    try:
        d = Decimal(str(v))
    except (InvalidOperation, ValueError):
        raise ValidationFailed("Not a number.") from None
    if not d.is_finite():
        raise ValidationFailed("Not a number.")
    return d


def require_pii(scope: Scope) -> None:
    if not scope.can(Perm.CUSTOMERS_PII):
        raise PermissionDenied("Missing permission: this needs the 'customers:pii' scope.", extensions={"missingScope": "customers:pii"})


# --- published for other modules: they call these, never this module's repository ---------

async def visible_customer(scope: Scope, customer_id: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID | None] | None:
    """(id, dealer id) of a live customer the caller may see, else None; no permission of its
    own (the calling module checks its own: e.g. tickets:write for opening a ticket)."""
    c = (await repo.customers_by_ids(scope, [customer_id])).get(customer_id)
    if c is None or c.merged_into_id is not None or c.erased_at is not None:
        return None
    return c.id, c.dealer_id
