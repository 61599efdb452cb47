"""`make run`'s demo brand shows the intake: a template, rules, results that opened care tickets."""
from __future__ import annotations

from app.core import db


async def test_the_demo_has_surveys_rules_and_the_tickets_they_opened():
    import uuid

    from app import demo
    from app.tenant.provision import provision_brand

    slug = f"demo-{uuid.uuid4().hex[:8]}"
    brand, _ = await provision_brand(slug, "Demo", f"admin@{slug}.test")
    await demo.seed_demo(brand.id, slug)
    assert await demo.seed_demo_surveys(brand.id) == {"results": len(demo.DEMO_RESULTS)}
    assert await demo.seed_demo_surveys(brand.id) == {"results": 0}  # once
    async with db.tenant_transaction(brand.id):
        rows = await db.fetch("SELECT response_id, selected, selection_reason FROM survey_result WHERE tenant_id = $1 "
                              "ORDER BY response_id", [brand.id])
        tickets = await db.fetch("SELECT count(*) FROM ticket WHERE tenant_id = $1 AND source = 'survey'", [brand.id])
        links = await db.fetch("SELECT count(*), count(*) FILTER (WHERE opened) FROM ticket_survey_result WHERE tenant_id = $1",
                               [brand.id])
        rules = await db.fetch("SELECT count(*) FROM ticket_assignment_rule WHERE tenant_id = $1", [brand.id])
    assert [tuple(r) for r in rows] == [("QX-1001", False, None), ("QX-1002", True, "rule"), ("QX-1003", True, "unresolved"),
                                        ("QX-1004", True, "rule")]
    assert tickets[0][0] == 2  # QX-1004 joined QX-1002's ticket: the same visit
    assert tuple(links[0]) == (3, 2)
    assert rules[0][0] == 1


async def test_the_demo_has_a_breached_and_a_warned_sla():
    import uuid

    from app import demo
    from app.tenant.provision import provision_brand

    slug = f"demo-{uuid.uuid4().hex[:8]}"
    brand, _ = await provision_brand(slug, "Demo", f"admin@{slug}.test")
    await demo.seed_demo(brand.id, slug)
    await demo.seed_demo_tickets(brand.id)
    await demo.seed_demo_sla(brand.id)
    await demo.seed_demo_sla(brand.id)  # once
    async with db.tenant_transaction(brand.id):
        rows = await db.fetch("SELECT sla_breached, sla_warned FROM ticket WHERE tenant_id = $1 AND (sla_breached OR sla_warned)",
                              [brand.id])
    assert sorted(tuple(r) for r in rows) == [(False, True), (True, True)]  # (breached, warned): one warned, one past both
