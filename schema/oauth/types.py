from __future__ import annotations

import uuid
from datetime import datetime

import strawberry

from app.core.permissions import Perm
from app.oauth import enums, repository
from app.oauth.models import PartnerApp as AppRow
from schema.relay import Node, gid, node_type
from schema.tenant.types import Dealer, Permission

ClientType = strawberry.enum(enums.ClientType)
GrantType = strawberry.enum(enums.GrantType)
PartnerAppStatus = strawberry.enum(enums.PartnerAppStatus)


@strawberry.type(description="An OAuth client of the brand: a partner system or a brand front-end.")
class PartnerApp(Node):
    id: strawberry.ID
    client_id: str
    name: str
    client_type: ClientType
    grant_types: list[GrantType]
    redirect_uris: list[str]
    scopes: list[Permission]
    first_party: bool = strawberry.field(description="The brand's own front-end: users are not asked for consent.")
    status: PartnerAppStatus
    secret_hint: str | None = strawberry.field(description="Last characters of the current secret, to tell secrets apart.")
    previous_secret_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime
    dealer_pk: strawberry.Private[uuid.UUID | None]

    @strawberry.field(description="If set, the app only ever sees this dealer's data.")
    async def dealer(self, info: strawberry.Info) -> Dealer | None:
        if self.dealer_pk is None:
            return None
        row = await info.context.loaders.dealer.load(self.dealer_pk)
        return Dealer.from_row(row) if row else None

    @classmethod
    def from_row(cls, a: AppRow) -> "PartnerApp":
        return cls(
            id=gid("PartnerApp", a.id), client_id=a.client_id, name=a.name, client_type=ClientType(a.client_type),
            grant_types=[GrantType(g) for g in a.grant_types], redirect_uris=list(a.redirect_uris),
            scopes=[Perm(s) for s in a.scopes], first_party=a.first_party, status=PartnerAppStatus(a.status),
            secret_hint=a.secret_hint, previous_secret_expires_at=a.previous_secret_expires_at,
            created_at=a.created_at, updated_at=a.updated_at, dealer_pk=a.dealer_id,
        )


@node_type("PartnerApp", perm=Perm.ADMIN)
async def _app_node(info: strawberry.Info, pk: uuid.UUID):
    row = (await repository.apps_by_ids(info.context.scope, [pk])).get(pk)
    return PartnerApp.from_row(row) if row else None
