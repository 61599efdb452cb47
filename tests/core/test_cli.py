"""Operator CLI, run as a real subprocess against the test database."""
import os
import subprocess
import sys
import uuid
from types import SimpleNamespace

from app.core.auth.tokens import verify_access_token
from app.settings import ROOT


def cli(*args, check=True):
    r = subprocess.run([sys.executable, "-m", "app", *args], cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=60)
    if check:
        assert r.returncode == 0, r.stderr + r.stdout
    return r


def test_brand_create_seed_and_token(client):
    slug = f"cli-{uuid.uuid4().hex[:8]}"
    out = cli("brand", "create", slug, "--name", "CLI Brand", "--admin", f"boss@{slug}.test").stdout
    assert f"brand {slug} created" in out
    dup = cli("brand", "create", slug, "--name", "again", "--admin", "x@y.test", check=False)
    assert dup.returncode != 0 and "SLUG_TAKEN" in dup.stderr
    bad = cli("brand", "create", "Bad Slug!", "--name", "x", "--admin", "x@y.test", check=False)
    assert bad.returncode != 0 and "INVALID" in bad.stderr
    first = cli("demo-seed", "--brand", slug).stdout
    assert "'dealers': 2" in first and "'customers': 5" in first
    again = cli("demo-seed", "--brand", slug).stdout
    assert "'dealers': 0, 'users': 0, 'customers': 0" in again  # idempotent
    token = cli("token", "--user", f"boss@{slug}.test", "--brand", slug, "--ttl", "120").stdout.strip()
    claims = verify_access_token(token)
    assert claims.expires_at - claims.raw["iat"] == 120
    missing = cli("token", "--user", "nobody@x.test", "--brand", slug, check=False)
    assert missing.returncode != 0 and "no user" in missing.stderr


async def test_cli_token_works_against_the_api(client):
    slug = f"cli-{uuid.uuid4().hex[:8]}"
    cli("demo-seed", "--brand", slug)
    token = cli("token", "--user", f"bj.agent@{slug}.example", "--brand", slug).stdout.strip()
    r = await client.post("/graphql", json={"query": "{ viewer { roles } dealers { nodes { code customerCount } } }"},
                          headers={"Authorization": f"Bearer {token}"})
    assert r.json()["data"] == {"viewer": {"roles": ["DEALER_AGENT"]}, "dealers": {"nodes": [{"code": "BJ-001", "customerCount": 3}]}}


def test_set_password_reads_stdin_and_enables_login():
    slug = f"cli-{uuid.uuid4().hex[:8]}"
    cli("brand", "create", slug, "--name", "PW", "--admin", f"boss@{slug}.test")
    r = subprocess.run([sys.executable, "-m", "app", "user", "set-password", "--email", f"boss@{slug}.test", "--brand", slug],
                       cwd=ROOT, env=dict(os.environ), input="a long enough password\n", capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "password set" in r.stdout, r.stderr
    short = subprocess.run([sys.executable, "-m", "app", "user", "set-password", "--email", f"boss@{slug}.test", "--brand", slug],
                           cwd=ROOT, env=dict(os.environ), input="short\n", capture_output=True, text=True, timeout=60)
    assert short.returncode != 0


def _demo_apps(out: str) -> dict:
    import re

    return {"console": re.search(r"'Demo brand console'.*client_id=(\S+)", out).group(1),
            "portal": re.search(r"'Demo partner portal'.*client_id=(\S+)", out).group(1),
            "redirect": re.search(r"redirect_uri for both: (\S+)", out).group(1)}


async def _sign_in(client, client_id: str, redirect: str, email: str, password: str):
    from tests.oauth_helpers import authorize_url, hidden_fields

    page = await client.get(authorize_url("", client_id, redirect_uri=redirect))
    assert page.status_code == 200, page.text
    return await client.post("/oauth/authorize", data={**hidden_fields(page.text), "email": email, "password": password})


async def test_every_demo_user_signs_in_with_the_demo_password(client):
    """admin@<brand>.example comes from provision_brand without a password: the seed gives it the
    demo password too, once (a password set later survives the next seed)."""
    from app.tenant.provision import DEMO_PASSWORD, demo_users

    slug = f"cli-{uuid.uuid4().hex[:8]}"
    apps = _demo_apps(cli("demo-seed", "--brand", slug).stdout)
    assert apps["redirect"].endswith("/dev/callback")
    for email, *_ in demo_users(slug):
        r = await _sign_in(client, apps["console"], apps["redirect"], email, DEMO_PASSWORD)
        assert r.status_code == 302 and r.headers["location"].startswith(apps["redirect"] + "?code="), (email, r.text[:200])
    # the partner portal is third-party: the consent page comes after the password
    r = await _sign_in(client, apps["portal"], apps["redirect"], f"analyst@{slug}.example", DEMO_PASSWORD)
    assert r.status_code == 200 and "Allow" in r.text and 'value="consent"' in r.text
    # an operator's password is kept by the next seed
    r = subprocess.run([sys.executable, "-m", "app", "user", "set-password", "--email", f"admin@{slug}.example", "--brand", slug],
                       cwd=ROOT, env=dict(os.environ), input="the operator's own password\n", capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "'passwords': 0" in cli("demo-seed", "--brand", slug).stdout
    assert (await _sign_in(client, apps["console"], apps["redirect"], f"admin@{slug}.example", DEMO_PASSWORD)).status_code == 401
    r = await _sign_in(client, apps["console"], apps["redirect"], f"admin@{slug}.example", "the operator's own password")
    assert r.status_code == 302


async def test_dev_callback_page_only_in_development(monkeypatch):
    import httpx

    from app.main import create_app
    from app.settings import get_settings

    async def get(app, url):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            return await c.get(url)

    assert (await get(create_app(), "/dev/callback?code=x")).status_code == 404  # ENV=test
    monkeypatch.setattr(get_settings(), "env", "development")
    r = await get(create_app(), "/dev/callback?code=<script>alert(1)</script>&state=s%22t")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert "<script>" not in r.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text and "s&quot;t" in r.text
    assert "default-src 'none'" in r.headers["content-security-policy"] and r.headers["referrer-policy"] == "no-referrer"
    r = await get(create_app(), "/dev/callback?error=access_denied&state=s")
    assert r.status_code == 200 and "access_denied" in r.text


def test_banner_names_users_apps_and_a_token_command_that_works(tmp_path):
    """The banner's `New tokens` line, pasted into a shell without DATABASE_URL, prints a token:
    the CLI finds `make run`'s database through <DATA_DIR>/dev.env."""
    from types import SimpleNamespace

    from app import dev
    from app.cli import write_dev_env
    from app.settings import get_settings

    slug = "demo"
    cli("demo-seed", "--brand", slug)
    env = dict(os.environ, DATA_DIR=str(tmp_path), ENV="development", HUIFANG_DEV_ENV_WRITTEN="1")
    apps = {"call_centre_id": "cc", "call_centre_secret": "sec", "console_id": "con", "portal_id": "por",
            "redirect_uri": "http://127.0.0.1:8000/dev/callback"}
    settings = SimpleNamespace(host="127.0.0.1", port=8000, app_db_role="huifang_app")
    old = dict(os.environ)
    try:
        os.environ.update(env)
        get_settings.cache_clear()
        banner = dev._banner(settings, "T1", "T2", apps)
        write_dev_env({"DATABASE_URL": old["DATABASE_URL"], "REDIS_URL": old["REDIS_URL"]})
    finally:
        os.environ.clear()
        os.environ.update(old)
        get_settings.cache_clear()
    assert (tmp_path / "dev.env").exists()
    for line in ("admin@demo.example", "brand_admin", "bj.agent@demo.example", "dealer_agent", "dealer BJ-001",
                 "north.manager@demo.example", "region north", 'password "huifang-demo"', "third-party, consent page",
                 "first-party, sign-in only", "http://127.0.0.1:8000/dev/callback"):
        assert line in banner, line
    command = banner.split("New tokens (in another terminal, while this runs):\n")[1].splitlines()[0].strip()
    assert "..." not in command
    assert command.startswith(f"DATA_DIR='{tmp_path}' ")  # not the default .data: named in the command
    for k in ("DATABASE_URL", "DATABASE_ADMIN_URL", "REDIS_URL", "DATA_DIR"):
        env.pop(k)
    r = subprocess.run(["/bin/sh", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert verify_access_token(r.stdout.strip()).subject


def test_dev_env_carries_the_issuer_and_can_be_sourced(tmp_path):
    """`PORT=8001 make run`: a token minted from another terminal carries the issuer the API on
    8001 expects (dev.env records PUBLIC_URL and JWT_ISSUER), and dev.env is valid shell."""
    import base64
    import json

    from app.cli import write_dev_env
    from app.settings import get_settings

    old = dict(os.environ)
    try:
        os.environ["DATA_DIR"] = str(tmp_path)
        get_settings.cache_clear()
        write_dev_env({"DATABASE_URL": old["DATABASE_URL"], "REDIS_URL": old["REDIS_URL"],
                       "PUBLIC_URL": "http://127.0.0.1:8001", "JWT_ISSUER": "http://127.0.0.1:8001"})
    finally:
        os.environ.clear()
        os.environ.update(old)
        get_settings.cache_clear()
    cli("demo-seed", "--brand", "demo")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DATABASE_ADMIN_URL", "REDIS_URL", "JWT_ISSUER", "PUBLIC_URL")}
    env.update(DATA_DIR=str(tmp_path), ENV="development")
    r = subprocess.run([sys.executable, "-m", "app", "token", "--user", "admin@demo.example", "--brand", "demo"],
                       env=env, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    payload = r.stdout.strip().split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["iss"] == "http://127.0.0.1:8001"
    sourced = subprocess.run(["/bin/sh", "-c", f". '{tmp_path}/dev.env' && printf %s \"$DATABASE_URL\""], capture_output=True, text=True)
    assert sourced.returncode == 0 and sourced.stdout == old["DATABASE_URL"], sourced.stderr


def test_serve_flags_move_the_advertised_urls(monkeypatch):
    from app import cli as cli_mod
    from app.core import serve
    from app.settings import get_settings

    seen = {}
    monkeypatch.setattr(serve, "run", lambda **kw: seen.update(kw, base=get_settings().base_url, iss=get_settings().issuer))
    monkeypatch.delenv("PUBLIC_URL", raising=False)
    monkeypatch.delenv("JWT_ISSUER", raising=False)
    monkeypatch.setenv("PORT", "8000")
    try:
        cli_mod.cmd_serve(SimpleNamespace(host="127.0.0.1", port=8123, workers=1))
    finally:
        get_settings.cache_clear()
    assert seen["port"] == 8123 and seen["base"] == "http://127.0.0.1:8123" and seen["iss"] == "http://127.0.0.1:8123"


def test_make_run_refuses_a_busy_port_with_a_hint():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env.update(PORT=str(port), HOST="127.0.0.1", ENV="development")
        r = subprocess.run([sys.executable, "-m", "app", "dev"], env=env, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert r.returncode != 0 and f"PORT={port + 1} make run" in r.stderr, r.stderr
