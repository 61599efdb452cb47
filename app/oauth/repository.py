"""The only place that queries OAuth models. Scope first; the tenant transaction is open."""
from __future__ import annotations

import uuid
from datetime import datetime

from app.core import db
from app.core.pagination import Page, PageArgs, build_page, keyset_clause, validate
from app.core.tenancy import Scope
from app.oauth.models import AuthorizationCode, PartnerApp, RefreshToken, TokenRevocation


async def apps_by_ids(scope: Scope, ids) -> dict[uuid.UUID, PartnerApp]:
    return {a.id: a for a in await PartnerApp.filter(tenant_id=scope.tenant_id, id__in=list(ids))}


async def app_by_client_id(scope: Scope, client_id: str) -> PartnerApp | None:
    return await PartnerApp.get_or_none(tenant_id=scope.tenant_id, client_id=client_id)


async def list_apps(scope: Scope, page: PageArgs, *, max_size: int = 100) -> Page:
    limit, _ = validate(page, default=20, maximum=max_size)
    params: list = [scope.tenant_id]
    where, extra, order, backwards = keyset_clause(("name", "id"), page, 2)
    params.extend(extra)
    rows = await db.conn().execute_query_dict(
        f"SELECT * FROM partner_app WHERE tenant_id = $1{where} ORDER BY {order} LIMIT {limit + 1}", params)
    apps = [PartnerApp._init_from_db(**r) for r in rows]
    return build_page(apps, limit, backwards, page, key=lambda a: [a.name, a.id])


async def create_app(scope: Scope, **values) -> PartnerApp:
    return await PartnerApp.create(tenant_id=scope.tenant_id, **values)


async def save_app(scope: Scope, app: PartnerApp, fields: list[str]) -> None:
    assert app.tenant_id == scope.tenant_id
    await app.save(update_fields=[*fields, "updated_at"])


async def delete_app(scope: Scope, app: PartnerApp) -> None:
    await PartnerApp.filter(tenant_id=scope.tenant_id, id=app.id).delete()


# -- authorization codes -------------------------------------------------------------------

async def insert_code(scope: Scope, /, **values) -> None:
    await AuthorizationCode.create(tenant_id=scope.tenant_id, **values)


async def code_by_hash(scope: Scope, code_hash: str) -> AuthorizationCode | None:
    return await AuthorizationCode.get_or_none(tenant_id=scope.tenant_id, code_hash=code_hash)


async def consume_code(scope: Scope, code_id: uuid.UUID, now: datetime) -> bool:
    """Single use, race-safe: only the first caller flips used_at."""
    n = await AuthorizationCode.filter(tenant_id=scope.tenant_id, id=code_id, used_at__isnull=True).update(used_at=now)
    return n == 1


# -- refresh tokens ----------------------------------------------------------------------------

async def insert_refresh(scope: Scope, /, **values) -> None:
    await RefreshToken.create(tenant_id=scope.tenant_id, **values)


async def refresh_by_hash(scope: Scope, token_hash: str) -> RefreshToken | None:
    return await RefreshToken.get_or_none(tenant_id=scope.tenant_id, token_hash=token_hash)


async def rotate_refresh(scope: Scope, token_id: uuid.UUID, now: datetime) -> bool:
    n = await RefreshToken.filter(
        tenant_id=scope.tenant_id, id=token_id, rotated_at__isnull=True, revoked_at__isnull=True
    ).update(rotated_at=now)
    return n == 1


async def revoke_refresh(scope: Scope, token_id: uuid.UUID, now: datetime) -> None:
    await RefreshToken.filter(tenant_id=scope.tenant_id, id=token_id, revoked_at__isnull=True).update(revoked_at=now)


async def revoke_family(scope: Scope, family_id: uuid.UUID, now: datetime, until: datetime) -> int:
    """Every refresh token of the family, and (through a revocation row) its access tokens."""
    n = await RefreshToken.filter(tenant_id=scope.tenant_id, family_id=family_id, revoked_at__isnull=True).update(revoked_at=now)
    await TokenRevocation.create(tenant_id=scope.tenant_id, family_id=family_id, expires_at=until)
    return n


async def revoke_client_refresh_tokens(scope: Scope, client_id: str, now: datetime) -> int:
    return await RefreshToken.filter(tenant_id=scope.tenant_id, client_id=client_id, revoked_at__isnull=True).update(revoked_at=now)


async def revoke_user_refresh_tokens(scope: Scope, user_id: uuid.UUID, now: datetime) -> int:
    return await RefreshToken.filter(tenant_id=scope.tenant_id, user_id=user_id, revoked_at__isnull=True).update(revoked_at=now)


async def revoke_jti(scope: Scope, jti: str, until: datetime) -> None:
    await TokenRevocation.create(tenant_id=scope.tenant_id, jti=jti, expires_at=until)


async def is_revoked(scope: Scope, jti: str, family_id: uuid.UUID | None) -> bool:
    rows = await db.fetch(
        "SELECT 1 FROM oauth_revocation WHERE tenant_id = $1 AND (jti = $2 OR family_id = $3) LIMIT 1",
        [scope.tenant_id, jti, family_id])
    return bool(rows)


async def purge_expired(scope: Scope, now: datetime) -> dict:
    """Housekeeping: revocations past their tokens' lifetime, used or expired codes, refresh
    tokens expired or revoked more than a day ago."""
    from datetime import timedelta

    day = now - timedelta(days=1)
    return {
        "revocations": await TokenRevocation.filter(tenant_id=scope.tenant_id, expires_at__lt=now).delete(),
        "codes": await AuthorizationCode.filter(tenant_id=scope.tenant_id, expires_at__lt=day).delete(),
        "refresh_tokens": await RefreshToken.filter(tenant_id=scope.tenant_id, expires_at__lt=day).delete()
        + await RefreshToken.filter(tenant_id=scope.tenant_id, revoked_at__lt=day).delete(),
    }


async def apps_by_client_ids(scope: Scope, client_ids) -> dict[str, PartnerApp]:
    """One statement for a batch (the timeline's actor names)."""
    rows = await PartnerApp.filter(tenant_id=scope.tenant_id, client_id__in=list(client_ids))
    return {a.client_id: a for a in rows}
