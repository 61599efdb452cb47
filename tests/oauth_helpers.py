"""OAuth helpers shared by the OAuth, CLI and partner-app tests: what a person does in the
browser (sign in, consent) and a full authorization-code flow."""
import base64
import hashlib
import html
import re

import httpx
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client

REDIRECT = "http://127.0.0.1:8765/callback"
PASSWORD = "correct horse battery staple"
VIEWER = {"query": "{ viewer { actorKind permissions user { email } } dealers(first: 50) { nodes { code } } }"}


def hidden_fields(page: str) -> dict:
    return {html.unescape(k): html.unescape(v) for k, v in re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', page)}


async def api(base: str, token: str, body=VIEWER) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base) as c:
        return await c.post("/graphql", json=body, headers={"Authorization": f"Bearer {token}"})


async def browser_login(base: str, url: str, email: str, password: str, *, consent: str | None = None) -> httpx.Response:
    """What a person does in the browser: open the authorize URL, sign in, maybe consent."""
    async with httpx.AsyncClient(base_url=base, follow_redirects=False) as browser:
        page = await browser.get(url)
        assert page.status_code == 200, page.text
        form = hidden_fields(page.text)
        r = await browser.post("/oauth/authorize", data={**form, "email": email, "password": password})
        if consent is not None and r.status_code == 200:
            form = hidden_fields(r.text)
            assert form["action"] == "consent"
            r = await browser.post("/oauth/authorize", data={**form, "decision": consent})
        return r


async def code_flow(base, app, email, *, scope="customers:read tickets:read", consent=None, secret=None):
    client = AsyncOAuth2Client(app.client_id, client_secret=secret, redirect_uri=REDIRECT, scope=scope,
                               code_challenge_method="S256",
                               token_endpoint_auth_method="client_secret_basic" if secret else "none")
    verifier = generate_token(64)
    url, state = client.create_authorization_url(f"{base}/oauth/authorize", code_verifier=verifier)
    r = await browser_login(base, url, email, PASSWORD, consent=consent)
    assert r.status_code == 302, r.text
    location = r.headers["location"]
    assert location.startswith(REDIRECT) and f"state={state}" in location
    return client, location, verifier


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


def authorize_url(base, client_id, **params):
    q = {"response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT, "scope": "customers:read", "state": "xyz",
         "code_challenge": s256(generate_token(64)), "code_challenge_method": "S256", **params}
    return f"{base}/oauth/authorize?" + "&".join(f"{k}={v}" for k, v in q.items() if v is not None)
