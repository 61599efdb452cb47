"""Customer-archive regressions from the two code reviews: opt-outs, erasure and merge of merged
records, time zones, what survey-only apps get back, import clean-up and fallback, cross-dealer
paths and the audit of PII reads (moved from tests/test_review_fixes.py and tests/test_gaps.py;
each failed before its fix)."""
from app.core import db
from app.core.ids import to_global_id
from app.core.models import ImportChunk
from app.customer.models import ContactPoint, Customer
from tests.factories import make_app, make_customer
from tests.import_helpers import HEADER, csv_rows, run, upload

# ---- the security review (was tests/test_review_fixes.py; each failed before its fix) ----------------

def gid(c):
    return to_global_id("Customer", c.id)


async def test_datetimes_without_time_zone_are_field_errors(gql, brand_a):
    c = await make_customer(brand_a)
    r = await gql(brand_a.token(), 'mutation($id: ID!) { customerInteractionAdd(customerId: $id, kind: CALL, outcome: REACHED, occurredAt: "2024-01-01T10:00:00") { errors { field } } }', {"id": gid(c)})
    assert r["data"]["customerInteractionAdd"]["errors"] == [{"field": "occurredAt"}]


async def test_restating_a_contact_point_keeps_its_opt_out(gql, brand_a):
    c = await make_customer(brand_a, contact_points=[{"channel": "phone", "value": "13800001234", "do_not_contact": True, "consent": False}])
    r = await gql(brand_a.token(), 'mutation($id: ID!) { customerUpdate(input: {id: $id, contactPoints: [{channel: PHONE, value: "138 0000 1234"}, {channel: EMAIL, value: "n@x.cn"}]}) { customer { contactPoints { channel doNotContact consent } } } }', {"id": gid(c)})
    cps = {p["channel"]: p for p in r["data"]["customerUpdate"]["customer"]["contactPoints"]}
    assert cps["PHONE"]["doNotContact"] is True and cps["PHONE"]["consent"] is False
    assert cps["EMAIL"]["doNotContact"] is False and cps["EMAIL"]["consent"] is True


async def test_erasure_reaches_records_merged_into_the_customer(gql, brand_a):
    survivor = await make_customer(brand_a, name="Keep Me")
    dup = await make_customer(brand_a, name="Old Duplicate Name", household_notes="private household detail")
    await gql(brand_a.token(), 'mutation($a: ID!, $b: ID!) { customerMerge(survivorId: $a, duplicateId: $b) { errors { code } } }', {"a": gid(survivor), "b": gid(dup)})
    await gql(brand_a.token(), 'mutation($id: ID!) { customerErase(id: $id) { errors { code } } }', {"id": gid(survivor)})
    async with db.tenant_transaction(brand_a.tenant_id):
        old = await Customer.get(tenant_id=brand_a.tenant_id, id=dup.id)
    assert old.name == "Erased customer" and old.household_notes is None and old.erased_at is not None


async def test_survey_only_apps_get_no_profile_back(client, brand_a):
    c = await make_customer(brand_a, name="Private Profile")
    app, secret = await make_app(brand_a, scopes=["surveys:write"])
    token = (await client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(app.client_id, secret))).json()["access_token"]
    r = await client.post("/graphql", json={"query": 'mutation($id: ID!) { customerSurveyScoreRecord(customerId: $id, score: 7, survey: "vendor") { customer { name } errors { code } } }',
                                            "variables": {"id": gid(c)}}, headers={"Authorization": f"Bearer {token}"})
    assert r.json()["data"]["customerSurveyScoreRecord"] == {"customer": None, "errors": []}


async def test_import_files_are_deleted_when_the_import_ends_and_deep_json_is_a_row_error(client, brand_a):
    imp = await run(brand_a, await upload(client, brand_a.token(), HEADER + csv_rows(3)))
    async with db.tenant_transaction(brand_a.tenant_id):
        assert await ImportChunk.filter(tenant_id=brand_a.tenant_id, import_id=imp.id).count() == 0
    imp = await run(brand_a, await upload(client, brand_a.token(), "[" * 100000 + "\n", fmt="jsonl"))
    assert imp.status in ("done", "failed") and imp.errors[0]["code"] == "MALFORMED_JSON"


async def test_merge_keeps_one_primary_per_channel(gql, brand_a):
    a = await make_customer(brand_a, contact_points=[{"channel": "phone", "value": "13800000011"}])
    b = await make_customer(brand_a, contact_points=[{"channel": "phone", "value": "13800000022"}, {"channel": "email", "value": "b@x.cn"}])
    await gql(brand_a.token(), 'mutation($a: ID!, $b: ID!) { customerMerge(survivorId: $a, duplicateId: $b) { errors { code } } }', {"a": gid(a), "b": gid(b)})
    async with db.tenant_transaction(brand_a.tenant_id):
        rows = await ContactPoint.filter(tenant_id=brand_a.tenant_id, customer_id=a.id)
    primaries = {(r.channel) for r in rows if r.is_primary}
    assert primaries == {"phone", "email"} and sum(r.is_primary for r in rows) == 2



# ---- the second review: behaviour it found untested (was tests/test_gaps.py) ------------------------

async def test_import_falls_back_to_row_by_row_when_a_batch_fails(client, brand_a, monkeypatch):
    from app.customer import importer
    from tests.import_helpers import HEADER, csv_rows, run, upload

    real = importer._apply

    async def flaky(scope, rows):
        if len(rows) > 1:
            raise RuntimeError("batch write failed")
        if rows[0].external_id == "C000002":
            raise RuntimeError("this row cannot be stored")
        return await real(scope, rows)

    monkeypatch.setattr(importer, "_apply", flaky)
    imp = await run(brand_a, await upload(client, brand_a.token(), HEADER + csv_rows(4)))
    assert (imp.rows_created, imp.rows_failed) == (3, 1)
    assert imp.errors == [{"line": 4, "field": None, "code": "WRITE_FAILED", "message": "Could not be stored: RuntimeError."}]


async def test_more_cross_dealer_and_cross_brand_paths(gql, brand_a, brand_b):
    mine, theirs = await make_customer(brand_a, "d1"), await make_customer(brand_a, "d3")
    agent = brand_a.token("d1_agent")
    g = lambda c: to_global_id("Customer", c.id)  # noqa: E731
    r = await gql(agent, 'mutation($a: ID!, $b: ID!) { customerMerge(survivorId: $a, duplicateId: $b) { errors { code } } }', {"a": g(mine), "b": g(theirs)})
    assert r["data"]["customerMerge"]["errors"][0]["code"] == "NOT_FOUND"
    r = await gql(agent, 'mutation($id: ID!, $d: ID!) { customerUpdate(input: {id: $id, dealerId: $d}) { errors { code } } }', {"id": g(mine), "d": brand_a.gid("Dealer", "d3")})
    assert r["data"]["customerUpdate"]["errors"][0]["code"] == "NOT_FOUND"  # cannot hand a customer to another dealer
    r = await gql(agent, 'query($id: ID!) { customerTimeline(customerId: $id) { nodes { kind } } }', {"id": g(theirs)}, errors_ok=True)
    assert r["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    await make_app(brand_a)  # an audit event in brand A
    events_b = (await gql(brand_b.token(), "{ auditEvents(first: 100) { nodes { targetId } } }"))["data"]["auditEvents"]["nodes"]
    events_a = (await gql(brand_a.token(), "{ auditEvents(first: 100) { nodes { targetId } } }"))["data"]["auditEvents"]["nodes"]
    assert events_a and not ({e["targetId"] for e in events_a} & {e["targetId"] for e in events_b})


async def test_pii_reads_are_audited_even_when_the_request_fails(client, gql, brand_a):
    c = await make_customer(brand_a)
    app, secret = await make_app(brand_a, scopes=["customers:read", "customers:pii"])
    token = (await client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(app.client_id, secret))).json()["access_token"]
    q = 'query($id: ID!) { customer(id: $id) { contactPoints { value } } node(id: "garbage!") { id } }'
    r = await client.post("/graphql", json={"query": q, "variables": {"id": to_global_id("Customer", c.id)}}, headers={"Authorization": f"Bearer {token}"})
    assert r.json()["errors"] and r.json()["data"]["customer"]["contactPoints"]
    events = (await gql(brand_a.token(), '{ auditEvents(first: 10, action: "customer.pii_read") { nodes { actor details } } }'))["data"]["auditEvents"]["nodes"]
    assert any(e["actor"] == f"app:{app.client_id}" and e["details"]["customer_ids"] == [str(c.id)] for e in events)

