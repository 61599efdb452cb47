"""The resource-server side: verified token claims -> Actor, read under RLS in one statement.

Refuses (Unauthenticated) tokens whose user is gone or deactivated, whose app is disabled or
deleted, or that were revoked (by jti, or their whole refresh family), and tokens issued at or
before the user's or the app's `tokens_valid_after` (set on deactivation / disabling, so that
reactivating a user or re-enabling an app does not bring its old tokens back).

An endpoint authenticates with `app.core.auth.bearer.bearer_claims` (header and token, no
database), opens the tenant transaction, then calls `caller(claims)`."""
from __future__ import annotations

import uuid
from datetime import datetime

from app.core import db
from app.core.auth.tokens import AccessClaims
from app.core.errors import Unauthenticated
from app.core.logging import actor_var
from app.core.permissions import Role
from app.core.secrets import PREFIX_CLIENT, tenant_of
from app.core.tenancy import Actor, Scope, scope_for
from app.core.tenancy import Membership as Grant

_REVOKED = ("EXISTS (SELECT 1 FROM oauth_revocation r WHERE r.tenant_id = $1 AND (r.jti = $3 OR r.family_id = $4))")


def _family(claims: AccessClaims) -> uuid.UUID | None:
    try:
        return uuid.UUID(claims.raw["fid"]) if claims.raw.get("fid") else None
    except (ValueError, TypeError):
        return None


def _issued_at(claims: AccessClaims) -> float:
    iat = claims.raw.get("iat")
    return float(iat) if isinstance(iat, (int, float)) and not isinstance(iat, bool) else float("-inf")


def cut_off(iat: float, valid_after: datetime | None) -> bool:
    """True when a token issued at `iat` (whole seconds) predates the cutoff. `iat` has second
    precision, so a token issued in the same second as the cutoff is refused too."""
    return valid_after is not None and iat <= valid_after.timestamp()


async def load_actor(claims: AccessClaims) -> Actor:
    tid = claims.tenant_id
    oauth_client = claims.client_id if tenant_of(claims.client_id, PREFIX_CLIENT) == tid else None
    if claims.subject == claims.client_id and oauth_client:
        rows = await db.fetch(
            f"SELECT p.status, p.scopes, p.dealer_id, p.tokens_valid_after, {_REVOKED} AS revoked FROM partner_app p "
            "WHERE p.tenant_id = $1 AND p.client_id = $2",
            [tid, oauth_client, claims.jti, _family(claims)])
        if not rows or rows[0]["status"] != "active":
            raise Unauthenticated("The token's app is disabled or no longer exists.")
        if rows[0]["revoked"] or cut_off(_issued_at(claims), rows[0]["tokens_valid_after"]):
            raise Unauthenticated("The access token has been revoked.")
        return Actor.app(tid, oauth_client, rows[0]["scopes"] or [], claims.scope, rows[0]["dealer_id"])
    try:
        user_id = uuid.UUID(claims.subject)
    except ValueError:
        raise Unauthenticated("The token's subject is not a user of this brand.") from None
    rows = await db.fetch(
        f"""SELECT u.is_active, u.tokens_valid_after, m.role, m.dealer_id, m.regions, {_REVOKED} AS revoked,
                   p.status AS client_status, p.dealer_id AS client_dealer, p.tokens_valid_after AS client_valid_after
              FROM app_user u
              LEFT JOIN membership m ON m.tenant_id = u.tenant_id AND m.user_id = u.id
              LEFT JOIN partner_app p ON p.tenant_id = u.tenant_id AND p.client_id = $5
             WHERE u.tenant_id = $1 AND u.id = $2""",
        [tid, user_id, claims.jti, _family(claims), oauth_client])
    if not rows:
        raise Unauthenticated("The token's user does not exist in this brand.")
    first = rows[0]
    if not first["is_active"]:
        raise Unauthenticated("The token's user is deactivated.")
    iat = _issued_at(claims)
    if first["revoked"] or cut_off(iat, first["tokens_valid_after"]) or cut_off(iat, first["client_valid_after"]):
        raise Unauthenticated("The access token has been revoked.")
    if claims.client_id and claims.client_id.startswith(PREFIX_CLIENT + "_") and first["client_status"] != "active":
        raise Unauthenticated("The token's app is disabled or no longer exists.")
    grants = [Grant(Role(r["role"]), r["dealer_id"], frozenset(r["regions"] or ())) for r in rows if r["role"]]
    return Actor.user(tid, user_id, grants, scope=claims.scope, client_id=oauth_client, app_dealer_id=first["client_dealer"])


async def caller(claims: AccessClaims) -> tuple[Actor, Scope]:
    """The request's actor and data scope, inside the tenant transaction of `claims.tenant_id`;
    the actor is logged with every line of the request. Unauthenticated when refused."""
    actor = await load_actor(claims)
    actor_var.set(actor.label)
    return actor, scope_for(actor)
