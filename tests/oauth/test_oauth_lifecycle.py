"""Token lifecycle and the edges of the token endpoint, over real HTTP against the real service:
deactivation and disabling end grants for good, client addresses come from TRUSTED_PROXIES
only, and the form limit holds whatever the framing."""
import asyncio
import time

import httpx
import pytest

from app.core import db
from app.core.ids import to_global_id
from tests.factories import make_app, set_password
from tests.oauth_helpers import PASSWORD, REDIRECT, api, code_flow

UPDATE_USER = "mutation($i: UserUpdateInput!) { userUpdate(input: $i) { user { isActive } errors { field code } } }"
DISABLE = "mutation($id: ID!) { partnerAppDisable(id: $id) { partnerApp { status } errors { code } } }"
ENABLE = "mutation($id: ID!) { partnerAppEnable(id: $id) { partnerApp { status } errors { code } } }"


async def _next_second() -> None:
    """Access tokens carry `iat` in whole seconds and a cutoff refuses its own second too."""
    await asyncio.sleep(1.05 - time.time() % 1)


@pytest.fixture
async def portal(brand_a):
    """A confidential code-flow app (it may introspect its own tokens) and the analyst's password."""
    app, secret = await make_app(brand_a, grant_types=["authorization_code", "refresh_token"], redirect_uris=[REDIRECT],
                                 scopes=["customers:read"], first_party=True)
    await set_password(brand_a, "analyst", PASSWORD)
    return app, secret


async def _user_tokens(base, brand, app, secret, who="analyst") -> dict:
    client, location, verifier = await code_flow(base, app, brand.users[who].email, scope="customers:read", secret=secret)
    return await client.fetch_token(f"{base}/oauth/token", authorization_response=location, code_verifier=verifier)


async def _introspect(base, app, secret, token) -> dict:
    async with httpx.AsyncClient() as c:
        r = await c.post(f"{base}/oauth/introspect", data={"token": token}, auth=(app.client_id, secret))
    assert r.status_code == 200, r.text
    return r.json()


async def _refresh(base, app, secret, refresh_token) -> httpx.Response:
    async with httpx.AsyncClient() as c:
        return await c.post(f"{base}/oauth/token", data={"grant_type": "refresh_token", "refresh_token": refresh_token},
                            auth=(app.client_id, secret))


async def _set_active(gql, brand, who, active: bool) -> None:
    r = await gql(brand.token(), UPDATE_USER, {"i": {"id": brand.gid("User", who), "isActive": active}})
    assert r["data"]["userUpdate"]["errors"] == [] and r["data"]["userUpdate"]["user"]["isActive"] is active


async def test_deactivated_users_refresh_token_introspects_inactive(live_server, brand_a, portal, gql):
    app, secret = portal
    token = await _user_tokens(live_server, brand_a, app, secret)
    assert (await _introspect(live_server, app, secret, token["refresh_token"]))["active"] is True
    await _set_active(gql, brand_a, "analyst", False)
    assert await _introspect(live_server, app, secret, token["refresh_token"]) == {"active": False}
    assert await _introspect(live_server, app, secret, token["access_token"]) == {"active": False}
    r = await _refresh(live_server, app, secret, token["refresh_token"])
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant" and r.json()["error_description"]


async def test_reactivation_does_not_revive_old_tokens(live_server, brand_a, portal, gql):
    app, secret = portal
    token = await _user_tokens(live_server, brand_a, app, secret)
    direct = brand_a.token("analyst")  # minted by the operator CLI's path
    assert (await api(live_server, token["access_token"])).status_code == 200
    await _set_active(gql, brand_a, "analyst", False)
    await _set_active(gql, brand_a, "analyst", True)
    for t in (token["access_token"], direct):
        r = await api(live_server, t)
        assert r.status_code == 401 and "revoked" in r.json()["errors"][0]["message"]
        assert await _introspect(live_server, app, secret, t) == {"active": False}
    assert await _introspect(live_server, app, secret, token["refresh_token"]) == {"active": False}
    r = await _refresh(live_server, app, secret, token["refresh_token"])
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    # signing in again after the reactivation works
    await _next_second()
    fresh = await _user_tokens(live_server, brand_a, app, secret)
    assert (await api(live_server, fresh["access_token"])).status_code == 200
    assert (await _refresh(live_server, app, secret, fresh["refresh_token"])).status_code == 200


async def test_reenabling_an_app_does_not_revive_its_tokens(live_server, brand_a, portal, gql):
    cc, cc_secret = await make_app(brand_a, scopes=["customers:read"])
    async with httpx.AsyncClient() as c:
        r = await c.post(f"{live_server}/oauth/token", data={"grant_type": "client_credentials"}, auth=(cc.client_id, cc_secret))
    app_token = r.json()["access_token"]
    app, secret = portal
    user_token = await _user_tokens(live_server, brand_a, app, secret)
    for a in (cc, app):
        assert (await gql(brand_a.token(), DISABLE, {"id": to_global_id("PartnerApp", a.id)}))["data"]["partnerAppDisable"]["errors"] == []
        assert (await gql(brand_a.token(), ENABLE, {"id": to_global_id("PartnerApp", a.id)}))["data"]["partnerAppEnable"]["errors"] == []
    for t in (app_token, user_token["access_token"]):
        r = await api(live_server, t)
        assert r.status_code == 401 and "revoked" in r.json()["errors"][0]["message"], t
    assert await _introspect(live_server, cc, cc_secret, app_token) == {"active": False}
    assert await _introspect(live_server, app, secret, user_token["access_token"]) == {"active": False}
    assert (await _refresh(live_server, app, secret, user_token["refresh_token"])).json()["error"] == "invalid_grant"
    await _next_second()
    async with httpx.AsyncClient() as c:
        r = await c.post(f"{live_server}/oauth/token", data={"grant_type": "client_credentials"}, auth=(cc.client_id, cc_secret))
    assert (await api(live_server, r.json()["access_token"])).status_code == 200


# ---- client addresses ---------------------------------------------------------------------------

async def _audit_ips(brand, action: str, client_id: str) -> list[str | None]:
    from app.audit.models import AuditEvent

    async with db.tenant_transaction(brand.tenant_id):
        rows = await AuditEvent.filter(tenant_id=brand.tenant_id, action=action, actor=f"app:{client_id}")
    return [r.ip for r in rows]


async def test_forged_forwarded_for_neither_dodges_limits_nor_forges_the_audit_trail(live_server, brand_a):
    from tests.conftest import spawn_server, stop_server

    app, secret = await make_app(brand_a, scopes=["customers:read"])
    base, proc = spawn_server({"RATE_LIMIT_TOKEN_PER_IP": "20", "RATE_LIMIT_TOKEN_PER_CLIENT": "10", "TRUSTED_PROXIES": ""})
    try:
        codes = []
        async with httpx.AsyncClient() as c:
            for i in range(130):
                r = await c.post(f"{base}/oauth/token", data={"grant_type": "client_credentials"}, auth=(app.client_id, "wrong"),
                                 headers={"X-Forwarded-For": f"198.51.{i // 250}.{i % 250 + 1}"})
                codes.append(r.status_code)
                if r.status_code == 429:
                    break
        assert 429 in codes, codes
    finally:
        stop_server(proc)
    # the audit trail names the real peer, not what the caller claims
    other, other_secret = await make_app(brand_a, scopes=["customers:read"])
    async with httpx.AsyncClient() as c:
        r = await c.post(f"{live_server}/oauth/token", data={"grant_type": "client_credentials"},
                         auth=(other.client_id, other_secret), headers={"X-Forwarded-For": "203.0.113.77"})
    assert r.status_code == 200
    assert await _audit_ips(brand_a, "token.issued", other.client_id) == ["127.0.0.1"]


async def test_trusted_proxy_forwarded_address_is_used(brand_a):
    from tests.conftest import spawn_server, stop_server

    app, secret = await make_app(brand_a, scopes=["customers:read"])
    base, proc = spawn_server({"TRUSTED_PROXIES": "127.0.0.1"})
    try:
        async with httpx.AsyncClient() as c:
            r = await c.post(f"{base}/oauth/token", data={"grant_type": "client_credentials"},
                             auth=(app.client_id, secret), headers={"X-Forwarded-For": "203.0.113.77"})
        assert r.status_code == 200
    finally:
        stop_server(proc)
    assert await _audit_ips(brand_a, "token.issued", app.client_id) == ["203.0.113.77"]


# ---- the form limit -----------------------------------------------------------------------------

async def test_chunked_body_is_cut_off_at_the_form_limit(app, live_server):
    """No Content-Length: the body is counted as it arrives; 42 MB are never read whole."""
    sent = 0

    async def body():
        nonlocal sent
        yield b"grant_type=client_credentials&x="
        for _ in range(42 * 128):  # 42 MB in 8 KiB chunks
            sent += 1
            yield b"a" * 8192

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        r = await c.post("/oauth/token", content=body(), headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413 and r.json()["error"] == "invalid_request"
    assert sent <= 4, f"read {sent} chunks of 8 KiB past a 16 KiB limit"

    # the same over real HTTP with Transfer-Encoding: chunked
    async def small():
        yield b"grant_type=client_credentials&x="
        for _ in range(8):
            yield b"a" * 8192

    async with httpx.AsyncClient() as c:
        try:
            r = await c.post(f"{live_server}/oauth/token", content=small(), headers={"Content-Type": "application/x-www-form-urlencoded"})
        except httpx.HTTPError as e:  # the server may answer and close before the client finished sending
            pytest.fail(f"no response: {e!r}")
    assert r.status_code == 413
