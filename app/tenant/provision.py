"""Operator provisioning: new brands and the demo seed (`python -m app brand create`, `demo-seed`).

Runs as the service role inside the new tenant's transaction, so RLS checks every insert."""
from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

from tortoise.exceptions import IntegrityError

from app.core import clock, db
from app.core.errors import ValidationFailed
from app.core.ids import uuid7
from app.core.permissions import Perm, Role
from app.core.secrets import hash_password
from app.customer.models import Customer
from app.tenant import repository as repo
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
DEMO_CUSTOMERS = {
    "BJ-001": [("王伟", "13812345678", "wang.wei@example.cn"), ("李娜", "13987654321", None), ("张敏", "13700001111", "zhang.min@example.cn")],
    "SH-002": [("刘洋", "13600002222", "liu.yang@example.cn"), ("陈静", "13500003333", None)],
}
# (model, years ago, survey score, at risk) per demo customer, in the order above
DEMO_HISTORY = [("Huifang S7", 4, 3.0, True), ("Huifang S5", 1, 8.5, False), ("Huifang X9", 6, 9.0, False),
                ("Huifang S5", 2, 4.5, True), ("Huifang S7", 3, 7.0, False)]


DEMO_PASSWORD = "huifang-demo"
DEV_CALLBACK_PATH = "/dev/callback"  # served by the API itself in development (app/main.py)
DEMO_CONSOLE = "Demo brand console"    # first-party: sign-in only
DEMO_PORTAL = "Demo partner portal"    # third-party: sign-in, then the consent page


def demo_redirect_uri() -> str:
    """The development callback page of this service; http is allowed on loopback only, so
    when the public URL is not loopback (HOST=0.0.0.0 ...) 127.0.0.1 on the same port is used."""
    from app.oauth.service import _valid_redirect_uri
    from app.settings import get_settings

    s = get_settings()
    uri = s.base_url.rstrip("/") + DEV_CALLBACK_PATH
    return uri if _valid_redirect_uri(uri) else f"http://127.0.0.1:{s.port}{DEV_CALLBACK_PATH}"


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


async def seed_demo(tenant_id: uuid.UUID, slug: str) -> dict:
    """Idempotent: running it twice leaves the same data."""
    from app.core.tenancy import Actor, scope_for
    from app.customer import service as customer_service

    created = {"dealers": 0, "users": 0, "customers": 0, "passwords": 0}
    scope = scope_for(Actor.system(tenant_id))
    async with db.tenant_transaction(tenant_id):
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
        history = iter(DEMO_HISTORY)
        for code, people in DEMO_CUSTOMERS.items():
            dealer = dealers[code]
            for i, (name, phone, email) in enumerate(people):
                model, years, score, at_risk = next(history)
                if await Customer.exists(tenant_id=tenant_id, dealer_id=dealer.id, name=name):
                    continue
                c = await customer_service.create_customer(
                    scope, name=name, dealer_id=dealer.id, gender="female" if i % 2 else "male", birth_year=1970 + 7 * i,
                    contact_points=[{"channel": "phone", "value": phone}] + ([{"channel": "email", "value": email}] if email else []),
                    external_refs=[{"source": "dms", "external_id": f"{code}-{i + 1:04d}"}],
                    tags=["demo"] + (["vip"] if score >= 8.5 else []), service_spend=Decimal(3000 * (years + 1)))
                await customer_service.add_product(scope, c.id, product_model=model, serial=f"LHF{code[-3:]}{i:05d}",
                                                   purchase_date=clock.today().replace(year=clock.today().year - years, day=1),
                                                   purchase_dealer_id=dealer.id, purchase_reason="family car")
                await customer_service.add_interaction(scope, c.id, kind="call", outcome="reached", occurred_at=None,
                                                       notes="Routine satisfaction follow-up.")
                await customer_service.record_survey_score(scope, c.id, score, survey="routine satisfaction survey")
                if at_risk:
                    await customer_service.add_promise(scope, c.id, description="Replace the rattling door trim at next visit.",
                                                       due_date=clock.today() + timedelta(days=14), promised_by="service advisor")
                    await customer_service.set_churn(scope, c.id, status="at_risk", lost_type=None)
                created["customers"] += 1
        await customer_service.recompute_tiers(scope)
        for dealer in dealers.values():
            await repo.recount_customers(scope, dealer.id)
    return created


async def ensure_demo_partner_apps(tenant_id: uuid.UUID) -> dict:
    """The demo call-centre (client credentials), the brand console (first-party public client,
    authorization code + PKCE: sign-in only) and a partner portal (third-party public client:
    sign-in, then consent). The code apps redirect to the development callback page. The call
    centre's secret is rotated on every call (no overlap) so it can be printed."""
    from app.core.tenancy import Actor, scope_for
    from app.oauth import service as oauth_service
    from app.oauth.models import PartnerApp

    async with db.tenant_transaction(tenant_id):
        scope = scope_for(Actor.system(tenant_id))
        cc = await PartnerApp.get_or_none(tenant_id=tenant_id, name="Demo call centre")
        if cc is None:
            cc, secret = await oauth_service.create_app(
                scope, name="Demo call centre", client_type="confidential", grant_types=["client_credentials"],
                redirect_uris=[], scopes=["customers:read", "tickets:read", "tickets:write", "scores:read"])
        else:
            cc, secret = await oauth_service.rotate_secret(scope, cc.id, overlap_seconds=0)
        redirect = demo_redirect_uri()
        code_apps = {}
        for name, scopes, first_party in ((DEMO_CONSOLE, [p.value for p in Perm], True),
                                          (DEMO_PORTAL, ["customers:read", "tickets:read", "scores:read"], False)):
            app = await PartnerApp.get_or_none(tenant_id=tenant_id, name=name)
            if app is None:
                app, _ = await oauth_service.create_app(
                    scope, name=name, client_type="public", grant_types=["authorization_code", "refresh_token"],
                    redirect_uris=[redirect], scopes=scopes, first_party=first_party)
            elif app.redirect_uris != [redirect]:  # an older seed, or another port
                app = await oauth_service.update_app(scope, app.id, redirect_uris=[redirect])
            code_apps[name] = app
    return {"call_centre_id": cc.client_id, "call_centre_secret": secret, "console_id": code_apps[DEMO_CONSOLE].client_id,
            "portal_id": code_apps[DEMO_PORTAL].client_id, "redirect_uri": redirect}
