"""One bearer authentication (app.core.auth.bearer) for every endpoint taking an access token:
`/graphql` and `/imports/customers` refuse the same headers and tokens with the same 401, code,
message and WWW-Authenticate challenge; each answers in its own envelope."""
from __future__ import annotations

import pytest

from app.core import clock, db
from app.core.auth.bearer import MALFORMED, MISSING, BearerError, bearer_claims, bearer_token, challenge
from app.core.auth.keys import KeyRing, generate_key
from app.core.auth.tokens import mint_access_token
from app.core.models import DataImport as CustomerImport
from app.tenant.models import User
from tests.import_helpers import HEADER, csv_rows

Q = {"query": "{ viewer { roles } }"}
REALM = 'Bearer realm="huifang"'


async def _graphql(client, headers: dict):
    r = await client.post("/graphql", json=Q, headers=headers)
    body = r.json()
    if r.status_code != 401:
        return r.status_code, None, None, r.headers.get("www-authenticate")
    err = body["errors"][0]
    return r.status_code, err["extensions"]["code"], err["message"], r.headers.get("www-authenticate")


async def _imports(client, headers: dict):
    r = await client.post("/imports/customers?format=csv", content=(HEADER + csv_rows(1)).encode(),
                          headers={"Content-Type": "text/csv", **headers})
    if r.status_code != 401:
        return r.status_code, None, None, r.headers.get("www-authenticate")
    err = r.json()["error"]
    return r.status_code, err["code"], err["message"], r.headers.get("www-authenticate")


async def both(client, headers: dict):
    """The two endpoints' answers (status, code, message, challenge), asserted equal."""
    g, i = await _graphql(client, headers), await _imports(client, headers)
    assert g == i, (g, i)
    return g


async def _no_import_stored(brand) -> None:
    async with db.tenant_transaction(brand.tenant_id):
        assert await CustomerImport.filter(tenant_id=brand.tenant_id).count() == 0


async def test_missing_header_is_401_without_an_error_code(client, brand_a):
    assert await both(client, {}) == (401, "UNAUTHENTICATED", MISSING, REALM)
    assert await both(client, {"Authorization": ""}) == (401, "UNAUTHENTICATED", MISSING, REALM)
    await _no_import_stored(brand_a)


@pytest.mark.parametrize("value", [
    "Basic dXNlcjpwYXNz",            # another scheme
    "Token {t}",                     # another scheme, a good token
    "Bearer",                        # no token
    "Bearer    ",                    # no token, only spaces
    "Bearer {t} {t}",                # two tokens
    "Bearer {t} extra",              # a token and something after it
    "Bearer\t{t}",                   # the scheme must be followed by a space
    "Bearer{t}",                     # not even a space
])
async def test_malformed_header_is_invalid_request_on_both(client, brand_a, value):
    headers = {"Authorization": value.format(t=brand_a.token())}
    status, code, message, www = await both(client, headers)
    assert (status, code, message) == (401, "UNAUTHENTICATED", MALFORMED)
    assert www == f'{REALM}, error="invalid_request", error_description="{MALFORMED}"'
    await _no_import_stored(brand_a)


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "BeArEr", "Bearer"])
async def test_scheme_is_case_insensitive(client, brand_a, scheme):
    headers = {"Authorization": f"{scheme} {brand_a.token()}"}
    r = await client.post("/graphql", json=Q, headers=headers)
    assert r.status_code == 200 and r.json()["data"]["viewer"]["roles"] == ["BRAND_ADMIN"]
    status, *_ = await _imports(client, headers)
    assert status == 202


async def test_several_spaces_before_the_token_are_allowed(client, brand_a):
    r = await client.post("/graphql", json=Q, headers={"Authorization": f"Bearer   {brand_a.token()}"})
    assert r.status_code == 200


def _bad_tokens(brand) -> dict[str, tuple[str, str]]:
    """name -> (token, a fragment of the expected error_description)"""
    now = clock.timestamp()
    other = KeyRing.from_json({"keys": [generate_key()]})
    good = brand.token()
    h, p, s = good.split(".")
    return {
        "expired": (brand.token(now=now - 4000, ttl_seconds=600), "expired"),
        "forged_signature": (f"{h}.{p}.{s[:-4]}AAAA", "signature"),
        "unknown_key": (brand.token(ring=other), "unknown key"),
        "garbage": ("not.a.jwt", "malformed"),
    }


@pytest.mark.parametrize("name", ["expired", "forged_signature", "unknown_key", "garbage"])
async def test_bad_token_is_the_same_invalid_token_on_both(client, brand_a, name):
    token, fragment = _bad_tokens(brand_a)[name]
    status, code, message, www = await both(client, {"Authorization": f"Bearer {token}"})
    assert (status, code) == (401, "UNAUTHENTICATED") and fragment in message, message
    assert www == f'{REALM}, error="invalid_token", error_description="{message}"'
    await _no_import_stored(brand_a)


async def test_refused_user_is_invalid_token_on_both(client, brand_a):
    """A token that verifies but whose user is refused (here: unknown, then deactivated) is
    invalid_token on both endpoints, with the challenge (the import endpoint sent none before)."""
    ghost = mint_access_token(tenant_id=brand_a.tenant_id, subject="00000000-0000-0000-0000-000000000001")
    status, code, message, www = await both(client, {"Authorization": f"Bearer {ghost}"})
    assert (status, code) == (401, "UNAUTHENTICATED") and "does not exist" in message
    assert www == f'{REALM}, error="invalid_token", error_description="{message}"'

    token = brand_a.token("admin")
    async with db.tenant_transaction(brand_a.tenant_id):
        await User.filter(tenant_id=brand_a.tenant_id, id=brand_a.users["admin"].id).update(is_active=False)
    status, code, message, www = await both(client, {"Authorization": f"Bearer {token}"})
    assert (status, code) == (401, "UNAUTHENTICATED") and "deactivated" in message
    assert www == f'{REALM}, error="invalid_token", error_description="{message}"'
    await _no_import_stored(brand_a)


def test_parsing_without_a_server():
    assert bearer_token("Bearer abc.def.ghi") == "abc.def.ghi"
    assert bearer_token("bearer abc") == "abc"
    assert bearer_token("Bearer abc  ") == "abc"
    for value, error in ((None, None), ("", None), ("Bearer", "invalid_request"), ("Bearer a b", "invalid_request"),
                         ("Basic abc", "invalid_request"), ("Bearer a\tb", "invalid_request")):
        with pytest.raises(BearerError) as e:
            bearer_token(value)
        assert e.value.error == error and e.value.code == "UNAUTHENTICATED", value
    with pytest.raises(BearerError) as e:
        bearer_claims("Bearer not.a.jwt")
    assert e.value.error == "invalid_token" and e.value.headers["WWW-Authenticate"].startswith(f'{REALM}, error="invalid_token"')


def test_challenge_keeps_to_the_allowed_characters():
    assert challenge() == REALM
    assert challenge("invalid_token", 'say "hi" \\ 你好') == f'{REALM}, error="invalid_token", error_description="say ?hi? ? ??"'
