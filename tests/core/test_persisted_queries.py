"""Trusted documents (issue #12 item 4): automatic persisted queries (Apollo's extension, POST
and GET, per brand, bounded), and allow-list mode per brand or per partner app, which refuses
unregistered documents before any database work."""
import hashlib
import json
import os
import subprocess
import sys

import pytest

from app.core import db, documents
from app.core.tenancy import Actor, scope_for
from app.settings import ROOT, get_settings
from tests.querycount import count_queries

Q = "query Roles { viewer { roles } }"
OTHER = "query Brand { brand { name } }"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def pq(digest: str) -> dict:
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


async def post(client, token, body: dict):
    return await client.post("/graphql", json=body, headers={"Authorization": f"Bearer {token}"})


async def get(client, token, **params):
    params = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in params.items()}
    return await client.get("/graphql", params=params, headers={"Authorization": f"Bearer {token}"})


def code(r) -> str:
    return r.json()["errors"][0]["extensions"]["code"]


async def test_unknown_hash_asks_for_the_document_then_runs_by_hash(client, brand_a, brand_b):
    tok, digest = brand_a.token(), sha(Q)
    r = await post(client, tok, {"extensions": pq(digest)})
    # what makes Apollo clients send the document with the hash
    assert r.status_code == 200 and r.json()["errors"][0]["message"] == "PersistedQueryNotFound"
    assert code(r) == "PERSISTED_QUERY_NOT_FOUND" and r.json()["data"] is None
    assert r.headers["cache-control"] == "no-store"
    r = await post(client, tok, {"query": Q, "extensions": pq(digest)})
    assert r.status_code == 200 and r.json()["data"] == {"viewer": {"roles": ["BRAND_ADMIN"]}}
    r = await post(client, tok, {"extensions": pq(digest), "operationName": "Roles"})
    assert r.json()["data"] == {"viewer": {"roles": ["BRAND_ADMIN"]}}
    r = await get(client, tok, extensions=pq(digest), variables={})  # GET too, so a CDN may cache it
    assert r.status_code == 200 and r.json()["data"] == {"viewer": {"roles": ["BRAND_ADMIN"]}}
    # kept per brand: a hash never tells another brand what this one ran
    r = await post(client, brand_b.token(), {"extensions": pq(digest)})
    assert code(r) == "PERSISTED_QUERY_NOT_FOUND"


async def test_hash_mismatch_and_bad_extensions_are_refused(client, brand_a):
    tok = brand_a.token()
    r = await post(client, tok, {"query": Q, "extensions": pq(sha(OTHER))})
    assert r.status_code == 400 and code(r) == "PERSISTED_QUERY_HASH_MISMATCH"
    r = await post(client, tok, {"extensions": pq(sha(OTHER))})
    assert code(r) == "PERSISTED_QUERY_NOT_FOUND"  # nothing was stored under the wrong hash
    r = await post(client, tok, {"query": Q, "extensions": {"persistedQuery": {"version": 2, "sha256Hash": sha(Q)}}})
    assert r.status_code == 400 and code(r) == "PERSISTED_QUERY_NOT_SUPPORTED"
    r = await post(client, tok, {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "nope"}}})
    assert r.status_code == 400 and code(r) == "BAD_REQUEST"


async def test_only_valid_documents_within_the_bounds_are_kept(client, brand_a, monkeypatch):
    tok = brand_a.token()
    bad = "{ viewer { nope } }"
    r = await post(client, tok, {"query": bad, "extensions": pq(sha(bad))})
    assert code(r) == "GRAPHQL_VALIDATION_FAILED"
    assert code(await post(client, tok, {"extensions": pq(sha(bad))})) == "PERSISTED_QUERY_NOT_FOUND"
    big = "{ viewer { roles } }" + " " * 200
    monkeypatch.setattr(get_settings(), "graphql_apq_max_bytes", 100)
    assert "errors" not in (await post(client, tok, {"query": big, "extensions": pq(sha(big))})).json()  # runs, not kept
    assert code(await post(client, tok, {"extensions": pq(sha(big))})) == "PERSISTED_QUERY_NOT_FOUND"
    monkeypatch.setattr(get_settings(), "graphql_apq_max_per_day", 2)
    docs = [f"query N{i} {{ viewer {{ roles }} }}" for i in range(3)]
    for d in docs:
        await post(client, tok, {"query": d, "extensions": pq(sha(d))})
    found = [(await post(client, tok, {"extensions": pq(sha(d))})).json().get("data") is not None for d in docs]
    assert found == [True, True, False]  # the brand's daily cap


async def test_redis_down_means_not_found_and_the_document_still_runs(client, brand_a, monkeypatch):
    from app.core import ratelimit

    class Down:
        def __getattr__(self, name):
            raise ConnectionError("redis is down")

    monkeypatch.setattr(ratelimit, "redis", lambda: Down())
    tok, text = brand_a.token(), "query Down { viewer { roles } }"
    assert code(await post(client, tok, {"extensions": pq(sha(text))})) == "PERSISTED_QUERY_NOT_FOUND"
    r = await post(client, tok, {"query": text, "extensions": pq(sha(text))})
    assert r.json()["data"] == {"viewer": {"roles": ["BRAND_ADMIN"]}}


async def _register(brand, client_id: str, *bodies: str) -> None:
    async with db.tenant_transaction(brand.tenant_id):
        await documents.register(scope_for(Actor.system(brand.tenant_id)), client_id, [(None, b) for b in bodies])


async def _allow_list(brand, client_id: str, on: bool = True) -> None:
    async with db.tenant_transaction(brand.tenant_id):
        await documents.set_allow_list(scope_for(Actor.system(brand.tenant_id)), client_id, on)


async def _app(brand):
    from app.core.auth.tokens import mint_access_token
    from tests.factories import make_app

    app, _ = await make_app(brand, scopes=["customers:read", "tickets:read"])
    return app.client_id, mint_access_token(tenant_id=brand.tenant_id, subject=app.client_id, client_id=app.client_id)


async def test_allow_list_mode_runs_registered_documents_only(client, brand_a):
    tok = brand_a.token()
    await _register(brand_a, documents.BRAND, Q)
    await _allow_list(brand_a, documents.BRAND)
    r = await post(client, tok, {"query": Q})  # in full
    assert r.json()["data"] == {"viewer": {"roles": ["BRAND_ADMIN"]}}
    r = await post(client, tok, {"extensions": pq(sha(Q))})  # by hash: the registered text runs
    assert r.json()["data"] == {"viewer": {"roles": ["BRAND_ADMIN"]}}
    r = await get(client, tok, extensions=pq(sha(Q)))
    assert r.json()["data"] == {"viewer": {"roles": ["BRAND_ADMIN"]}}
    for body in ({"query": OTHER}, {"extensions": pq(sha(OTHER))}, {"query": OTHER, "extensions": pq(sha(OTHER))},
                 {"query": Q + " "}):  # byte for byte
        with count_queries() as refused:
            r = await post(client, tok, body)
        assert r.status_code == 200 and code(r) == "DOCUMENT_NOT_ALLOWED" and r.json()["data"] is None, body
        assert refused.count == 0, refused.statements  # before any database work
    # brand-wide: a partner app of the brand too, held to the documents registered for it
    client_id, app_tok = await _app(brand_a)
    assert code(await post(client, app_tok, {"query": Q})) == "DOCUMENT_NOT_ALLOWED"
    await _register(brand_a, client_id, OTHER)
    assert "errors" not in (await post(client, app_tok, {"query": OTHER})).json()
    assert code(await post(client, app_tok, {"query": Q})) == "DOCUMENT_NOT_ALLOWED"
    await _allow_list(brand_a, documents.BRAND, on=False)
    assert "errors" not in (await post(client, tok, {"query": OTHER})).json()


async def test_a_document_registered_for_one_brand_or_app_unlocks_no_other(client, brand_a, brand_b):
    app1, tok1 = await _app(brand_a)
    app2, tok2 = await _app(brand_a)
    await _register(brand_a, app2, Q)
    await _register(brand_a, documents.BRAND, OTHER)
    await _allow_list(brand_a, app1)
    await _allow_list(brand_a, app2)
    assert code(await post(client, tok1, {"query": Q})) == "DOCUMENT_NOT_ALLOWED"  # app 2's document
    assert code(await post(client, tok1, {"query": OTHER})) == "DOCUMENT_NOT_ALLOWED"  # the brand's own front-ends'
    assert code(await post(client, tok1, {"extensions": pq(sha(Q))})) == "DOCUMENT_NOT_ALLOWED"
    assert "errors" not in (await post(client, tok2, {"query": Q})).json()
    # an app's allow-list mode leaves the brand's first-party callers open
    assert "errors" not in (await post(client, brand_a.token(), {"query": "{ brand { id } }"})).json()
    # the other brand, in allow-list mode, registered nothing: brand A's documents do not run there
    await _allow_list(brand_b, documents.BRAND)
    assert code(await post(client, brand_b.token(), {"query": OTHER})) == "DOCUMENT_NOT_ALLOWED"
    assert code(await post(client, brand_b.token(), {"extensions": pq(sha(OTHER))})) == "DOCUMENT_NOT_ALLOWED"


async def test_other_processes_apply_a_change_within_the_cache_time(client, brand_a, monkeypatch):
    tok = brand_a.token()
    assert "errors" not in (await post(client, tok, {"query": OTHER})).json()  # cached: no allow-list
    async with db.tenant_transaction(brand_a.tenant_id):  # as another process would (no forget() here)
        await db.fetch("INSERT INTO document_policy (id, tenant_id, client_id, created_by, created_at) "
                       "VALUES (gen_random_uuid(), $1, '', 'test', now())", [brand_a.tenant_id])
    assert "errors" not in (await post(client, tok, {"query": OTHER})).json()  # still the cached policy
    later = documents._now() + get_settings().graphql_documents_cache_seconds + 0.1
    monkeypatch.setattr(documents, "_now", lambda: later)
    assert code(await post(client, tok, {"query": OTHER})) == "DOCUMENT_NOT_ALLOWED"


def cli(*args, check=True):
    r = subprocess.run([sys.executable, "-m", "app", *args], cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=60)
    if check:
        assert r.returncode == 0, r.stderr + r.stdout
    return r


async def test_documents_cli_registers_files_and_manifests_and_turns_allow_list_on(client, brand_a, tmp_path, monkeypatch):
    monkeypatch.setattr(get_settings(), "graphql_documents_cache_seconds", 0)  # the CLI is another process
    client_id, app_tok = await _app(brand_a)
    (tmp_path / "roles.graphql").write_text(Q)
    apollo = {"format": "apollo-persisted-query-manifest", "version": 1,
              "operations": [{"id": sha(OTHER), "name": "Brand", "type": "query", "body": OTHER}]}
    (tmp_path / "apollo.json").write_text(json.dumps(apollo))
    relay_doc = "query Dealers { dealers(first: 2) { nodes { code } } }"
    (tmp_path / "relay.json").write_text(json.dumps({sha(relay_doc): relay_doc}))
    slug = brand_a.slug
    out = cli("documents", "register", "--brand", slug, str(tmp_path / "roles.graphql"), str(tmp_path / "apollo.json")).stdout
    assert "2 documents registered, 0 already were" in out
    assert "1 already were" in cli("documents", "register", "--brand", slug, str(tmp_path / "roles.graphql")).stdout
    out = cli("documents", "register", "--brand", slug, "--app", client_id, str(tmp_path / "relay.json")).stdout
    assert "1 documents registered" in out
    (tmp_path / "bad.graphql").write_text("{ viewer { nope } }")
    bad = cli("documents", "register", "--brand", slug, str(tmp_path / "bad.graphql"), check=False)
    assert bad.returncode != 0 and "nope" in bad.stderr
    (tmp_path / "wrong.json").write_text(json.dumps({"0" * 64: Q}))
    wrong = cli("documents", "register", "--brand", slug, str(tmp_path / "wrong.json"), check=False)
    assert wrong.returncode != 0 and "SHA256" in wrong.stderr
    stranger = cli("documents", "register", "--brand", slug, "--app", "hf_client_nope", str(tmp_path / "roles.graphql"), check=False)
    assert stranger.returncode != 0 and "no partner app" in stranger.stderr

    turned_on = cli("documents", "allow-list", "on", "--brand", slug).stdout
    assert "allow-list mode on for every caller of brand" in turned_on and "(it already was)" not in turned_on
    listing = cli("documents", "list", "--brand", slug).stdout
    assert "allow-list mode: the whole brand" in listing
    assert f"{sha(Q)}  (brand)" in listing and f"{sha(OTHER)}  (brand)" in listing and f"{sha(relay_doc)}  {client_id}" in listing
    tok = brand_a.token()
    assert "errors" not in (await post(client, tok, {"query": Q})).json()
    assert "errors" not in (await post(client, tok, {"extensions": pq(sha(OTHER))})).json()
    assert code(await post(client, tok, {"query": relay_doc})) == "DOCUMENT_NOT_ALLOWED"  # the app's, not the brand's
    assert "errors" not in (await post(client, app_tok, {"extensions": pq(sha(relay_doc))})).json()
    assert "(it already was)" in cli("documents", "allow-list", "on", "--brand", slug).stdout
    assert "(it already was)" not in cli("documents", "allow-list", "off", "--brand", slug).stdout
    assert "(it already was)" in cli("documents", "allow-list", "off", "--brand", slug).stdout
    assert "allow-list mode: off" in cli("documents", "list", "--brand", slug).stdout
    assert "errors" not in (await post(client, tok, {"query": relay_doc})).json()


@pytest.mark.parametrize("text", ["", "{"])
def test_documents_that_are_not_graphql_are_reported(text):
    from schema import persisted

    assert persisted.check_documents([("broken", text)])
