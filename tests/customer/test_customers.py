"""Customer archives over GraphQL: profiles, masking, filters, timeline, merge, erase, export,
tiers — and isolation between brands and dealers for every query and mutation."""
from datetime import date, timedelta

from app.core import db
from app.core.ids import to_global_id
from app.customer.models import Customer as CustomerRow
from tests.factories import make_app, make_customer
from tests.querycount import count_queries

CUSTOMER_Q = """query($id: ID!) { customer(id: $id) { id name tier churnStatus dealer { code }
  contactPoints { channel value masked isPrimary } externalRefs { source externalId } products { productModel yearsOwned }
  promises { description status } } }"""
LIST_Q = """query($f: CustomerFilter, $o: CustomerOrderField!, $first: Int, $after: String) {
  customers(first: $first, after: $after, filter: $f, orderBy: $o) { nodes { id name } pageInfo { hasNextPage endCursor } } }"""
CREATE = """mutation($i: CustomerCreateInput!) { customerCreate(input: $i) { customer { id name dealer { code }
  contactPoints { channel value } tags } errors { field code message } } }"""


def gid(c):
    return to_global_id("Customer", c.id)


async def names(gql, token, f=None, order="NAME", first=100):
    body = await gql(token, LIST_Q, {"f": f, "o": order, "first": first})
    return [n["name"] for n in body["data"]["customers"]["nodes"]]


async def test_create_profile_and_validation(gql, brand_a):
    tok = brand_a.token()
    body = await gql(tok, CREATE, {"i": {"name": " 王伟 ", "dealerId": brand_a.gid("Dealer", "d1"), "gender": "MALE", "birthYear": 1980,
                                        "tags": ["VIP", " vip ", "fleet"], "householdNotes": "two kids", "hobbyNotes": "fishing",
                                        "contactPoints": [{"channel": "PHONE", "value": "+86 138-1234-5678"},
                                                          {"channel": "EMAIL", "value": "Wang.Wei@Example.CN"}],
                                        "externalRefs": [{"source": "dms", "externalId": "D-1"}]}})
    c = body["data"]["customerCreate"]
    assert c["errors"] == [] and c["customer"]["name"] == "王伟" and c["customer"]["tags"] == ["fleet", "vip"]
    assert c["customer"]["dealer"] == {"code": "N-001"}
    bad = await gql(tok, CREATE, {"i": {"name": "", "birthYear": 1700, "contactPoints": [{"channel": "PHONE", "value": "12"}]}})
    errs = {(e["field"], e["code"]) for e in bad["data"]["customerCreate"]["errors"]}
    assert ("contactPoints", "INVALID_PHONE") in errs
    bad = await gql(tok, CREATE, {"i": {"name": "", "birthYear": 1700}})
    assert {e["field"] for e in bad["data"]["customerCreate"]["errors"]} == {"name", "birthYear"}
    dup = await gql(tok, CREATE, {"i": {"name": "dup", "externalRefs": [{"source": "dms", "externalId": "D-1"}]}})
    assert dup["data"]["customerCreate"]["errors"][0]["code"] == "EXTERNAL_ID_TAKEN"


async def test_masking_by_role_and_scope(gql, brand_a):
    c = await make_customer(brand_a, contact_points=[{"channel": "phone", "value": "13812345678"},
                                                     {"channel": "email", "value": "wang.wei@example.cn"},
                                                     {"channel": "wechat", "value": "wangwei88"}])
    full = {"13812345678", "wang.wei@example.cn", "wangwei88"}
    masked = {"138****5678", "w***@example.cn", "wa***88"}
    for who, expect in (("admin", full), ("d1_agent", full), ("regional", full), ("analyst", masked)):
        body = await gql(brand_a.token(who), CUSTOMER_Q, {"id": gid(c)})
        cps = body["data"]["customer"]["contactPoints"]
        assert {p["value"] for p in cps} == expect, who
        assert all(p["masked"] == (expect is masked) for p in cps)
    # a user token narrowed to customers:read is masked even for an admin
    body = await gql(brand_a.token("admin", scope="customers:read"), CUSTOMER_Q, {"id": gid(c)})
    assert {p["value"] for p in body["data"]["customer"]["contactPoints"]} == masked
    # no trace of the full values anywhere in a masked response
    text = str(body)
    assert not any(v in text for v in full)


async def test_pii_reads_by_partner_apps_are_audited(gql, client, brand_a):
    c = await make_customer(brand_a)
    for scopes, audited in ((["customers:read"], False), (["customers:read", "customers:pii"], True)):
        app, secret = await make_app(brand_a, scopes=scopes)
        tok = (await client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(app.client_id, secret))).json()["access_token"]
        r = await client.post("/graphql", json={"query": CUSTOMER_Q, "variables": {"id": gid(c)}}, headers={"Authorization": f"Bearer {tok}"})
        assert r.json()["data"]["customer"]["contactPoints"][0]["masked"] is (not audited)
        events = (await gql(brand_a.token(), '{ auditEvents(first: 5, action: "customer.pii_read") { nodes { actor details } } }'))["data"]["auditEvents"]["nodes"]
        mine = [e for e in events if e["actor"] == f"app:{app.client_id}"]
        assert bool(mine) is audited
        if audited:
            assert mine[0]["details"]["customer_ids"] == [str(c.id)]


async def test_filters_search_sort_and_keyset(gql, brand_a):
    a = await make_customer(brand_a, name="Alpha 张", tags=["vip", "fleet"], contact_points=[{"channel": "phone", "value": "139-0000-1111"}])
    b = await make_customer(brand_a, "d3", name="Beta 李", tags=["vip"], external_refs=[{"source": "crm", "external_id": "CRM-777"}])
    c = await make_customer(brand_a, "d2", name="Gamma 王", contact_points=[{"channel": "email", "value": "gamma@corp.cn"}])
    async with db.tenant_transaction(brand_a.tenant_id):
        await CustomerRow.filter(tenant_id=brand_a.tenant_id, id=a.id).update(tier="A", last_survey_score=2.5, open_ticket_count=1)
        await CustomerRow.filter(tenant_id=brand_a.tenant_id, id=b.id).update(tier="B", last_survey_score=8.0, churn_status="at_risk")
        await CustomerRow.filter(tenant_id=brand_a.tenant_id, id=c.id).update(tier="A", last_survey_score=4.0)
    tok = brand_a.token()
    mine = {"Alpha 张", "Beta 李", "Gamma 王"}
    assert set(await names(gql, tok, {"tiers": ["A"]})) & mine == {"Alpha 张", "Gamma 王"}
    assert set(await names(gql, tok, {"tags": ["vip"]})) & mine == {"Alpha 张", "Beta 李"}
    assert set(await names(gql, tok, {"tags": ["VIP", "fleet"]})) & mine == {"Alpha 张"}
    assert set(await names(gql, tok, {"regions": ["east"]})) & mine == {"Beta 李"}
    assert set(await names(gql, tok, {"dealerIds": [brand_a.gid("Dealer", "d2")]})) & mine == {"Gamma 王"}
    assert set(await names(gql, tok, {"churnStatuses": ["AT_RISK"]})) & mine == {"Beta 李"}
    assert set(await names(gql, tok, {"hasOpenTicket": True})) & mine == {"Alpha 张"}
    assert set(await names(gql, tok, {"lastSurveyScoreBelow": 5})) & mine == {"Alpha 张", "Gamma 王"}
    for term, expect in (("alpha", "Alpha 张"), ("139 0000 1111", "Alpha 张"), ("00001111", "Alpha 张"), ("crm-777", "Beta 李"),
                         ("GAMMA@corp", "Gamma 王"), ("王", "Gamma 王")):
        assert await names(gql, tok, {"search": term}) == [expect], term
    assert await names(gql, tok, {"search": "100%_"}) == []
    ordered = await names(gql, tok, {"lastSurveyScoreBelow": 9}, order="LAST_SURVEY_SCORE")
    assert ordered[:3] == ["Alpha 张", "Gamma 王", "Beta 李"]
    # keyset pages cover everything exactly once, whatever the order
    for order in ("NAME", "CREATED_AT", "LAST_SURVEY_SCORE"):
        everything = await names(gql, tok, None, order=order)
        seen, after = [], None
        while True:
            body = await gql(tok, LIST_Q, {"o": order, "first": 2, "after": after})
            conn = body["data"]["customers"]
            seen += [n["name"] for n in conn["nodes"]]
            if not conn["pageInfo"]["hasNextPage"]:
                break
            after = conn["pageInfo"]["endCursor"]
        assert seen == everything, order


async def test_isolation_between_brands_and_dealers(gql, brand_a, brand_b):
    mine = await make_customer(brand_a, "d1")
    other_dealer = await make_customer(brand_a, "d3")
    foreign = await make_customer(brand_b, "d1")
    # brand B sees nothing of brand A, by id, node, nodes, list, filter, search
    tok_b = brand_b.token()
    assert (await gql(tok_b, CUSTOMER_Q, {"id": gid(mine)}))["data"]["customer"] is None
    assert (await gql(tok_b, "query($id: ID!) { node(id: $id) { id } }", {"id": gid(mine)}))["data"]["node"] is None
    assert (await gql(tok_b, "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": [gid(mine)]}))["data"]["nodes"] == [None]
    assert mine.name not in await names(gql, tok_b)
    assert await names(gql, tok_b, {"search": mine.name}) == []
    assert await names(gql, tok_b, {"dealerIds": [brand_a.gid("Dealer", "d1")]}) == []
    # a dealer agent sees only their dealer's customers
    tok = brand_a.token("d1_agent")
    assert set(await names(gql, tok)) >= {mine.name} and other_dealer.name not in await names(gql, tok)
    assert (await gql(tok, CUSTOMER_Q, {"id": gid(other_dealer)}))["data"]["customer"] is None
    assert await names(gql, tok, {"regions": ["east"]}) == []
    assert await names(gql, tok, {"search": other_dealer.name}) == []
    # regional manager (north) sees d1 and d2, not d3
    assert other_dealer.name not in await names(gql, brand_a.token("regional"))
    assert mine.name in await names(gql, brand_a.token("regional"))
    # mutations on invisible customers look like missing ones
    ops = [
        ('mutation($id: ID!) { customerUpdate(input: {id: $id, name: "x"}) { errors { code } } }', "customerUpdate"),
        ('mutation($id: ID!) { customerInteractionAdd(customerId: $id, kind: CALL, outcome: REACHED) { errors { code } } }', "customerInteractionAdd"),
        ('mutation($id: ID!) { customerPromiseAdd(customerId: $id, description: "x") { errors { code } } }', "customerPromiseAdd"),
        ('mutation($id: ID!) { customerProductAdd(customerId: $id, productModel: "x") { errors { code } } }', "customerProductAdd"),
        ('mutation($id: ID!) { customerChurnSet(customerId: $id, status: AT_RISK) { errors { code } } }', "customerChurnSet"),
        ('mutation($id: ID!) { customerWinbackAdd(customerId: $id, action: CONTACT) { errors { code } } }', "customerWinbackAdd"),
    ]
    for q, name in ops:
        for token, target in ((tok_b, mine), (tok, other_dealer)):
            body = await gql(token, q, {"id": gid(target)})
            assert body["data"][name]["errors"][0]["code"] == "NOT_FOUND", (name, target.name)
    for q, name in (('mutation($id: ID!) { customerErase(id: $id) { errors { code } } }', "customerErase"),
                    ('mutation($id: ID!) { customerExport(id: $id) { errors { code } } }', "customerExport")):
        body = await gql(tok_b, q, {"id": gid(mine)})
        assert body["data"][name]["errors"][0]["code"] == "NOT_FOUND"
    body = await gql(tok_b, 'mutation($a: ID!, $b: ID!) { customerMerge(survivorId: $a, duplicateId: $b) { errors { code } } }',
                     {"a": gid(foreign), "b": gid(mine)})
    assert body["data"]["customerMerge"]["errors"][0]["code"] == "NOT_FOUND"
    body = await gql(tok_b, 'query($id: ID!) { customerTimeline(customerId: $id) { nodes { kind } } }', {"id": gid(mine)}, errors_ok=True)
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    # nothing changed in brand A
    body = await gql(brand_a.token(), CUSTOMER_Q, {"id": gid(mine)})
    assert body["data"]["customer"]["name"] == mine.name and body["data"]["customer"]["churnStatus"] == "ACTIVE"


async def test_dealer_staff_create_for_their_dealer_only(gql, brand_a):
    tok = brand_a.token("d1_agent")
    body = await gql(tok, CREATE, {"i": {"name": "walk-in"}})
    assert body["data"]["customerCreate"]["customer"]["dealer"] == {"code": "N-001"}
    body = await gql(tok, CREATE, {"i": {"name": "poach", "dealerId": brand_a.gid("Dealer", "d3")}})
    assert body["data"]["customerCreate"]["errors"][0]["code"] == "NOT_FOUND"


async def test_timeline_promises_products_churn(gql, brand_a):
    c = await make_customer(brand_a)
    tok = brand_a.token("d1_agent")
    cid = gid(c)
    await gql(tok, 'mutation($id: ID!) { customerInteractionAdd(customerId: $id, kind: CALL, outcome: NO_ANSWER, notes: "busy") { errors { code } } }', {"id": cid})
    p = await gql(tok, 'mutation($id: ID!, $d: Date) { customerPromiseAdd(customerId: $id, description: "replace the mat", dueDate: $d) { promise { id status } errors { code } } }',
                  {"id": cid, "d": (date.today() + timedelta(days=7)).isoformat()})
    pid = p["data"]["customerPromiseAdd"]["promise"]["id"]
    r = await gql(tok, 'mutation($id: ID!) { customerPromiseResolve(id: $id, kept: false, note: "part delayed") { promise { status } errors { code } } }', {"id": pid})
    assert r["data"]["customerPromiseResolve"]["promise"]["status"] == "BROKEN"
    r = await gql(tok, 'mutation($id: ID!) { customerPromiseResolve(id: $id, kept: true) { errors { code } } }', {"id": pid})
    assert r["data"]["customerPromiseResolve"]["errors"][0]["code"] == "ALREADY_RESOLVED"
    three_years = (date.today() - timedelta(days=3 * 366)).isoformat()
    r = await gql(tok, 'mutation($id: ID!, $d: Date) { customerProductAdd(customerId: $id, productModel: "Model S", serial: "VIN123", purchaseDate: $d) { product { yearsOwned } errors { code } } }',
                  {"id": cid, "d": three_years})
    assert r["data"]["customerProductAdd"]["product"]["yearsOwned"] == 3
    r = await gql(tok, 'mutation($id: ID!) { customerChurnSet(customerId: $id, status: LOST) { errors { field code } } }', {"id": cid})
    assert r["data"]["customerChurnSet"]["errors"][0]["code"] == "LOST_TYPE_REQUIRED"
    r = await gql(tok, 'mutation($id: ID!) { customerChurnSet(customerId: $id, status: LOST, lostType: PULLED_BY_COMPETITOR) { customer { churnStatus lostType } } }', {"id": cid})
    assert r["data"]["customerChurnSet"]["customer"] == {"churnStatus": "LOST", "lostType": "PULLED_BY_COMPETITOR"}
    r = await gql(tok, 'mutation($id: ID!) { customerWinbackAdd(customerId: $id, action: OFFER, outcome: WON_BACK, notes: "free service") { customer { churnStatus winbackActions { action outcome } } } }', {"id": cid})
    assert r["data"]["customerWinbackAdd"]["customer"]["churnStatus"] == "ACTIVE"
    body = await gql(tok, 'query($id: ID!) { customerTimeline(customerId: $id, first: 50) { nodes { kind summary } } }', {"id": cid})
    kinds = [n["kind"] for n in body["data"]["customerTimeline"]["nodes"]]
    assert kinds[-1] == "PURCHASE" and kinds[-2] == "CREATED"  # the purchase is dated three years back: oldest
    for k in ("INTERACTION", "PROMISE", "PROMISE_RESOLVED", "CHURN_CHANGED", "WINBACK"):
        assert k in kinds
    page = await gql(tok, 'query($id: ID!) { customerTimeline(customerId: $id, first: 2) { nodes { kind } pageInfo { endCursor } } }', {"id": cid})
    rest = await gql(tok, 'query($id: ID!, $a: String) { customerTimeline(customerId: $id, first: 50, after: $a) { nodes { kind } } }',
                     {"id": cid, "a": page["data"]["customerTimeline"]["pageInfo"]["endCursor"]})
    assert [n["kind"] for n in page["data"]["customerTimeline"]["nodes"] + rest["data"]["customerTimeline"]["nodes"]] == kinds


async def test_merge_keeps_all_history(gql, brand_a):
    tok = brand_a.token()
    survivor = await make_customer(brand_a, name="Zhang San", contact_points=[{"channel": "phone", "value": "13800000001"}])
    dup = await make_customer(brand_a, name="张三", birth_year=1975, tags=["fleet"],
                              contact_points=[{"channel": "phone", "value": "138 0000 0001"}, {"channel": "email", "value": "zs@x.cn"}])
    for c in (survivor, dup):
        await gql(tok, 'mutation($id: ID!) { customerInteractionAdd(customerId: $id, kind: VISIT, outcome: REACHED) { errors { code } } }', {"id": gid(c)})
    await gql(tok, 'mutation($id: ID!) { customerPromiseAdd(customerId: $id, description: "call back") { errors { code } } }', {"id": gid(dup)})
    before = {}
    for c in (survivor, dup):
        body = await gql(tok, 'query($id: ID!) { customerTimeline(customerId: $id, first: 100) { nodes { kind occurredAt } } }', {"id": gid(c)})
        before[c.id] = body["data"]["customerTimeline"]["nodes"]
    r = await gql(tok, 'mutation($a: ID!, $b: ID!) { customerMerge(survivorId: $a, duplicateId: $b) { customer { birthYear tags contactPoints { value } externalRefs { externalId } promises { description } } errors { code } } }',
                  {"a": gid(survivor), "b": gid(dup)})
    m = r["data"]["customerMerge"]["customer"]
    assert m["birthYear"] == 1975 and m["tags"] == ["fleet"]
    assert sorted(p["value"] for p in m["contactPoints"]) == ["13800000001", "zs@x.cn"]  # the shared phone once
    assert len(m["externalRefs"]) == 2 and m["promises"][0]["description"] == "call back"
    body = await gql(tok, 'query($id: ID!) { customerTimeline(customerId: $id, first: 100) { nodes { kind occurredAt } } }', {"id": gid(survivor)})
    after = body["data"]["customerTimeline"]["nodes"]
    moved = [e for e in after if e["kind"] != "MERGED"]
    assert sorted(map(str, moved)) == sorted(map(str, before[survivor.id] + before[dup.id]))
    assert [e["kind"] for e in after].count("MERGED") == 1
    # the duplicate leaves the lists and points at the survivor; it cannot be changed any more
    assert "张三" not in await names(gql, tok)
    body = await gql(tok, 'query($id: ID!) { customer(id: $id) { mergedIntoId } }', {"id": gid(dup)})
    assert body["data"]["customer"]["mergedIntoId"] == gid(survivor)
    r = await gql(tok, 'mutation($a: ID!, $b: ID!) { customerMerge(survivorId: $a, duplicateId: $b) { errors { code } } }', {"a": gid(survivor), "b": gid(dup)})
    assert r["data"]["customerMerge"]["errors"][0]["code"] == "CUSTOMER_CLOSED"
    r = await gql(tok, 'mutation($a: ID!) { customerMerge(survivorId: $a, duplicateId: $a) { errors { code } } }', {"a": gid(survivor)})
    assert r["data"]["customerMerge"]["errors"][0]["code"] == "SAME_CUSTOMER"


async def test_erase_leaves_no_personal_data_but_keeps_counts(gql, brand_a, orm):
    from app.core.db import PgTarget
    from app.settings import get_settings

    tok = brand_a.token()
    pii = {"name": "Erasable Person 可删除", "phone": "13987654321", "email": "erase.me@privacy.cn", "wechat": "erase_wx_77",
           "ext": "ERASE-EXT-99", "notes": "lives at 12 Erase Road", "serial": "VIN-ERASE-1", "label": "ErasePrivateLabel",
           "promise": "Erase-promise about the daughter's wedding car", "reason": "erase-reason bought for the daughter",
           "usage": "erase-usage school runs", "winback": "erase-winback personal apology note", "hobby": "erase-hobby falconry"}
    c = await make_customer(brand_a, name=pii["name"], household_notes=pii["notes"], hobby_notes=pii["hobby"], contact_points=[
        {"channel": "phone", "value": pii["phone"], "label": pii["label"]}, {"channel": "email", "value": pii["email"]},
        {"channel": "wechat", "value": pii["wechat"]}], external_refs=[{"source": "crm", "external_id": pii["ext"]}])
    cid = {"id": gid(c)}
    await gql(tok, 'mutation($id: ID!) { customerInteractionAdd(customerId: $id, kind: CALL, outcome: REACHED, notes: "lives at 12 Erase Road") { errors { code } } }', cid)
    await gql(tok, 'mutation($id: ID!, $r: String, $u: String) { customerProductAdd(customerId: $id, productModel: "M3", serial: "VIN-ERASE-1", purchaseReason: $r, usageNotes: $u) { errors { code } } }',
              {**cid, "r": pii["reason"], "u": pii["usage"]})
    await gql(tok, 'mutation($id: ID!, $d: String!) { customerPromiseAdd(customerId: $id, description: $d) { errors { code } } }', {**cid, "d": pii["promise"]})
    await gql(tok, 'mutation($id: ID!, $n: String) { customerWinbackAdd(customerId: $id, action: APOLOGY, notes: $n) { errors { code } } }', {**cid, "n": pii["winback"]})
    count_q = '{ customers(first: 100) { nodes { id } } }'
    before = len((await gql(tok, count_q))["data"]["customers"]["nodes"])

    conn = await PgTarget.parse(get_settings().admin_url).connect()
    try:
        # the scan below must see every row: a superuser, for whom row-level security does not apply
        assert await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        cols = await conn.fetch("SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' "
                                "AND data_type IN ('text', 'character varying', 'jsonb', 'json', 'ARRAY') "
                                "AND table_name NOT IN ('brand', 'tortoise_migrations')")

        async def hits():
            found = set()
            for col in cols:
                for key, value in pii.items():
                    n = await conn.fetchval(f'SELECT count(*) FROM "{col["table_name"]}" WHERE tenant_id = $1 AND "{col["column_name"]}"::text ILIKE $2',
                                            brand_a.tenant_id, f"%{value}%")
                    if n:
                        found.add(key)
            return found

        assert await hits() == set(pii)  # every value is stored somewhere before erasure
        r = await gql(tok, 'mutation($id: ID!) { customerErase(id: $id) { customer { name erased contactPoints { value } products { productModel serial } } errors { code } } }', cid)
        assert r["data"]["customerErase"]["customer"] == {"name": "Erased customer", "erased": True, "contactPoints": [],
                                                          "products": [{"productModel": "M3", "serial": None}]}
        assert await hits() == set()  # and nowhere after
    finally:
        await conn.close()
    assert len((await gql(tok, count_q))["data"]["customers"]["nodes"]) == before  # counts stay
    timeline = await gql(tok, 'query($id: ID!) { customerTimeline(customerId: $id, first: 50) { nodes { kind } } }', cid)
    assert {"INTERACTION", "PURCHASE", "PROMISE", "WINBACK", "ERASED"} <= {n["kind"] for n in timeline["data"]["customerTimeline"]["nodes"]}


async def test_export_contains_everything(gql, brand_a):
    c = await make_customer(brand_a, name="Export Me", hobby_notes="golf")
    await gql(brand_a.token(), 'mutation($id: ID!) { customerPromiseAdd(customerId: $id, description: "free wash") { errors { code } } }', {"id": gid(c)})
    r = await gql(brand_a.token(), 'mutation($id: ID!) { customerExport(id: $id) { data errors { code } } }', {"id": gid(c)})
    data = r["data"]["customerExport"]["data"]
    assert data["customer"]["name"] == "Export Me" and data["customer"]["hobby_notes"] == "golf"
    assert len(data["contact_points"]) == 3 and data["promises"][0]["description"] == "free wash"
    assert "@" in next(p["value"] for p in data["contact_points"] if p["channel"] == "email")  # unmasked
    r = await gql(brand_a.token("d1_agent"), 'mutation($id: ID!) { customerExport(id: $id) { data } }', {"id": gid(c)}, errors_ok=True)
    assert r["errors"][0]["extensions"]["missingScope"] == "admin"


async def test_tiers_recompute_job_and_history(gql, brand_a):
    from app.core import jobs
    from app.customer.service import TIER_JOB

    rich = await make_customer(brand_a, name="Rich", service_spend=30000, referrals=3)
    poor = await make_customer(brand_a, name="Poor")
    fn = jobs.REGISTRY[TIER_JOB].coroutine
    changed = await fn({}, str(brand_a.tenant_id), "")
    assert changed >= 2
    assert await fn({}, str(brand_a.tenant_id), "") == 0  # idempotent: nothing changes twice
    q = 'query($id: ID!) { customer(id: $id) { tier tierScore tierHistory { fromTier toTier } } }'
    r = (await gql(brand_a.token(), q, {"id": gid(rich)}))["data"]["customer"]
    assert r["tier"] == "A" and r["tierHistory"] == [{"fromTier": None, "toTier": "A"}]
    assert (await gql(brand_a.token(), q, {"id": gid(poor)}))["data"]["customer"]["tier"] == "C"
    r = await gql(brand_a.token(), "mutation { tierPolicyUpdate(wSpend: 0.1, aMin: 50) { policy { wSpend aMin bMin } errors { code } } }")
    assert r["data"]["tierPolicyUpdate"]["policy"] == {"wSpend": 0.1, "aMin": 50.0, "bMin": 15.0}
    await fn({}, str(brand_a.tenant_id), "")
    r = (await gql(brand_a.token(), q, {"id": gid(rich)}))["data"]["customer"]
    assert r["tier"] == "B" and r["tierHistory"][0] == {"fromTier": "A", "toTier": "B"}
    bad = await gql(brand_a.token(), "mutation { tierPolicyUpdate(aMin: 1, bMin: 5) { errors { code } } }")
    assert bad["data"]["tierPolicyUpdate"]["errors"][0]["code"] == "INVALID_POLICY"
    r = await gql(brand_a.token("analyst"), "mutation { tierPolicyUpdate(aMin: 99) { errors { code } } }", errors_ok=True)
    assert r["errors"][0]["extensions"]["missingScope"] == "admin"


async def test_customers_query_count_is_constant(gql, brand_a):
    q = """{ customers(first: 50) { nodes { id name dealer { code region } products { productModel purchaseDealer { code } }
             contactPoints { value } externalRefs { externalId } promises { status } tierHistory { toTier } tenureYears } } }"""
    tok = brand_a.token()
    for _ in range(2):
        c = await make_customer(brand_a)
        await gql(tok, 'mutation($id: ID!) { customerProductAdd(customerId: $id, productModel: "X") { errors { code } } }', {"id": gid(c)})
    with count_queries() as small:
        await gql(tok, q)
    for i in range(12):
        c = await make_customer(brand_a, dealer_key=("d1", "d2", "d3")[i % 3])
        await gql(tok, 'mutation($id: ID!) { customerProductAdd(customerId: $id, productModel: "Y") { errors { code } } }', {"id": gid(c)})
    with count_queries() as big:
        await gql(tok, q)
    assert small.count == big.count, (small.statements, big.statements)
    assert big.count <= 12


async def test_promises_products_and_policy_are_isolated(gql, brand_a, brand_b):
    c = await make_customer(brand_a, "d3")
    tok_a = brand_a.token()
    p = await gql(tok_a, 'mutation($id: ID!) { customerPromiseAdd(customerId: $id, description: "secret deal") { promise { id } } }', {"id": gid(c)})
    pid = p["data"]["customerPromiseAdd"]["promise"]["id"]
    prod = await gql(tok_a, 'mutation($id: ID!) { customerProductAdd(customerId: $id, productModel: "Q7") { product { id } } }', {"id": gid(c)})
    prod_id = prod["data"]["customerProductAdd"]["product"]["id"]
    await gql(tok_a, "mutation { tierPolicyUpdate(aMin: 77) { errors { code } } }")
    for token in (brand_b.token(), brand_a.token("d1_agent")):
        for ident in (pid, prod_id):
            assert (await gql(token, "query($id: ID!) { node(id: $id) { id } }", {"id": ident}))["data"]["node"] is None
        r = await gql(token, 'mutation($id: ID!) { customerPromiseResolve(id: $id, kept: true) { errors { code } } }', {"id": pid})
        assert r["data"]["customerPromiseResolve"]["errors"][0]["code"] == "NOT_FOUND"
    assert (await gql(brand_b.token(), "{ tierPolicy { aMin } }"))["data"]["tierPolicy"]["aMin"] == 40.0
    assert (await gql(tok_a, "{ tierPolicy { aMin } }"))["data"]["tierPolicy"]["aMin"] == 77.0
    body = await gql(tok_a, "query($id: ID!) { node(id: $id) { ... on Promise { status description } } }", {"id": pid})
    assert body["data"]["node"] == {"status": "OPEN", "description": "secret deal"}


async def test_out_of_range_numbers_are_field_errors(gql, brand_a):
    body = await gql(brand_a.token(), CREATE.replace("tags }", "tags }"), {"i": {"name": "Big", "serviceSpend": 1e300, "referrals": -1}})
    assert {e["field"] for e in body["data"]["customerCreate"]["errors"]} == {"serviceSpend", "referrals"}


async def test_survey_scores_need_surveys_write_and_reach_the_timeline(gql, brand_a, brand_b):
    c = await make_customer(brand_a)
    q = 'mutation($id: ID!, $s: Float!) { customerSurveyScoreRecord(customerId: $id, score: $s, survey: "after-sales") { customer { lastSurveyScore } errors { field code } } }'
    r = await gql(brand_a.token(), q, {"id": gid(c), "s": 2.5})
    assert r["data"]["customerSurveyScoreRecord"]["customer"]["lastSurveyScore"] == 2.5
    r = await gql(brand_a.token(), q, {"id": gid(c), "s": 11})
    assert r["data"]["customerSurveyScoreRecord"]["errors"][0]["field"] == "score"
    r = await gql(brand_a.token("d1_agent"), q, {"id": gid(c), "s": 10}, errors_ok=True)
    assert r["errors"][0]["extensions"]["missingScope"] == "surveys:write"  # dealers cannot score themselves
    r = await gql(brand_b.token(), q, {"id": gid(c), "s": 10})
    assert r["data"]["customerSurveyScoreRecord"]["errors"][0]["code"] == "NOT_FOUND"
    body = await gql(brand_a.token(), 'query($id: ID!) { customerTimeline(customerId: $id, kinds: [SURVEY]) { nodes { summary } } }', {"id": gid(c)})
    assert body["data"]["customerTimeline"]["nodes"] == [{"summary": {"score": 2.5, "survey": "after-sales"}}]



async def test_without_pii_search_cannot_probe_contact_details(gql, brand_a):
    await make_customer(brand_a, name="Probe Target", contact_points=[{"channel": "phone", "value": "13911223344"},
                                                                          {"channel": "email", "value": "probe@secret.cn"}],
                            external_refs=[{"source": "crm", "external_id": "PRB-1"}])
    for term in ("1391122", "13911223344", "probe@secret", "secret.cn"):
        assert await names(gql, brand_a.token("analyst"), {"search": term}) == [], term
        assert await names(gql, brand_a.token(), {"search": term}) == ["Probe Target"], term
    for term in ("probe target", "prb-1"):
        assert await names(gql, brand_a.token("analyst"), {"search": term}) == ["Probe Target"]


async def test_common_and_rare_terms_page_alike(gql, brand_a, monkeypatch):
    """A term with more than SEARCH_DENSE_HITS matches walks the ordering instead of collecting
    every hit first: the pages, both ways and by every order, are the same either way."""
    from app.customer import repository

    for i in range(7):
        await make_customer(brand_a, name=f"Densa {i} {'甲乙丙'[i % 3]}", external_refs=[{"source": "crm", "external_id": f"DN-{i}"}])
    tok = brand_a.token()
    pages_q = """query($f: CustomerFilter, $o: CustomerOrderField!, $after: String, $before: String, $first: Int, $last: Int) {
        customers(filter: $f, orderBy: $o, first: $first, after: $after, last: $last, before: $before) {
          nodes { name } pageInfo { endCursor startCursor hasNextPage hasPreviousPage } } }"""

    async def walk(term: str, order: str) -> tuple[list, list]:
        forward, after = [], None
        while True:
            c = (await gql(tok, pages_q, {"f": {"search": term}, "o": order, "first": 2, "after": after}))["data"]["customers"]
            forward += [n["name"] for n in c["nodes"]]
            if not c["pageInfo"]["hasNextPage"]:
                break
            after = c["pageInfo"]["endCursor"]
        backward, before = [], None
        while True:
            c = (await gql(tok, pages_q, {"f": {"search": term}, "o": order, "last": 3, "before": before}))["data"]["customers"]
            backward = [n["name"] for n in c["nodes"]] + backward
            if not c["pageInfo"]["hasPreviousPage"]:
                break
            before = c["pageInfo"]["startCursor"]
        return forward, backward

    for term in ("densa", "dn-", "densa 1"):
        for order in ("NAME", "CREATED_AT"):
            monkeypatch.setattr(repository, "SEARCH_DENSE_HITS", 1000)
            sparse = await walk(term, order)
            monkeypatch.setattr(repository, "SEARCH_DENSE_HITS", 2)
            dense = await walk(term, order)
            assert sparse == dense, (term, order)
            assert sparse[0] == sparse[1] and len(set(sparse[0])) == len(sparse[0])
            assert len(sparse[0]) == (1 if term == "densa 1" else 7), (term, sparse)
