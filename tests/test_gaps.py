"""Behaviour the second review found untested."""
import uuid
from datetime import timedelta

from authlib.common.security import generate_token

from app.core import clock, jobs
from app.core.ids import to_global_id
from tests.factories import make_app, make_customer, set_password
from tests.oauth_helpers import PASSWORD, REDIRECT, hidden_fields, s256
from tests.querycount import count_queries


async def login_code(client, brand, app, user="admin", scope="customers:read"):
    verifier = generate_token(64)
    url = (f"/oauth/authorize?response_type=code&client_id={app.client_id}&redirect_uri={REDIRECT}&scope={scope}&state=s"
           f"&code_challenge={s256(verifier)}&code_challenge_method=S256")
    page = await client.get(url)
    r = await client.post("/oauth/authorize", data={**hidden_fields(page.text), "email": brand.users[user].email, "password": PASSWORD})
    assert r.status_code == 302, r.text
    return r.headers["location"].split("code=")[1].split("&")[0], verifier


def exchange(code, verifier, app):
    return {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "client_id": app.client_id, "code_verifier": verifier}


async def test_codes_and_refresh_tokens_expire(client, brand_a):
    app, _ = await make_app(brand_a, client_type="public", grant_types=["authorization_code", "refresh_token"],
                            redirect_uris=[REDIRECT], scopes=["customers:read"], first_party=True)
    await set_password(brand_a, "admin", PASSWORD)
    code, verifier = await login_code(client, brand_a, app)
    with clock.freeze(clock.now() + timedelta(seconds=61)):  # codes live 60 s
        r = await client.post("/oauth/token", data=exchange(code, verifier, app))
    assert r.json()["error"] == "invalid_grant"
    code, verifier = await login_code(client, brand_a, app)
    token = (await client.post("/oauth/token", data=exchange(code, verifier, app))).json()
    with clock.freeze(clock.now() + timedelta(days=31)):  # refresh tokens live 30 days
        r = await client.post("/oauth/token", data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"], "client_id": app.client_id})
    assert r.json()["error"] == "invalid_grant"


async def test_user_through_a_dealer_restricted_app_sees_that_dealer_only(client, brand_a):
    app, _ = await make_app(brand_a, client_type="public", grant_types=["authorization_code"], redirect_uris=[REDIRECT],
                            scopes=["customers:read", "admin"], dealer_id=brand_a.dealers["d3"].id, first_party=True)
    await set_password(brand_a, "admin", PASSWORD)
    code, verifier = await login_code(client, brand_a, app, scope="customers:read admin")
    token = (await client.post("/oauth/token", data=exchange(code, verifier, app))).json()["access_token"]
    h = {"Authorization": f"Bearer {token}"}
    r = await client.post("/graphql", json={"query": "{ dealers { nodes { code } } }"}, headers=h)
    assert [n["code"] for n in r.json()["data"]["dealers"]["nodes"]] == ["E-001"]
    r = await client.post("/graphql", json={"query": "{ partnerApps { nodes { id } } }"}, headers=h)
    assert r.json()["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"  # administration is brand-wide


async def test_readyz_reports_503_when_redis_is_down(client, monkeypatch):
    def broken():
        raise ConnectionError("down")

    monkeypatch.setattr(jobs, "pool", broken)
    r = await client.get("/readyz")
    assert r.status_code == 503 and r.json()["checks"]["redis"].startswith("error") and r.json()["checks"]["database"] == "ok"


async def test_size_limits_on_ids_and_search(gql, brand_a):
    body = await gql(brand_a.token(), "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ["x"] * 101}, errors_ok=True)
    assert body["errors"][0]["extensions"]["code"] == "INVALID_ID"
    body = await gql(brand_a.token(), "query($s: String) { customers(filter: {search: $s}) { nodes { id } } }", {"s": "x" * 101}, errors_ok=True)
    assert body["errors"][0]["extensions"]["code"] == "INVALID"


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


async def test_list_queries_have_constant_statement_counts(gql, brand_a):
    q = "{ partnerApps(first: 50) { nodes { name dealer { code } } } customerImports(first: 10) { nodes { status } } auditEvents(first: 20) { nodes { action } } }"
    uq = "{ users(first: 50) { nodes { email memberships { role dealer { code } } } } }"
    await make_app(brand_a, dealer_id=brand_a.dealers["d1"].id)
    with count_queries() as small:
        await gql(brand_a.token(), q)
    with count_queries() as users_small:
        await gql(brand_a.token(), uq)
    for key in ("d1", "d2", "d3", "d1", "d2"):
        await make_app(brand_a, dealer_id=brand_a.dealers[key].id)
        await gql(brand_a.token(), 'mutation($i: UserCreateInput!) { userCreate(input: $i) { errors { code } } }',
                  {"i": {"email": f"qc-{key}-{uuid.uuid4().hex[:6]}@x.cn", "displayName": "qc",
                         "memberships": [{"role": "DEALER_AGENT", "dealerId": brand_a.gid("Dealer", key)}]}})
    with count_queries() as big:
        await gql(brand_a.token(), q)
    with count_queries() as users_big:
        await gql(brand_a.token(), uq)
    assert small.count == big.count
    assert users_small.count == users_big.count
    c = await make_customer(brand_a)
    tq = 'query($id: ID!) { customerTimeline(customerId: $id, first: 50) { nodes { kind } } }'
    with count_queries() as one:
        await gql(brand_a.token(), tq, {"id": to_global_id("Customer", c.id)})
    assert one.count <= 6


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
