"""GraphiQL works offline: in a real browser (Debian's Chromium, driven by Playwright) against
the real service over real HTTP, with every request to another host aborted as if there were
no internet. The editor renders, a query with a brand admin's bearer token runs, and the page
neither tried another origin nor tripped its Content-Security-Policy."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run"]

# recorded before any page script runs (init scripts are not subject to the page's CSP)
RECORD_CSP = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => {
  window.__csp.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


def _require_chromium() -> None:
    if Path(CHROMIUM).exists():
        return
    reason = "Debian chromium not installed: apt-get install chromium"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason} (CI=true: the browser tests must run, .ci/run installs it)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def graphiql_server():
    """The real service with GraphiQL on (the suite runs with ENV=test, where it is off)."""
    _require_chromium()
    from tests.conftest import spawn_server, stop_server

    base, proc = spawn_server({"GRAPHIQL": "true"})
    yield base
    stop_server(proc)


@pytest.fixture
async def browser(tmp_path):
    _require_chromium()
    from playwright.async_api import async_playwright

    profile = tmp_path / "chromium-profile"  # a fresh user data dir per test
    async with async_playwright() as pw:
        context = await pw.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield context
        finally:
            await context.close()
    shutil.rmtree(profile, ignore_errors=True)


async def _set_editor(page, selector: str, text: str) -> None:
    """Set a CodeMirror editor's text the way a paste would (typing would fight auto-closed brackets)."""
    await page.locator(selector).wait_for(state="visible", timeout=15_000)
    await page.eval_on_selector(selector, "(el, text) => el.CodeMirror.setValue(text)", text)


async def test_graphiql_runs_a_query_with_no_other_origin(graphiql_server, brand_a, browser):
    from playwright.async_api import expect

    here = urlsplit(graphiql_server).netloc
    blocked: list[str] = []
    served: list[str] = []

    async def offline(route):
        url = route.request.url
        if urlsplit(url).netloc == here:
            served.append(url)
            await route.continue_()
        else:  # no internet: anything not from the service fails
            blocked.append(url)
            await route.abort("internetdisconnected")

    await browser.route("**/*", offline)
    await browser.add_init_script(RECORD_CSP)
    page = await browser.new_page()
    console: list[str] = []
    errors: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: errors.append(str(e)))

    response = await page.goto(f"{graphiql_server}/graphql")
    assert response.status == 200
    assert "default-src 'self'" in response.headers["content-security-policy"]

    await page.locator(".graphiql-container").wait_for(state="visible", timeout=20_000)
    await page.locator(".graphiql-query-editor .CodeMirror").wait_for(state="visible", timeout=15_000)
    # before a token, the schema request gets the service's own hint (the placeholder is not sent)
    await expect(page.locator(".graphiql-response")).to_contain_text("Authentication required", timeout=15_000)
    # the Headers tab is open with the hint in it
    headers_editor = ".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror"
    hint = await page.eval_on_selector(headers_editor, "el => el.CodeMirror.getValue()")
    assert json.loads(hint) == {"Authorization": "Bearer <token>"}

    await _set_editor(page, headers_editor, json.dumps({"Authorization": f"Bearer {brand_a.token()}"}))
    await _set_editor(page, ".graphiql-query-editor .CodeMirror", "{ viewer { roles } }")
    await page.locator(".graphiql-execute-button").click()
    await expect(page.locator(".graphiql-response")).to_contain_text("BRAND_ADMIN", timeout=15_000)

    # with the token in place the schema loads too (the documentation explorer has the root types)
    await page.get_by_role("button", name="Re-fetch GraphQL schema").click()
    await page.get_by_role("button", name="Show Documentation Explorer").click()
    await expect(page.locator(".graphiql-doc-explorer")).to_contain_text("Query", timeout=15_000)

    # nothing of the session is kept in the browser: no token in localStorage (GraphiQL's query
    # history would otherwise hold the Authorization header) nor in sessionStorage
    stored = await page.evaluate("JSON.stringify([Object.assign({}, localStorage), Object.assign({}, sessionStorage)])")
    assert brand_a.token()[:40] not in stored and "Bearer ey" not in stored, stored[:300]
    assert stored == "[{},{}]", stored[:300]
    await page.reload()
    await page.locator(".graphiql-query-editor .CodeMirror").wait_for(state="visible", timeout=15_000)
    hint = await page.eval_on_selector(headers_editor, "el => el.CodeMirror.getValue()")
    assert json.loads(hint) == {"Authorization": "Bearer <token>"}  # a reload starts clean

    assert blocked == [], f"the page tried other origins: {blocked}"
    violations = await page.evaluate("window.__csp")
    csp_console = [m for m in console if "Content Security Policy" in m or "Refused to" in m]
    assert violations == [] and csp_console == [], (violations, csp_console)
    assert errors == [], errors
    assert any("/graphiql/assets/graphiql.min.js" in u for u in served)
