"""OAuth regressions from the two code reviews: Basic credentials, per-client login limits, an
omitted redirect URI, introspection of a disabled app's tokens, code and refresh-token expiry and
dealer-restricted apps (moved from tests/test_review_fixes.py and tests/test_gaps.py; each failed
before its fix)."""
from datetime import timedelta

import httpx
from authlib.common.security import generate_token

from app.core import clock
from app.core.ids import to_global_id
from tests.factories import fresh_window, make_app, set_password
from tests.oauth_helpers import PASSWORD, REDIRECT, hidden_fields, s256

# ---- the security review (was tests/test_review_fixes.py; each failed before its fix) ----------------

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



# ---- the second review: behaviour it found untested (was tests/test_gaps.py) ------------------------

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

