"""Small async factories; every one needs the tenant."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from app.core import db
from app.core.auth.tokens import mint_access_token
from app.core.ids import to_global_id
from app.core.permissions import Role
from app.customer.models import Customer
from app.tenant.models import Dealer, Membership, User
from app.tenant.provision import provision_brand


@dataclass
class BrandFx:
    tenant_id: uuid.UUID
    slug: str
    dealers: dict[str, Dealer] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    customers: list[Customer] = field(default_factory=list)

    def token(self, user_key: str = "admin", **kw) -> str:
        return mint_access_token(tenant_id=self.tenant_id, subject=str(self.users[user_key].id), **kw)

    def gid(self, type_name: str, key: str) -> str:
        obj = self.dealers[key] if type_name == "Dealer" else self.users[key]
        return to_global_id(type_name, obj.id)

    @property
    def brand_gid(self) -> str:
        return to_global_id("Brand", self.tenant_id)


# (key, code, region)
DEALERS = [("d1", "N-001", "north"), ("d2", "N-002", "north"), ("d3", "E-001", "east")]
# (key, role, dealer key, regions)
USERS = [
    ("analyst", Role.BRAND_ANALYST, None, []),
    ("regional", Role.REGIONAL_MANAGER, None, ["north"]),
    ("d1_manager", Role.DEALER_MANAGER, "d1", []),
    ("d1_agent", Role.DEALER_AGENT, "d1", []),
    ("d3_agent", Role.DEALER_AGENT, "d3", []),
]


async def make_brand(prefix: str = "t") -> BrandFx:
    slug = f"{prefix}-{uuid.uuid4().hex[:10]}"
    brand, admin = await provision_brand(slug, f"Brand {slug}", f"admin@{slug}.test")
    fx = BrandFx(brand.id, slug)
    fx.users["admin"] = admin
    async with db.tenant_transaction(brand.id):
        for key, code, region in DEALERS:
            fx.dealers[key] = await Dealer.create(tenant_id=brand.id, code=code, name=f"{slug} dealer {code}", region=region)
        for key, role, dealer_key, regions in USERS:
            u = await User.create(tenant_id=brand.id, email=f"{key}@{slug}.test", display_name=key)
            await Membership.create(
                tenant_id=brand.id, user_id=u.id, role=role,
                dealer_id=fx.dealers[dealer_key].id if dealer_key else None, regions=regions,
            )
            fx.users[key] = u
        for key, dealer in fx.dealers.items():
            for i in range(2):
                fx.customers.append(
                    await Customer.create(tenant_id=brand.id, dealer_id=dealer.id, name=f"{key}-cust-{i}",
                                          search_text=f"{key}-cust-{i}")
                )
    return fx


class GQL:
    def __init__(self, client):
        self.client = client

    async def raw(self, token: str | None, query: str, variables: dict | None = None, **kw):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return await self.client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers, **kw)

    async def __call__(self, token: str, query: str, variables: dict | None = None, *, errors_ok: bool = False) -> dict:
        r = await self.raw(token, query, variables)
        assert r.status_code == 200, r.text
        body = r.json()
        if not errors_ok:
            assert "errors" not in body, body
        return body


async def make_app(brand: BrandFx, **overrides):
    """A partner app of the brand; returns (PartnerApp, secret or None)."""
    from app.core.tenancy import Actor, scope_for
    from app.oauth import service

    values = dict(name=f"app-{uuid.uuid4().hex[:6]}", client_type="confidential", grant_types=["client_credentials"],
                  redirect_uris=[], scopes=["customers:read", "tickets:read"])
    values.update(overrides)
    async with db.tenant_transaction(brand.tenant_id):
        return await service.create_app(scope_for(Actor.system(brand.tenant_id)), **values)


async def set_password(brand: BrandFx, user_key: str, password: str) -> None:
    from app.core.secrets import hash_password

    async with db.tenant_transaction(brand.tenant_id):
        await User.filter(tenant_id=brand.tenant_id, id=brand.users[user_key].id).update(password_hash=hash_password(password))


async def make_customer(brand: BrandFx, dealer_key: str | None = "d1", **kw):
    """A customer through the service (contact points, references, timeline entry)."""
    from app.core.tenancy import Actor, scope_for
    from app.customer import service

    values = dict(name=f"客户 {uuid.uuid4().hex[:6]}", contact_points=[
        {"channel": "phone", "value": f"138{uuid.uuid4().int % 10**8:08d}"},
        {"channel": "email", "value": f"c{uuid.uuid4().hex[:8]}@example.cn"},
        {"channel": "wechat", "value": f"wx_{uuid.uuid4().hex[:8]}"}],
        external_refs=[{"source": "crm", "external_id": uuid.uuid4().hex[:12]}])
    values.update(kw)
    async with db.tenant_transaction(brand.tenant_id):
        scope = scope_for(Actor.system(brand.tenant_id))
        return await service.create_customer(scope, dealer_id=brand.dealers[dealer_key].id if dealer_key else None, **values)


def fresh_window():
    """A frozen moment at the start of a rate-limit window no other test (or earlier run) used:
    counters cannot roll over mid-test, nor carry over from a previous run."""
    from datetime import datetime, timedelta, timezone

    from app.core import clock

    minute = uuid.uuid4().int % 5_000_000
    return clock.freeze(datetime(2031, 1, 1, tzinfo=timezone.utc) + timedelta(minutes=5 * minute, seconds=1))
