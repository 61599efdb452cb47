"""Regression tests for the customer-archive security review (each failed before its fix)."""
import asyncio
import uuid
from datetime import date, timedelta

import pytest

from app.core import db, jobs
from app.core.errors import InputErrors, ValidationFailed
from app.core.ids import to_global_id
from app.core.tenancy import Actor, scope_for
from app.customer import service
from app.customer.models import ContactPoint, Customer, CustomerEvent, TierChange
from tests.factories import make_customer
from tests.querycount import count_queries

MERGE = """mutation($a: ID!, $b: ID!) { customerMerge(survivorId: $a, duplicateId: $b) {
  customer { contactPoints { label value } } errors { field code message } } }"""
CREATE = """mutation($i: CustomerCreateInput!) { customerCreate(input: $i) { customer { id } errors { field code message } } }"""
UPDATE = """mutation($i: CustomerUpdateInput!) { customerUpdate(input: $i) { customer { id name } errors { field code message } } }"""


def gid(c):
    return to_global_id("Customer", c.id)


def system(brand):
    return scope_for(Actor.system(brand.tenant_id))


def phones(n, start=0):
    return [{"channel": "phone", "value": f"139{start + i:08d}", "label": f"guess-{start + i}"} for i in range(n)]


# ---- 1. merge probing and contact-point bounds ----------------------------------------------------

async def test_merge_without_pii_is_refused_so_masked_numbers_cannot_be_probed(gql, brand_a):
    victim = await make_customer(brand_a, contact_points=[{"channel": "phone", "value": "13900000003"}])
    probe = await make_customer(brand_a, contact_points=phones(5))  # guesses 0..4; guess 3 is the victim's number
    no_pii = brand_a.token(scope="customers:read customers:write")
    body = await gql(no_pii, MERGE, {"a": gid(victim), "b": gid(probe)}, errors_ok=True)
    assert body["data"] is None or body["data"]["customerMerge"] is None
    assert body["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    assert body["errors"][0]["extensions"]["missingScope"] == "customers:pii"
    async with db.tenant_transaction(brand_a.tenant_id):  # nothing happened
        assert (await Customer.get(tenant_id=brand_a.tenant_id, id=probe.id)).merged_into_id is None
        assert await ContactPoint.filter(tenant_id=brand_a.tenant_id, customer_id=probe.id).count() == 5
    # the service refuses too, whoever calls it
    async with db.tenant_transaction(brand_a.tenant_id):
        from app.core.errors import PermissionDenied

        actor = Actor.user(brand_a.tenant_id, brand_a.users["admin"].id, [], scope="customers:read customers:write")
        with pytest.raises(PermissionDenied):
            await service.merge_customers(scope_for(actor), victim.id, probe.id)
    # with customers:pii the merge works as before: the shared number is kept once
    body = await gql(brand_a.token(), MERGE, {"a": gid(victim), "b": gid(probe)})
    m = body["data"]["customerMerge"]
    assert m["errors"] == [] and len(m["customer"]["contactPoints"]) == 5


async def test_contact_points_are_bounded_in_create_update_merge_and_import(gql, client, brand_a):
    tok = brand_a.token()
    body = await gql(tok, CREATE, {"i": {"name": "many", "contactPoints": [{"channel": "PHONE", "value": p["value"]} for p in phones(11)]}})
    assert body["data"]["customerCreate"]["errors"][0]["code"] == "TOO_MANY_CONTACT_POINTS"
    many = ([{"channel": "PHONE", "value": p["value"]} for p in phones(10)]
            + [{"channel": "WECHAT", "value": f"wx_{i}"} for i in range(10)] + [{"channel": "EMAIL", "value": "x@y.cn"}])
    body = await gql(tok, CREATE, {"i": {"name": "many", "contactPoints": many}})
    assert body["data"]["customerCreate"]["errors"][0]["code"] == "TOO_MANY_CONTACT_POINTS"
    body = await gql(tok, CREATE, {"i": {"name": "thousands", "contactPoints": [{"channel": "PHONE", "value": "x"}] * 3000}})
    assert body["data"]["customerCreate"]["errors"][0]["code"] == "TOO_MANY_CONTACT_POINTS"
    c = await make_customer(brand_a, contact_points=phones(10), external_refs=[{"source": "crm", "external_id": "BOUND-1"}])
    body = await gql(tok, UPDATE, {"i": {"id": gid(c), "contactPoints": [{"channel": "PHONE", "value": p["value"]} for p in phones(11)]}})
    assert body["data"]["customerUpdate"]["errors"][0]["code"] == "TOO_MANY_CONTACT_POINTS"
    other = await make_customer(brand_a, contact_points=phones(3, start=50))
    body = await gql(tok, MERGE, {"a": gid(c), "b": gid(other)})
    assert body["data"]["customerMerge"]["errors"][0]["code"] == "TOO_MANY_CONTACT_POINTS"
    # the importer adds a phone per row to a known customer: the eleventh is refused, the row writes nothing
    from tests.import_helpers import run, upload

    imp = await run(brand_a, await upload(client, tok, "external_source,external_id,name,phone\ncrm,BOUND-1,Renamed,13999999999\n"))
    assert imp.rows_failed == 1 and imp.errors[0]["code"] == "TOO_MANY_CONTACT_POINTS"
    async with db.tenant_transaction(brand_a.tenant_id):
        assert await ContactPoint.filter(tenant_id=brand_a.tenant_id, customer_id=c.id).count() == 10
        assert (await Customer.get(tenant_id=brand_a.tenant_id, id=c.id)).name == c.name


# ---- 2. payloads of write-only callers -----------------------------------------------------------

async def test_write_only_tokens_read_nothing_back_through_payloads(gql, brand_a):
    c = await make_customer(brand_a, name="Secret Profile", household_notes="secret household")
    dup = await make_customer(brand_a)
    tok = brand_a.token(scope="customers:write")
    assert (await gql(tok, 'query($id: ID!) { customer(id: $id) { name } }', {"id": gid(c)}, errors_ok=True))["errors"]
    ops = {
        "customerUpdate": ('mutation($id: ID!) { customerUpdate(input: {id: $id}) { customer { name householdNotes } errors { code } } }', "customer"),
        "customerInteractionAdd": ('mutation($id: ID!) { customerInteractionAdd(customerId: $id, kind: CALL, outcome: REACHED) { customer { name } errors { code } } }', "customer"),
        "customerPromiseAdd": ('mutation($id: ID!) { customerPromiseAdd(customerId: $id, description: "x") { promise { description } errors { code } } }', "promise"),
        "customerProductAdd": ('mutation($id: ID!) { customerProductAdd(customerId: $id, productModel: "X1") { product { productModel } errors { code } } }', "product"),
        "customerChurnSet": ('mutation($id: ID!) { customerChurnSet(customerId: $id, status: AT_RISK) { customer { name } errors { code } } }', "customer"),
        "customerWinbackAdd": ('mutation($id: ID!) { customerWinbackAdd(customerId: $id, action: CONTACT) { customer { name } errors { code } } }', "customer"),
    }
    for name, (q, key) in ops.items():
        body = await gql(tok, q, {"id": gid(c)})
        assert body["data"][name] == {key: None, "errors": []}, name
    body = await gql(tok, CREATE, {"i": {"name": "Created blind", "dealerId": brand_a.gid("Dealer", "d1")}})
    assert body["data"]["customerCreate"] == {"customer": None, "errors": []}
    body = await gql(brand_a.token(scope="customers:write customers:pii"), MERGE, {"a": gid(c), "b": gid(dup)})
    assert body["data"]["customerMerge"] == {"customer": None, "errors": []}
    # errors still report, and the writes happened
    body = await gql(tok, UPDATE, {"i": {"id": gid(c), "name": ""}})
    assert body["data"]["customerUpdate"]["errors"][0]["field"] == "name"
    async with db.tenant_transaction(brand_a.tenant_id):
        row = await Customer.get(tenant_id=brand_a.tenant_id, id=c.id)
    assert row.churn_status == "at_risk"
    # with customers:read the payload shows the object as before
    body = await gql(brand_a.token(), ops["customerUpdate"][0], {"id": gid(c)})
    assert body["data"]["customerUpdate"]["customer"]["name"] == "Secret Profile"


# ---- 3. nested lists capped in SQL ----------------------------------------------------------------

async def test_nested_lists_take_first_with_a_default_and_a_maximum(gql, brand_a):
    c = await make_customer(brand_a)
    async with db.tenant_transaction(brand_a.tenant_id):
        scope = system(brand_a)
        for i in range(25):
            await service.add_interaction(scope, c.id, kind="call", outcome="reached", notes=f"n{i}", occurred_at=None)
            await service.add_promise(scope, c.id, description=f"p{i}", due_date=None, promised_by=None)
            await service.add_product(scope, c.id, product_model=f"M{i}")
            await service.add_winback(scope, c.id, action="contact", notes=None, outcome="pending")
    tok = brand_a.token()
    q = """query($id: ID!) { customer(id: $id) { interactions { notes } promises { description } products { productModel }
           winbackActions { action } externalRefs { source } tierHistory { toTier }
           few: interactions(first: 3) { notes } more: interactions(first: 7) { notes } open: promises(status: OPEN, first: 2) { description } } }"""
    body = (await gql(tok, q, {"id": gid(c)}))["data"]["customer"]
    assert [len(body[k]) for k in ("interactions", "promises", "products", "winbackActions")] == [20, 20, 20, 20]
    assert len(body["few"]) == 3 and len(body["more"]) == 7 and len(body["open"]) == 2  # no shared loader entry
    assert body["few"] == body["more"][:3] == body["interactions"][:3] and body["interactions"][0]["notes"] == "n24"  # newest first
    for field in ("interactions", "promises", "products", "winbackActions", "externalRefs", "tierHistory"):
        for bad in (101, -1):
            r = await gql(tok, f"query($id: ID!) {{ customer(id: $id) {{ {field}(first: {bad}) {{ __typename }} }} }}", {"id": gid(c)}, errors_ok=True)
            assert r["errors"][0]["extensions"]["code"] == "INVALID_PAGINATION", (field, bad)
    body = (await gql(tok, "query($id: ID!) { customer(id: $id) { interactions(first: 100) { notes } } }", {"id": gid(c)}))["data"]
    assert len(body["customer"]["interactions"]) == 25
    # the limit is applied in SQL, one statement per batch for many customers
    lq = "{ customers(first: 50) { nodes { interactions(first: 2) { notes } } } }"
    with count_queries() as counted:
        await gql(tok, lq)
    limited = [s for s in counted.statements if "customer_interaction" in s]
    assert len(limited) == 1 and "row_number()" in limited[0]


# ---- 4. datetimes and dates out of range ----------------------------------------------------------

@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "1899-12-31T23:00:00+00:00",
                                   "2999-01-01T00:00:00+08:00"])
async def test_datetime_inputs_out_of_range_are_field_errors(gql, brand_a, value):
    c = await make_customer(brand_a)
    q = 'mutation($id: ID!, $t: DateTime) { customerInteractionAdd(customerId: $id, kind: CALL, outcome: REACHED, occurredAt: $t) { errors { field code } } }'
    body = await gql(brand_a.token(), q, {"id": gid(c), "t": value})
    assert body["data"]["customerInteractionAdd"]["errors"] == [{"field": "occurredAt", "code": "OUT_OF_RANGE"}]
    q = 'mutation($id: ID!, $t: DateTime) { customerSurveyScoreRecord(customerId: $id, score: 5, survey: "s", answeredAt: $t) { errors { field code } } }'
    body = await gql(brand_a.token(), q, {"id": gid(c), "t": value})
    assert body["data"]["customerSurveyScoreRecord"]["errors"] == [{"field": "answeredAt", "code": "OUT_OF_RANGE"}]


@pytest.mark.parametrize("value", ["0001-01-01", "1899-12-31", "9999-12-31"])
async def test_date_inputs_out_of_range_are_field_errors(gql, brand_a, value):
    c = await make_customer(brand_a)
    tok = brand_a.token()
    q = 'mutation($id: ID!, $d: Date) { customerPromiseAdd(customerId: $id, description: "x", dueDate: $d) { errors { field code } } }'
    assert (await gql(tok, q, {"id": gid(c), "d": value}))["data"]["customerPromiseAdd"]["errors"] == [{"field": "dueDate", "code": "OUT_OF_RANGE"}]
    for arg in ("purchaseDate", "warrantyEnd"):
        q = f'mutation($id: ID!, $d: Date) {{ customerProductAdd(customerId: $id, productModel: "x", {arg}: $d) {{ errors {{ field code }} }} }}'
        errs = (await gql(tok, q, {"id": gid(c), "d": value}))["data"]["customerProductAdd"]["errors"]
        assert errs == [{"field": arg, "code": "OUT_OF_RANGE"}], arg


async def test_import_dates_out_of_range_are_row_errors(client, brand_a):
    from tests.import_helpers import run, upload

    body = "external_source,external_id,name,product_model,purchase_date,warranty_end\ncrm,D1,a,M,0001-01-01,\ncrm,D2,b,M,2020-01-01,9999-12-31\n"
    imp = await run(brand_a, await upload(client, brand_a.token(), body))
    assert [e["code"] for e in imp.errors] == ["OUT_OF_RANGE", "OUT_OF_RANGE"] and imp.rows_created == 0


# ---- 5. tiers in numeric --------------------------------------------------------------------------

async def _tier_of(gql, brand, c):
    await jobs.REGISTRY[service.TIER_JOB].coroutine({}, str(brand.tenant_id), "")
    return (await gql(brand.token(), 'query($id: ID!) { customer(id: $id) { tier tierScore } }', {"id": gid(c)}))["data"]["customer"]


async def test_fractional_weights_are_not_truncated(gql, brand_a):
    c = await make_customer(brand_a)
    await gql(brand_a.token(), 'mutation($id: ID!) { customerProductAdd(customerId: $id, productModel: "One") { errors { code } } }', {"id": gid(c)})
    r = await gql(brand_a.token(), "mutation { tierPolicyUpdate(wPurchases: 10.9, wSpend: 0, wTenure: 0, wReferrals: 0, aMin: 1000, bMin: 10.5) { errors { code } } }")
    assert r["data"]["tierPolicyUpdate"]["errors"] == []
    assert await _tier_of(gql, brand_a, c) == {"tier": "B", "tierScore": 10.9}


async def test_large_weights_compute_and_out_of_range_policies_are_refused(gql, brand_a):
    c = await make_customer(brand_a, referrals=1_000_000)
    r = await gql(brand_a.token(), "mutation { tierPolicyUpdate(wReferrals: 1000000, aMin: 1000000, bMin: 999999) { errors { code } } }")
    assert r["data"]["tierPolicyUpdate"]["errors"] == []
    assert (await _tier_of(gql, brand_a, c))["tier"] == "A"  # 10^12 points: no integer overflow
    for arg in ("wPurchases: 1000001", "wSpend: -1", "aMin: 1e12", "bMin: -0.5", "wTenure: 1e300"):
        r = await gql(brand_a.token(), f"mutation {{ tierPolicyUpdate({arg}) {{ errors {{ field code }} }} }}")
        assert r["data"]["tierPolicyUpdate"]["errors"][0]["code"] == "INVALID_POLICY", arg


# ---- 6. external references -----------------------------------------------------------------------

async def test_external_id_taken_does_not_confirm_another_dealers_reference(gql, brand_a):
    await make_customer(brand_a, "d3", external_refs=[{"source": "dms", "external_id": "D3-SECRET"}])
    i = {"name": "probe", "externalRefs": [{"source": "dms", "externalId": "D3-SECRET"}]}
    err = (await gql(brand_a.token("d1_agent"), CREATE, {"i": i}))["data"]["customerCreate"]["errors"][0]
    assert err["code"] == "EXTERNAL_ID_TAKEN" and err["message"] == "This external reference cannot be used."
    assert "D3-SECRET" not in err["message"] and "belongs" not in err["message"]
    err = (await gql(brand_a.token(), CREATE, {"i": i}))["data"]["customerCreate"]["errors"][0]
    assert err["code"] == "EXTERNAL_ID_TAKEN" and "D3-SECRET" in err["message"]  # the brand admin sees that customer


async def test_concurrent_duplicate_external_refs_answer_external_id_taken(brand_a, monkeypatch):
    real = service._check_refs_free
    barrier = asyncio.Barrier(2)

    async def both_checked(*args, **kw):  # both transactions pass the check before either inserts
        await real(*args, **kw)
        await barrier.wait()

    monkeypatch.setattr(service, "_check_refs_free", both_checked)
    ref = [{"source": "crm", "external_id": f"RACE-{uuid.uuid4().hex[:8]}"}]

    async def create(name):
        try:
            async with db.tenant_transaction(brand_a.tenant_id):  # its own connection
                await service.create_customer(system(brand_a), name=name, dealer_id=brand_a.dealers["d1"].id, external_refs=ref)
            return "ok"
        except ValidationFailed as e:
            return e.code

    results = await asyncio.wait_for(asyncio.gather(create("first"), create("second")), 30)
    assert sorted(results) == ["EXTERNAL_ID_TAKEN", "ok"]


# ---- 7. phone numbers -----------------------------------------------------------------------------

def test_phone_normalisation_is_e164_and_digit_scripts_agree():
    n = service.normalize_contact
    assert n("phone", "+86 138-1234-5678") == n("phone", "13812345678") == n("phone", "0086 138 1234 5678") == "+8613812345678"
    assert n("phone", "١٣٨١٢٣٤٥٦٧٨") == n("phone", "１３８１２３４５６７８") == "+8613812345678"  # Arabic-Indic, full-width
    assert service.clean_value("phone", " １３８ １２３４ ５６７８ ") == "138 1234 5678"
    assert n("phone", "010 6552 9988") == "+861065529988"
    assert n("phone", "+44 20 7946 0958") == "+442079460958"
    assert n("phone", "2079460958", region="GB") == "+442079460958"  # the region is a parameter
    for bad in ("12345", "1-800-FLOWERS", "+86 138 1234 5678 ext. 12", "13812345678999", "+0 123", "+"):
        with pytest.raises(ValidationFailed) as e:
            n("phone", bad)
        assert e.value.code == "INVALID_PHONE", bad


async def test_phones_in_other_scripts_are_stored_as_ascii_and_deduplicated(gql, brand_a):
    c = await make_customer(brand_a, name="Digits Person", contact_points=[{"channel": "phone", "value": "١٣٩١٢٣٤٥٦٧٨", "do_not_contact": True}])
    body = await gql(brand_a.token(), 'query($id: ID!) { customer(id: $id) { contactPoints { value doNotContact } } }', {"id": gid(c)})
    assert body["data"]["customer"]["contactPoints"] == [{"value": "13912345678", "doNotContact": True}]
    body = await gql(brand_a.token("analyst"), 'query($id: ID!) { customer(id: $id) { contactPoints { value } } }', {"id": gid(c)})
    assert body["data"]["customer"]["contactPoints"] == [{"value": "139****5678"}]
    # restating it in ASCII (with +86) is the same contact point: its opt-out stays
    r = await gql(brand_a.token(), UPDATE.replace("name }", "name contactPoints { value doNotContact } }"),
                  {"i": {"id": gid(c), "contactPoints": [{"channel": "PHONE", "value": "+86 139 1234 5678"}]}})
    assert r["data"]["customerUpdate"]["customer"]["contactPoints"][0]["doNotContact"] is True
    q = '{ customers(first: 5, filter: {search: "%s"}) { nodes { name } } }'
    for term in ("13912345678", "+86 139 1234 5678", "１３９１２３４５６７８"):
        assert [x["name"] for x in (await gql(brand_a.token(), q % term))["data"]["customers"]["nodes"]] == ["Digits Person"], term


async def test_old_national_phone_rows_stay_searchable_and_migration_rewrites_them(gql, brand_a):
    import importlib

    from app.core.db import PgTarget
    from app.settings import get_settings

    old = await make_customer(brand_a, name="Old Format", contact_points=[{"channel": "phone", "value": "13912340000"}])
    both = await make_customer(brand_a, name="Both Forms", contact_points=[{"channel": "phone", "value": "13912340001"}])
    t = brand_a.tenant_id
    async with db.tenant_transaction(t):  # as the old rule stored them: national digits
        await ContactPoint.filter(tenant_id=t, customer_id=old.id).update(normalized="13912340000")
        await ContactPoint.create(tenant_id=t, customer_id=both.id, channel="phone", value="139 1234 0001", normalized="13912340001")
    q = '{ customers(first: 5, filter: {search: "%s"}) { nodes { name } } }'
    for term in ("13912340000", "+86 139 1234 0000", "8613912340000"):
        assert [x["name"] for x in (await gql(brand_a.token(), q % term))["data"]["customers"]["nodes"]] == ["Old Format"], term
    sql = importlib.import_module("migrations.0014_customer_bounds").REWRITE
    conn = await PgTarget.parse(get_settings().admin_url).connect()  # migrations run as a superuser
    try:
        await conn.execute(sql)
    finally:
        await conn.close()
    async with db.tenant_transaction(t):
        assert [x.normalized for x in await ContactPoint.filter(tenant_id=t, customer_id=old.id)] == ["+8613912340000"]
        assert sorted(x.normalized for x in await ContactPoint.filter(tenant_id=t, customer_id=both.id)) == ["+8613912340001", "13912340001"]
    # merge de-duplication now sees the old row and a new one as the same number
    new = await make_customer(brand_a, contact_points=[{"channel": "phone", "value": "139-1234-0000"}])
    r = await gql(brand_a.token(), MERGE, {"a": gid(old), "b": gid(new)})
    assert [p["value"] for p in r["data"]["customerMerge"]["customer"]["contactPoints"]] == ["13912340000"]


async def test_errors_cap_free_text_consistently(gql, brand_a):
    c = await make_customer(brand_a)
    tok = brand_a.token()
    p = await gql(tok, 'mutation($id: ID!) { customerPromiseAdd(customerId: $id, description: "ok") { promise { id } } }', {"id": gid(c)})
    pid = p["data"]["customerPromiseAdd"]["promise"]["id"]
    cases = [
        ('mutation($id: ID!, $t: String) { customerWinbackAdd(customerId: $id, action: OFFER, notes: $t) { errors { field code } } }', 4001, "notes"),
        ('mutation($id: ID!, $t: String) { customerInteractionAdd(customerId: $id, kind: CALL, outcome: REACHED, notes: $t) { errors { field code } } }', 4001, "notes"),
        ('mutation($id: ID!, $t: String) { customerProductAdd(customerId: $id, productModel: "m", usageNotes: $t) { errors { field code } } }', 4001, "usageNotes"),
        ('mutation($id: ID!, $t: String) { customerProductAdd(customerId: $id, productModel: "m", purchaseReason: $t) { errors { field code } } }', 2001, "purchaseReason"),
        ('mutation($id: ID!, $t: String!) { customerPromiseAdd(customerId: $id, description: $t) { errors { field code } } }', 4001, "description"),
        ('mutation($id: ID!, $t: String) { customerPromiseAdd(customerId: $id, description: "d", promisedBy: $t) { errors { field code } } }', 121, "promisedBy"),
        ('mutation($id: ID!, $t: String) { customerUpdate(input: {id: $id, householdNotes: $t}) { errors { field code } } }', 4001, "householdNotes"),
        ('mutation($id: ID!, $t: String) { customerUpdate(input: {id: $id, name: $t}) { errors { field code } } }', 201, "name"),
    ]
    for q, size, field in cases:
        body = await gql(tok, q, {"id": gid(c), "t": "x" * size})
        (payload,) = body["data"].values()
        assert payload["errors"] == [{"field": field, "code": "TOO_LONG"}], (field, payload)
        ok = await gql(tok, q, {"id": gid(c), "t": "x" * (size - 1)})
        assert list(ok["data"].values())[0]["errors"] == [], field
    r = await gql(tok, 'mutation($id: ID!, $t: String) { customerPromiseResolve(id: $id, kept: true, note: $t) { errors { field code } } }',
                  {"id": pid, "t": "x" * 2001})
    assert r["data"]["customerPromiseResolve"]["errors"] == [{"field": "note", "code": "TOO_LONG"}]


# ---- 9. timeline actor, merge tier history, audit addresses ---------------------------------------

async def test_timeline_names_the_actor_instead_of_raw_labels(gql, client, brand_a):
    c = await make_customer(brand_a)
    admin = brand_a.users["admin"]
    await gql(brand_a.token(), 'mutation($id: ID!) { customerInteractionAdd(customerId: $id, kind: CALL, outcome: REACHED) { errors { code } } }', {"id": gid(c)})
    q = 'query($id: ID!) { customerTimeline(customerId: $id, first: 10) { nodes { kind actor summary } } }'
    nodes = (await gql(brand_a.token(), q, {"id": gid(c)}))["data"]["customerTimeline"]["nodes"]
    by_kind = {n["kind"]: n for n in nodes}
    assert by_kind["INTERACTION"]["actor"] == admin.display_name and by_kind["CREATED"]["actor"] == "system"
    assert all("by" not in n["summary"] and "user:" not in str(n) for n in nodes)
    assert by_kind["INTERACTION"]["summary"] == {"kind": "call", "outcome": "reached"}
    # a dealer agent may not look the brand admin up: no name, and no raw id either
    nodes = (await gql(brand_a.token("d1_agent"), q, {"id": gid(c)}))["data"]["customerTimeline"]["nodes"]
    assert next(n for n in nodes if n["kind"] == "INTERACTION")["actor"] is None and str(admin.id) not in str(nodes)
    from tests.import_helpers import run, upload

    await run(brand_a, await upload(client, brand_a.token(), "external_source,external_id,name\ncrm,ACTOR-1,Imported Person\n"))
    found = (await gql(brand_a.token(), '{ customers(first: 1, filter: {search: "ACTOR-1"}) { nodes { id } } }'))["data"]["customers"]["nodes"]
    nodes = (await gql(brand_a.token(), q, {"id": found[0]["id"]}))["data"]["customerTimeline"]["nodes"]
    assert [(n["kind"], n["actor"]) for n in nodes] == [("CREATED", "import")]


async def test_merge_does_not_copy_the_duplicates_tier_history(gql, brand_a):
    survivor, dup = await make_customer(brand_a), await make_customer(brand_a, service_spend=50000)
    await jobs.REGISTRY[service.TIER_JOB].coroutine({}, str(brand_a.tenant_id), "")
    r = await gql(brand_a.token(), MERGE, {"a": gid(survivor), "b": gid(dup)})
    assert r["data"]["customerMerge"]["errors"] == []
    q = 'query($id: ID!) { customer(id: $id) { tierHistory { fromTier toTier } } customerTimeline(customerId: $id, first: 50, kinds: [TIER_CHANGED]) { nodes { summary } } }'
    body = (await gql(brand_a.token(), q, {"id": gid(survivor)}))["data"]
    assert body["customer"]["tierHistory"] == [{"fromTier": None, "toTier": "C"}]
    assert body["customerTimeline"]["nodes"] == [{"summary": {"from": None, "to": "C"}}]
    async with db.tenant_transaction(brand_a.tenant_id):  # the duplicate keeps its own
        assert await TierChange.filter(tenant_id=brand_a.tenant_id, customer_id=dup.id).count() == 1
        assert await CustomerEvent.filter(tenant_id=brand_a.tenant_id, customer_id=dup.id, kind="tier_changed").count() == 1


async def test_export_and_erase_are_audited_with_the_callers_address(gql, brand_a):
    from app.audit.models import AuditEvent

    c = await make_customer(brand_a)
    await gql(brand_a.token(), 'mutation($id: ID!) { customerExport(id: $id) { errors { code } } }', {"id": gid(c)})
    await gql(brand_a.token(), 'mutation($id: ID!) { customerErase(id: $id) { errors { code } } }', {"id": gid(c)})
    async with db.tenant_transaction(brand_a.tenant_id):
        events = await AuditEvent.filter(tenant_id=brand_a.tenant_id, target_id=str(c.id))
    assert {e.action: e.ip for e in events} == {"customer.exported": "127.0.0.1", "customer.erased": "127.0.0.1"}


def test_input_errors_are_collected():  # the helpers raise field errors with stable codes
    with pytest.raises(ValidationFailed) as e:
        service.check_text("x" * 5, "f", 4)
    assert e.value.code == "TOO_LONG"
    errors: list = []
    service.check_text("x" * 5, "f", 4, errors)
    assert errors and not isinstance(errors[0], InputErrors)
    with pytest.raises(ValidationFailed):
        service.check_date(date.today() + timedelta(days=1), "d", not_future=True)
