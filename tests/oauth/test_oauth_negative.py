"""OAuth negative cases: every one is refused in the RFC 6749 format and changes nothing."""
import re

import httpx
import pytest
from authlib.common.security import generate_token

from app.core.ids import to_global_id
from tests.factories import make_app, set_password
from tests.oauth_helpers import PASSWORD, REDIRECT, api, authorize_url, code_flow, hidden_fields


@pytest.fixture
async def cc_app(brand_a):
    return await make_app(brand_a, scopes=["customers:read"])


@pytest.fixture
async def code_app(brand_a):
    app, _ = await make_app(brand_a, client_type="public", grant_types=["authorization_code", "refresh_token"],
                            redirect_uris=[REDIRECT], scopes=["customers:read", "admin"], first_party=True)
    await set_password(brand_a, "admin", PASSWORD)
    return app


async def token_req(base, data, auth=None):
    async with httpx.AsyncClient() as c:
        return await c.post(f"{base}/oauth/token", data=data, auth=auth)


async def test_wrong_secret_and_unknown_client(live_server, cc_app):
    app, secret = cc_app
    r = await token_req(live_server, {"grant_type": "client_credentials"}, auth=(app.client_id, secret + "x"))
    assert r.status_code == 401 and r.json()["error"] == "invalid_client" and "Basic" in r.headers["www-authenticate"]
    r = await token_req(live_server, {"grant_type": "client_credentials"}, auth=("hfc_nonsense", secret))
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    r = await token_req(live_server, {"grant_type": "client_credentials"})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"


async def test_disabled_client_and_its_tokens(live_server, brand_a, cc_app, gql):
    app, secret = cc_app
    token = (await token_req(live_server, {"grant_type": "client_credentials"}, auth=(app.client_id, secret))).json()["access_token"]
    assert (await api(live_server, token)).status_code == 200
    body = await gql(brand_a.token(), "mutation($id: ID!) { partnerAppDisable(id: $id) { partnerApp { status } errors { code } } }",
                     {"id": to_global_id("PartnerApp", app.id)})
    assert body["data"]["partnerAppDisable"]["partnerApp"]["status"] == "DISABLED"
    r = await token_req(live_server, {"grant_type": "client_credentials"}, auth=(app.client_id, secret))
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    r = await api(live_server, token)
    assert r.status_code == 401 and "disabled" in r.json()["errors"][0]["message"]


async def test_unregistered_redirect_uri_never_redirects(live_server, code_app):
    async with httpx.AsyncClient(follow_redirects=False) as c:
        for uri in ("https://evil.example/cb", REDIRECT + "/extra", REDIRECT.replace("8765", "8766"), 'https://x/"'):
            r = await c.get(authorize_url(live_server, code_app.client_id, redirect_uri=uri))
            assert r.status_code == 400 and "location" not in r.headers, uri
            assert "Cannot continue" in r.text


@pytest.mark.parametrize("params,fragment", [
    ({"code_challenge": None, "code_challenge_method": None}, "code_challenge"),
    ({"code_challenge_method": "plain"}, "S256"),
    ({"code_challenge_method": None}, "S256"),
])
async def test_pkce_is_required_and_s256_only(live_server, code_app, params, fragment):
    async with httpx.AsyncClient(follow_redirects=False) as c:
        r = await c.get(authorize_url(live_server, code_app.client_id, **params))
    assert r.status_code == 302
    loc = r.headers["location"]
    assert loc.startswith(REDIRECT) and "error=invalid_request" in loc and "state=xyz" in loc


async def test_wrong_code_verifier_and_redirect_mismatch(live_server, brand_a, code_app):
    client, location, verifier = await code_flow(live_server, code_app, brand_a.users["admin"].email, scope="customers:read")
    code = re.search(r"code=([^&]+)", location).group(1)
    base = {"grant_type": "authorization_code", "code": code, "client_id": code_app.client_id}
    r = await token_req(live_server, {**base, "redirect_uri": REDIRECT, "code_verifier": generate_token(64)})
    assert r.json()["error"] == "invalid_grant"
    r = await token_req(live_server, {**base, "redirect_uri": REDIRECT + "x", "code_verifier": verifier})
    assert r.json()["error"] == "invalid_grant"
    r = await token_req(live_server, {**base, "redirect_uri": REDIRECT})
    assert r.json()["error"] in ("invalid_request", "invalid_grant")
    # the failed attempts did not consume the code
    r = await token_req(live_server, {**base, "redirect_uri": REDIRECT, "code_verifier": verifier})
    assert r.status_code == 200


async def test_scope_escalation_is_refused(live_server, brand_a, cc_app, code_app):
    app, secret = cc_app
    r = await token_req(live_server, {"grant_type": "client_credentials", "scope": "customers:read admin"}, auth=(app.client_id, secret))
    assert r.status_code == 400 and r.json()["error"] == "invalid_scope"
    r = await token_req(live_server, {"grant_type": "client_credentials", "scope": "superpowers"}, auth=(app.client_id, secret))
    assert r.json()["error"] == "invalid_scope"
    # at the authorize endpoint: back to the client with invalid_scope
    async with httpx.AsyncClient(follow_redirects=False) as c:
        r = await c.get(authorize_url(live_server, code_app.client_id, scope="tickets:write"))
    assert "error=invalid_scope" in r.headers["location"]
    # refresh cannot widen the scope
    client, location, verifier = await code_flow(live_server, code_app, brand_a.users["admin"].email, scope="customers:read")
    token = await client.fetch_token(f"{live_server}/oauth/token", authorization_response=location, code_verifier=verifier)
    r = await token_req(live_server, {"grant_type": "refresh_token", "refresh_token": token["refresh_token"],
                                      "client_id": code_app.client_id, "scope": "customers:read admin"})
    assert r.json()["error"] == "invalid_scope"


async def test_grant_type_not_allowed_for_client(live_server, cc_app, code_app):
    app, secret = cc_app
    r = await token_req(live_server, {"grant_type": "authorization_code", "code": "x", "redirect_uri": REDIRECT}, auth=(app.client_id, secret))
    assert r.json()["error"] == "unauthorized_client"
    r = await token_req(live_server, {"grant_type": "client_credentials", "client_id": code_app.client_id})
    assert r.json()["error"] in ("invalid_client", "unauthorized_client")
    r = await token_req(live_server, {"grant_type": "password", "username": "a", "password": "b"}, auth=(app.client_id, secret))
    assert r.json()["error"] == "unsupported_grant_type"


async def test_brand_a_token_on_brand_b(live_server, brand_a, brand_b, cc_app):
    app, secret = cc_app
    token = (await token_req(live_server, {"grant_type": "client_credentials"}, auth=(app.client_id, secret))).json()["access_token"]
    q = {"query": "query($id: ID!) { node(id: $id) { id } }", "variables": {"id": brand_b.gid("Dealer", "d1")}}
    r = await api(live_server, token, q)
    assert r.json()["data"]["node"] is None
    # brand B's client cannot use A's refresh tokens or introspect A's tokens
    b_app, b_secret = await make_app(brand_b, scopes=["customers:read"])
    async with httpx.AsyncClient() as c:
        r = await c.post(f"{live_server}/oauth/introspect", data={"token": token}, auth=(b_app.client_id, b_secret))
    assert r.json() == {"active": False}


async def test_dealer_restricted_client(live_server, brand_a):
    app, secret = await make_app(brand_a, scopes=["customers:read"], dealer_id=brand_a.dealers["d3"].id)
    token = (await token_req(live_server, {"grant_type": "client_credentials"}, auth=(app.client_id, secret))).json()["access_token"]
    body = (await api(live_server, token)).json()["data"]
    assert [n["code"] for n in body["dealers"]["nodes"]] == ["E-001"]
    q = {"query": "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", "variables": {"ids": [brand_a.gid("Dealer", "d1"), brand_a.gid("Dealer", "d3")]}}
    nodes = (await api(live_server, token, q)).json()["data"]["nodes"]
    assert nodes[0] is None and nodes[1] is not None


async def test_login_errors_do_not_enumerate_users(live_server, brand_a, code_app):
    async with httpx.AsyncClient(follow_redirects=False) as browser:
        page = await browser.get(authorize_url(live_server, code_app.client_id))
        form = hidden_fields(page.text)
        wrong_pw = await browser.post(f"{live_server}/oauth/authorize", data={**form, "email": brand_a.users["admin"].email, "password": "nope"})
        no_user = await browser.post(f"{live_server}/oauth/authorize", data={**form, "email": "ghost@nowhere.test", "password": "nope"})
    assert wrong_pw.status_code == no_user.status_code == 401
    assert "Invalid e-mail or password." in wrong_pw.text and "Invalid e-mail or password." in no_user.text


async def test_login_requires_csrf(live_server, brand_a, code_app):
    async with httpx.AsyncClient(follow_redirects=False) as browser:
        page = await browser.get(authorize_url(live_server, code_app.client_id))
        form = hidden_fields(page.text)
        browser.cookies.clear()
        r = await browser.post(f"{live_server}/oauth/authorize", data={**form, "email": brand_a.users["admin"].email, "password": PASSWORD})
        assert r.status_code == 403 and "location" not in r.headers
    async with httpx.AsyncClient(follow_redirects=False) as browser:
        await browser.get(authorize_url(live_server, code_app.client_id))
        r = await browser.post(f"{live_server}/oauth/authorize", data={**form, "csrf_token": "forged", "email": brand_a.users["admin"].email, "password": PASSWORD})
        assert r.status_code == 403


async def test_consent_ticket_is_single_use_and_bound(live_server, brand_a):
    app, secret = await make_app(brand_a, grant_types=["authorization_code"], redirect_uris=[REDIRECT], scopes=["customers:read"])
    await set_password(brand_a, "analyst", PASSWORD)
    async with httpx.AsyncClient(follow_redirects=False) as browser:
        page = await browser.get(authorize_url(live_server, app.client_id))
        consent = await browser.post(f"{live_server}/oauth/authorize", data={**hidden_fields(page.text), "email": brand_a.users["analyst"].email, "password": PASSWORD})
        form = hidden_fields(consent.text)
        tampered = await browser.post(f"{live_server}/oauth/authorize", data={**form, "state": "swapped", "decision": "allow"})
        assert tampered.status_code == 400
        replay = await browser.post(f"{live_server}/oauth/authorize", data={**form, "decision": "allow"})
        assert replay.status_code == 400  # the ticket was consumed by the tampered attempt


async def test_token_endpoint_errors_say_what_is_wrong(live_server, brand_a, code_app, cc_app):
    app, secret = cc_app
    # a wrong secret: the credentials, not a list of authentication methods (RFC 6749 invalid_client)
    for auth, data in (((app.client_id, secret + "x"), {"grant_type": "client_credentials"}),
                       (None, {"grant_type": "client_credentials", "client_id": app.client_id, "client_secret": "nope"})):
        r = await token_req(live_server, data, auth=auth)
        assert r.status_code == 401 and r.json() == {
            "error": "invalid_client", "error_description": "Client authentication failed: unknown client or wrong secret."}
    # a JSON body: send a form
    async with httpx.AsyncClient() as c:
        r = await c.post(f"{live_server}/oauth/token", json={"grant_type": "client_credentials", "client_id": app.client_id,
                                                              "client_secret": secret})
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    assert "application/x-www-form-urlencoded" in r.json()["error_description"]
    # a revoked refresh token: invalid_grant that says so
    client, location, verifier = await code_flow(live_server, code_app, brand_a.users["admin"].email, scope="customers:read")
    token = await client.fetch_token(f"{live_server}/oauth/token", authorization_response=location, code_verifier=verifier)
    async with httpx.AsyncClient() as c:
        assert (await c.post(f"{live_server}/oauth/revoke", data={"token": token["refresh_token"], "client_id": code_app.client_id})).status_code == 200
    r = await token_req(live_server, {"grant_type": "refresh_token", "refresh_token": token["refresh_token"], "client_id": code_app.client_id})
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert "revoked" in r.json()["error_description"]
