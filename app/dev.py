"""`make run`: one supervisor that owns everything a local Huifang needs.

Embedded PostgreSQL + Valkey (unless DATABASE_URL / REDIS_URL are set) under .data/, migrations,
the demo brand, then the API (uvicorn) and the arq worker as child processes. Ctrl-C or SIGTERM
stops the children gracefully, then the servers. A second run reuses the data."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

from app.settings import get_settings


def _role_line(email: str, role, dealer: str | None, regions: list[str]) -> str:
    where = f"dealer {dealer}" if dealer else (f"region {', '.join(regions)}" if regions else "whole brand")
    return f"   {email:<28} {role.value:<17} {where}"


def token_command(settings) -> str:
    """What to paste for a new token: the CLI finds `make run`'s servers through .data/dev.env;
    with external servers it needs their DATABASE_URL, printed in full."""
    from app.settings import ROOT

    cmd = f"{sys.executable} -m app token --user admin@demo.example --brand demo"
    if os.environ.get("HUIFANG_DEV_ENV_WRITTEN"):
        data_dir = get_settings().data_dir
        return cmd if data_dir.resolve() == (ROOT / ".data").resolve() else f"DATA_DIR='{data_dir}' {cmd}"
    return f"DATABASE_URL='{os.environ['DATABASE_URL']}' {cmd}"


def _banner(settings, token: str, agent_token: str, apps: dict) -> str:
    from app.tenant.provision import DEMO_PASSWORD, demo_users

    base = f"http://{settings.host}:{settings.port}"
    users = "\n".join(_role_line(u[0], u[2], u[3], u[4]) for u in demo_users("demo"))
    return f"""
================================================================================
 Huifang is running
   GraphQL + GraphiQL : {base}/graphql
   Health / readiness : {base}/healthz   {base}/readyz
   Database           : {os.environ['DATABASE_URL']}  (service connects as {settings.app_db_role})
   Redis              : {os.environ['REDIS_URL']}

 Demo brand 'demo' — bearer token of admin@demo.example (valid 12 h):
   {token}

 A dealer agent of BJ-001 (sees only that dealer), bj.agent@demo.example:
   {agent_token}

 In GraphiQL, add the header  {{"Authorization": "Bearer <token>"}}  and run:
   {{ viewer {{ user {{ email }} brand {{ name }} roles }} dealers(first: 10) {{ edges {{ node {{ id code name region customerCount }} }} }} }}
 Or with curl:
   curl -s {base}/graphql -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \\
     -d '{{"query":"{{ viewer {{ roles }} dealers {{ nodes {{ code name }} }} }}"}}'

 Demo users (password "{DEMO_PASSWORD}" for each, on the OAuth sign-in page):
{users}

 Partner app "Demo call centre" (client credentials; its secret is re-issued on every start):
   client_id     {apps['call_centre_id']}
   client_secret {apps['call_centre_secret']}
   curl -s {base}/oauth/token -u "{apps['call_centre_id']}:{apps['call_centre_secret']}" -d grant_type=client_credentials
 Sign-in apps (public clients, authorization code + PKCE S256), redirect_uri {apps['redirect_uri']}
 (a development page of this service that shows the code and state):
   "Demo brand console"  first-party, sign-in only : client_id {apps['console_id']}
   "Demo partner portal" third-party, consent page : client_id {apps['portal_id']}
 OAuth metadata: {base}/.well-known/oauth-authorization-server
 New tokens (in another terminal, while this runs):
   {token_command(settings)}
 Ctrl-C stops everything.
================================================================================
"""


def _port_is_free(host: str, port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def main() -> None:
    settings = get_settings()
    if not _port_is_free(settings.host, settings.port):
        sys.exit(f"Port {settings.port} on {settings.host} is in use (another `make run`?). "
                 f"Pick another: PORT={settings.port + 1} make run")
    data = settings.data_dir
    data.mkdir(parents=True, exist_ok=True)
    servers = []
    if not os.environ.get("DATABASE_URL"):
        from app.core.embedded import start_postgres

        pg, url = start_postgres(data / "pg", "huifang")
        servers.append(pg)
        os.environ["DATABASE_URL"] = url
        print(f"embedded PostgreSQL: {url}")
    valkey = None
    if not os.environ.get("REDIS_URL"):
        from app.core.embedded import start_valkey

        try:
            valkey, rurl = start_valkey(data / "valkey", port=6390)
        except OSError:  # 6390 taken: any free port
            valkey, rurl = start_valkey(data / "valkey", port=None)
        os.environ["REDIS_URL"] = rurl
        print(f"embedded Valkey: {rurl}")
    os.environ.setdefault("JWT_KEYS_FILE", str(data / "jwks.json"))
    get_settings.cache_clear()
    settings = get_settings()
    os.environ.setdefault("PUBLIC_URL", settings.base_url)  # recorded in dev.env: tokens minted elsewhere match
    os.environ.setdefault("JWT_ISSUER", settings.issuer)
    from app.cli import dev_env_path, write_dev_env

    if settings.env == "development":  # `python -m app token` in another terminal finds these servers
        write_dev_env(os.environ)
        os.environ["HUIFANG_DEV_ENV_WRITTEN"] = "1"

    from app.cli import ensure_demo, mint_user_token
    from app.core.auth.keys import keyring
    from app.core.setup import setup

    keyring()  # generate the dev signing key once, before the children read it

    notes: list[str] = []

    async def prepare():
        notes.extend(await setup(settings.admin_url, settings.database_url, settings.app_db_role))
        _, created = await ensure_demo("demo")
        admin = await mint_user_token("admin@demo.example", "demo", 12 * 3600, None)
        agent = await mint_user_token("bj.agent@demo.example", "demo", 12 * 3600, None)
        return admin, agent, created["partner_apps"]

    token, agent_token, apps = asyncio.run(prepare())

    env = dict(os.environ)
    children = {
        "api": subprocess.Popen([sys.executable, "-m", "app", "serve"], env=env, start_new_session=True),
        "worker": subprocess.Popen([sys.executable, "-m", "workers"], env=env, start_new_session=True),
    }
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    time.sleep(1.5)
    print(_banner(settings, token, agent_token, apps), flush=True)
    for note in notes:
        print(f" Note: {note}", flush=True)
    code = 0
    while not stopping:
        for name, proc in children.items():
            if proc.poll() is not None:
                print(f"{name} exited with {proc.returncode}; stopping", file=sys.stderr)
                stopping, code = True, 1
        time.sleep(0.3)
    print("stopping API and worker ...", flush=True)
    for proc in children.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 35
    for proc in children.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
    if os.environ.get("HUIFANG_DEV_ENV_WRITTEN"):
        dev_env_path().unlink(missing_ok=True)
    if valkey is not None:
        valkey.stop()
    print("stopped.", flush=True)
    sys.exit(code)
