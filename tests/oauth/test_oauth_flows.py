"""OAuth 2.0 end to end over real HTTP, driven by an independent client library (authlib's
httpx client) against the service running in its own process."""
import json
import re

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client

from tests.factories import make_app, set_password
from tests.oauth_helpers import PASSWORD, REDIRECT, api, browser_login, code_flow


@pytest.fixture
async def console(brand_a):
    """A first-party public client (the brand's own front-end) and a user with a password."""
    app, _ = await make_app(brand_a, client_type="public", grant_types=["authorization_code", "refresh_token"],
                            redirect_uris=[REDIRECT], scopes=["customers:read", "tickets:read", "admin"], first_party=True)
    await set_password(brand_a, "admin", PASSWORD)
    await set_password(brand_a, "d1_agent", PASSWORD)
    return app


async def test_client_credentials(live_server, brand_a):
    app, secret = await make_app(brand_a, scopes=["customers:read", "tickets:read", "tickets:write"])
    async with AsyncOAuth2Client(app.client_id, secret, scope="customers:read tickets:read") as c:
        token = await c.fetch_token(f"{live_server}/oauth/token", grant_type="client_credentials")
    assert token["token_type"] == "Bearer" and token["expires_in"] == 900 and "refresh_token" not in token
    assert token["scope"] == "customers:read tickets:read"
    body = (await api(live_server, token["access_token"])).json()["data"]
    assert body["viewer"] == {"actorKind": "app", "permissions": ["CUSTOMERS_READ", "TICKETS_READ"], "user": None}
    assert {n["code"] for n in body["dealers"]["nodes"]} == {"N-001", "N-002", "E-001"}
    # client_secret_post works too; no scope asked = every scope of the app
    async with httpx.AsyncClient() as c:
        r = await c.post(f"{live_server}/oauth/token", data={"grant_type": "client_credentials", "client_id": app.client_id, "client_secret": secret})
    assert r.status_code == 200 and r.json()["scope"] == "customers:read tickets:read tickets:write"
    assert r.headers["cache-control"] == "no-store"


async def test_authorization_code_pkce_refresh_rotation_and_reuse(live_server, brand_a, console):
    client, location, verifier = await code_flow(live_server, console, brand_a.users["admin"].email)
    token = await client.fetch_token(f"{live_server}/oauth/token", authorization_response=location, code_verifier=verifier)
    assert token["refresh_token"].startswith("hfr_") and token["scope"] == "customers:read tickets:read"
    body = (await api(live_server, token["access_token"])).json()["data"]
    assert body["viewer"]["actorKind"] == "user" and body["viewer"]["user"]["email"] == brand_a.users["admin"].email
    assert body["viewer"]["permissions"] == ["CUSTOMERS_READ", "TICKETS_READ"]  # narrowed to the token's scopes

    first_refresh = token["refresh_token"]
    rotated = await client.refresh_token(f"{live_server}/oauth/token", refresh_token=first_refresh)
    assert rotated["refresh_token"] != first_refresh
    assert (await api(live_server, rotated["access_token"])).status_code == 200
    # the old refresh token again: reuse is detected and the whole family is revoked
    async with httpx.AsyncClient() as c:
        r = await c.post(f"{live_server}/oauth/token", data={"grant_type": "refresh_token", "refresh_token": first_refresh, "client_id": console.client_id})
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
        r = await c.post(f"{live_server}/oauth/token", data={"grant_type": "refresh_token", "refresh_token": rotated["refresh_token"], "client_id": console.client_id})
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    for t in (token["access_token"], rotated["access_token"]):
        r = await api(live_server, t)
        assert r.status_code == 401 and "revoked" in r.json()["errors"][0]["message"]


async def test_reused_authorization_code_revokes_its_tokens(live_server, brand_a, console):
    client, location, verifier = await code_flow(live_server, console, brand_a.users["admin"].email)
    token = await client.fetch_token(f"{live_server}/oauth/token", authorization_response=location, code_verifier=verifier)
    code = re.search(r"code=([^&]+)", location).group(1)
    async with httpx.AsyncClient() as c:
        r = await c.post(f"{live_server}/oauth/token", data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
                                                             "client_id": console.client_id, "code_verifier": verifier})
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert (await api(live_server, token["access_token"])).status_code == 401


async def test_revocation_then_introspection(live_server, brand_a):
    app, secret = await make_app(brand_a)
    async with AsyncOAuth2Client(app.client_id, secret) as c:
        token = await c.fetch_token(f"{live_server}/oauth/token", grant_type="client_credentials")
        info = (await c.introspect_token(f"{live_server}/oauth/introspect", token=token["access_token"])).json()
        assert info["active"] is True and info["client_id"] == app.client_id and info["tid"] == str(brand_a.tenant_id)
        r = await c.revoke_token(f"{live_server}/oauth/revoke", token=token["access_token"], token_type_hint="access_token")
        assert r.status_code == 200
        info = (await c.introspect_token(f"{live_server}/oauth/introspect", token=token["access_token"])).json()
        assert info == {"active": False}
        # unknown tokens: revocation says 200, introspection inactive (RFC 7009 / 7662)
        assert (await c.revoke_token(f"{live_server}/oauth/revoke", token="nonsense")).status_code == 200
        assert (await c.introspect_token(f"{live_server}/oauth/introspect", token="nonsense")).json() == {"active": False}
    assert (await api(live_server, token["access_token"])).status_code == 401


async def test_revoking_a_refresh_token_ends_the_grant(live_server, brand_a, console):
    client, location, verifier = await code_flow(live_server, console, brand_a.users["admin"].email)
    token = await client.fetch_token(f"{live_server}/oauth/token", authorization_response=location, code_verifier=verifier)
    r = await client.revoke_token(f"{live_server}/oauth/revoke", token=token["refresh_token"], token_type_hint="refresh_token")
    assert r.status_code == 200
    assert (await api(live_server, token["access_token"])).status_code == 401
    async with httpx.AsyncClient() as c:
        r = await c.post(f"{live_server}/oauth/token", data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"], "client_id": console.client_id})
    assert r.json()["error"] == "invalid_grant"


async def test_third_party_app_asks_for_consent(live_server, brand_a):
    app, secret = await make_app(brand_a, grant_types=["authorization_code", "refresh_token"], redirect_uris=[REDIRECT],
                                 scopes=["customers:read", "tickets:read"])
    await set_password(brand_a, "analyst", PASSWORD)
    client, location, verifier = await code_flow(live_server, app, brand_a.users["analyst"].email, consent="allow", secret=secret)
    token = await client.fetch_token(f"{live_server}/oauth/token", authorization_response=location, code_verifier=verifier)
    assert token["scope"] == "customers:read tickets:read"
    # denying sends the person back with access_denied
    client = AsyncOAuth2Client(app.client_id, secret, redirect_uri=REDIRECT, scope="customers:read", code_challenge_method="S256")
    url, state = client.create_authorization_url(f"{live_server}/oauth/authorize", code_verifier=generate_token(64))
    r = await browser_login(live_server, url, brand_a.users["analyst"].email, PASSWORD, consent="deny")
    assert r.status_code == 302 and "error=access_denied" in r.headers["location"] and f"state={state}" in r.headers["location"]


async def test_user_token_never_exceeds_the_users_rights(live_server, brand_a, console):
    """The console may ask for admin; a dealer agent signing in does not get it."""
    client, location, verifier = await code_flow(live_server, console, brand_a.users["d1_agent"].email, scope="customers:read admin")
    token = await client.fetch_token(f"{live_server}/oauth/token", authorization_response=location, code_verifier=verifier)
    assert token["scope"] == "customers:read"
    body = (await api(live_server, token["access_token"])).json()["data"]
    assert body["viewer"]["permissions"] == ["CUSTOMERS_READ"]
    assert [n["code"] for n in body["dealers"]["nodes"]] == ["N-001"]


async def test_jwks_key_rotation_without_downtime(live_server, brand_a):
    """Rolling deploy: replicas get [new, old]; tokens signed by either verify on both, and
    the JWKS publishes both kids until the old one is dropped."""
    import os

    from app.core.auth.keys import generate_key, keyring
    from tests.conftest import spawn_server, stop_server

    old = json.loads(os.environ["JWT_KEYS"])["keys"]
    new_key = generate_key()
    rotated_base, proc = spawn_server({"JWT_KEYS": json.dumps({"keys": [new_key, *old]})})
    try:
        app, secret = await make_app(brand_a)
        async with AsyncOAuth2Client(app.client_id, secret) as c:
            old_token = (await c.fetch_token(f"{live_server}/oauth/token", grant_type="client_credentials"))["access_token"]
            new_token = (await c.fetch_token(f"{rotated_base}/oauth/token", grant_type="client_credentials"))["access_token"]
        async with httpx.AsyncClient() as c:
            jwks = (await c.get(f"{rotated_base}/.well-known/jwks.json")).json()
        assert [k["kid"] for k in jwks["keys"]] == [new_key["kid"], keyring().kid]
        assert all("d" not in k for k in jwks["keys"])  # public parts only
        assert (await api(rotated_base, old_token)).status_code == 200
        assert (await api(rotated_base, new_token)).status_code == 200
        assert (await api(live_server, new_token)).status_code == 401  # an old replica cannot know the new key yet
    finally:
        stop_server(proc)


async def test_metadata_document(live_server):
    async with httpx.AsyncClient() as c:
        md = (await c.get(f"{live_server}/.well-known/oauth-authorization-server")).json()
    assert md["issuer"] == "https://huifang.test"
    assert md["token_endpoint"] == f"{live_server}/oauth/token"
    assert md["code_challenge_methods_supported"] == ["S256"]
    assert set(md["grant_types_supported"]) == {"authorization_code", "client_credentials", "refresh_token"}
