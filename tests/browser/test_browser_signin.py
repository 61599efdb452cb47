"""Sign-in in a real browser (Debian's Chromium, driven by Playwright) against the real service
over real HTTP: open /oauth/authorize with PKCE S256, sign in, (third-party) Allow, arrive at the
client's redirect URI — on another origin — with code and state, exchange the code.

Chromium applies CSP `form-action` to the redirect that follows a form's POST: with
`form-action 'self'` alone it blocks our 302 to the client and the person stays on the page."""
from __future__ import annotations

import base64
import hashlib
import os
import secrets
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from tests.factories import make_app, set_password

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run"]
PASSWORD = "browser sign-in password"


def _require_chromium() -> None:
    if Path(CHROMIUM).exists():
        return
    reason = "Debian chromium not installed: apt-get install chromium"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason} (CI=true: the browser tests must run, .ci/run installs it)")
    pytest.skip(reason)


class _Callback(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self):
        type(self).hits.append(self.path)
        body = b"<!doctype html><title>client callback</title><p>back at the client</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def callback_server():
    """The client's redirect target: a tiny HTTP server on another origin than the service."""
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Callback)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/callback"
    srv.shutdown()
    srv.server_close()


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


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


async def _sign_in(context, base: str, app, redirect: str, email: str, *, consent: bool) -> tuple[str, str, str]:
    verifier, challenge = _pkce()
    state = secrets.token_urlsafe(12)
    url = f"{base}/oauth/authorize?" + urlencode({
        "response_type": "code", "client_id": app.client_id, "redirect_uri": redirect, "scope": "customers:read",
        "state": state, "code_challenge": challenge, "code_challenge_method": "S256"})
    page = await context.new_page()
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    await page.goto(url)
    await page.fill("#email", email)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    if consent:
        allow = page.locator("button[value=allow]")
        await allow.wait_for(timeout=10_000)
        assert "will be able to" in await page.content()
        await allow.click()
    try:
        await page.wait_for_url(f"{redirect}?**", timeout=10_000)
    except Exception as e:  # say why the browser stayed
        raise AssertionError(f"the browser never reached the redirect URI; it is at {page.url}; CSP: {blocked}") from e
    query = parse_qs(urlsplit(page.url).query)
    assert query["state"] == [state]
    await page.close()
    return query["code"][0], verifier, state


async def _exchange(base: str, app, redirect: str, code: str, verifier: str) -> dict:
    async with httpx.AsyncClient() as c:
        r = await c.post(f"{base}/oauth/token", data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect,
                                                       "client_id": app.client_id, "code_verifier": verifier})
        assert r.status_code == 200, r.text
        token = r.json()
        viewer = await c.post(f"{base}/graphql", json={"query": "{ viewer { actorKind user { email } } }"},
                              headers={"Authorization": f"Bearer {token['access_token']}"})
    assert viewer.status_code == 200 and viewer.json()["data"]["viewer"]["actorKind"] == "user"
    return token


async def test_first_party_sign_in_reaches_the_client(live_server, brand_a, callback_server, browser):
    app, _ = await make_app(brand_a, client_type="public", grant_types=["authorization_code", "refresh_token"],
                            redirect_uris=[callback_server], scopes=["customers:read"], first_party=True)
    await set_password(brand_a, "admin", PASSWORD)
    code, verifier, _ = await _sign_in(browser, live_server, app, callback_server, brand_a.users["admin"].email, consent=False)
    token = await _exchange(live_server, app, callback_server, code, verifier)
    assert token["scope"] == "customers:read" and token["refresh_token"].startswith("hfr_")
    assert any(h.startswith("/callback?") for h in _Callback.hits)


async def test_third_party_sign_in_and_consent_reach_the_client(live_server, brand_a, callback_server, browser):
    app, _ = await make_app(brand_a, client_type="public", grant_types=["authorization_code"], redirect_uris=[callback_server],
                            scopes=["customers:read", "tickets:read"], first_party=False)
    await set_password(brand_a, "analyst", PASSWORD)
    code, verifier, _ = await _sign_in(browser, live_server, app, callback_server, brand_a.users["analyst"].email, consent=True)
    token = await _exchange(live_server, app, callback_server, code, verifier)
    assert token["scope"] == "customers:read"


async def test_sign_in_pages_allow_only_this_requests_redirect_uri(live_server, brand_a, callback_server):
    """The CSP names 'self' and the one validated redirect URI, never another registered one."""
    other = "https://other.example/cb"
    app, _ = await make_app(brand_a, client_type="public", grant_types=["authorization_code"], redirect_uris=[callback_server, other],
                            scopes=["customers:read"], first_party=False)
    _, challenge = _pkce()
    async with httpx.AsyncClient() as c:
        r = await c.get(f"{live_server}/oauth/authorize", params={
            "response_type": "code", "client_id": app.client_id, "redirect_uri": callback_server, "scope": "customers:read",
            "state": "s", "code_challenge": challenge, "code_challenge_method": "S256"})
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert f"form-action 'self' {callback_server};" in csp and other not in csp and "default-src 'none'" in csp
