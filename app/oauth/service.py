"""Partner apps: registration, update, disable/enable, delete, secret rotation — brand admins.

The secret is returned once, stored as a SHA-256 digest, compared in constant time. Rotation
keeps the previous secret valid for a short overlap so partners can roll without downtime."""
from __future__ import annotations

import uuid
from datetime import timedelta
from urllib.parse import urlsplit

from app.audit import service as audit
from app.core import clock, secrets
from app.core.errors import AppError, InputErrors, NotFound, ValidationFailed
from app.core.permissions import Perm
from app.core.tenancy import Scope
from app.oauth import errors as err
from app.oauth import repository as repo
from app.oauth.enums import ClientType, GrantType
from app.oauth.models import PartnerApp
from app.settings import get_settings
from app.tenant import service as tenant_service

GRANT_TYPES = frozenset(GrantType)
CLIENT_TYPES = frozenset(ClientType)
MAX_REDIRECT_URIS = 10
MAX_OVERLAP_SECONDS = 7 * 24 * 3600


def _valid_redirect_uri(uri: str) -> bool:
    try:
        u = urlsplit(uri)
    except ValueError:
        return False
    if u.fragment or not u.netloc or len(uri) > 500 or any(c in uri for c in ' "<>\\'):
        return False
    if u.scheme == "https":
        return True
    # plain http only for loopback (native apps, development) — RFC 8252
    return u.scheme == "http" and u.hostname in ("127.0.0.1", "localhost", "::1")


async def _check(scope: Scope, values: dict, *, creating: bool) -> None:
    errors: list[AppError] = []
    if "name" in values:
        values["name"] = (values["name"] or "").strip()
        if not 1 <= len(values["name"]) <= 120:
            errors.append(ValidationFailed("Name must be 1-120 characters.", field="name"))
    ctype = values.get("client_type")
    if creating and ctype not in CLIENT_TYPES:
        errors.append(ValidationFailed("clientType must be CONFIDENTIAL or PUBLIC.", field="clientType"))
    grants = values.get("grant_types")
    if grants is not None:
        grants = values["grant_types"] = sorted(set(grants))
        if not grants or any(g not in GRANT_TYPES for g in grants):
            errors.append(ValidationFailed("Unknown or empty grant types.", field="grantTypes"))
        if "refresh_token" in grants and "authorization_code" not in grants:
            errors.append(err.InvalidGrantTypes("refresh_token needs authorization_code.", field="grantTypes"))
    if "redirect_uris" in values and values["redirect_uris"] is not None:
        uris = values["redirect_uris"] = list(dict.fromkeys(values["redirect_uris"]))
        if len(uris) > MAX_REDIRECT_URIS or not all(_valid_redirect_uri(u) for u in uris):
            errors.append(err.InvalidRedirectUri(
                "Redirect URIs must be absolute https URLs (http only for loopback), without fragments; at most 10.",
                field="redirectUris"))
    if "scopes" in values and values["scopes"] is not None:
        known = {p.value for p in Perm}
        scopes = values["scopes"] = sorted(set(values["scopes"]))
        if not scopes or any(s not in known for s in scopes):
            errors.append(err.InvalidScope("Unknown or empty scopes.", field="scopes"))
        elif not {Perm(s) for s in scopes} <= scope.actor.perms:
            # an app never gets more than the person (or app) registering it holds
            missing = sorted(s for s in scopes if Perm(s) not in scope.actor.perms)
            errors.append(err.ScopeExceedsCaller(f"You cannot grant scopes you do not hold: {', '.join(missing)}.",
                                           field="scopes"))
    if values.get("dealer_id"):
        if not (await tenant_service.dealers_by_ids(scope, [values["dealer_id"]])):
            errors.append(NotFound("No such dealer.", field="dealerId"))
    if errors:
        raise InputErrors(errors)


def _check_combination(app_values: dict) -> None:
    grants = app_values["grant_types"]
    if app_values["client_type"] == "public" and "client_credentials" in grants:
        raise err.InvalidGrantTypes("Public clients cannot use client_credentials.", field="grantTypes")
    if "authorization_code" in grants and not app_values["redirect_uris"]:
        raise err.InvalidRedirectUri("authorization_code needs at least one redirect URI.", field="redirectUris")


async def create_app(scope: Scope, *, name: str, client_type: str, grant_types: list[str], redirect_uris: list[str] | None,
                     scopes: list[str], dealer_id: uuid.UUID | None = None, first_party: bool = False, ip: str | None = None
                     ) -> tuple[PartnerApp, str | None]:
    scope.require(Perm.ADMIN)
    values = dict(name=name, client_type=client_type, grant_types=grant_types, redirect_uris=redirect_uris or [],
                  scopes=scopes, dealer_id=dealer_id, first_party=first_party)
    await _check(scope, values, creating=True)
    _check_combination(values)
    secret = secrets.new_client_secret() if client_type == "confidential" else None
    app = await repo.create_app(
        scope, client_id=secrets.new_client_id(scope.tenant_id),
        secret_hash=secrets.digest(secret) if secret else None, secret_hint=secret[-4:] if secret else None,
        created_by=scope.actor.user_id, **values,
    )
    await audit.record(scope, "partner_app.created", target_type="PartnerApp", target_id=app.client_id, ip=ip, details={
        "name": app.name, "client_type": client_type, "grant_types": app.grant_types, "scopes": app.scopes,
        "redirect_uris": app.redirect_uris, "dealer_id": str(dealer_id) if dealer_id else None})
    return app, secret


async def get_app(scope: Scope, app_id: uuid.UUID) -> PartnerApp:
    scope.require(Perm.ADMIN)
    app = (await repo.apps_by_ids(scope, [app_id])).get(app_id)
    if app is None:
        raise NotFound("No such partner app.", field="id")
    return app


async def update_app(scope: Scope, app_id: uuid.UUID, *, ip: str | None = None, **changes) -> PartnerApp:
    app = await get_app(scope, app_id)
    changes = {k: v for k, v in changes.items() if v is not None}
    clear_dealer = changes.get("dealer_id") == ""
    if clear_dealer:
        del changes["dealer_id"]
    await _check(scope, changes, creating=False)
    if clear_dealer:
        changes["dealer_id"] = None  # get_app required ADMIN, which only brand-wide callers hold
    merged = {"client_type": app.client_type, "grant_types": app.grant_types, "redirect_uris": app.redirect_uris, **changes}
    _check_combination(merged)
    for k, v in changes.items():
        setattr(app, k, v)
    if changes:
        await repo.save_app(scope, app, list(changes))
        await audit.record(scope, "partner_app.updated", target_type="PartnerApp", target_id=app.client_id, ip=ip,
                           details={k: (str(v) if isinstance(v, uuid.UUID) else v) for k, v in changes.items()})
    return app


async def set_status(scope: Scope, app_id: uuid.UUID, status: str, *, ip: str | None = None) -> PartnerApp:
    app = await get_app(scope, app_id)
    if app.status != status:
        app.status = status
        fields = ["status"]
        if status == "disabled":
            # its access tokens die with it, for good: those issued until now stay refused after
            # re-enabling (checked on every request and by introspection)
            app.tokens_valid_after = clock.now()
            fields.append("tokens_valid_after")
        await repo.save_app(scope, app, fields)
        if status == "disabled":
            await repo.revoke_client_refresh_tokens(scope, app.client_id, clock.now())
        await audit.record(scope, f"partner_app.{'disabled' if status == 'disabled' else 'enabled'}",
                           target_type="PartnerApp", target_id=app.client_id, ip=ip)
    return app


async def delete_app(scope: Scope, app_id: uuid.UUID, *, ip: str | None = None) -> PartnerApp:
    app = await get_app(scope, app_id)
    await repo.delete_app(scope, app)
    await audit.record(scope, "partner_app.deleted", target_type="PartnerApp", target_id=app.client_id, ip=ip,
                       details={"name": app.name})
    return app


async def rotate_secret(scope: Scope, app_id: uuid.UUID, *, overlap_seconds: int | None = None, ip: str | None = None
                        ) -> tuple[PartnerApp, str]:
    app = await get_app(scope, app_id)
    if app.client_type != "confidential":
        raise err.NoSecret("Public clients have no secret.", field="id")
    overlap = get_settings().client_secret_overlap_seconds if overlap_seconds is None else overlap_seconds
    if not 0 <= overlap <= MAX_OVERLAP_SECONDS:
        raise ValidationFailed(f"overlapSeconds must be between 0 and {MAX_OVERLAP_SECONDS}.", field="overlapSeconds")
    secret = secrets.new_client_secret()
    app.previous_secret_hash = app.secret_hash if overlap else None
    app.previous_secret_expires_at = clock.now() + timedelta(seconds=overlap) if overlap else None
    app.secret_hash, app.secret_hint = secrets.digest(secret), secret[-4:]
    await repo.save_app(scope, app, ["secret_hash", "secret_hint", "previous_secret_hash", "previous_secret_expires_at"])
    await audit.record(scope, "partner_app.secret_rotated", target_type="PartnerApp", target_id=app.client_id, ip=ip,
                       details={"overlap_seconds": overlap})
    return app, secret


def secret_matches(app: PartnerApp, secret: str) -> bool:
    """Current secret, or the previous one during its overlap; constant-time either way."""
    current = secrets.matches(secret, app.secret_hash)
    previous = secrets.matches(secret, app.previous_secret_hash)
    in_overlap = app.previous_secret_expires_at is not None and app.previous_secret_expires_at > clock.now()
    return current or (previous and in_overlap)


# --- published for other modules: they call these, never this module's repository ---------

async def revoke_user_refresh_tokens(scope: Scope, user_id: uuid.UUID) -> int:
    """A deactivated user's refresh tokens end for good (access tokens end by the user's
    tokens_valid_after)."""
    return await repo.revoke_user_refresh_tokens(scope, user_id, clock.now())
