"""Regression tests for the issues a security review found (each failed before its fix)."""
import base64

import httpx
from authlib.common.security import generate_token

from app.core import db
from app.core.ids import to_global_id
from app.customer.models import ContactPoint, Customer, ImportChunk
from tests.factories import fresh_window, make_app, make_customer, set_password
from tests.import_helpers import HEADER, csv_rows, run, upload
from tests.oauth_helpers import PASSWORD, REDIRECT, hidden_fields, s256


def gid(c):
    return to_global_id("Customer", c.id)


async def test_malformed_cursors_are_invalid_cursor_not_500(gql, brand_a):
    for cursor in ("WzEsMl0", base64.urlsafe_b64encode(b'[5,"00000000-0000-0000-0000-000000000000"]').decode().rstrip("="),
                   base64.urlsafe_b64encode(b'["a\\u0000","00000000-0000-0000-0000-000000000000"]').decode().rstrip("=")):
        for q in ("query($a: String) { customers(after: $a) { nodes { id } } }", "query($a: String) { dealers(after: $a) { nodes { id } } }",
                  "query($a: String) { partnerApps(after: $a) { nodes { id } } }"):
            body = await gql(brand_a.token(), q, {"a": cursor}, errors_ok=True)
            assert body["errors"][0]["extensions"]["code"] == "INVALID_CURSOR", (q, cursor)
    body = await gql(brand_a.token(), 'query($a: String) { customers(after: $a, orderBy: CREATED_AT) { nodes { id } } }',
                     {"a": base64.urlsafe_b64encode(b'["2024-01-01T00:00:00","00000000-0000-0000-0000-000000000000"]').decode()}, errors_ok=True)
    assert body["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"


async def test_datetimes_without_time_zone_are_field_errors(gql, brand_a):
    c = await make_customer(brand_a)
    r = await gql(brand_a.token(), 'mutation($id: ID!) { customerInteractionAdd(customerId: $id, kind: CALL, outcome: REACHED, occurredAt: "2024-01-01T10:00:00") { errors { field } } }', {"id": gid(c)})
    assert r["data"]["customerInteractionAdd"]["errors"] == [{"field": "occurredAt"}]


async def test_non_utf8_basic_credentials_are_invalid_client(client):
    for path in ("/oauth/token", "/oauth/revoke", "/oauth/introspect"):
        r = await client.post(path, data={"grant_type": "client_credentials", "token": "x"}, headers={"Authorization": "Basic /w=="})
        assert r.status_code == 401 and r.json()["error"] == "invalid_client", path


async def test_failed_logins_from_one_ip_do_not_lock_out_a_partner(app, brand_a, monkeypatch):
    from app.settings import get_settings

    partner, secret = await make_app(brand_a)
    monkeypatch.setattr(get_settings(), "rate_limit_token_per_client", 3)
    attacker = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("203.0.113.9", 4000)), base_url="http://t")
    victim = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("198.51.100.7", 4000)), base_url="http://t")
    async with attacker, victim:
        with fresh_window():
            codes = [(await attacker.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(partner.client_id, "guess"))).status_code
                     for _ in range(5)]
            assert codes[-1] == 429
            r = await victim.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(partner.client_id, secret))
            assert r.status_code == 200


async def test_redirect_uri_may_be_omitted_with_one_registered_uri(client, brand_a):
    app, _ = await make_app(brand_a, client_type="public", grant_types=["authorization_code"], redirect_uris=[REDIRECT],
                            scopes=["customers:read"], first_party=True)
    await set_password(brand_a, "admin", PASSWORD)
    verifier = generate_token(64)
    url = (f"/oauth/authorize?response_type=code&client_id={app.client_id}&scope=customers:read&state=s1"
           f"&code_challenge={s256(verifier)}&code_challenge_method=S256")
    page = await client.get(url)
    r = await client.post("/oauth/authorize", data={**hidden_fields(page.text), "email": brand_a.users["admin"].email, "password": PASSWORD})
    assert r.status_code == 302 and r.headers["location"].startswith(REDIRECT)
    code = r.headers["location"].split("code=")[1].split("&")[0]
    r = await client.post("/oauth/token", data={"grant_type": "authorization_code", "code": code, "client_id": app.client_id,
                                                "code_verifier": verifier})
    assert r.status_code == 200, r.text


async def test_introspection_reports_tokens_of_disabled_apps_inactive(client, gql, brand_a):
    partner, secret = await make_app(brand_a)
    token = (await client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(partner.client_id, secret))).json()["access_token"]
    introspector, isecret = await make_app(brand_a, scopes=["admin"])
    r = await client.post("/oauth/introspect", data={"token": token}, auth=(introspector.client_id, isecret))
    assert r.json()["active"] is True
    await gql(brand_a.token(), "mutation($id: ID!) { partnerAppDisable(id: $id) { errors { code } } }", {"id": to_global_id("PartnerApp", partner.id)})
    r = await client.post("/oauth/introspect", data={"token": token}, auth=(introspector.client_id, isecret))
    assert r.json() == {"active": False}


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
