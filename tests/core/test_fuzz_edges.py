"""Property-based fuzzing of the non-GraphQL edges: OAuth endpoints and the import parser."""
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core import imports
from app.customer import importer

SETTINGS = dict(deadline=None, derandomize=bool(os.environ.get("CI")), suppress_health_check=[HealthCheck.function_scoped_fixture])
text = st.text(max_size=80)
fields = st.dictionaries(st.sampled_from(["grant_type", "client_id", "client_secret", "code", "redirect_uri", "code_verifier",
                                          "refresh_token", "scope", "token", "token_type_hint", "response_type", "state",
                                          "code_challenge", "code_challenge_method", "csrf_token", "email", "password", "action",
                                          "ticket", "decision"]), text, max_size=8)


@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", 120)), **SETTINGS)
@given(path=st.sampled_from(["/oauth/token", "/oauth/revoke", "/oauth/introspect", "/oauth/authorize"]), form=fields,
       auth=st.none() | st.tuples(text, text) | st.binary(max_size=40), get=st.booleans())
def test_oauth_endpoints_never_500(app, path, form, auth, get):
    import asyncio

    import httpx

    async def go():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            headers = {}
            basic = None
            if isinstance(auth, bytes):
                headers["Authorization"] = "Basic " + auth.decode("latin-1")
            elif auth is not None:
                basic = auth
            if get or path == "/oauth/authorize" and not form.get("action"):
                return await c.get(path, params=form, headers=headers)
            return await c.post(path, data=form, auth=basic, headers=headers)

    try:
        r = asyncio.get_event_loop().run_until_complete(go())
    except (UnicodeEncodeError, httpx.InvalidURL, httpx.LocalProtocolError):
        return  # the client refused to build the request (e.g. a header it cannot encode): nothing reached the app
    assert r.status_code < 500, (path, form, r.text[:300])


@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", 300)), **SETTINGS)
@given(data=st.binary(max_size=600) | st.text(max_size=600).map(str.encode), fmt=st.sampled_from(["csv", "jsonl"]))
def test_import_parser_reports_rows_never_raises(data, fmt):
    header = b"external_source,external_id,name,birth_year,phone,email,tags,service_spend,product_model,purchase_date\n"
    payload = header + data if fmt == "csv" else data
    for line, item in imports.parse(payload, fmt, importer.REQUIRED):
        assert isinstance(line, int)
        if isinstance(item, imports.RowError):
            assert item.code and item.message
            continue
        try:
            importer.validate_row(line, item, {"N-001": __import__("uuid").uuid4()})
        except imports.RowError as e:
            assert e.code and e.message
