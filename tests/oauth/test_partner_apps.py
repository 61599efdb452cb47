"""Partner app management over GraphQL: secrets, rotation, isolation, audit, rate limits."""
from datetime import timedelta

import pytest

from app.core import clock, db
from app.core.ids import to_global_id
from app.oauth.models import PartnerApp
from tests.factories import fresh_window, make_app

CREATE = """mutation($i: PartnerAppCreateInput!) { partnerAppCreate(input: $i) {
  partnerApp { id clientId name clientType grantTypes redirectUris scopes status secretHint firstParty dealer { code } }
  clientSecret errors { field code message } } }"""
ROTATE = """mutation($i: PartnerAppRotateSecretInput!) { partnerAppRotateSecret(input: $i) {
  partnerApp { secretHint previousSecretExpiresAt } clientSecret errors { field code } } }"""
APPS = "{ partnerApps(first: 50) { nodes { id clientId name } } }"


async def create(gql, brand, **over):
    i = {"name": "Call centre", "clientType": "CONFIDENTIAL", "grantTypes": ["CLIENT_CREDENTIALS"], "scopes": ["CUSTOMERS_READ"], **over}
    return (await gql(brand.token(), CREATE, {"i": i}))["data"]["partnerAppCreate"]


async def cc_token(client, client_id, secret):
    return await client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret))


async def test_create_shows_secret_once_and_stores_only_a_hash(gql, client, brand_a):
    out = await create(gql, brand_a, dealerId=brand_a.gid("Dealer", "d1"))
    assert out["errors"] == [] and out["clientSecret"].startswith("hfs_")
    app = out["partnerApp"]
    assert app["clientId"].startswith(f"hfc_{brand_a.tenant_id.hex}_") and app["dealer"] == {"code": "N-001"}
    assert app["secretHint"] == out["clientSecret"][-4:] and app["status"] == "ACTIVE"
    async with db.tenant_transaction(brand_a.tenant_id):
        row = await PartnerApp.get(tenant_id=brand_a.tenant_id, client_id=app["clientId"])
    assert out["clientSecret"] not in str(row.__dict__) and len(row.secret_hash) == 64
    body = await gql(brand_a.token(), "query($id: ID!) { node(id: $id) { ... on PartnerApp { clientId } } }", {"id": app["id"]})
    assert body["data"]["node"]["clientId"] == app["clientId"]
    assert (await cc_token(client, app["clientId"], out["clientSecret"])).status_code == 200


@pytest.mark.parametrize("over,field,code", [
    ({"name": " "}, "name", "INVALID"),
    ({"redirectUris": ["http://evil.example/cb"], "grantTypes": ["AUTHORIZATION_CODE"]}, "redirectUris", "INVALID_REDIRECT_URI"),
    ({"redirectUris": ["https://ok.example/cb#frag"], "grantTypes": ["AUTHORIZATION_CODE"]}, "redirectUris", "INVALID_REDIRECT_URI"),
    ({"grantTypes": ["AUTHORIZATION_CODE"]}, "redirectUris", "INVALID_REDIRECT_URI"),
    ({"clientType": "PUBLIC"}, "grantTypes", "INVALID_GRANT_TYPES"),
    ({"grantTypes": ["REFRESH_TOKEN"]}, "grantTypes", "INVALID_GRANT_TYPES"),
    ({"scopes": []}, "scopes", "INVALID_SCOPE"),
])
async def test_invalid_apps_are_refused_and_nothing_is_written(gql, brand_a, over, field, code):
    out = await create(gql, brand_a, **over)
    assert out["partnerApp"] is None and out["clientSecret"] is None
    assert (field, code) in {(e["field"], e["code"]) for e in out["errors"]}
    body = await gql(brand_a.token(), APPS)
    assert body["data"]["partnerApps"]["nodes"] == []


async def test_dealer_of_another_brand_is_not_found(gql, brand_a, brand_b):
    out = await create(gql, brand_a, dealerId=brand_b.gid("Dealer", "d1"))
    assert out["errors"][0]["code"] == "NOT_FOUND" and out["partnerApp"] is None


async def test_rotation_keeps_the_old_secret_for_the_overlap(gql, client, brand_a):
    out = await create(gql, brand_a)
    cid, old = out["partnerApp"]["clientId"], out["clientSecret"]
    rot = (await gql(brand_a.token(), ROTATE, {"i": {"id": out["partnerApp"]["id"], "overlapSeconds": 600}}))["data"]["partnerAppRotateSecret"]
    new = rot["clientSecret"]
    assert new != old and rot["partnerApp"]["secretHint"] == new[-4:] and rot["partnerApp"]["previousSecretExpiresAt"]
    assert (await cc_token(client, cid, old)).status_code == 200
    assert (await cc_token(client, cid, new)).status_code == 200
    with clock.freeze(clock.now() + timedelta(seconds=601)):
        assert (await cc_token(client, cid, old)).status_code == 401
        assert (await cc_token(client, cid, new)).status_code == 200
    # no overlap: the old secret dies at once
    rot2 = (await gql(brand_a.token(), ROTATE, {"i": {"id": out["partnerApp"]["id"], "overlapSeconds": 0}}))["data"]["partnerAppRotateSecret"]
    assert (await cc_token(client, cid, new)).status_code == 401
    assert (await cc_token(client, cid, rot2["clientSecret"])).status_code == 200
    bad = (await gql(brand_a.token(), ROTATE, {"i": {"id": out["partnerApp"]["id"], "overlapSeconds": 10**8}}))["data"]["partnerAppRotateSecret"]
    assert bad["errors"][0]["field"] == "overlapSeconds"


async def test_update_enable_delete(gql, client, brand_a):
    out = await create(gql, brand_a)
    gid, cid, secret = out["partnerApp"]["id"], out["partnerApp"]["clientId"], out["clientSecret"]
    body = await gql(brand_a.token(), 'mutation($i: PartnerAppUpdateInput!) { partnerAppUpdate(input: $i) { partnerApp { name scopes } errors { code } } }',
                     {"i": {"id": gid, "name": "Renamed", "scopes": ["TICKETS_READ", "CUSTOMERS_READ"]}})
    assert body["data"]["partnerAppUpdate"]["partnerApp"] == {"name": "Renamed", "scopes": ["CUSTOMERS_READ", "TICKETS_READ"]}
    token = (await cc_token(client, cid, secret)).json()["access_token"]
    for m in ("partnerAppDisable", "partnerAppEnable"):
        body = await gql(brand_a.token(), f"mutation($id: ID!) {{ {m}(id: $id) {{ partnerApp {{ status }} }} }}", {"id": gid})
    assert body["data"]["partnerAppEnable"]["partnerApp"]["status"] == "ACTIVE"
    body = await gql(brand_a.token(), "mutation($id: ID!) { partnerAppDelete(id: $id) { deletedId errors { code } } }", {"id": gid})
    assert body["data"]["partnerAppDelete"] == {"deletedId": gid, "errors": []}
    assert (await cc_token(client, cid, secret)).status_code == 401
    r = await client.post("/graphql", json={"query": "{ viewer { actorKind } }"}, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401


async def test_other_brand_and_non_admins_get_nothing(gql, brand_a, brand_b):
    out = await create(gql, brand_a)
    gid = out["partnerApp"]["id"]
    tok_b = brand_b.token()
    assert (await gql(tok_b, APPS))["data"]["partnerApps"]["nodes"] == []
    assert (await gql(tok_b, "query($id: ID!) { node(id: $id) { id } }", {"id": gid}))["data"]["node"] is None
    assert (await gql(tok_b, "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": [gid]}))["data"]["nodes"] == [None]
    for m in ("partnerAppDisable", "partnerAppEnable"):
        body = await gql(tok_b, f"mutation($id: ID!) {{ {m}(id: $id) {{ partnerApp {{ id }} errors {{ code }} }} }}", {"id": gid})
        assert body["data"][m]["errors"][0]["code"] == "NOT_FOUND"
    body = await gql(tok_b, "mutation($id: ID!) { partnerAppDelete(id: $id) { deletedId errors { code } } }", {"id": gid})
    assert body["data"]["partnerAppDelete"]["errors"][0]["code"] == "NOT_FOUND"
    body = await gql(tok_b, ROTATE, {"i": {"id": gid}})
    assert body["data"]["partnerAppRotateSecret"]["errors"][0]["code"] == "NOT_FOUND"
    body = await gql(tok_b, 'mutation($i: PartnerAppUpdateInput!) { partnerAppUpdate(input: $i) { errors { code } } }', {"i": {"id": gid, "name": "x"}})
    assert body["data"]["partnerAppUpdate"]["errors"][0]["code"] == "NOT_FOUND"
    assert (await gql(brand_a.token(), APPS))["data"]["partnerApps"]["nodes"][0]["name"] == "Call centre"
    # staff without `admin` are told which scope is missing
    for who in ("analyst", "d1_agent", "regional"):
        body = await gql(brand_a.token(who), APPS, errors_ok=True)
        assert body["errors"][0]["extensions"] == {"code": "PERMISSION_DENIED", "missingScope": "admin"}
        body = await gql(brand_a.token(who), "query($id: ID!) { node(id: $id) { id } }", {"id": gid}, errors_ok=True)
        assert body["errors"][0]["extensions"]["missingScope"] == "admin"


async def test_audit_trail_without_secrets(gql, client, brand_a, caplog):
    out = await create(gql, brand_a)
    cid, secret = out["partnerApp"]["clientId"], out["clientSecret"]
    rot = (await gql(brand_a.token(), ROTATE, {"i": {"id": out["partnerApp"]["id"]}}))["data"]["partnerAppRotateSecret"]
    tok = (await cc_token(client, cid, rot["clientSecret"])).json()["access_token"]
    await client.post("/oauth/revoke", data={"token": tok}, auth=(cid, rot["clientSecret"]))
    body = await gql(brand_a.token(), "{ auditEvents(first: 20) { nodes { action actor targetId details requestId } } }")
    events = body["data"]["auditEvents"]["nodes"]
    actions = [e["action"] for e in events]
    assert actions[:4] == ["token.revoked", "token.issued", "partner_app.secret_rotated", "partner_app.created"]
    dump = str(events) + caplog.text
    for s in (secret, rot["clientSecret"], tok):
        assert s not in dump
    page1 = await gql(brand_a.token(), "{ auditEvents(first: 2) { nodes { action } pageInfo { endCursor hasNextPage } } }")
    after = page1["data"]["auditEvents"]["pageInfo"]["endCursor"]
    page2 = await gql(brand_a.token(), "query($a: String) { auditEvents(first: 2, after: $a) { nodes { action } } }", {"a": after})
    assert [e["action"] for e in page2["data"]["auditEvents"]["nodes"]] == actions[2:4]


async def test_token_endpoint_rate_limits(client, brand_a, monkeypatch):
    from app.settings import get_settings

    app, secret = await make_app(brand_a)
    monkeypatch.setattr(get_settings(), "rate_limit_token_per_client", 3)
    with fresh_window():
        codes = [(await cc_token(client, app.client_id, "wrong")).status_code for _ in range(5)]
        assert codes[:3] == [401, 401, 401] and codes[3:] == [429, 429]
        r = await cc_token(client, app.client_id, secret)
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0 and r.json()["error"] == "slow_down"


async def test_login_rate_limit_per_account(client, brand_a, monkeypatch):
    from app.settings import get_settings
    from tests.oauth_helpers import REDIRECT, authorize_url, hidden_fields

    app, _ = await make_app(brand_a, client_type="public", grant_types=["authorization_code"], redirect_uris=[REDIRECT],
                            scopes=["customers:read"], first_party=True)
    monkeypatch.setattr(get_settings(), "rate_limit_login_per_account", 2)
    page = await client.get(authorize_url("", app.client_id))
    form = hidden_fields(page.text)
    codes = []
    with fresh_window():
        for _ in range(4):
            r = await client.post("/oauth/authorize", data={**form, "email": brand_a.users["admin"].email, "password": "guess"})
            codes.append(r.status_code)
    assert codes == [401, 401, 429, 429]


async def test_token_endpoint_rate_limit_per_ip(client, brand_a, monkeypatch):
    from app.settings import get_settings

    app, secret = await make_app(brand_a)
    monkeypatch.setattr(get_settings(), "rate_limit_token_per_ip", 2)
    with fresh_window():
        codes = [(await cc_token(client, app.client_id, secret)).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


async def test_dealer_restriction_can_be_set_and_lifted(gql, brand_a, brand_b):
    out = await create(gql, brand_a)
    q = 'mutation($i: PartnerAppUpdateInput!) { partnerAppUpdate(input: $i) { partnerApp { dealer { code } } errors { code field } } }'
    r = await gql(brand_a.token(), q, {"i": {"id": out["partnerApp"]["id"], "dealerId": brand_a.gid("Dealer", "d3")}})
    assert r["data"]["partnerAppUpdate"]["partnerApp"]["dealer"] == {"code": "E-001"}
    r = await gql(brand_a.token(), q, {"i": {"id": out["partnerApp"]["id"], "dealerId": brand_b.gid("Dealer", "d1")}})
    assert r["data"]["partnerAppUpdate"]["errors"][0]["code"] == "NOT_FOUND"
    r = await gql(brand_a.token(), q, {"i": {"id": out["partnerApp"]["id"], "clearDealer": True}})
    assert r["data"]["partnerAppUpdate"]["partnerApp"]["dealer"] is None


async def test_dealer_bound_callers_cannot_administer_and_apps_cannot_exceed_their_creator(gql, client, brand_a):
    app, secret = await make_app(brand_a, scopes=["admin", "customers:read"], dealer_id=brand_a.dealers["d1"].id)
    tok = (await cc_token(client, app.client_id, secret)).json()["access_token"]
    for q in (APPS, '{ auditEvents { nodes { action } } }', 'mutation { tierPolicyUpdate(aMin: 99) { errors { code } } }',
              'mutation { dealerCreate(input: {code: "Q-1", name: "q", region: "x"}) { errors { code } } }'):
        r = await client.post("/graphql", json={"query": q}, headers={"Authorization": f"Bearer {tok}"})
        assert r.json()["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED", q
    r = await client.post("/graphql", json={"query": 'mutation($i: PartnerAppUpdateInput!) { partnerAppUpdate(input: $i) { errors { code } } }',
                                            "variables": {"i": {"id": to_global_id("PartnerApp", app.id), "clearDealer": True}}},
                          headers={"Authorization": f"Bearer {tok}"})
    assert r.json()["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    # an admin whose token is narrowed to `admin` cannot mint an app holding customers:read
    narrowed = brand_a.token("admin", scope="admin")
    out = (await gql(narrowed, CREATE, {"i": {"name": "x", "clientType": "CONFIDENTIAL", "grantTypes": ["CLIENT_CREDENTIALS"],
                                              "scopes": ["CUSTOMERS_READ"]}}))["data"]["partnerAppCreate"]
    assert out["errors"][0]["code"] == "SCOPE_EXCEEDS_CALLER" and out["partnerApp"] is None
