"""Operator provisioning: new brands (`python -m app brand create`) and the tenant's part of the
demo seed (its dealers and one user of every role). The demo seed itself, customers and partner
apps included, is composition code: app/demo.py (`python -m app demo-seed`, `make run`).

Runs as the service role inside the tenant's transaction, so RLS checks every insert."""
from __future__ import annotations

import uuid

from tortoise.exceptions import IntegrityError

from app.core import db
from app.core.errors import ValidationFailed
from app.core.ids import uuid7
from app.core.permissions import Role
from app.core.secrets import hash_password
from app.tenant.errors import SlugTaken
from app.tenant.models import Brand, Dealer, Membership, User
from app.tenant.service import SLUG_RE


async def provision_brand(slug: str, name: str, admin_email: str) -> tuple[Brand, User]:
    if not SLUG_RE.match(slug):
        raise ValidationFailed("Slug: 3-64 lowercase letters, digits and '-'.", field="slug")
    tenant_id = uuid7()
    try:
        async with db.tenant_transaction(tenant_id):
            brand = await Brand.create(id=tenant_id, slug=slug, name=name)
            admin = await User.create(tenant_id=tenant_id, email=admin_email.lower(), display_name=admin_email.split("@")[0])
            await Membership.create(tenant_id=tenant_id, user_id=admin.id, role=Role.BRAND_ADMIN)
    except IntegrityError:
        raise SlugTaken(f"A brand with slug '{slug}' already exists.", field="slug") from None
    return brand, admin


DEMO_DEALERS = [
    ("BJ-001", "北京朝阳汽车服务中心", "north", "Asia/Shanghai", "Beijing"),
    ("SH-002", "上海浦东汽车销售服务", "east", "Asia/Shanghai", "Shanghai"),
]
DEMO_PASSWORD = "huifang-demo"


def demo_users(slug: str) -> list[tuple[str, str, Role, str | None, list[str]]]:
    """(email, name, role, dealer code, regions) — one user of every role."""
    d = f"{slug}.example"
    return [
        (f"admin@{d}", "Brand Admin", Role.BRAND_ADMIN, None, []),
        (f"analyst@{d}", "Brand Analyst", Role.BRAND_ANALYST, None, []),
        (f"north.manager@{d}", "Regional Manager North", Role.REGIONAL_MANAGER, None, ["north"]),
        (f"bj.manager@{d}", "BJ-001 Manager", Role.DEALER_MANAGER, "BJ-001", []),
        (f"bj.agent@{d}", "BJ-001 Agent", Role.DEALER_AGENT, "BJ-001", []),
        (f"sh.manager@{d}", "SH-002 Manager", Role.DEALER_MANAGER, "SH-002", []),
        (f"sh.agent@{d}", "SH-002 Agent", Role.DEALER_AGENT, "SH-002", []),
    ]


async def seed_demo_staff(tenant_id: uuid.UUID, slug: str, created: dict) -> dict[str, Dealer]:
    """The demo dealers and users (password DEMO_PASSWORD), in the caller's tenant transaction;
    idempotent. Counts what it creates in `created` ("dealers", "users", "passwords"); returns
    the dealers by code."""
    dealers: dict[str, Dealer] = {}
    for code, name, region, tz, city in DEMO_DEALERS:
        dealer = await Dealer.get_or_none(tenant_id=tenant_id, code=code)
        if dealer is None:
            dealer = await Dealer.create(tenant_id=tenant_id, code=code, name=name, region=region, time_zone=tz, city=city)
            created["dealers"] += 1
        dealers[code] = dealer
    for email, name, role, dealer_code, regions in demo_users(slug):
        user = await User.get_or_none(tenant_id=tenant_id, email=email)
        if user is None:
            user = await User.create(tenant_id=tenant_id, email=email, display_name=name,
                                     password_hash=hash_password(DEMO_PASSWORD))
            created["users"] += 1
        elif user.password_hash is None:
            # e.g. the admin provision_brand created: every demo user signs in with the demo
            # password; a password someone set is kept
            await User.filter(tenant_id=tenant_id, id=user.id, password_hash__isnull=True).update(
                password_hash=hash_password(DEMO_PASSWORD))
            created["passwords"] += 1
        if not await Membership.exists(tenant_id=tenant_id, user_id=user.id, role=role):
            await Membership.create(
                tenant_id=tenant_id, user_id=user.id, role=role,
                dealer_id=dealers[dealer_code].id if dealer_code else None, regions=regions,
            )
    return dealers
