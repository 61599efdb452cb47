"""Survey intake end to end: results are matched, stored once, selected by the brand's rules,
and a selected one opens one care ticket per customer and episode, however many rules match
and however often the result is delivered."""
from __future__ import annotations

import asyncio

from app.core import db
from app.core.ids import from_global_id, to_global_id
from app.customer.models import Customer, CustomerEvent
from tests.survey.helpers import SUBMIT, person, result, setup_survey

TICKETS = "query($c: ID!) { tickets(first: 50, filter: {customerId: $c}) { edges { node { id source status priority } } } }"


async def _submit(gql, token, results, unmatched=None):
    body = await gql(token, SUBMIT, {"r": results, **({"u": unmatched} if unmatched else {})})
    return body["data"]["surveyResultsSubmit"]


async def test_a_detractor_opens_one_care_ticket_whatever_rules_and_deliveries_match(gql, brand_a):
    await setup_survey(gql, brand_a)
    customer, who = await person(brand_a)
    low = result(who, nps=3, staff_care=1, episode="RO-1")  # both rules match it
    out = await _submit(gql, brand_a.token(), [low, low])  # and it is delivered twice in one call
    assert [o["outcome"] for o in out["outcomes"]] == ["SELECTED", "DUPLICATE"], out
    assert (out["stored"], out["selected"]) == (1, 1)
    r = out["outcomes"][0]["result"]
    assert r["overallScore"] == 3 and r["selectionReason"] == "rule"
    assert {d["dimension"]: d["score"] for d in r["dimensionScores"]} == {"EMPATHY": 0.0, "RELIABILITY": 7.5}
    ticket = r["ticket"]
    # the first rule by position decides: detractor (HIGH, its dimension), not "uncaring staff" (URGENT)
    assert (ticket["source"], ticket["status"], ticket["priority"], ticket["dimension"]) == ("SURVEY", "ASSIGNED", "HIGH", "RESPONSIVENESS")
    assert ticket["dealer"]["code"] == "N-001" and ticket["number"].startswith("T-")
    again = await _submit(gql, brand_a.token(), [low])  # redelivered later: nothing changes
    assert [o["outcome"] for o in again["outcomes"]] == ["DUPLICATE"] and again["stored"] == 0
    assert again["outcomes"][0]["result"]["id"] == r["id"]
    # another unhappy result of the same customer and episode joins the open ticket
    later = await _submit(gql, brand_a.token(), [result(who, nps=2, episode="RO-1")])
    assert later["outcomes"][0]["outcome"] == "SELECTED"
    assert later["outcomes"][0]["result"]["ticket"]["id"] == ticket["id"]
    # a new episode (another visit) is another ticket
    other = await _submit(gql, brand_a.token(), [result(who, nps=2, episode="RO-2")])
    assert other["outcomes"][0]["result"]["ticket"]["id"] != ticket["id"]
    tickets = await gql(brand_a.token(), TICKETS, {"c": to_global_id("Customer", customer.id)})
    assert len(tickets["data"]["tickets"]["edges"]) == 2
    async with db.tenant_transaction(brand_a.tenant_id):
        c = await Customer.get(tenant_id=brand_a.tenant_id, id=customer.id)
        assert c.open_ticket_count == 2 and c.last_survey_score == 2
        kinds = [e.kind for e in await CustomerEvent.filter(tenant_id=brand_a.tenant_id, customer_id=customer.id)]
        assert kinds.count("survey") == 3 and kinds.count("ticket") == 2


async def test_unresolved_opens_a_ticket_even_with_a_high_score_and_happy_results_open_none(gql, brand_a):
    await setup_survey(gql, brand_a)
    _, happy = await person(brand_a)
    _, unresolved = await person(brand_a, "d3")
    out = await _submit(gql, brand_a.token(), [result(happy, nps=10), result(unresolved, nps=9, resolved=False)])
    first, second = out["outcomes"]
    assert first["outcome"] == "STORED" and first["result"]["ticket"] is None
    assert second["outcome"] == "SELECTED" and second["result"]["selectionReason"] == "unresolved"
    assert second["result"]["unresolved"] is True
    assert (second["result"]["ticket"]["priority"], second["result"]["ticket"]["dealer"]["code"]) == ("HIGH", "E-001")


async def test_matching_by_external_id_then_phone_then_email(gql, brand_a):
    await setup_survey(gql, brand_a, rules=False)
    c1, w1 = await person(brand_a)
    c2, w2 = await person(brand_a)
    c3, w3 = await person(brand_a)
    out = await _submit(gql, brand_a.token(), [
        result({"externalSource": "crm", "externalId": w1["externalId"], "phone": w2["phone"]}),  # the id wins
        result({"phone": w2["phone"].replace("139", "+86 139 ", 1)}),  # normalised
        result({"email": w3["email"].upper()}),
    ])
    got = [from_global_id(o["result"]["customer"]["id"])[1] for o in out["outcomes"]]
    assert got == [c1.id, c2.id, c3.id]


async def test_unmatched_results_are_reported_or_create_the_customer(gql, brand_a):
    await setup_survey(gql, brand_a)
    stranger = {"externalSource": "crm", "externalId": "nobody-1", "phone": "13912345678", "name": "王先生"}
    out = await _submit(gql, brand_a.token(), [result(stranger)])
    assert out["outcomes"][0]["outcome"] == "UNMATCHED" and out["stored"] == 0
    assert [e["code"] for e in out["outcomes"][0]["errors"]] == ["CUSTOMER_NOT_FOUND"]
    out = await _submit(gql, brand_a.token(), [result(stranger, nps=1), result(stranger, nps=2, episode="x")], unmatched="CREATE")
    assert [o["outcome"] for o in out["outcomes"]] == ["SELECTED", "SELECTED"]
    ids = {o["result"]["customer"]["id"] for o in out["outcomes"]}
    assert len(ids) == 1  # one person, one new customer, however many results
    async with db.tenant_transaction(brand_a.tenant_id):
        assert await Customer.filter(tenant_id=brand_a.tenant_id, name="王先生").count() == 1


async def test_invalid_results_are_refused_with_codes_and_the_rest_stored(gql, brand_a):
    await setup_survey(gql, brand_a, rules=False)
    _, who = await person(brand_a)
    out = await _submit(gql, brand_a.token(), [
        result(who, nps=11),
        result(who, answers={"mood": 3}),
        result(who, answers={"visit": "picnic"}),
        {**result(who), "templateCode": "nope"},
        {**result(who), "dealerCode": "ZZ-9"},
        {**result(who), "answers": [1, 2]},
        result(who),
    ])
    codes = [[e["code"] for e in o["errors"]] for o in out["outcomes"]]
    assert codes == [["INVALID_ANSWER"], ["UNKNOWN_QUESTION"], ["INVALID_ANSWER"], ["UNKNOWN_TEMPLATE"], ["NOT_FOUND"],
                     ["INVALID"], []]
    assert [o["outcome"] for o in out["outcomes"]][-1] == "STORED" and out["stored"] == 1
    too_many = await _submit(gql, brand_a.token(), [result(who) for _ in range(1001)])
    assert [e["code"] for e in too_many["errors"]] == ["TOO_MANY"] and too_many["outcomes"] == []


async def test_two_deliveries_at_once_store_one_result_and_open_one_ticket(gql, brand_a):
    await setup_survey(gql, brand_a)
    customer, who = await person(brand_a)
    batch = [result(who, nps=1, response_id="same-1"), result(who, nps=2, response_id="same-2")]
    outs = await asyncio.gather(*(_submit(gql, brand_a.token(), batch) for _ in range(3)))
    assert sum(o["stored"] for o in outs) == 2
    tickets = await gql(brand_a.token(), TICKETS, {"c": to_global_id("Customer", customer.id)})
    assert len(tickets["data"]["tickets"]["edges"]) == 1
