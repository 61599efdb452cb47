from __future__ import annotations

from typing import Awaitable, Callable

import strawberry

from app.core.permissions import Perm
from app.oauth import errors as oauth_errors
from app.oauth import service
from schema.errors import domain_errors, run_mutation
from schema.oauth.types import ClientType, GrantType, PartnerApp
from schema.permissions import describe, needs
from schema.relay import decode
from schema.tenant.types import Permission

OAuthError = domain_errors("OAuth", oauth_errors, "partner app")


@strawberry.type
class PartnerAppPayload:
    partner_app: PartnerApp | None
    client_secret: str | None = strawberry.field(
        description="Shown once, on creation and rotation; only a hash is stored. Null for public clients.")
    errors: list[OAuthError]


@strawberry.type
class PartnerAppDeletePayload:
    deleted_id: strawberry.ID | None
    errors: list[OAuthError]


@strawberry.input
class PartnerAppCreateInput:
    name: str
    client_type: ClientType
    grant_types: list[GrantType]
    scopes: list[Permission]
    redirect_uris: list[str] | None = None
    dealer_id: strawberry.ID | None = strawberry.field(default=None, description="Restrict the app to one dealer.")
    first_party: bool = False


@strawberry.input
class PartnerAppUpdateInput:
    id: strawberry.ID
    name: str | None = None
    grant_types: list[GrantType] | None = None
    scopes: list[Permission] | None = None
    redirect_uris: list[str] | None = None
    first_party: bool | None = None
    dealer_id: strawberry.ID | None = strawberry.field(default=None, description="Restrict the app to this dealer.")
    clear_dealer: bool = strawberry.field(default=False, description="Lift the dealer restriction.")


@strawberry.input
class PartnerAppRotateSecretInput:
    id: strawberry.ID
    overlap_seconds: int | None = strawberry.field(
        default=None, description="How long the old secret keeps working (default CLIENT_SECRET_OVERLAP_SECONDS, max 7 days).")




def _run(info, op: Callable[[], Awaitable]):
    return run_mutation(
        info, op, lambda r: PartnerAppPayload(partner_app=PartnerApp.from_row(r[0]), client_secret=r[1], errors=[]),
        lambda errors: PartnerAppPayload(partner_app=None, client_secret=None, errors=errors), OAuthError)


ADMIN = needs(Perm.ADMIN)


@strawberry.type
class PartnerMutation:
    @strawberry.mutation(description=describe(Perm.ADMIN, "Register an OAuth client; the secret is in the payload, once."), permission_classes=ADMIN)
    async def partner_app_create(self, info: strawberry.Info, input: PartnerAppCreateInput) -> PartnerAppPayload:
        async def op():
            dealer = decode(input.dealer_id, "Dealer")[1] if input.dealer_id else None
            return await service.create_app(
                info.context.scope, name=input.name, client_type=input.client_type.value,
                grant_types=[g.value for g in input.grant_types], redirect_uris=input.redirect_uris,
                scopes=[s.value for s in input.scopes], dealer_id=dealer, first_party=input.first_party, ip=info.context.client_ip)

        return await _run(info, op)

    @strawberry.mutation(description=describe(Perm.ADMIN, "Change an OAuth client; omitted fields stay."), permission_classes=ADMIN)
    async def partner_app_update(self, info: strawberry.Info, input: PartnerAppUpdateInput) -> PartnerAppPayload:
        async def op():
            app = await service.update_app(
                info.context.scope, decode(input.id, "PartnerApp")[1], ip=info.context.client_ip, name=input.name,
                grant_types=[g.value for g in input.grant_types] if input.grant_types is not None else None,
                scopes=[s.value for s in input.scopes] if input.scopes is not None else None,
                redirect_uris=input.redirect_uris, first_party=input.first_party,
                dealer_id="" if input.clear_dealer else (decode(input.dealer_id, "Dealer")[1] if input.dealer_id else None))
            return app, None

        return await _run(info, op)

    @strawberry.mutation(description=describe(Perm.ADMIN, "Disable an OAuth client: its tokens stop working at once."), permission_classes=ADMIN)
    async def partner_app_disable(self, info: strawberry.Info, id: strawberry.ID) -> PartnerAppPayload:
        async def op():
            return await service.set_status(info.context.scope, decode(id, "PartnerApp")[1], "disabled", ip=info.context.client_ip), None

        return await _run(info, op)

    @strawberry.mutation(description=describe(Perm.ADMIN, "Enable a disabled OAuth client again."), permission_classes=ADMIN)
    async def partner_app_enable(self, info: strawberry.Info, id: strawberry.ID) -> PartnerAppPayload:
        async def op():
            return await service.set_status(info.context.scope, decode(id, "PartnerApp")[1], "active", ip=info.context.client_ip), None

        return await _run(info, op)

    @strawberry.mutation(description=describe(Perm.ADMIN, "Issue a new secret; the old one works for the overlap."), permission_classes=ADMIN)
    async def partner_app_rotate_secret(self, info: strawberry.Info, input: PartnerAppRotateSecretInput) -> PartnerAppPayload:
        async def op():
            return await service.rotate_secret(info.context.scope, decode(input.id, "PartnerApp")[1],
                                               overlap_seconds=input.overlap_seconds, ip=info.context.client_ip)

        return await _run(info, op)

    @strawberry.mutation(description=describe(Perm.ADMIN, "Delete an OAuth client and every grant it holds."), permission_classes=ADMIN)
    async def partner_app_delete(self, info: strawberry.Info, id: strawberry.ID) -> PartnerAppDeletePayload:
        return await run_mutation(
            info, lambda: service.delete_app(info.context.scope, decode(id, "PartnerApp")[1], ip=info.context.client_ip),
            lambda _: PartnerAppDeletePayload(deleted_id=id, errors=[]), lambda errors: PartnerAppDeletePayload(deleted_id=None, errors=errors), OAuthError)
