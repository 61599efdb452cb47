"""GraphiQL over HTTP: our page on vendored assets, a strict CSP naming no other origin, every
file it references served from here with its content type, and nothing of it when GraphiQL is
off (production by default, or GRAPHIQL=false)."""
from __future__ import annotations

import gzip
import re

import pytest

from app.settings import get_settings

HTML = {"accept": "text/html"}
TYPES = {".js": "text/javascript", ".css": "text/css"}


def _refs(page: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', page)


def _local_assets(page: str) -> list[str]:
    return [u for u in _refs(page) if not u.startswith("data:")]


@pytest.fixture
def graphiql_on(monkeypatch):
    monkeypatch.setattr(get_settings(), "env", "development")
    monkeypatch.setattr(get_settings(), "graphiql", None)


async def test_page_is_ours_with_a_strict_csp(client, graphiql_on):
    r = await client.get("/graphql", headers=HTML)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = r.text
    assert "unpkg.com" not in page and "jsdelivr" not in page and "<script>" not in page.replace(" ", "")
    assert re.search(r"<script(?![^>]*\bsrc=)", page) is None, "no inline script: script-src stays 'self'"
    assert "Bearer &lt;token&gt;" in page  # the header hint, for the Headers tab
    csp = r.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";") if d.strip())
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert directives["img-src"] == "'self' data:"
    assert directives["frame-ancestors"] == "'none'"
    assert "http:" not in csp and "https:" not in csp and "*" not in csp
    assert "unsafe-eval" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"


async def test_every_referenced_asset_is_served_with_its_type(client, graphiql_on):
    page = (await client.get("/graphql", headers=HTML)).text
    urls = _local_assets(page)
    names = {u.split("?")[0].rsplit("/", 1)[1] for u in urls}
    assert {"react.production.min.js", "react-dom.production.min.js", "graphiql.min.js", "graphiql.min.css",
            "huifang-graphiql.js"} <= names
    for url in urls:
        assert url.startswith("/graphiql/assets/"), url  # same origin, path only
        r = await client.get(url, headers={"accept-encoding": "identity"})
        assert r.status_code == 200, url
        ext = "." + url.split("?")[0].rsplit(".", 1)[1]
        assert r.headers["content-type"].startswith(TYPES[ext]), (url, r.headers["content-type"])
        assert "immutable" in r.headers["cache-control"] and r.headers["etag"]
        assert r.headers["x-content-type-options"] == "nosniff"
        assert len(r.content) > 50
        again = await client.get(url, headers={"if-none-match": r.headers["etag"]})
        assert again.status_code == 304


async def test_assets_are_gzipped_when_asked(client, graphiql_on):
    r = await client.get("/graphiql/assets/graphiql.min.js", headers={"accept-encoding": "gzip"})
    assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
    plain = await client.get("/graphiql/assets/graphiql.min.js", headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert r.content == plain.content  # httpx decodes: the same file
    assert int(r.headers["content-length"]) < len(gzip.compress(plain.content)) * 1.1


@pytest.mark.parametrize("name", ["../__init__.py", "..%2F__init__.py", "VERSIONS", "vendor.sh", "graphiql.min.js.map", "nope.js"])
async def test_only_the_listed_files_are_served(client, graphiql_on, name):
    r = await client.get(f"/graphiql/assets/{name}")
    assert r.status_code == 404


@pytest.mark.parametrize("env,flag", [("production", None), ("development", False), ("test", None)])
async def test_off_means_page_and_assets_404(client, monkeypatch, env, flag):
    monkeypatch.setattr(get_settings(), "env", env)
    monkeypatch.setattr(get_settings(), "graphiql", flag)
    assert (await client.get("/graphql", headers=HTML)).status_code == 404
    for name in ("graphiql.min.js", "react.production.min.js", "huifang-graphiql.js", "graphiql.min.css"):
        assert (await client.get(f"/graphiql/assets/{name}")).status_code == 404


async def test_graphiql_true_turns_it_on_outside_development(client, monkeypatch):
    monkeypatch.setattr(get_settings(), "env", "production")
    monkeypatch.setattr(get_settings(), "graphiql", True)
    assert (await client.get("/graphql", headers=HTML)).status_code == 200
    assert (await client.get("/graphiql/assets/graphiql.min.js")).status_code == 200


async def test_the_api_is_unchanged_next_to_the_page(client, graphiql_on, brand_a):
    """A GET with a query, or JSON, is still the API; the page is only for a browser's bare GET."""
    r = await client.get("/graphql", params={"query": "{ viewer { roles } }"},
                         headers={**HTML, "Authorization": f"Bearer {brand_a.token()}"})
    assert r.status_code == 200 and "BRAND_ADMIN" in r.json()["data"]["viewer"]["roles"]
    assert (await client.get("/graphql", headers={"accept": "application/json"})).status_code == 401
