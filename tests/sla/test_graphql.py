"""The SLA engine over GraphQL and HTTP: a ticket's clocks, calendars and policies for brand
admins, deadline previews, holiday seeding and iCalendar import, reports with drill-down and
the CSV export; isolation (another brand, another dealer) for every query and mutation."""
from __future__ import annotations

import csv
import io

from app.core import clock
from app.core.ids import to_global_id
from tests.querycount import count_queries
from tests.sla.conftest import HOUR, local, policy

CLOCKS = """query($id: ID!) { ticket(id: $id) { sla { id metric round state targetSeconds dueAt businessElapsedSeconds
  businessRemainingSeconds running paused warned breached met metBySeconds overdueSeconds timeZone policyVersion
  ticketId dealer { code } policy { name } calendar { name kind } } } }"""
CAL_SAVE = """mutation($i: SlaCalendarInput!) { slaCalendarSave(input: $i) { calendar { id name kind version spec dealer { code } }
  errors { field code message } } }"""
POLICY_SAVE = """mutation($i: SlaPolicyInput!) { slaPolicySave(input: $i) { policy { id name position enabled version
  targets { metric seconds } pauses { metric statuses } warnings escalation { level afterSeconds } calendar
  conditions { regions tiers minRound } notificationCalendar { name } } errors { field code message } } }"""
PREVIEW = """query($c: ID, $s: JSON, $start: DateTime!, $t: Int!) { slaDeadlinePreview(calendarId: $c, spec: $s, start: $start,
  targetSeconds: $t) { dueAt opensAt timeZone dueLocal } }"""
NINE_TO_FIVE = {"timezone": "Asia/Shanghai", "weekly": {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}}


def _gid(kind, pk):
    return to_global_id(kind, pk)


async def _at(gql, brand, at, query, variables=None, *, user="admin", errors_ok=False):
    with clock.freeze(at):
        return await gql(brand.token(user), query, variables, errors_ok=errors_ok)


async def test_a_ticket_shows_its_clocks_to_whoever_sees_the_ticket(gql, sla, brand_a, brand_b):
    await sla.setup(policies=[policy("p", {"first_contact": 2, "resolution": 8})])
    t = await sla.open(local(1, 9), dealer_key="d1")
    await sla.act(t, "record_contact", local(1, 10))
    await sla.act(t, "wait_for_customer", local(1, 11))
    body = await _at(gql, brand_a, local(1, 15), CLOCKS, {"id": _gid("Ticket", t)})
    fc, res = body["data"]["ticket"]["sla"]
    assert fc["metric"] == "FIRST_CONTACT" and fc["state"] == "MET" and fc["met"] and fc["metBySeconds"] == HOUR
    assert fc["businessElapsedSeconds"] == HOUR and fc["overdueSeconds"] is None and fc["ticketId"] == _gid("Ticket", t)
    assert res["state"] == "PAUSED" and res["paused"] and not res["running"] and res["dueAt"] is None
    assert res["businessElapsedSeconds"] == 2 * HOUR and res["businessRemainingSeconds"] == 6 * HOUR and res["targetSeconds"] == 8 * HOUR
    assert res["timeZone"] == "Asia/Shanghai" and res["dealer"]["code"] == "N-001"
    assert res["policy"]["name"] == "p" and res["calendar"] == {"name": "Business hours", "kind": "BRAND"}
    # the dealer's agent sees the clocks, not the brand's policy and calendar administration
    agent = await _at(gql, brand_a, local(1, 15), CLOCKS, {"id": _gid("Ticket", t)}, user="d1_agent")
    assert [c["state"] for c in agent["data"]["ticket"]["sla"]] == ["MET", "PAUSED"]
    assert {c["policy"] is None and c["calendar"] is None for c in agent["data"]["ticket"]["sla"]} == {True}
    node = await _at(gql, brand_a, local(1, 15), "query($id: ID!) { node(id: $id) { ... on SlaClock { metric state } } }",
                     {"id": fc["id"]}, user="d1_agent")
    assert node["data"]["node"] == {"metric": "FIRST_CONTACT", "state": "MET"}
    for brand, user in ((brand_a, "d3_agent"), (brand_b, "admin")):  # another dealer, another brand
        body = await _at(gql, brand, local(1, 15), CLOCKS, {"id": _gid("Ticket", t)}, user=user)
        assert body["data"]["ticket"] is None
        body = await _at(gql, brand, local(1, 15), "query($id: ID!) { node(id: $id) { id } }", {"id": fc["id"]}, user=user)
        assert body["data"]["node"] is None


async def test_ticket_sla_costs_a_constant_number_of_statements(gql, sla, brand_a):
    await sla.setup(policies=[policy("p", {"first_contact": 2, "resolution": 8})])
    q = "{ tickets(first: 50) { edges { node { number sla { metric dueAt dealer { code } policy { name } calendar { name } } } } } }"
    counts, opened = [], 0
    for n in (2, 8):
        while opened < n:
            await sla.open(local(1, 9), dealer_key=("d1", "d3")[opened % 2])
            opened += 1
        await _at(gql, brand_a, local(1, 10), q)  # caches warm (calendars by digest, the brand's document policy)
        with count_queries() as c:
            body = await _at(gql, brand_a, local(1, 10), q)
        edges = body["data"]["tickets"]["edges"]
        assert len(edges) == n and all(len(e["node"]["sla"]) == 2 for e in edges)
        counts.append(c.count)
    assert counts[0] == counts[1], counts


async def test_calendars_admin(gql, brand_a):
    body = await gql(brand_a.token(), "{ slaCalendars { id name kind version spec seedReport } }")
    calendars = {c["kind"]: c for c in body["data"]["slaCalendars"]}
    assert set(calendars) == {"BRAND", "ALWAYS"} and calendars["ALWAYS"]["spec"] == {"always": True}
    assert calendars["BRAND"]["seedReport"]["country"] == "CN" and calendars["BRAND"]["spec"]["holidays"]
    # a dealer's own hours
    body = await gql(brand_a.token(), CAL_SAVE, {"i": {"name": "E-001", "spec": NINE_TO_FIVE, "dealerId": brand_a.gid("Dealer", "d3")}})
    own = body["data"]["slaCalendarSave"]
    assert own["errors"] == [] and own["calendar"]["kind"] == "DEALER" and own["calendar"]["dealer"]["code"] == "E-001"
    assert own["calendar"]["spec"]["weekly"]["sat"] == []  # normalised
    body = await gql(brand_a.token(), CAL_SAVE, {"i": {"name": "E-001 again", "spec": NINE_TO_FIVE, "dealerId": brand_a.gid("Dealer", "d3")}})
    assert body["data"]["slaCalendarSave"]["errors"][0]["code"] == "DEALER_HAS_CALENDAR"
    body = await gql(brand_a.token(), CAL_SAVE, {"i": {"name": "E-001", "spec": NINE_TO_FIVE}})
    assert body["data"]["slaCalendarSave"]["errors"][0]["code"] == "NAME_TAKEN"
    bad = {"timezone": "Asia/Shanghai", "weekly": {"mon": [["18:00", "09:00"]]}}
    body = await gql(brand_a.token(), CAL_SAVE, {"i": {"name": "bad", "spec": bad}})
    [error] = body["data"]["slaCalendarSave"]["errors"]
    assert error["code"] == "INVALID_CALENDAR" and error["field"] == "spec.weekly.mon[0]"
    body = await gql(brand_a.token(), CAL_SAVE, {"i": {"id": calendars["ALWAYS"]["id"], "name": "24x7", "spec": NINE_TO_FIVE}})
    assert body["data"]["slaCalendarSave"]["errors"][0]["code"] == "CALENDAR_NOT_EDITABLE"
    body = await gql(brand_a.token(), CAL_SAVE, {"i": {"id": calendars["BRAND"]["id"], "name": "Office", "spec": NINE_TO_FIVE,
                                                       "openClocks": "KEEP"}})
    saved = body["data"]["slaCalendarSave"]["calendar"]
    assert saved["name"] == "Office" and saved["version"] == calendars["BRAND"]["version"] + 1
    # a notification calendar in use cannot go; the brand's never can
    body = await gql(brand_a.token(), CAL_SAVE, {"i": {"name": "paging hours", "spec": {"timezone": "Asia/Shanghai", "weekly": {
        d: [["08:00", "22:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}}})
    paging = body["data"]["slaCalendarSave"]["calendar"]
    assert paging["kind"] == "CUSTOM"
    body = await gql(brand_a.token(), POLICY_SAVE, {"i": {"name": "paged", "targets": [{"metric": "FIRST_CONTACT", "seconds": 3600}],
                                                          "notificationCalendarId": paging["id"]}})
    assert body["data"]["slaPolicySave"]["policy"]["notificationCalendar"] == {"name": "paging hours"}
    delete = "mutation($id: ID!) { slaCalendarDelete(input: {id: $id}) { deletedId errors { code } } }"
    assert (await gql(brand_a.token(), delete, {"id": paging["id"]}))["data"]["slaCalendarDelete"]["errors"] == [{"code": "CALENDAR_IN_USE"}]
    assert (await gql(brand_a.token(), delete, {"id": saved["id"]}))["data"]["slaCalendarDelete"]["errors"] == [{"code": "CALENDAR_NOT_EDITABLE"}]
    body = await gql(brand_a.token(), delete, {"id": own["calendar"]["id"]})
    assert body["data"]["slaCalendarDelete"] == {"deletedId": own["calendar"]["id"], "errors": []}
    kinds = [c["kind"] for c in (await gql(brand_a.token(), "{ slaCalendars { kind } }"))["data"]["slaCalendars"]]
    assert sorted(kinds) == ["ALWAYS", "BRAND", "CUSTOM"]


async def test_policies_admin(gql, brand_a):
    body = await gql(brand_a.token(), "{ slaPolicies { id name position targets { metric seconds } conditions { tiers } warnings "
                                      "escalation { level afterSeconds } pauses { metric statuses } } }")
    tier_a, standard = body["data"]["slaPolicies"]
    assert tier_a["conditions"]["tiers"] == ["A"] and tier_a["targets"] == [{"metric": "FIRST_CONTACT", "seconds": 4 * HOUR}]
    assert [t["seconds"] // HOUR for t in standard["targets"]] == [24, 48, 72, 40] and standard["warnings"] == [0.75, 0.9]
    assert standard["pauses"][0] == {"metric": "FIRST_CONTACT", "statuses": ["PENDING_CUSTOMER"]}
    assert [s["level"] for s in standard["escalation"]] == ["DEALER_MANAGER", "REGIONAL_MANAGER", "BRAND"]
    created = await gql(brand_a.token(), POLICY_SAVE, {"i": {
        "name": "Round 2 in the north", "position": 0, "conditions": {"regions": ["north"], "minRound": 2},
        "targets": [{"metric": "FIRST_CONTACT", "seconds": 2 * HOUR}, {"metric": "RESOLUTION", "seconds": 24 * HOUR}],
        "pauses": [{"metric": "RESOLUTION", "statuses": ["PENDING_CUSTOMER", "ESCALATED"]}], "warnings": [0.5],
        "escalation": [{"level": "DEALER_MANAGER", "afterSeconds": 0}, {"level": "BRAND", "afterSeconds": 7200}], "calendar": "ALWAYS"}})
    p = created["data"]["slaPolicySave"]
    assert p["errors"] == [] and p["policy"]["conditions"] == {"regions": ["north"], "tiers": [], "minRound": 2}
    assert p["policy"]["pauses"] == [{"metric": "FIRST_CONTACT", "statuses": ["PENDING_CUSTOMER"]},
                                     {"metric": "RESOLUTION", "statuses": ["ESCALATED", "PENDING_CUSTOMER"]}]
    assert p["policy"]["calendar"] == "ALWAYS" and p["policy"]["version"] == 1
    body = await gql(brand_a.token(), POLICY_SAVE, {"i": {
        "name": "", "targets": [{"metric": "FIRST_CONTACT", "seconds": 5}, {"metric": "FIRST_CONTACT", "seconds": 60}],
        "warnings": [1.5], "escalation": [{"level": "BRAND", "afterSeconds": 0}, {"level": "DEALER_AGENT", "afterSeconds": 0}],
        "conditions": {"categoryIds": [_gid("TicketCategory", brand_a.tenant_id)]}}})
    fields = {(e["field"], e["code"]) for e in body["data"]["slaPolicySave"]["errors"]}
    assert fields == {("name", "INVALID_POLICY"), ("targets[0].seconds", "INVALID_POLICY"), ("targets[1].metric", "INVALID_POLICY"),
                      ("warnings", "INVALID_POLICY"), ("escalation[1].level", "INVALID_POLICY"),
                      ("conditions.categoryIds", "INVALID_POLICY")}
    body = await gql(brand_a.token(), POLICY_SAVE, {"i": {"id": p["policy"]["id"], "name": "renamed", "enabled": False,
                                                          "targets": [{"metric": "FIRST_CONTACT", "seconds": HOUR}]}})
    assert body["data"]["slaPolicySave"]["policy"]["version"] == 2 and not body["data"]["slaPolicySave"]["policy"]["enabled"]
    delete = "mutation($id: ID!) { slaPolicyDelete(input: {id: $id, openClocks: KEEP}) { deletedId errors { code } } }"
    assert (await gql(brand_a.token(), delete, {"id": p["policy"]["id"]}))["data"]["slaPolicyDelete"]["errors"] == []
    assert (await gql(brand_a.token(), delete, {"id": p["policy"]["id"]}))["data"]["slaPolicyDelete"]["errors"] == [{"code": "NOT_FOUND"}]
    names = [x["name"] for x in (await gql(brand_a.token(), "{ slaPolicies { name } }"))["data"]["slaPolicies"]]
    assert "renamed" not in names and len(names) == 2


async def test_deadline_preview(gql, brand_a):
    friday = "2021-03-05T16:30:00+08:00"
    body = await gql(brand_a.token(), PREVIEW, {"s": NINE_TO_FIVE, "start": friday, "t": HOUR})
    # chatwoot#13392: Friday 16:30 plus one business hour is Monday 09:30, an instant shown in any zone
    assert body["data"]["slaDeadlinePreview"] == {"dueAt": "2021-03-08T01:30:00+00:00", "opensAt": "2021-03-05T08:30:00+00:00",
                                                  "timeZone": "Asia/Shanghai", "dueLocal": "2021-03-08 09:30"}
    calendars = (await gql(brand_a.token(), "{ slaCalendars { id kind } }"))["data"]["slaCalendars"]
    always = next(c["id"] for c in calendars if c["kind"] == "ALWAYS")
    body = await gql(brand_a.token(), PREVIEW, {"c": always, "start": "2021-03-05T16:30:00-05:00", "t": 3 * HOUR})
    assert body["data"]["slaDeadlinePreview"]["dueAt"] == "2021-03-06T00:30:00+00:00"  # 24x7: 21:30 UTC plus 3 hours
    for variables, field in (({"s": {"timezone": "Mars/Base", "weekly": {}}, "start": friday, "t": 60}, "spec.timezone"),
                             ({"s": NINE_TO_FIVE, "start": "2021-03-05T16:30:00", "t": 60}, "start"),
                             ({"s": NINE_TO_FIVE, "c": always, "start": friday, "t": 60}, "calendar"),
                             ({"s": NINE_TO_FIVE, "start": friday, "t": -1}, "targetSeconds"),
                             ({"s": {"timezone": "UTC", "weekly": {}}, "start": friday, "t": 60}, "calendar")):
        body = await gql(brand_a.token(), PREVIEW, variables, errors_ok=True)
        [error] = body["errors"]
        assert error["extensions"]["code"] == "INVALID" and error["extensions"]["field"] == field, (variables, error)
    body = await gql(brand_a.token("d1_manager"), PREVIEW, {"s": NINE_TO_FIVE, "start": friday, "t": 60}, errors_ok=True)
    assert body["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"


ICAL = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:founders
DTSTART;VALUE=DATE:20260615
DTEND;VALUE=DATE:20260616
RRULE:FREQ=YEARLY
SUMMARY:Founders' day
END:VEVENT
BEGIN:VEVENT
UID:mothers
DTSTART;VALUE=DATE:20260510
DTEND;VALUE=DATE:20260511
TRANSP:TRANSPARENT
SUMMARY:Mother's day
END:VEVENT
BEGIN:VEVENT
UID:training
DTSTART;TZID=Asia/Shanghai:20260603T140000
DTEND;TZID=Asia/Shanghai:20260603T160000
SUMMARY:Training
END:VEVENT
END:VCALENDAR
"""


async def test_holiday_seeding_and_ical_import_report_what_they_did(gql, brand_a):
    cal = next(c for c in (await gql(brand_a.token(), "{ slaCalendars { id kind version } }"))["data"]["slaCalendars"]
               if c["kind"] == "BRAND")
    seed = """mutation($i: SlaHolidaySeedInput!) { slaCalendarSeedHolidays(input: $i) { calendar { version spec seedReport }
      report errors { field code message } } }"""
    body = await gql(brand_a.token(), seed, {"i": {"id": cal["id"], "years": [2026, 2031], "replace": True, "openClocks": "KEEP"}})
    got = body["data"]["slaCalendarSeedHolidays"]
    assert got["errors"] == [] and 2031 in got["report"]["provisional_years"] and "2031" in got["report"]["provisional"]
    assert "2026-10-01" in got["calendar"]["spec"]["holidays"] and got["report"]["makeup_days"]
    assert all(d in got["calendar"]["spec"]["overrides"] for d in got["report"]["makeup_days"])
    assert got["calendar"]["seedReport"] == got["report"] and got["calendar"]["version"] > cal["version"]
    body = await gql(brand_a.token(), seed, {"i": {"id": cal["id"], "years": [2026], "country": "XX"}})
    assert body["data"]["slaCalendarSeedHolidays"]["errors"][0]["code"] == "INVALID_CALENDAR"
    body = await gql(brand_a.token(), seed, {"i": {"id": cal["id"], "years": list(range(2026, 2033))}})
    assert body["data"]["slaCalendarSeedHolidays"]["errors"][0] == {"field": "years", "code": "INVALID",
                                                                    "message": body["data"]["slaCalendarSeedHolidays"]["errors"][0]["message"]}
    ical = """mutation($i: SlaIcalImportInput!) { slaCalendarImportIcal(input: $i) { calendar { spec } report errors { field code } } }"""
    body = await gql(brand_a.token(), ical, {"i": {"id": cal["id"], "ical": ICAL, "start": "2026-01-01", "end": "2028-01-01"}})
    got = body["data"]["slaCalendarImportIcal"]
    assert got["errors"] == [] and {"2026-06-15", "2027-06-15"} <= set(got["calendar"]["spec"]["holidays"])
    assert ["2026-06-03T14:00", "2026-06-03T16:00"] in got["calendar"]["spec"]["closures"]
    assert [s["uid"] for s in got["report"]["skipped"]] == ["mothers"] and "2026-05-10" not in got["calendar"]["spec"]["holidays"]
    body = await gql(brand_a.token(), ical, {"i": {"id": cal["id"], "ical": "not a calendar", "start": "2026-01-01", "end": "2027-01-01"}})
    assert body["data"]["slaCalendarImportIcal"]["errors"] == [{"field": "ical", "code": "INVALID_CALENDAR"}]


async def _report_brand(sla, brand):
    """d1: one first contact met, one breached; d3: one met. Resolution clocks stay open."""
    await sla.setup(policies=[policy("p", {"first_contact": 1, "resolution": 8})])
    met = await sla.open(local(1, 9), dealer_key="d1")
    late = await sla.open(local(1, 9), dealer_key="d1")
    east = await sla.open(local(2, 9), dealer_key="d3")
    await sla.act(met, "record_contact", local(1, 9, 30))
    await sla.act(late, "record_contact", local(1, 11))
    await sla.act(east, "record_contact", local(2, 9, 15))
    return met, late, east


REPORT = """query($g: SlaReportGroup!, $p: SlaReportPeriod!) { slaReport(from: "2021-03-01", to: "2021-04-01", groupBy: $g,
  period: $p, metrics: [FIRST_CONTACT]) { period metric dealerCode region total met breached open cancelled metPercent } }"""


async def test_reports_per_dealer_region_and_period_with_drill_down_and_csv(gql, client, sla, brand_a, brand_b):
    met, late, east = await _report_brand(sla, brand_a)
    body = await _at(gql, brand_a, local(3, 9), REPORT, {"g": "DEALER", "p": "MONTH"})
    assert body["data"]["slaReport"] == [
        {"period": "2021-03-01", "metric": "FIRST_CONTACT", "dealerCode": "E-001", "region": "east", "total": 1, "met": 1,
         "breached": 0, "open": 0, "cancelled": 0, "metPercent": 100.0},
        {"period": "2021-03-01", "metric": "FIRST_CONTACT", "dealerCode": "N-001", "region": "north", "total": 2, "met": 1,
         "breached": 1, "open": 0, "cancelled": 0, "metPercent": 50.0}]
    body = await _at(gql, brand_a, local(3, 9), REPORT, {"g": "REGION", "p": "DAY"})
    assert [(r["period"], r["region"], r["met"], r["breached"]) for r in body["data"]["slaReport"]] == [
        ("2021-03-01", "north", 1, 1), ("2021-03-02", "east", 1, 0)]
    drill = """query($f: SlaReportClockFilter) { slaReportClocks(from: "2021-03-01", to: "2021-04-01", filter: $f, first: 10) {
      edges { node { metric breached overdueSeconds ticket { id number } } } } }"""
    body = await _at(gql, brand_a, local(3, 9), drill, {"f": {"outcome": "BREACHED", "metrics": ["FIRST_CONTACT"]}})
    [edge] = body["data"]["slaReportClocks"]["edges"]
    assert edge["node"]["ticket"]["id"] == _gid("Ticket", late) and edge["node"]["overdueSeconds"] == HOUR
    body = await _at(gql, brand_a, local(3, 9), drill, {"f": {"regions": ["east"]}})
    assert {e["node"]["ticket"]["id"] for e in body["data"]["slaReportClocks"]["edges"]} == {_gid("Ticket", east)}
    # a dealer's staff see their dealer's lines only; another brand sees nothing
    body = await _at(gql, brand_a, local(3, 9), REPORT, {"g": "DEALER", "p": "MONTH"}, user="d3_agent")
    assert [r["dealerCode"] for r in body["data"]["slaReport"]] == ["E-001"]
    body = await _at(gql, brand_a, local(3, 9), drill, {"f": {"dealerIds": [brand_a.gid("Dealer", "d1")]}}, user="d3_agent")
    assert body["data"]["slaReportClocks"]["edges"] == []
    body = await _at(gql, brand_b, local(3, 9), REPORT, {"g": "DEALER", "p": "MONTH"})
    assert body["data"]["slaReport"] == []
    body = await _at(gql, brand_b, local(3, 9), drill, {"f": {}})
    assert body["data"]["slaReportClocks"]["edges"] == []

    with clock.freeze(local(3, 9)):
        token = brand_a.token()
        r = await client.get("/exports/sla-report?from=2021-03-01&to=2021-04-01&metrics=first_contact",
                             headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        assert "attachment" in r.headers["content-disposition"] and r.content.startswith("\ufeff".encode())
        lines = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert [(x["dealer_code"], x["met"], x["breached"], x["met_percent"]) for x in lines] == [
            ("E-001", "1", "0", "100.0"), ("N-001", "1", "1", "50.0")]
        r = await client.get("/exports/sla-report?from=2021-03-01&to=2021-04-01&rows=clocks&metrics=first_contact",
                             headers={"Authorization": f"Bearer {brand_a.token('d1_agent')}"})
        lines = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert {x["ticket_id"] for x in lines} == {_gid("Ticket", met), _gid("Ticket", late)}
        assert {x["state"] for x in lines} == {"met"} and {x["overdue_seconds"] for x in lines} == {"", str(HOUR)}
        r = await client.get("/exports/sla-report?from=2021-03-01&to=2021-04-01", headers={"Authorization": f"Bearer {brand_b.token()}"})
        assert r.status_code == 200 and len(r.content.decode("utf-8-sig").strip().splitlines()) == 1  # the header only
        r = await client.get("/exports/sla-report?from=2021-03-01&to=2021-04-01")
        assert r.status_code == 401 and "Bearer" in r.headers["www-authenticate"]
        r = await client.get("/exports/sla-report?from=March&to=2021-04-01", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 400 and r.json()["error"]["field"] == "from"
        r = await client.get("/exports/sla-report?from=2021-03-01&to=2021-04-01&groupBy=planet", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 400 and r.json()["error"]["field"] == "groupBy"


async def test_another_brand_and_dealer_staff_reach_no_calendar_or_policy(gql, brand_a, brand_b):
    calendars = (await gql(brand_a.token(), "{ slaCalendars { id kind } }"))["data"]["slaCalendars"]
    policies = (await gql(brand_a.token(), "{ slaPolicies { id } }"))["data"]["slaPolicies"]
    brand_cal = next(c["id"] for c in calendars if c["kind"] == "BRAND")
    b_calendars = (await gql(brand_b.token(), "{ slaCalendars { id } slaPolicies { id } }"))["data"]
    assert not {c["id"] for c in b_calendars["slaCalendars"]} & {c["id"] for c in calendars}
    assert not {p["id"] for p in b_calendars["slaPolicies"]} & {p["id"] for p in policies}
    b = brand_b.token()
    mutations = [
        (CAL_SAVE, {"i": {"id": brand_cal, "name": "x", "spec": NINE_TO_FIVE}}, "slaCalendarSave"),
        (CAL_SAVE, {"i": {"name": "x", "spec": NINE_TO_FIVE, "dealerId": brand_a.gid("Dealer", "d1")}}, "slaCalendarSave"),
        ("mutation($id: ID!) { slaCalendarDelete(input: {id: $id}) { errors { code } } }", {"id": brand_cal}, "slaCalendarDelete"),
        ("mutation($id: ID!) { slaCalendarSeedHolidays(input: {id: $id, years: [2026]}) { errors { code } } }", {"id": brand_cal},
         "slaCalendarSeedHolidays"),
        ("mutation($id: ID!) { slaCalendarImportIcal(input: {id: $id, ical: \"x\", start: \"2026-01-01\", end: \"2026-02-01\"}) "
         "{ errors { code } } }", {"id": brand_cal}, "slaCalendarImportIcal"),
        (POLICY_SAVE, {"i": {"id": policies[0]["id"], "name": "x", "targets": [{"metric": "FIRST_CONTACT", "seconds": 60}]}},
         "slaPolicySave"),
        (POLICY_SAVE, {"i": {"name": "x", "targets": [{"metric": "FIRST_CONTACT", "seconds": 60}], "notificationCalendarId": brand_cal}},
         "slaPolicySave"),
        ("mutation($id: ID!) { slaPolicyDelete(input: {id: $id}) { errors { code } } }", {"id": policies[0]["id"]}, "slaPolicyDelete"),
    ]
    for query, variables, name in mutations:
        body = await gql(b, query, variables)
        assert body["data"][name]["errors"][0]["code"] == "NOT_FOUND", (name, body)
    for pk in (brand_cal, policies[0]["id"]):
        assert (await gql(b, "query($id: ID!) { node(id: $id) { id } }", {"id": pk}))["data"]["node"] is None
    body = await gql(b, PREVIEW, {"c": brand_cal, "start": "2026-03-05T16:30:00+08:00", "t": 60}, errors_ok=True)
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    # nothing changed in brand A
    after = (await gql(brand_a.token(), "{ slaCalendars { id version } slaPolicies { id version } }"))["data"]
    assert {c["id"] for c in after["slaCalendars"]} == {c["id"] for c in calendars} and len(after["slaPolicies"]) == len(policies)
    # dealer staff and regional managers do not administer the brand's SLAs, not even by node
    for user in ("d1_manager", "d1_agent", "regional", "analyst"):
        body = await gql(brand_a.token(user), "{ slaCalendars { id } slaPolicies { id } }", errors_ok=True)
        assert body["data"] == {"slaCalendars": None, "slaPolicies": None}
        assert {e["extensions"]["code"] for e in body["errors"]} == {"PERMISSION_DENIED"}
        body = await gql(brand_a.token(user), CAL_SAVE, {"i": {"id": brand_cal, "name": "x", "spec": NINE_TO_FIVE}}, errors_ok=True)
        assert body["data"]["slaCalendarSave"] is None and body["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
        body = await gql(brand_a.token(user), "query($id: ID!) { node(id: $id) { id } }", {"id": brand_cal}, errors_ok=True)
        assert body["data"]["node"] is None


async def test_a_calendar_clocks_run_on_needs_weekly_hours(gql, brand_a):
    calendars = (await gql(brand_a.token(), "{ slaCalendars { id kind name } }"))["data"]["slaCalendars"]
    brand = next(c for c in calendars if c["kind"] == "BRAND")
    only_dates = {"timezone": "Asia/Shanghai", "weekly": {}, "overrides": {"2026-12-05": [["09:00", "12:00"]]}}
    for variables in ({"i": {"id": brand["id"], "name": brand["name"], "spec": only_dates}},
                      {"i": {"name": "D1", "spec": only_dates, "dealerId": brand_a.gid("Dealer", "d1")}}):
        body = await gql(brand_a.token(), CAL_SAVE, variables)
        assert body["data"]["slaCalendarSave"]["errors"] == [
            {"field": "spec.weekly", "code": "INVALID_CALENDAR", "message": body["data"]["slaCalendarSave"]["errors"][0]["message"]}]
    body = await gql(brand_a.token(), CAL_SAVE, {"i": {"name": "special days", "spec": only_dates}})  # a custom one may
    assert body["data"]["slaCalendarSave"]["errors"] == []
