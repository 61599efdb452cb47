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
    from schema.limits import validate_document as cache

    q = "query CacheProbe { viewer { roles } dealers(first: 3) { nodes { code } } }"
    await gql(brand_a.token(), q)
    hits, misses = cache.hits, cache.misses
    for _ in range(5):
        await gql(brand_a.token(), q)
    assert cache.misses == misses
    assert cache.hits - hits == 5
    # and the limits still apply to a cached document's siblings
    body = await gql(brand_a.token(), "{ " + " ".join(f"a{i}: brand {{ id }}" for i in range(40)) + " }", errors_ok=True)
    assert "aliases" in body["errors"][0]["message"].lower()


def test_the_validation_cache_keys_on_the_document_object_and_is_bounded():
    """The same document object hits; another object of the same text is validated on its own
    (the parser cache makes repeats the same object); the answers are graphql-core's; at most
    `maxsize` documents are kept."""
    from graphql import parse, specified_rules
    from strawberry.schema.schema import validate_document

    from schema import schema
    from schema.limits import ValidationCache

    cache = ValidationCache(maxsize=2)
    rules = tuple(specified_rules)
    good, bad = parse("{ viewer { roles } }"), parse("{ viewer { nope } }")
    assert cache(schema._schema, good, rules) == [] and cache(schema._schema, good, rules) == []
    assert (cache.hits, cache.misses) == (1, 1)
    assert [e.message for e in cache(schema._schema, bad, rules)] == [e.message for e in validate_document(schema._schema, bad, rules)] != []
    again = parse("{ viewer { roles } }")
    assert cache(schema._schema, again, rules) == [] and cache.misses == 3  # another object: validated again
    assert len(cache._entries) == 2


async def test_nul_characters_are_refused_not_500(client, brand_a):
    h = {"Authorization": f"Bearer {brand_a.token()}"}
    q = 'mutation($n: String!) { customerCreate(input: {name: $n}) { errors { code } } }'
    r = await client.post("/graphql", json={"query": q, "variables": {"n": "bad\x00name"}}, headers=h)
    assert r.status_code == 400 and r.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    r = await client.post("/graphql", json={"query": 'mutation { customerCreate(input: {name: "x\\u0000y"}) { errors { code } } }'}, headers=h)
    assert r.status_code == 400
    r = await client.get("/graphql", params={"query": '{ customers(filter: {search: "a\x00"}) { nodes { id } } }'}, headers=h)
    assert r.status_code == 400


def _without_request_ids(value):
    """An answer without what differs between two requests: their ids, and how full the
    caller's cost bucket was (the first request spent from it)."""
    if isinstance(value, dict):
        return {k: _without_request_ids(v) for k, v in value.items() if k not in ("requestId", "currentlyAvailable")}
    if isinstance(value, list):
        return [_without_request_ids(v) for v in value]
    if isinstance(value, str) and "Request id " in value:
        return value.split("Request id ")[0]
    return value


@pytest.fixture
def direct_taken(monkeypatch) -> list:
    """The paths of the requests that schema.http's direct path served (it still serves them)."""
    from schema import http

    taken = []
    direct = http._direct

    async def spy(request):
        taken.append(request.url.path)
        return await direct(request)

    monkeypatch.setattr(http, "_direct", spy)
    return taken


async def test_the_direct_path_answers_as_strawberrys_view_does(app, brand_a, direct_taken):
    """POST /graphql with a JSON body is served by schema.http.graphql_direct, without Starlette's
    routing and strawberry's HTTP view (issue 12, "Speed"); every other request by the view.
    The same requests sent to both (the Starlette application alone takes the view) get the
    same status, headers that matter and body: answers, malformed input, refusals, a
    persisted query's miss, a mutation's errors (tests/core/test_throttle.py and the rest of
    the suite go through the direct path too)."""
    import httpx

    from app.main import RequestContextMiddleware

    token = brand_a.token()
    auth = {"Authorization": f"Bearer {token}"}
    js = {**auth, "content-type": "application/json"}
    cases = [
        (js, {"query": "query($n: Int) { viewer { roles } dealers(first: $n) { edges { cursor node { id code name } } } }",
              "variables": {"n": 2}}),
        (js, {"query": "query A { brand { name } } query B { viewer { roles } }", "operationName": "B"}),
        (js, {"query": "{ viewer { roles "}),
        (js, {"query": "{ nope }"}),
        (js, {"query": 'mutation { dealerCreate(input: {code: "", name: "", region: ""}) { dealer { id } errors { code field } } }'}),
        (js, {"query": "{ viewer { roles } }", "variables": "not an object"}),
        (js, {"query": 123}),
        (js, {"query": "{ viewer { roles } }", "extensions": []}),
        (js, {"variables": {}}),
        (js, [{"query": "{ viewer { roles } }"}]),
        (js, b"{not json"),
        (js, b"\xff\xfe"),
        (js, {"query": 'mutation { customerCreate(input: {name: "x\\u0000y"}) { errors { code } } }'}),
        (js, {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}}),
        (js, {"query": "{ viewer { roles } }", "extensions": {"persistedQuery": {"version": 1, "sha256Hash": "1" * 64}}}),
        ({"content-type": "application/json"}, {"query": "{ viewer { roles } }"}),
        ({"Authorization": "Bearer forged.token.here", "content-type": "application/json"}, {"query": "{ viewer { roles } }"}),
        (js, {"query": "{ viewer { roles } }" + " " * (get_settings().graphql_max_body_bytes + 1)}),
        ({**js, "content-type": "application/json; charset=utf-8"}, {"query": "{ brand { name } }"}),
        (js, {"query": "query A { brand { name } } query B { viewer { roles } }"}),
        (js, {"query": "query A { brand { name } }", "operationName": "Nope"}),
        (js, {"query": "query($n: Int!) { dealers(first: $n) { nodes { id } } }", "variables": {"n": "many"}}),
        (js, {"query": "{ " + " ".join(f'a{i}: customers(first: 100, filter: {{search: "x"}}) {{ nodes {{ id }} }}'
                                       for i in range(12)) + " }"}),
        (js, {"query": "{ dealers(first: 1000) { nodes { id } } }"}),
        ({**auth, "content-type": "APPLICATION/JSON"}, {"query": "{ viewer { roles } }"}),  # strawberry: 400
        ([("Authorization", f"Bearer {token}"), ("content-type", "text/plain"), ("content-type", "application/json")],
         {"query": "{ viewer { roles } }"}),  # the first one counts
        ({**js, "accept": "Multipart/Mixed"}, {"query": "{ viewer { roles } }"}),
    ]
    seen = []
    for direct_first in (True, False):
        answers = []
        for to in ("direct", "view") if direct_first else ("view", "direct"):
            target = app if to == "direct" else RequestContextMiddleware(app.app.site)
            got = []
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=target), base_url="http://test") as c:
                for headers, body in cases:
                    content = body if isinstance(body, bytes) else __import__("json").dumps(body).encode()
                    r = await c.post("/graphql", content=content, headers=headers)
                    try:
                        payload = _without_request_ids(r.json())
                    except ValueError:
                        payload = r.text
                    got.append((r.status_code, r.headers.get("content-type"), r.headers.get("retry-after"),
                                r.headers.get("cache-control"), r.headers.get("www-authenticate"),
                                "x-request-id" in r.headers, payload))
            answers.append(got)
        for case, a, b in zip(cases, *answers):
            assert a == b, case
        seen.append(answers[0])
    assert len(direct_taken) == 2 * (len(cases) - 3)  # sent to the application, all but the last three took the direct path...
    statuses = [s[0] for s in seen[0]]
    assert statuses.count(200) >= 6 and {400, 401, 413} <= set(statuses)  # ... and the cases cover answers and refusals
    codes = {e.get("extensions", {}).get("code") for answer in seen[0] if isinstance(answer[-1], dict)
             for e in answer[-1].get("errors") or ()}
    assert {"GRAPHQL_VALIDATION_FAILED", "QUERY_TOO_COSTLY", "INVALID_PAGINATION", "BAD_REQUEST", "PERSISTED_QUERY_NOT_FOUND",
            "UNAUTHENTICATED"} <= codes, codes


async def test_what_the_direct_path_leaves_to_the_view(app, brand_a, direct_taken):
    import httpx

    h = {"Authorization": f"Bearer {brand_a.token()}"}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        r = await c.get("/graphql", params={"query": "{ viewer { roles } }"}, headers=h)
        assert r.status_code == 200 and r.json()["data"]["viewer"]["roles"] == ["BRAND_ADMIN"]
        r = await c.post("/graphql", content=b'{"query": "{ viewer { roles } }"}', headers={**h, "content-type": "text/plain"})
        assert r.status_code == 400 and r.json()["errors"][0]["message"] == "Unsupported content type"
        assert not direct_taken
        r = await c.post("/graphql", json={"query": "{ viewer { roles } }"}, headers=h)
        assert r.status_code == 200 and direct_taken == ["/graphql"]


async def test_a_failure_outside_the_operation_answers_the_same_500_on_both_paths(app, brand_a, monkeypatch, caplog):
    """A failure outside the operation (here the persisted-query step, which both paths run)
    answers the same JSON 500, with the request id and nothing of the error, whether the
    request took the direct path or Starlette's error middleware (which every other route has);
    the direct path logs it with its traceback."""
    import httpx

    from app.main import RequestContextMiddleware
    from schema import persisted

    async def broken(*_a, **_kw):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(persisted, "resolve", broken)
    answers = []
    headers = {"Authorization": f"Bearer {brand_a.token()}", "X-Request-ID": "req-same-500"}
    for target, method in ((app, "POST"), (RequestContextMiddleware(app.app.site), "POST"), (app, "GET")):  # GET: the view
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=target, raise_app_exceptions=False), base_url="http://test") as c:
            if method == "POST":
                r = await c.post("/graphql", json={"query": "{ viewer { roles } }"}, headers=headers)
            else:
                r = await c.get("/graphql", params={"query": "{ viewer { roles } }"}, headers=headers)
        assert r.status_code == 500 and "secret" not in r.text and r.headers["x-request-id"] == "req-same-500"
        answers.append(r.json())
    assert answers[0] == answers[1] == answers[2] == {"errors": [{"message": "Internal server error.", "extensions": {
        "code": "INTERNAL_SERVER_ERROR", "requestId": "req-same-500"}}]}
    assert any("unhandled error in GraphQL request" in rec.getMessage() and rec.exc_info for rec in caplog.records)
