"""GraphQL over HTTP: methods, malformed input, size and complexity limits, error masking,
and the parser/validation caches staying effective with the limits on."""
import pytest

from app.settings import get_settings


async def test_get_query_and_get_mutation_refused(client, brand_a):
    h = {"Authorization": f"Bearer {brand_a.token()}"}
    r = await client.get("/graphql", params={"query": "{ viewer { roles } }"}, headers=h)
    assert r.status_code == 200 and r.json()["data"]["viewer"]["roles"] == ["BRAND_ADMIN"]
    r = await client.get("/graphql", params={"query": 'mutation { dealerCreate(input: {code: "G", name: "g", region: "r"}) { errors { code } } }'}, headers=h)
    assert r.status_code in (400, 405) and r.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_malformed_requests(client, brand_a):
    h = {"Authorization": f"Bearer {brand_a.token()}", "content-type": "application/json"}
    r = await client.post("/graphql", content=b"{not json", headers=h)
    assert r.status_code == 400 and r.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    r = await client.post("/graphql", json={"query": "{ viewer { roles "}, headers=h)
    body = r.json()
    assert r.status_code == 200 and body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED" and "Syntax Error" in body["errors"][0]["message"]
    r = await client.post("/graphql", json={"query": "{ nope }"}, headers=h)
    assert r.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    r = await client.post("/graphql", json={"variables": {}}, headers=h)
    assert r.status_code == 400


async def test_oversized_body_is_413(client, brand_a):
    h = {"Authorization": f"Bearer {brand_a.token()}"}
    big = "{ viewer { roles } }" + " " * (get_settings().graphql_max_body_bytes + 1)
    r = await client.post("/graphql", json={"query": big}, headers=h)
    assert r.status_code == 413 and r.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"

    async def chunks():  # no Content-Length: counted as it streams in
        for _ in range(get_settings().graphql_max_body_bytes // 10_000 + 2):
            yield b" " * 10_000

    r = await client.post("/graphql", content=chunks(), headers={**h, "content-type": "application/json"})
    assert r.status_code == 413


@pytest.mark.parametrize("query,fragment", [
    ("{ viewer { user { memberships { dealer { id } } } } }".replace("{ id }", "{ id }"), None),
    ("{ " + " ".join(f"a{i}: brand {{ id }}" for i in range(40)) + " }", "aliases"),
    ("{ viewer { roles " + "roles " * 3000 + "} }", "token"),
    ("{ a: dealers(first: 100) { nodes { id code name region timeZone city customerCount } }"
     " b: dealers(first: 100) { nodes { id code name region timeZone city customerCount } }"
     " c: dealers(first: 100) { nodes { id code name region timeZone city customerCount } }"
     " d: dealers(first: 100) { nodes { id code name region timeZone city customerCount } }"
     " e: dealers(first: 100) { nodes { id code name region timeZone city customerCount } }"
     " f: dealers(first: 100) { nodes { id code name region timeZone city customerCount } }"
     " g: dealers(first: 100) { nodes { id code name region timeZone city customerCount } } }", "cost"),
])
async def test_limits(gql, brand_a, query, fragment):
    body = await gql(brand_a.token(), query, errors_ok=True)
    if fragment is None:
        assert "errors" not in body
        return
    assert body.get("data") is None
    assert fragment in body["errors"][0]["message"].lower()


async def test_depth_limit(gql, brand_a):
    depth = get_settings().graphql_max_depth
    inner = "id"
    for _ in range(depth):
        inner = f"... on User {{ memberships {{ dealer {{ {inner} }} }} }}"
    body = await gql(brand_a.token(), "{ viewer { user { " + inner + " } } }", errors_ok=True)
    assert "exceeds maximum operation depth" in body["errors"][0]["message"]


async def test_unexpected_errors_are_masked_with_request_id(client, brand_a, monkeypatch, caplog):
    from app.tenant import repository

    async def boom(scope):
        raise RuntimeError("secret internals: password=hunter2")

    monkeypatch.setattr(repository, "get_brand", boom)
    r = await client.post("/graphql", json={"query": "{ brand { name } }"},
                          headers={"Authorization": f"Bearer {brand_a.token()}", "X-Request-ID": "req-mask-0001"})
    err = r.json()["errors"][0]
    assert r.status_code == 200 and "hunter2" not in r.text and "RuntimeError" not in r.text
    assert err["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-mask-0001"}
    assert "req-mask-0001" in err["message"]
    assert any("unhandled error" in rec.getMessage() for rec in caplog.records)


async def test_graphiql_only_when_enabled(client, monkeypatch):
    r = await client.get("/graphql", headers={"accept": "text/html"})
    assert r.status_code == 404
    monkeypatch.setattr(get_settings(), "graphiql", True)
    r = await client.get("/graphql", headers={"accept": "text/html"})
    assert r.status_code == 200 and "graphiql" in r.text.lower()


async def test_repeated_query_is_parsed_and_validated_once(gql, brand_a):
    """The limits are on (their rules run on the first request) and the validation cache hits
    on every repeat: per-request limiter factories would miss every time."""
    from strawberry.extensions.validation_cache import _get_validate_cache

    from schema import CACHE_SIZE

    cache = _get_validate_cache(CACHE_SIZE)
    q = "query CacheProbe { viewer { roles } dealers(first: 3) { nodes { code } } }"
    await gql(brand_a.token(), q)
    before = cache.cache_info()
    for _ in range(5):
        await gql(brand_a.token(), q)
    after = cache.cache_info()
    assert after.misses == before.misses
    assert after.hits - before.hits == 5
    # and the limits still apply to a cached document's siblings
    body = await gql(brand_a.token(), "{ " + " ".join(f"a{i}: brand {{ id }}" for i in range(40)) + " }", errors_ok=True)
    assert "aliases" in body["errors"][0]["message"].lower()


async def test_nul_characters_are_refused_not_500(client, brand_a):
    h = {"Authorization": f"Bearer {brand_a.token()}"}
    q = 'mutation($n: String!) { customerCreate(input: {name: $n}) { errors { code } } }'
    r = await client.post("/graphql", json={"query": q, "variables": {"n": "bad\x00name"}}, headers=h)
    assert r.status_code == 400 and r.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    r = await client.post("/graphql", json={"query": 'mutation { customerCreate(input: {name: "x\\u0000y"}) { errors { code } } }'}, headers=h)
    assert r.status_code == 400
    r = await client.get("/graphql", params={"query": '{ customers(filter: {search: "a\x00"}) { nodes { id } } }'}, headers=h)
    assert r.status_code == 400
