"""The bulk file goes through the same intake as the API; the preview opens nothing; the
brand's assignment rules route new tickets; a batch costs a constant number of statements."""
from __future__ import annotations

import json

from app.complaint.models import Ticket
from app.core import db, jobs
from app.core.ids import from_global_id
from app.core.models import DataImport
from app.survey.models import SurveyResult
from tests.querycount import count_queries
from tests.survey.helpers import SUBMIT, person, result, setup_survey


async def _upload(client, token, body: str, fmt="csv", **params):
    query = "&".join(f"{k}={v}" for k, v in {"format": fmt, **params}.items())
    return await client.post(f"/imports/survey-results?{query}", content=body.encode(), headers={
        "Authorization": f"Bearer {token}", "Content-Type": "text/csv" if fmt == "csv" else "application/x-ndjson"})


async def _run(brand, r) -> DataImport:
    assert r.status_code == 202, r.text
    _, iid = from_global_id(r.json()["id"])
    assert r.json()["id"].startswith("U3VydmV5UmVzdWx0SW1wb3J0")  # a SurveyResultImport node
    await jobs.REGISTRY["survey.import"].coroutine({}, str(brand.tenant_id), str(iid))
    async with db.tenant_transaction(brand.tenant_id):
        return await DataImport.get(tenant_id=brand.tenant_id, id=iid)


async def test_a_csv_file_is_the_same_intake_and_a_second_upload_changes_nothing(gql, client, brand_a):
    await setup_survey(gql, brand_a)
    _, a = await person(brand_a)
    _, b = await person(brand_a, "d3")
    csv = ("template_code,source,response_id,answered_at,external_source,external_id,phone,q.nps,q.staff_care,q.resolved,episode\n"
           f"after-service,qualtrics,F-1,2026-11-30T10:00:00+08:00,crm,{a['externalId']},,3,2,yes,RO-9\n"
           f"after-service,qualtrics,F-2,2026-11-30T11:00:00+08:00,,,{b['phone']},10,5,no,\n"
           "after-service,qualtrics,F-3,2026-11-30T11:00:00+08:00,crm,nobody,,1,1,no,\n"
           "after-service,qualtrics,F-4,2026-11-30T11:00:00,crm,nobody,,1,1,no,\n"
           f"after-service,qualtrics,F-1,2026-11-30T10:00:00+08:00,crm,{a['externalId']},,3,2,yes,RO-9\n"
           f"after-service,qualtrics,F-5,,crm,{a['externalId']},,11,2,yes,\n")
    imp = await _run(brand_a, await _upload(client, brand_a.token(), csv))
    assert (imp.status, imp.rows_total, imp.rows_created, imp.rows_failed) == ("done", 6, 2, 4)
    by_line = {e["line"]: e["code"] for e in imp.errors}
    assert by_line == {4: "CUSTOMER_NOT_FOUND", 5: "WRONG_TYPE", 6: "DUPLICATE_IN_FILE", 7: "INVALID_ANSWER"}
    async with db.tenant_transaction(brand_a.tenant_id):
        stored = await SurveyResult.filter(tenant_id=brand_a.tenant_id).order_by("response_id")
        assert [(r.response_id, r.selected, r.import_id) for r in stored] == [("F-1", True, imp.id), ("F-2", True, imp.id)]
        assert await Ticket.filter(tenant_id=brand_a.tenant_id, source="survey").count() == 2
    again = await _run(brand_a, await _upload(client, brand_a.token(), csv, unmatched="create"))
    # the known results change nothing; the stranger is now created (F-3), the rest fail as before
    assert (again.rows_created, again.rows_unchanged) == (1, 2)
    async with db.tenant_transaction(brand_a.tenant_id):
        assert await Ticket.filter(tenant_id=brand_a.tenant_id, source="survey").count() == 3
    bad = await _upload(client, brand_a.token(), csv, unmatched="maybe")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "INVALID_OPTION"
    lines = "\n".join(json.dumps({"template_code": "after-service", "source": "s2", "response_id": f"J-{i}",
                                  "external_source": "crm", "external_id": a["externalId"], "answers": {"nps": 9}}) for i in range(3))
    jl = await _run(brand_a, await _upload(client, brand_a.token(), lines, fmt="jsonl"))
    assert (jl.rows_created, jl.rows_failed) == (3, 0)


async def test_uploads_need_surveys_write_and_a_brand_wide_caller(client, brand_a, brand_b):
    csv = "template_code,source,response_id\nx,y,z\n"
    r = await _upload(client, brand_a.token("d1_manager"), csv)
    assert r.status_code == 403 and r.json()["error"]["code"] == "PERMISSION_DENIED"
    r = await client.post("/imports/nonsense", content=b"a", headers={"Authorization": f"Bearer {brand_a.token()}"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "UNKNOWN_IMPORT_KIND"
    imp = await _run(brand_a, await _upload(client, brand_a.token(), csv))
    async with db.tenant_transaction(brand_b.tenant_id):
        assert await DataImport.filter(id=imp.id).count() == 0  # the other wall


async def test_the_preview_reports_without_opening(gql, brand_a):
    await setup_survey(gql, brand_a, rules=False)
    _, who = await person(brand_a)
    await gql(brand_a.token(), SUBMIT, {"r": [result(who, nps=n) for n in (2, 5, 7, 9)] + [result(who, nps=10, resolved=False)]})
    body = await gql(brand_a.token(), """query($r: [SelectionRuleInput!]) { selectionRulePreview(rules: $r, first: 10) {
        examined selected perRule hits { ruleName priority result { overallScore } } } }""",
                     {"r": [{"name": "low", "priority": "URGENT", "conditions": [{"field": "OVERALL", "op": "LTE", "value": 6}]}]})
    p = body["data"]["selectionRulePreview"]
    assert (p["examined"], p["selected"], p["perRule"]) == (5, 3, {"low": 2, "(unresolved)": 1})
    assert sorted(h["result"]["overallScore"] for h in p["hits"] if h["ruleName"] == "low") == [2, 5]
    async with db.tenant_transaction(brand_a.tenant_id):
        assert await Ticket.filter(tenant_id=brand_a.tenant_id, source="survey").count() == 1  # the unresolved one, at intake
    bad = await gql(brand_a.token(), """query($r: [SelectionRuleInput!]) { selectionRulePreview(rules: $r) { examined } }""",
                    {"r": [{"name": "x", "conditions": []}]}, errors_ok=True)
    assert bad["errors"][0]["extensions"]["code"] == "INVALID_CONDITION"


async def test_assignment_rules_route_new_tickets_by_region_and_product_line(gql, brand_a):
    await setup_survey(gql, brand_a, rules=False)
    save = """mutation($i: AssignmentRuleInput!) { assignmentRuleSave(input: $i) { rule { id dealer { code } } errors { code } } }"""
    ev = await gql(brand_a.token(), save, {"i": {"name": "EV specialists", "dealerId": brand_a.gid("Dealer", "d2"),
                                                 "region": "north", "productLine": "EV"}})
    assert ev["data"]["assignmentRuleSave"]["rule"]["dealer"]["code"] == "N-002"
    _, north = await person(brand_a, "d1")
    _, east = await person(brand_a, "d3")
    out = await gql(brand_a.token(), SUBMIT, {"r": [result(north, resolved=False, productLine="ev"),
                                                    result(north, resolved=False, productLine="ICE", episode="2"),
                                                    result(east, resolved=False, productLine="EV")]})
    dealers = [o["result"]["ticket"]["dealer"]["code"] for o in out["data"]["surveyResultsSubmit"]["outcomes"]]
    assert dealers == ["N-002", "N-001", "E-001"]
    customer, _ = await person(brand_a, "d1")
    create = """mutation($i: TicketCreateInput!) { ticketCreate(input: $i) { ticket { dealer { code } productLine } errors { code } } }"""
    t = await gql(brand_a.token(), create, {"i": {"customerId": __import__("app.core.ids", fromlist=["x"]).to_global_id(
        "Customer", customer.id), "source": "HOTLINE", "title": "电池", "productLine": "EV"}})
    assert t["data"]["ticketCreate"]["ticket"] == {"dealer": {"code": "N-002"}, "productLine": "EV"}
    listed = await gql(brand_a.token("d1_agent"), "{ assignmentRules { id } }")
    assert listed["data"]["assignmentRules"] == []
    denied = await gql(brand_a.token("d1_manager"), save, {"i": {"name": "x", "dealerId": brand_a.gid("Dealer", "d1")}},
                       errors_ok=True)
    assert denied["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"


async def test_a_batch_costs_the_same_statements_whatever_its_size(gql, brand_a):
    await setup_survey(gql, brand_a)
    query = SUBMIT.replace("ticket { id number status priority source dimension\n    dealer { code } }", "ticket { id dealer { code } }")
    _, first = await person(brand_a)
    await gql(brand_a.token(), query, {"r": [result(first, nps=1)]})  # the brand's category tree is seeded once, here
    counts = []
    for n in (3, 12):  # new people each time: half of them detractors, each opening a ticket
        people = [await person(brand_a, ("d1", "d3")[i % 2]) for i in range(n)]
        batch = [result(who, nps=2 if i % 2 else 9) for i, (_, who) in enumerate(people)]
        with count_queries() as q:
            out = await gql(brand_a.token(), query, {"r": batch})
        assert out["data"]["surveyResultsSubmit"]["stored"] == n
        counts.append(q.count)
    assert counts[0] == counts[1], counts
