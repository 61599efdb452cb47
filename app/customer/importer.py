"""Bulk import of customers and products (CSV or JSON Lines), run by a worker in batches.

Idempotent by external id (`external_source` + `external_id`): a known customer is updated
only where a value differs, so re-importing the same file changes nothing. Every row is fully
validated before anything is written, and each row's customer, contact points, reference and
product are written together: a bad row writes nothing and is reported with its line number
and reason, while the rest of the file is imported."""
from __future__ import annotations

import csv
import io
import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from decimal import Decimal

from app.core import clock, db, jobs
from app.core.errors import ValidationFailed
from app.core.ids import uuid7
from app.core.tenancy import Scope
from app.customer import repository as customer_repo
from app.customer import service
from app.customer.models import ContactPoint, Customer, CustomerImport, ImportChunk, OwnedProduct
from app.settings import get_settings
from app.tenant import service as tenant_service

log = logging.getLogger(__name__)
IMPORT_JOB = "customer.import"
REQUIRED = ("external_source", "external_id", "name")
KNOWN = set(REQUIRED) | {
    "gender", "birth_year", "phone", "email", "wechat", "qq", "dealer_code", "tags", "preferred_language", "service_spend",
    "referrals", "last_survey_score", "product_model", "serial", "purchase_date", "warranty_end", "purchase_dealer_code",
    "purchase_reason",
}
MAX_ERRORS_KEPT = 1000
CHUNK = 1024 * 1024


class RowError(Exception):
    def __init__(self, field: str | None, code: str, message: str):
        self.field, self.code, self.message = field, code, message


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


# ---- upload -------------------------------------------------------------------------------------

async def create_import(scope: Scope, data: bytes, fmt: str, filename: str | None, digest: str) -> CustomerImport:
    imp = await CustomerImport.create(tenant_id=scope.tenant_id, format=fmt, filename=filename, size_bytes=len(data),
                                      sha256=digest, created_by=scope.actor.label)
    for seq, start in enumerate(range(0, len(data), CHUNK)):
        await ImportChunk.create(tenant_id=scope.tenant_id, import_id=imp.id, seq=seq, data=data[start:start + CHUNK])
    jobs.enqueue(IMPORT_JOB, scope.tenant_id, str(imp.id), job_id=f"import:{imp.id}")
    return imp


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


def parse(data: bytes, fmt: str):
    """Yields (line, dict) or (line, RowError). A fatal problem yields (line, RowError) with
    code FILE_* and stops."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        yield line, RowError(None, "FILE_NOT_UTF8", f"The file is not UTF-8 (first bad byte on line {line}).")
        return
    if fmt == "jsonl":
        # split on newlines only: U+2028 and friends are legal inside JSON strings
        for n, line in enumerate(text.split("\n"), 1):
            line = line.rstrip("\r")
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except (ValueError, RecursionError) as e:
                yield n, RowError(None, "MALFORMED_JSON", f"Not valid JSON: {str(e)[:80]}.")
                continue
            if not isinstance(obj, dict):
                yield n, RowError(None, "MALFORMED_JSON", "Each line must be a JSON object.")
                continue
            yield n, obj
        return
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        yield 1, RowError(None, "FILE_EMPTY", "The file is empty.")
        return
    except csv.Error as e:
        yield 1, RowError(None, "FILE_MALFORMED_CSV", f"Malformed CSV header: {e}.")
        return
    header = [h.strip().lower() for h in header]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        yield 1, RowError(None, "FILE_MISSING_COLUMNS", f"Missing required column(s): {', '.join(missing)}.")
        return
    if len(set(header)) != len(header):
        yield 1, RowError(None, "FILE_DUPLICATE_COLUMNS", "A column name appears twice in the header.")
        return
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            yield reader.line_num, RowError(None, "MALFORMED_CSV", f"Malformed CSV ({e}); the rest of the file was not read.")
            return
        line = reader.line_num
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            yield line, RowError(None, "WRONG_FIELD_COUNT", f"Expected {len(header)} fields, got {len(values)}.")
            continue
        yield line, {k: (v if v != "" else None) for k, v in zip(header, values)}


# ---- the job -------------------------------------------------------------------------------------

@dataclass
class Progress:
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list = field(default_factory=list)

    def error(self, line: int, e: RowError) -> None:
        self.failed += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append({"line": line, "field": e.field, "code": e.code, "message": e.message})


async def run_import(scope: Scope, import_id: str) -> str:
    """Idempotent: a finished import is not run again; a re-delivered running one resumes
    harmlessly because every write is an upsert by external id. An unexpected failure marks the
    import failed (never left "running"). The uploaded file is deleted when the import ends:
    it holds personal data that erasure could not otherwise reach."""
    try:
        return await _run_import(scope, import_id)
    except Exception:
        log.exception("import failed", extra={"import_id": import_id})
        async with db.tenant_transaction(scope.tenant_id):
            await CustomerImport.filter(tenant_id=scope.tenant_id, id=uuid.UUID(import_id)).update(
                status="failed", finished_at=clock.now(),
                errors=[{"line": None, "field": None, "code": "INTERNAL", "message": "The import stopped on an internal error."}])
            await ImportChunk.filter(tenant_id=scope.tenant_id, import_id=uuid.UUID(import_id)).delete()
        return "failed"


async def _run_import(scope: Scope, import_id: str) -> str:
    iid = uuid.UUID(import_id)
    t = scope.tenant_id
    async with db.tenant_transaction(t):
        imp = await CustomerImport.get_or_none(tenant_id=t, id=iid)
        if imp is None or imp.status in ("done", "failed"):
            return imp.status if imp else "missing"
        imp.status, imp.started_at = "running", clock.now()
        await imp.save(update_fields=["status", "started_at"])
        chunks = await ImportChunk.filter(tenant_id=t, import_id=iid).order_by("seq")
        data = b"".join(bytes(c.data) for c in chunks)
        dealers = await tenant_service.dealer_ids_by_code(scope)
    progress = Progress()
    seen: dict[tuple[str, str], int] = {}
    batch: list[Row] = []
    fatal = False
    size = get_settings().import_batch_size
    for line, item in parse(data, imp.format):
        if isinstance(item, RowError):
            if item.code.startswith("FILE_"):
                fatal = True
            progress.total += 1
            progress.error(line, item)
            continue
        progress.total += 1
        try:
            row = validate_row(line, item, dealers)
        except RowError as e:
            progress.error(line, e)
            continue
        key = (row.source, row.external_id)
        if key in seen:
            progress.error(line, RowError("external_id", "DUPLICATE_IN_FILE",
                                          f"This external id already appears on line {seen[key]}."))
            continue
        seen[key] = line
        batch.append(row)
        if len(batch) >= size:
            await _write_batch(scope, batch, progress, iid)
            batch = []
    if batch:
        await _write_batch(scope, batch, progress, iid)
    async with db.tenant_transaction(t):
        status = "failed" if fatal and not (progress.created or progress.updated or progress.unchanged) else "done"
        await _save_progress(t, iid, progress, status=status)
        await ImportChunk.filter(tenant_id=t, import_id=iid).delete()
        if progress.created or progress.updated:
            jobs.enqueue(service.TIER_JOB, t, "", job_id=f"tier:{t}:import:{iid}")
    log.info("import finished", extra={"import_id": import_id, "rows": progress.total, "failed": progress.failed})
    return status


async def _save_progress(t: uuid.UUID, iid: uuid.UUID, p: Progress, status: str | None = None) -> None:
    values = dict(rows_total=p.total, rows_created=p.created, rows_updated=p.updated, rows_unchanged=p.unchanged,
                  rows_failed=p.failed, errors=p.errors)
    if status:
        values.update(status=status, finished_at=clock.now())
    await CustomerImport.filter(tenant_id=t, id=iid).update(**values)


async def _write_batch(scope: Scope, rows: list[Row], progress: Progress, iid: uuid.UUID) -> None:
    t = scope.tenant_id
    async with db.tenant_transaction(t):  # people erased at their request are not imported again
        gone = await customer_repo.tombstoned(scope, [service.ref_hash(r.source, r.external_id) for r in rows])
    if gone:
        kept = []
        for r in rows:
            if service.ref_hash(r.source, r.external_id) in gone:
                progress.error(r.line, RowError("external_id", "ERASED",
                                                "This person's data was erased at their request; the row was not imported."))
            else:
                kept.append(r)
        rows = kept
    try:
        async with db.tenant_transaction(t):
            counts = await _apply(scope, rows)
            _count(progress, counts)
            await _save_progress(t, iid, progress)
        return
    except Exception:  # noqa: BLE001 - fall back to row by row to isolate the failing row
        log.warning("import batch failed; retrying row by row", exc_info=True)
    for row in rows:
        try:
            async with db.tenant_transaction(t):
                counts = await _apply(scope, [row])
        except Exception as e:  # noqa: BLE001
            progress.error(row.line, RowError(None, "WRITE_FAILED", f"Could not be stored: {type(e).__name__}."))
            continue
        _count(progress, counts)
    async with db.tenant_transaction(t):
        await _save_progress(t, iid, progress)


def _count(progress: Progress, counts: dict) -> None:
    for line, e in counts.get("rejected", ()):
        progress.error(line, e)
    for k in ("created", "updated", "unchanged"):
        setattr(progress, k, getattr(progress, k) + counts.get(k, 0))


async def _apply(scope: Scope, rows: list[Row]) -> dict:
    """Upsert one batch. Returns counts of created / updated / unchanged rows, and under
    "rejected" the (line, RowError) of rows refused at write time (they write nothing)."""
    t = scope.tenant_id
    conn = db.conn()
    now = clock.now()
    keys = [(r.source, r.external_id) for r in rows]
    existing_refs = await conn.execute_query_dict(
        "SELECT source, external_id, customer_id FROM customer_external_ref WHERE tenant_id = $1 "
        "AND (source, external_id) IN (SELECT * FROM unnest($2::text[], $3::text[]))",
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
