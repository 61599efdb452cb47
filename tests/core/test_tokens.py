"""The resource server refuses every malformed, expired, forged or foreign token with 401."""
import base64
import json
import time

import pytest
from joserfc import jwk, jwt

from app.core.auth.keys import KeyRing, generate_key, keyring
from app.core.auth.tokens import InvalidToken, mint_access_token, verify_access_token
from app.settings import get_settings

Q = {"query": "{ viewer { roles } }"}


def b64(obj) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


def claims_for(brand, **over):
    s = get_settings()
    now = int(time.time())
    c = {"iss": s.issuer, "aud": s.jwt_audience, "sub": str(brand.users["admin"].id), "iat": now, "nbf": now,
         "exp": now + 300, "jti": "j1", "tid": str(brand.tenant_id)}
    c.update(over)
    return {k: v for k, v in c.items() if v is not None}


def sign(claims, key=None, header=None):
    key = key or keyring().signing_key
    return jwt.encode(header or {"alg": "RS256", "kid": key.kid, "typ": "at+jwt"}, claims, key)


def forged_cases(brand):
    now = int(time.time())
    other = KeyRing.from_json({"keys": [generate_key()]})
    good = sign(claims_for(brand))
    h, p, sig = good.split(".")
    tampered_payload = b64({**claims_for(brand), "tid": "00000000-0000-0000-0000-000000000000"})
    pub = json.dumps(keyring().public_jwks["keys"][0])
    return {
        "expired": sign(claims_for(brand, iat=now - 4000, nbf=now - 4000, exp=now - 3000)),
        "not_yet_valid": sign(claims_for(brand, nbf=now + 3600, exp=now + 7200)),
        "wrong_issuer": sign(claims_for(brand, iss="https://evil.example")),
        "wrong_audience": sign(claims_for(brand, aud="another-api")),
        "missing_tenant": sign(claims_for(brand, tid=None)),
        "missing_exp": sign(claims_for(brand, exp=None)),
        "unknown_kid": sign(claims_for(brand), key=other.signing_key),
        "known_kid_wrong_key": sign(claims_for(brand), key=other.signing_key, header={"alg": "RS256", "kid": keyring().kid, "typ": "at+jwt"}),
        "alg_none": f"{b64({'alg': 'none', 'typ': 'at+jwt'})}.{p}.",
        "hs256_with_public_key": jwt.encode({"alg": "HS256", "kid": keyring().kid, "typ": "at+jwt"}, claims_for(brand), jwk.OctKey.import_key(pub.encode())),
        "tampered_payload": f"{h}.{tampered_payload}.{sig}",
        "not_an_access_token": sign(claims_for(brand), header={"alg": "RS256", "kid": keyring().kid, "typ": "JWT"}),
        "garbage": "not.a.jwt",
        "huge": "a" * 10000,
    }


async def test_forged_tokens_are_rejected_with_401(client, brand_a):
    for name, token in forged_cases(brand_a).items():
        r = await client.post("/graphql", json=Q, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, (name, r.text)
        assert r.headers["www-authenticate"].startswith('Bearer realm="huifang", error="invalid_token"'), name
        body = r.json()
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED" and body["errors"][0]["message"], name


def test_verify_messages_are_specific(brand_a):
    cases = forged_cases(brand_a)
    for name, fragment in (("expired", "expired"), ("not_yet_valid", "not valid yet"), ("wrong_issuer", "'iss'"),
                           ("wrong_audience", "'aud'"), ("unknown_kid", "unknown key"), ("tampered_payload", "signature"),
                           ("missing_tenant", "tid")):
        with pytest.raises(InvalidToken) as e:
            verify_access_token(cases[name])
        assert fragment in e.value.message, (name, e.value.message)


async def test_missing_or_malformed_header(client):
    r = await client.post("/graphql", json=Q)
    assert r.status_code == 401 and r.headers["www-authenticate"] == 'Bearer realm="huifang"'
    r = await client.post("/graphql", json=Q, headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert r.status_code == 401 and 'error="invalid_request"' in r.headers["www-authenticate"]


async def test_valid_token_works_and_unknown_or_inactive_user_is_401(client, brand_a):
    ok = await client.post("/graphql", json=Q, headers={"Authorization": f"Bearer {brand_a.token('admin')}"})
    assert ok.status_code == 200 and ok.json()["data"]["viewer"]["roles"] == ["BRAND_ADMIN"]
    ghost = mint_access_token(tenant_id=brand_a.tenant_id, subject="00000000-0000-0000-0000-000000000001")
    r = await client.post("/graphql", json=Q, headers={"Authorization": f"Bearer {ghost}"})
    assert r.status_code == 401 and "does not exist" in r.json()["errors"][0]["message"]
    not_uuid = mint_access_token(tenant_id=brand_a.tenant_id, subject="robot")
    assert (await client.post("/graphql", json=Q, headers={"Authorization": f"Bearer {not_uuid}"})).status_code == 401
    from app.core import db
    from app.tenant.models import User

    async with db.tenant_transaction(brand_a.tenant_id):
        await User.filter(tenant_id=brand_a.tenant_id, id=brand_a.users["analyst"].id).update(is_active=False)
    r = await client.post("/graphql", json=Q, headers={"Authorization": f"Bearer {brand_a.token('analyst')}"})
    assert r.status_code == 401 and "deactivated" in r.json()["errors"][0]["message"]


async def test_scoped_token_narrows_permissions(gql, brand_a):
    tok = brand_a.token("admin", scope="customers:read")
    body = await gql(tok, "{ viewer { permissions } }")
    assert body["data"]["viewer"]["permissions"] == ["CUSTOMERS_READ"]
    body = await gql(tok, 'mutation { dealerCreate(input: {code: "S-1", name: "s", region: "x"}) { errors { code message } } }', errors_ok=True)
    assert body["errors"][0]["extensions"] == {"code": "PERMISSION_DENIED", "missingScope": "admin"}
    assert "admin" in body["errors"][0]["message"]
    # a scope the user's roles do not grant is not gained by asking for it
    body = await gql(brand_a.token("d1_agent", scope="admin customers:read"), "{ viewer { permissions } }")
    assert body["data"]["viewer"]["permissions"] == ["CUSTOMERS_READ"]


def test_rotation_old_key_still_verifies(brand_a):
    old = keyring()
    new_ring = KeyRing.from_json({"keys": [generate_key(), *old.keyset.as_dict(private=True)["keys"]]})
    old_token = mint_access_token(tenant_id=brand_a.tenant_id, subject="x", ring=old)
    new_token = mint_access_token(tenant_id=brand_a.tenant_id, subject="x", ring=new_ring)
    assert verify_access_token(old_token, ring=new_ring).subject == "x"
    assert verify_access_token(new_token, ring=new_ring).subject == "x"
    with pytest.raises(InvalidToken):
        verify_access_token(new_token, ring=old)


async def test_401_over_real_http(live_server, brand_a):
    import httpx

    async with httpx.AsyncClient(base_url=live_server) as c:
        r = await c.post("/graphql", json=Q, headers={"Authorization": "Bearer " + forged_cases(brand_a)["expired"]})
        assert r.status_code == 401 and "expired" in r.headers["www-authenticate"]
        r = await c.post("/graphql", json=Q, headers={"Authorization": f"Bearer {brand_a.token('admin')}"})
        assert r.status_code == 200 and r.json()["data"]["viewer"]["roles"] == ["BRAND_ADMIN"]


def test_verified_tokens_are_cached_until_they_expire(brand_a):
    import time as _time

    from app.core.auth import tokens

    tok = mint_access_token(tenant_id=brand_a.tenant_id, subject="cache-me", ttl_seconds=60)
    first = verify_access_token(tok)
    assert verify_access_token(tok) is first  # the second call does not verify again
    short = mint_access_token(tenant_id=brand_a.tenant_id, subject="brief", ttl_seconds=1, now=int(_time.time()) - 40)
    with pytest.raises(InvalidToken):  # expired beyond the leeway: never served from the cache
        verify_access_token(short)
    assert all(k[0] != short for k in tokens._VERIFIED)
