"""Operator CLI, run as a real subprocess against the test database."""
import os
import subprocess
import sys
import uuid

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
