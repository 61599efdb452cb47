"""hypothesis-graphql fuzzing of the whole schema over real HTTP: no 5xx, nothing unmasked.

Queries and mutations generated from the SDL (valid and invalid) are sent as a brand admin and
as a dealer agent to a real server process; every error must carry a stable code and no
internals. The generated ids and inputs also probe bad ids, wrong types and huge values."""
import os

import httpx
import pytest
from graphql import GraphQLBoolean, GraphQLInt, GraphQLString, ast_from_value
from graphql.language import ast as nodes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema

from schema import schema

SDL = schema.as_str()
LEAKS = ("Traceback", "asyncpg", "tortoise", "File \"", "Exception", "psycopg", "SELECT ")
KNOWN_CODES = {
    "GRAPHQL_VALIDATION_FAILED", "BAD_REQUEST", "INVALID_ID", "NOT_FOUND", "INVALID_CURSOR", "INVALID_PAGINATION",
    "PERMISSION_DENIED", "INVALID", "UNAUTHENTICATED", "QUERY_TOO_COSTLY", "PAYLOAD_TOO_LARGE",
}

# JSON inputs (survey answers, calendar specs) as GraphQL object literals of a few keys and scalars
_json = st.dictionaries(st.text("abcdefghij_", min_size=1, max_size=6), st.one_of(st.integers(-5, 15), st.booleans(), st.text(max_size=8)),
                        max_size=4).map(lambda d: nodes.ObjectValueNode(fields=tuple(
                            nodes.ObjectFieldNode(name=nodes.NameNode(value=k), value=ast_from_value(v, GraphQLString if isinstance(v, str)
                                                  else GraphQLBoolean if isinstance(v, bool) else GraphQLInt)) for k, v in d.items())))
SCALARS = {"JSON": _json}
queries = from_schema(SDL, mode=Mode.POSITIVE, custom_scalars=SCALARS) | from_schema(SDL, mode=Mode.NEGATIVE, custom_scalars=SCALARS)


def check(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    text = response.text
    for leak in LEAKS:
        assert leak not in text, (leak, text)
    if response.status_code == 200:
        for err in response.json().get("errors", []):
            assert err.get("extensions", {}).get("code") in KNOWN_CODES, err


@pytest.fixture
async def app_token(brand_a):
    """A partner app holding only customers:read (masked data, no writes)."""
    from app.core.auth.tokens import mint_access_token
    from tests.factories import make_app

    app, _ = await make_app(brand_a, scopes=["customers:read"])
    return mint_access_token(tenant_id=brand_a.tenant_id, subject=app.client_id, client_id=app.client_id, scope="customers:read")


def test_fuzz_queries_and_mutations_over_http(live_server, brand_a, app_token):
    tokens = [brand_a.token("admin"), brand_a.token("d1_agent"), app_token]
    client = httpx.Client(base_url=live_server, timeout=10)

    # CI replays a fixed seed (a landing must not hinge on luck); local runs explore new inputs
    @settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", 150)), deadline=None, derandomize=bool(os.environ.get("CI")),
              suppress_health_check=list(HealthCheck))
    @given(query=queries, who=st.sampled_from(tokens), via_get=st.booleans())
    def run(query, who, via_get):
        headers = {"Authorization": f"Bearer {who}"}
        if via_get:
            r = client.get("/graphql", params={"query": query}, headers=headers)
        else:
            r = client.post("/graphql", json={"query": query}, headers=headers)
        check(r)

    try:
        run()
    finally:
        client.close()


def test_fuzz_garbage_bodies(live_server, brand_a):
    client = httpx.Client(base_url=live_server, timeout=10)
    headers = {"Authorization": f"Bearer {brand_a.token()}", "content-type": "application/json"}

    @settings(max_examples=60, deadline=None, derandomize=bool(os.environ.get("CI")), suppress_health_check=list(HealthCheck))
    @given(body=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
    def run(body):
        check(client.post("/graphql", content=body, headers=headers))

    try:
        run()
    finally:
        client.close()
