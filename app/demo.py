"""The demo brand (`python -m app demo-seed`, `make run`): composition code, like app/cli.py and
app/dev.py, so it may use every module; no domain module imports it.

Each part goes through its module: the tenant's dealers and users of every role
(app.tenant.provision.seed_demo_staff), customers with their history through the customer
service, partner apps through the oauth service. Running it twice leaves the same data."""
from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

from app.complaint import service as complaint_service
from app.complaint.enums import TicketAction as A
from app.complaint.models import Ticket
from app.core import clock, db
from app.core.permissions import Perm
from app.core.tenancy import Actor, scope_for
from app.customer import service as customer_service
from app.customer.models import Customer
from app.oauth import service as oauth_service
from app.oauth.models import PartnerApp
from app.tenant import service as tenant_service
from app.tenant.provision import seed_demo_staff

DEMO_CUSTOMERS = {
    "BJ-001": [("王伟", "13812345678", "wang.wei@example.cn"), ("李娜", "13987654321", None), ("张敏", "13700001111", "zhang.min@example.cn")],
    "SH-002": [("刘洋", "13600002222", "liu.yang@example.cn"), ("陈静", "13500003333", None)],
}
# (model, years ago, survey score, at risk) per demo customer, in the order above
DEMO_HISTORY = [("Huifang S7", 4, 3.0, True), ("Huifang S5", 1, 8.5, False), ("Huifang X9", 6, 9.0, False),
                ("Huifang S5", 2, 4.5, True), ("Huifang S7", 3, 7.0, False)]

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


async def seed_demo(tenant_id: uuid.UUID, slug: str) -> dict:
    """Dealers, users of every role and customers with some history, in one transaction."""
    created = {"dealers": 0, "users": 0, "customers": 0, "passwords": 0}
    scope = scope_for(Actor.system(tenant_id))
    async with db.tenant_transaction(tenant_id):
        dealers = await seed_demo_staff(tenant_id, slug, created)
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
            await tenant_service.recount_dealer_customers(scope, str(dealer.id))
    return created


async def ensure_demo_partner_apps(tenant_id: uuid.UUID) -> dict:
    """The demo call-centre (client credentials), the brand console (first-party public client,
    authorization code + PKCE: sign-in only) and a partner portal (third-party public client:
    sign-in, then consent). The code apps redirect to the development callback page. The call
    centre's secret is rotated on every call (no overlap) so it can be printed."""
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


# (title, the complainant's words, category, priority, the actions that bring it to its state):
# one ticket in every status of the workflow, two rounds included
DEMO_TICKETS = [
    ("Walk-in complaint, no dealer yet", "我在展厅等了四十分钟没人接待。", "service_failure.bad_attitude", "normal", None, []),
    ("Door trim rattles", "车门饰板异响，修了两次还是响。", "product_defect.manufacturer", "high", "BJ-001", []),
    ("Wrong invoice amount", "发票金额和合同不一致。", "service_failure.money_error", "high", "BJ-001", ["contact"]),
    ("Promised call-back never came", "说好第二天回电话，一直没有。", "service_failure.broken_promise", "normal", "SH-002",
     ["contact", "propose"]),
    ("Waiting for parts", "配件要等多久？", "service_failure.delivery_problem", "normal", "SH-002", ["contact", "wait"]),
    ("Scratched on delivery", "提车时发现划痕。", "service_failure.delivery_problem", "high", "BJ-001", ["contact", "resolve"]),
    ("Infotainment freezes", "中控屏经常死机。", "product_defect.manufacturer", "normal", "SH-002",
     ["contact", "resolve", "resurvey"]),
    ("Rude service advisor", "服务顾问态度很差。", "service_failure.bad_attitude", "urgent", "BJ-001",
     ["contact", "resolve", "resurvey", "recovered"]),
    ("Noise after repair", "维修后噪音更大了。", "product_defect.seller", "high", "SH-002",
     ["contact", "resolve", "resurvey", "still"]),
    ("Second round: AC still weak", "空调还是不凉，第二次投诉。", "product_defect.manufacturer", "urgent", "BJ-001",
     ["contact", "resolve", "resurvey", "still", "reopen"]),
    ("Threatens to go to the media", "再不解决我就找媒体。", "service_failure.staff_misconduct", "urgent", "SH-002", ["escalate"]),
    ("Complaint withdrawn", "误会，已经解决了。", "service_failure.insufficient_explanation", "low", "BJ-001", ["cancel"]),
    ("Same rattle, reported twice", "车门饰板异响（重复）。", "product_defect.manufacturer", "normal", "BJ-001", ["duplicate"]),
    ("Gift wrap torn", "礼品包装破损。", "service_failure.poor_gift_packaging", "low", "SH-002", ["contact", "resolve", "close"]),
]
_STEPS = {
    "contact": (A.RECORD_CONTACT, {"contact_channel": "phone", "contact_notes": "道歉并确认问题；客户描述了经过。"}),
    "propose": (A.PROPOSE_SOLUTION, {"solution": "免费更换并上门取送车。"}),
    "wait": (A.WAIT_FOR_CUSTOMER, {"reason": "等待客户确认到店时间。"}),
    "resolve": (A.RESOLVE, {"solution": "已免费维修，赠送一次保养。", "root_cause": "装配公差", "compensation_kind": "voucher",
                            "compensation_value": Decimal("300.00"), "compensation_currency": "CNY"}),
    "resurvey": (A.REQUEST_RESURVEY, {}),
    "recovered": (A.CONFIRM_RECOVERED, {}),
    "still": (A.REPORT_STILL_DISSATISFIED, {}),
    "reopen": (A.REOPEN, {}),
    "escalate": (A.ESCALATE, {"reason": "客户要求品牌介入。"}),
    "cancel": (A.CANCEL, {"reason": "客户撤回投诉。"}),
    "close": (A.CLOSE, {}),
}


async def seed_demo_tickets(tenant_id: uuid.UUID) -> int:
    """One ticket in every status (once: nothing if the brand has tickets)."""
    scope = scope_for(Actor.system(tenant_id))
    async with db.tenant_transaction(tenant_id):
        if await Ticket.exists(tenant_id=tenant_id):
            return 0
        dealers = await tenant_service.dealer_ids_by_code(scope)
        walk_in = await Customer.get_or_none(tenant_id=tenant_id, name="Walk-in 到店客户", dealer_id=None)
        if walk_in is None:
            walk_in = await customer_service.create_customer(scope, name="Walk-in 到店客户", dealer_id=None,
                                                             contact_points=[{"channel": "phone", "value": "13900000000"}])
        first = None
        for i, (title, words, category, priority, dealer_code, steps) in enumerate(DEMO_TICKETS):
            if dealer_code is None:
                customer_id = walk_in.id
            else:
                customers = await Customer.filter(tenant_id=tenant_id, dealer_id=dealers[dealer_code]).order_by("created_at")
                customer_id = customers[i % len(customers)].id
            t = await complaint_service.create_ticket(scope, customer_id=customer_id, source=("hotline", "survey", "web_form", "dealer")[i % 4],
                                                      title=title, verbatim=words, category_code=category, priority=priority,
                                                      channel="400 hotline" if i % 4 == 0 else None)
            first = first or (t if dealer_code else None)
            for step in steps:
                if step == "duplicate":
                    t = await complaint_service.act(scope, t.id, A.MARK_DUPLICATE, duplicate_of=first.id)
                    continue
                action, record = _STEPS[step]
                t = await complaint_service.act(scope, t.id, action, **record)
    return len(DEMO_TICKETS)


DEMO_QUESTIONS = [
    {"key": "nps", "text": "How likely are you to recommend us to a friend? 您向朋友推荐我们的可能性有多大？", "kind": "score_10",
     "role": "overall"},
    {"key": "staff_care", "text": "The staff cared about my problem. 工作人员关心我的问题。", "kind": "score_5", "dimension": "empathy"},
    {"key": "on_time", "text": "The car was ready when promised. 车辆按承诺时间交付。", "kind": "score_5", "dimension": "reliability"},
    {"key": "lounge", "text": "The lounge was clean and comfortable. 休息区干净舒适。", "kind": "score_5", "dimension": "tangibles"},
    {"key": "resolved", "text": "Was the problem you came with resolved? 您的问题解决了吗？", "kind": "yes_no", "role": "resolved"},
    {"key": "visit", "text": "What did you come for? 您的来店目的？", "kind": "choice", "options": ["maintenance", "repair", "purchase"]},
    {"key": "comment", "text": "Anything else? 其他意见", "kind": "text"},
]
DEMO_RULES = [
    {"name": "Detractor (NPS 0-6)", "priority": "high", "category_code": "service_failure", "dimension": "responsiveness",
     "conditions": [{"field": "overall", "op": "lte", "value": 6}]},
    {"name": "Staff did not care (VIP)", "priority": "urgent", "dimension": "empathy", "match": "all",
     "conditions": [{"field": "dimension", "key": "empathy", "op": "lt", "value": 5},
                    {"field": "customer_tier", "op": "in", "values": ["A"]}]},
]
# (customer index in DEMO_CUSTOMERS order, response id, answers, episode): a promoter, a detractor, a
# happy score with the problem unresolved, a second unhappy result of the same visit (it joins the ticket)
DEMO_RESULTS = [
    (1, "QX-1001", {"nps": 10, "staff_care": 5, "on_time": 5, "lounge": 4, "resolved": True, "visit": "maintenance"}, "RO-5501"),
    (0, "QX-1002", {"nps": 3, "staff_care": 2, "on_time": 2, "lounge": 3, "resolved": False, "visit": "repair",
                    "comment": "等了三个小时，问题还在。"}, "RO-5502"),
    (4, "QX-1003", {"nps": 9, "staff_care": 4, "on_time": 4, "resolved": False, "visit": "repair"}, "RO-5503"),
    (0, "QX-1004", {"nps": 2, "staff_care": 1, "resolved": False}, "RO-5502"),
]


async def seed_demo_surveys(tenant_id: uuid.UUID) -> dict:
    """An after-service survey, the brand's selection rules, an EV routing rule, and results that
    open care tickets (once: nothing if the template exists). Results go through the intake like
    any survey tool's, so the rules, the matching and the tickets are real."""
    from app.survey import service as survey_service
    from app.survey.models import SurveyTemplate

    scope = scope_for(Actor.system(tenant_id))
    async with db.tenant_transaction(tenant_id):
        if await SurveyTemplate.exists(tenant_id=tenant_id, code="after-service"):
            return {"results": 0}
        await survey_service.save_template(scope, code="after-service", name="After-service survey 售后回访问卷",
                                           questions=DEMO_QUESTIONS)
        for r in DEMO_RULES:
            await survey_service.create_rule(scope, survey_service.RuleInput(
                name=r["name"], priority=r["priority"], category_code=r.get("category_code"), dimension=r["dimension"],
                match=r.get("match", "all"), conditions=r["conditions"]))
        dealers = await tenant_service.dealer_ids_by_code(scope)
        await complaint_service.save_assignment_rule(scope, name="EV complaints in the north go to SH-002's EV centre",
                                                     dealer_id=dealers["SH-002"], region="north", product_line="EV")
        people = [p for code in DEMO_CUSTOMERS for p in DEMO_CUSTOMERS[code]]
        now = clock.now()
        outcomes = await survey_service.submit_results(scope, [survey_service.ResultInput(
            template_code="after-service", source="qualtrics", response_id=rid, answers=answers, phone=people[who][1],
            episode=episode, answered_at=now - timedelta(days=3 - n)) for n, (who, rid, answers, episode) in enumerate(DEMO_RESULTS)])
    return {"results": sum(o.result is not None for o in outcomes)}


async def seed_demo_sla(tenant_id: uuid.UUID) -> dict:
    """A breached SLA (with its first escalation) and a warned one on two open demo tickets,
    through the SLA engine as it would fire them (app.sla.service.seed_demo: idempotent)."""
    from app.sla import service as sla_service

    scope = scope_for(Actor.system(tenant_id))
    async with db.tenant_transaction(tenant_id):
        open_ = await Ticket.filter(tenant_id=tenant_id, status="assigned", dealer_id__not_isnull=True).order_by("created_at").limit(2)
        if len(open_) < 2:
            return {}
        return await sla_service.seed_demo(scope, breached_ticket_id=open_[0].id, warned_ticket_id=open_[1].id)


async def seed(tenant_id: uuid.UUID, slug: str) -> dict:
    """The whole demo of a brand that exists: what `demo-seed` creates, and the partner apps
    under "partner_apps"."""
    created = await seed_demo(tenant_id, slug)
    created["tickets"] = await seed_demo_tickets(tenant_id)
    created["surveys"] = await seed_demo_surveys(tenant_id)
    created["sla"] = await seed_demo_sla(tenant_id)
    created["partner_apps"] = await ensure_demo_partner_apps(tenant_id)
    return created
