"""Bulk import of customers and products (CSV or JSON Lines): the "customers" kind of the
shared import pipeline (app/core/imports.py), run by a worker in batches.

Idempotent by external id (`external_source` + `external_id`): a known customer is updated
only where a value differs, so re-importing the same file changes nothing. Every row is fully
validated before anything is written, and each row's customer, contact points, reference and
product are written together: a bad row writes nothing and is reported with its line number
and reason, while the rest of the file is imported."""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from decimal import Decimal

from app.core import clock, db, imports, jobs
from app.core.errors import ValidationFailed
from app.core.ids import uuid7
from app.core.imports import RowError
from app.core.permissions import Perm
from app.core.tenancy import Scope
from app.customer import repository as customer_repo
from app.customer import service
from app.customer.models import ContactPoint, Customer, OwnedProduct
from app.tenant import service as tenant_service

IMPORT_JOB = "customer.import"
REQUIRED = ("external_source", "external_id", "name")
KNOWN = set(REQUIRED) | {
    "gender", "birth_year", "phone", "email", "wechat", "qq", "dealer_code", "tags", "preferred_language", "service_spend",
    "referrals", "last_survey_score", "product_model", "serial", "purchase_date", "warranty_end", "purchase_dealer_code",
    "purchase_reason",
}


@dataclass
class Row:
    line: int
    source: str
    external_id: str
    name: str
    dealer_id: uuid.UUID | None
    gender: str | None
    birth_year: int | None
    preferred_language: str | None
    tags: list[str]
    service_spend: Decimal | None  # None: not in the row (keep what is stored)
    referrals: int | None
    last_survey_score: float | None
    contacts: list[dict] = field(default_factory=list)
    product: dict | None = None


# ---- parsing and validation ----------------------------------------------------------------------

def _text(raw: dict, key: str, limit: int, required: bool = False) -> str | None:
    v = raw.get(key)
    if v is None or (isinstance(v, str) and not v.strip()):
        if required:
            raise RowError(key, "REQUIRED", f"'{key}' is required.")
        return None
    if not isinstance(v, (str, int)) or isinstance(v, bool):
        raise RowError(key, "WRONG_TYPE", f"'{key}' must be text.")
    v = str(v).strip()
    if "\x00" in v:
        raise RowError(key, "INVALID_CHARACTER", f"'{key}' contains a NUL character.")
    if len(v) > limit:
        raise RowError(key, "TOO_LONG", f"'{key}' is longer than {limit} characters.")
    return v


def _int(raw: dict, key: str, lo: int, hi: int) -> int | None:
    v = raw.get(key)
    if v is None or v == "":
        return None
    try:
        if isinstance(v, bool) or (isinstance(v, float) and not v.is_integer()):
            raise ValueError
        n = int(v) if not isinstance(v, str) else int(v.strip())
    except (ValueError, TypeError):
        raise RowError(key, "WRONG_TYPE", f"'{key}' must be a whole number, got {str(v)[:30]!r}.") from None
    if not lo <= n <= hi:
        raise RowError(key, "OUT_OF_RANGE", f"'{key}' must be between {lo} and {hi}.")
    return n


def _number(raw: dict, key: str, lo: float, hi: float) -> Decimal | None:
    v = raw.get(key)
    if v is None or v == "":
        return None
    if isinstance(v, bool):
        raise RowError(key, "WRONG_TYPE", f"'{key}' must be a number.")
    try:
        d = service.parse_decimal(v)
    except ValidationFailed:
        raise RowError(key, "WRONG_TYPE", f"'{key}' must be a number, got {str(v)[:30]!r}.") from None
    if not lo <= d <= hi:
        raise RowError(key, "OUT_OF_RANGE", f"'{key}' must be between {lo} and {hi}.")
    return d


def _date(raw: dict, key: str) -> date | None:
    v = raw.get(key)
    if v is None or v == "":
        return None
    try:
        d = date.fromisoformat(str(v).strip())
    except ValueError:
        raise RowError(key, "WRONG_TYPE", f"'{key}' must be a date like 2024-05-31.") from None
    try:
        service.check_date(d, key)
    except ValidationFailed as e:
        raise RowError(key, e.code, e.message) from None
    return d


def validate_row(line: int, raw: dict, dealers: dict[str, uuid.UUID]) -> Row:
    unknown = set(raw) - KNOWN
    if unknown:
        raise RowError(sorted(unknown)[0], "UNKNOWN_FIELD", f"Unknown field(s): {', '.join(sorted(unknown))}.")
    source = _text(raw, "external_source", 40, True)
    ext = _text(raw, "external_id", 120, True)
    name = _text(raw, "name", service.NAME_MAX, True)
    gender = _text(raw, "gender", 10)
    if gender is not None:
        gender = gender.lower()
        if gender not in service.GENDERS:
            raise RowError("gender", "INVALID", "'gender' must be female, male or other.")
    dealer_id = None
    if (code := _text(raw, "dealer_code", 32)) is not None:
        dealer_id = dealers.get(code)
        if dealer_id is None:
            raise RowError("dealer_code", "UNKNOWN_DEALER", f"No dealer with code {code!r} in this brand.")
    contacts = []
    for channel in ("phone", "email", "wechat", "qq"):
        value = _text(raw, channel, 254)
        if value is None:
            continue
        try:
            normalized = service.normalize_contact(channel, value)
        except ValidationFailed as e:
            raise RowError(channel, e.code, e.message) from None
        contacts.append({"channel": channel, "value": service.clean_value(channel, value), "normalized": normalized})
    tags_raw = raw.get("tags")
    if isinstance(tags_raw, list):
        tags = tags_raw
    elif tags_raw is None or isinstance(tags_raw, str):
        tags = (tags_raw or "").split(";")
    else:
        raise RowError("tags", "WRONG_TYPE", "'tags' must be text separated by ';' or a list.")
    tags = sorted({str(t).strip().lower() for t in tags if str(t).strip()})
    if len(tags) > 30 or any(len(t) > 40 for t in tags):
        raise RowError("tags", "TOO_LONG" if len(tags) <= 30 else "INVALID", "At most 30 tags of at most 40 characters.")
    spend = _number(raw, "service_spend", 0, 10**11)
    score = _number(raw, "last_survey_score", 0, 10)
    product = None
    if (model := _text(raw, "product_model", 120)) is not None:
        pdealer = None
        if (pcode := _text(raw, "purchase_dealer_code", 32)) is not None:
            pdealer = dealers.get(pcode)
            if pdealer is None:
                raise RowError("purchase_dealer_code", "UNKNOWN_DEALER", f"No dealer with code {pcode!r} in this brand.")
        purchase, warranty = _date(raw, "purchase_date"), _date(raw, "warranty_end")
        if purchase and purchase > clock.now().date():
            raise RowError("purchase_date", "OUT_OF_RANGE", "'purchase_date' is in the future.")
        if purchase and warranty and warranty < purchase:
            raise RowError("warranty_end", "OUT_OF_RANGE", "'warranty_end' is before 'purchase_date'.")
        product = {"product_model": model, "serial": _text(raw, "serial", 64), "purchase_date": purchase,
                   "warranty_end": warranty, "purchase_dealer_id": pdealer, "purchase_reason": _text(raw, "purchase_reason", service.REASON_MAX)}
    elif any(raw.get(k) not in (None, "") for k in ("serial", "purchase_date", "warranty_end", "purchase_dealer_code")):
        raise RowError("product_model", "REQUIRED", "'product_model' is required when product columns are given.")
    return Row(line=line, source=source, external_id=ext, name=name, dealer_id=dealer_id, gender=gender,
               birth_year=_int(raw, "birth_year", 1900, clock.now().year),
               preferred_language=_text(raw, "preferred_language", 16), tags=tags,
               service_spend=spend, referrals=_int(raw, "referrals", 0, 10**6),
               last_survey_score=float(score) if score is not None else None, contacts=contacts, product=product)


# ---- the kind -----------------------------------------------------------------------------------

async def _write(scope: Scope, rows: list[Row], dealers) -> dict:
    """One batch: people erased at their request are not imported again."""
    gone = await customer_repo.tombstoned(scope, [service.ref_hash(r.source, r.external_id) for r in rows])
    erased = [r for r in rows if service.ref_hash(r.source, r.external_id) in gone]
    counts = await _apply(scope, [r for r in rows if r not in erased]) if len(erased) < len(rows) else {"rejected": []}
    counts["rejected"] = [*counts.get("rejected", []), *[
        (r.line, RowError("external_id", "ERASED", "This person's data was erased at their request; the row was not imported."))
        for r in erased]]
    return counts


async def _finish(scope: Scope, progress: imports.Progress, import_id: uuid.UUID) -> None:
    if progress.created or progress.updated:
        jobs.enqueue(service.TIER_JOB, scope.tenant_id, "", job_id=f"tier:{scope.tenant_id}:import:{import_id}")


KIND = imports.register(imports.ImportKind(
    name="customers", job=IMPORT_JOB, node_type="CustomerImport", perm=Perm.CUSTOMERS_WRITE, required=REQUIRED,
    prepare=lambda scope, _imp: tenant_service.dealer_ids_by_code(scope), validate=lambda line, raw, dealers: validate_row(line, raw, dealers),
    key=lambda r: (r.source, r.external_id), key_field="external_id", write=_write, finish=_finish, example="customers.csv"))


async def _apply(scope: Scope, rows: list[Row]) -> dict:
    """Upsert one batch. Returns counts of created / updated / unchanged rows, and under
    "rejected" the (line, RowError) of rows refused at write time (they write nothing)."""
    t = scope.tenant_id
    conn = db.conn()
    now = clock.now()
    keys = [(r.source, r.external_id) for r in rows]
    existing_refs = await conn.execute_query_dict(
        "SELECT x.source, x.external_id, x.customer_id FROM unnest($2::text[], $3::text[]) AS k(s, e) CROSS JOIN LATERAL ("
        "SELECT * FROM customer_external_ref WHERE tenant_id = $1 AND source = k.s AND external_id = k.e) x",
        [t, [k[0] for k in keys], [k[1] for k in keys]])
    owner = {(r["source"], r["external_id"]): r["customer_id"] for r in existing_refs}
    ids = list(owner.values())
    customers = {c.id: c for c in await Customer.filter(tenant_id=t, id__in=ids)} if ids else {}
    contacts: dict = {}
    products: dict = {}
    if ids:
        for cp in await ContactPoint.filter(tenant_id=t, customer_id__in=ids):
            contacts.setdefault(cp.customer_id, set()).add((cp.channel, cp.normalized))
        for p in await OwnedProduct.filter(tenant_id=t, customer_id__in=ids):
            products.setdefault(p.customer_id, set()).add((p.product_model, p.serial))
    new_customers, upd_customers, new_contacts, new_refs, new_products, events = [], [], [], [], [], []
    counts: dict = {"created": 0, "updated": 0, "unchanged": 0, "rejected": []}
    for r in rows:
        cid = owner.get((r.source, r.external_id))
        c = customers.get(cid) if cid else None
        if cid and c is not None and c.merged_into_id:
            counts["unchanged"] += 1  # the reference moved to the survivor when merged; a stale one is left alone
            continue
        if c is not None:  # the same bound on contact points as the API's
            stored = contacts.get(cid, set())
            added = {(x["channel"], x["normalized"]) for x in r.contacts} - stored
            try:
                service.check_contact_bounds([ch for ch, _ in stored | added])
            except ValidationFailed as e:
                if added:
                    counts["rejected"].append((r.line, RowError(next(iter(added))[0], e.code, e.message)))
                    continue
        changed = False
        if c is None:
            cid = uuid7()
            search = " ".join(p.lower() for p in [r.name, *[x["normalized"] for x in r.contacts],
                                                   *[x["value"] for x in r.contacts if x["channel"] == "phone"], r.external_id])
            new_customers.append((cid, t, r.dealer_id, r.name, r.gender, r.birth_year, r.preferred_language, r.tags,
                                  r.service_spend or Decimal(0), r.referrals or 0, r.last_survey_score, now if r.last_survey_score is not None else None,
                                  search, now, f"{r.name} {r.external_id}".lower()))
            new_refs.append((uuid7(), t, cid, r.source, r.external_id, now))
            events.append((uuid7(), t, cid, "created", now, None, None, '{"by": "import"}'))
            if r.last_survey_score is not None:
                events.append((uuid7(), t, cid, "survey", now, None, None, json.dumps({"score": r.last_survey_score, "survey": "import", "by": "import"})))
            counts["created"] += 1
        else:
            desired = {"name": r.name, "dealer_id": r.dealer_id or c.dealer_id, "gender": r.gender or c.gender,
                       "birth_year": r.birth_year or c.birth_year, "preferred_language": r.preferred_language or c.preferred_language,
                       "tags": sorted(set(c.tags or []) | set(r.tags)),
                       "service_spend": r.service_spend if r.service_spend is not None else c.service_spend,
                       "referrals": r.referrals if r.referrals is not None else c.referrals,
                       "last_survey_score": r.last_survey_score if r.last_survey_score is not None else c.last_survey_score}
            diff = {k: v for k, v in desired.items() if getattr(c, k) != v and not (k == "service_spend" and Decimal(str(getattr(c, k))) == v)}
            if diff:
                changed = True
                if "last_survey_score" in diff:
                    events.append((uuid7(), t, cid, "survey", now, None, None,
                                   json.dumps({"score": desired["last_survey_score"], "survey": "import", "by": "import"})))
                upd_customers.append((t, cid, desired["name"], desired["dealer_id"], desired["gender"], desired["birth_year"],
                                      desired["preferred_language"], desired["tags"], desired["service_spend"], desired["referrals"],
                                      desired["last_survey_score"], now, "last_survey_score" in diff))
        have = contacts.get(cid, set())
        for x in r.contacts:
            if (x["channel"], x["normalized"]) not in have:
                primary = not any(ch == x["channel"] for ch, _ in have)
                new_contacts.append((uuid7(), t, cid, x["channel"], x["value"], x["normalized"], primary, now))
                have = have | {(x["channel"], x["normalized"])}
                changed = changed or c is not None
        if r.product and (r.product["product_model"], r.product["serial"]) not in products.get(cid, set()):
            pid = uuid7()
            p = r.product
            new_products.append((pid, t, cid, p["product_model"], p["serial"], p["purchase_date"], p["purchase_dealer_id"],
                                 p["purchase_reason"], p["warranty_end"], now))
            at = datetime.combine(p["purchase_date"], time.min, tzinfo=timezone.utc) if p["purchase_date"] else now
            events.append((uuid7(), t, cid, "purchase", at, "product", pid, json.dumps({"model": p["product_model"], "by": "import"})))
            changed = changed or c is not None
        if c is not None:
            counts["updated" if changed else "unchanged"] += 1
    if new_customers:
        await conn.execute_many(
            "INSERT INTO customer (id, tenant_id, dealer_id, name, gender, birth_year, preferred_language, tags, service_spend, "
            "referrals, last_survey_score, last_survey_at, search_text, search_name, churn_status, open_ticket_count, created_at, "
            "updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $15, 'active', 0, $14, $14)", new_customers)
        await conn.execute_many(
            "INSERT INTO customer_external_ref (id, tenant_id, customer_id, source, external_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            new_refs)
    if upd_customers:
        await conn.execute_many(
            "UPDATE customer SET name = $3, dealer_id = $4, gender = $5, birth_year = $6, preferred_language = $7, tags = $8, "
            "service_spend = $9, referrals = $10, last_survey_score = $11, updated_at = $12, "
            "last_survey_at = CASE WHEN $13 THEN $12 ELSE last_survey_at END WHERE tenant_id = $1 AND id = $2",
            upd_customers)
    if new_contacts:
        await conn.execute_many(
            "INSERT INTO customer_contact (id, tenant_id, customer_id, channel, value, normalized, is_primary, verified, consent, "
            "do_not_contact, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, false, true, false, $8) "
            "ON CONFLICT (tenant_id, customer_id, channel, normalized) DO NOTHING", new_contacts)
    if new_products:
        await conn.execute_many(
            "INSERT INTO customer_product (id, tenant_id, customer_id, product_model, serial, purchase_date, purchase_dealer_id, "
            "purchase_reason, warranty_end, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)", new_products)
    if events:
        await conn.execute_many(
            "INSERT INTO customer_event (id, tenant_id, customer_id, kind, occurred_at, ref_type, ref_id, summary) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)", events)
    if upd_customers or new_contacts:
        touched = list({u[1] for u in upd_customers} | {c[2] for c in new_contacts})
        await conn.execute_query(
            """UPDATE customer c SET search_name = lower(c.name || coalesce(' ' || (
                   SELECT string_agg(r.external_id, ' ') FROM customer_external_ref r
                    WHERE r.tenant_id = c.tenant_id AND r.customer_id = c.id), '')),
               search_text = lower(c.name || ' ' || coalesce((
                   SELECT string_agg(x.normalized || CASE WHEN x.channel = 'phone' THEN ' ' || x.value ELSE '' END, ' ')
                     FROM customer_contact x WHERE x.tenant_id = c.tenant_id AND x.customer_id = c.id), '') || ' ' || coalesce((
                   SELECT string_agg(r.external_id, ' ') FROM customer_external_ref r
                    WHERE r.tenant_id = c.tenant_id AND r.customer_id = c.id), ''))
               WHERE c.tenant_id = $1 AND c.id = ANY($2::uuid[])""", [t, touched])
    return counts
