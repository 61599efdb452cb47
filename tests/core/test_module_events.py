"""Modules meet through domain events: the tenant module records a user's deactivation
(`tenant.user_deactivated`) without importing oauth, and oauth's in-transaction handler
(app/oauth/events.py) revokes the user's refresh tokens in the same transaction."""
from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

from app.core import clock, db
from app.core.ids import uuid7
from app.oauth.models import RefreshToken
from tests.factories import make_app
from tests.oauth_helpers import REDIRECT

UPDATE_USER = "mutation($i: UserUpdateInput!) { userUpdate(input: $i) { user { isActive } errors { field code } } }"


def test_delivering_an_event_loads_every_handler_first():
    """A process that imported nothing of oauth (a fresh interpreter) still reaches its handler."""
    code = ("import sys; from app.core import events; assert 'app.oauth.events' not in sys.modules; events.load(); "
            "hs = events.HANDLERS['tenant.user_deactivated']; assert [h.__module__ for h in hs] == ['app.oauth.events'], hs")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


async def test_deactivating_a_user_revokes_their_refresh_tokens(gql, brand_a):
    app, _ = await make_app(brand_a, grant_types=["authorization_code", "refresh_token"], redirect_uris=[REDIRECT],
                            scopes=["customers:read"])
    analyst, admin = brand_a.users["analyst"].id, brand_a.users["admin"].id
    async with db.tenant_transaction(brand_a.tenant_id):
        for i, user_id in enumerate((analyst, analyst, admin)):
            await RefreshToken.create(tenant_id=brand_a.tenant_id, token_hash=f"{i:064d}", family_id=uuid7(),
                                      client_id=app.client_id, user_id=user_id, scope="customers:read",
                                      expires_at=clock.now() + timedelta(days=1))
    body = await gql(brand_a.token(), UPDATE_USER, {"i": {"id": brand_a.gid("User", "analyst"), "isActive": False}})
    assert body["data"]["userUpdate"] == {"user": {"isActive": False}, "errors": []}
    async with db.tenant_transaction(brand_a.tenant_id):
        rows = await RefreshToken.filter(tenant_id=brand_a.tenant_id, client_id=app.client_id)
    revoked = {(r.user_id, r.revoked_at is not None) for r in rows}
    assert revoked == {(analyst, True), (admin, False)}, revoked
