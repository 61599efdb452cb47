"""Survey fixtures shared by the survey tests: a template, rules, and result inputs."""
from __future__ import annotations

import uuid

TEMPLATE = """mutation($i: SurveyTemplateInput!) { surveyTemplateSave(input: $i) { template { id code questions { key kind role } }
  errors { code field message } } }"""
RULE = """mutation($i: SelectionRuleInput!, $p: Int) { selectionRuleCreate(input: $i, position: $p) { rule { id name position }
  errors { code field message } } }"""
SUBMIT = """mutation($r: [SurveyResultInput!]!, $u: Unmatched) { surveyResultsSubmit(results: $r, unmatched: $u) {
  stored selected errors { code field }
  outcomes { index responseId outcome errors { code field } result { id overallScore unresolved selected selectionReason
    dimensionScores { dimension score } customer { id } dealer { code } ticket { id number status priority source dimension
    dealer { code } } } } } }"""

QUESTIONS = [
    {"key": "nps", "text": "How likely are you to recommend us?", "kind": "SCORE_10", "role": "OVERALL"},
    {"key": "staff_care", "text": "The staff cared about my problem", "kind": "SCORE_5", "dimension": "EMPATHY"},
    {"key": "on_time", "text": "The car was ready when promised", "kind": "SCORE_5", "dimension": "RELIABILITY"},
    {"key": "resolved", "text": "Was your problem resolved?", "kind": "YES_NO", "role": "RESOLVED"},
    {"key": "visit", "text": "What did you come for?", "kind": "CHOICE", "options": ["maintenance", "repair", "purchase"]},
    {"key": "comment", "text": "Anything else?", "kind": "TEXT"},
]


async def setup_survey(gql, brand, *, rules=True) -> None:
    body = await gql(brand.token(), TEMPLATE, {"i": {"code": "after-service", "name": "After service", "questions": QUESTIONS}})
    assert body["data"]["surveyTemplateSave"]["errors"] == [], body
    if rules:
        for rule in (
            {"name": "detractor", "priority": "HIGH", "categoryCode": "service_failure", "dimension": "RESPONSIVENESS",
             "conditions": [{"field": "OVERALL", "op": "LTE", "value": 6}]},
            {"name": "uncaring staff", "priority": "URGENT", "dimension": "EMPATHY", "templateCode": "after-service",
             "conditions": [{"field": "DIMENSION", "key": "empathy", "op": "LT", "value": 5}]},
        ):
            body = await gql(brand.token(), RULE, {"i": rule})
            assert body["data"]["selectionRuleCreate"]["errors"] == [], body


async def person(brand, dealer_key="d1"):
    """A customer with a known external id, phone and e-mail; returns (customer, identity dict)."""
    from tests.factories import make_customer

    tag = uuid.uuid4().hex[:10]
    phone = f"139{uuid.uuid4().int % 10**8:08d}"
    c = await make_customer(brand, dealer_key, contact_points=[{"channel": "phone", "value": phone},
                                                               {"channel": "email", "value": f"p{tag}@example.cn"}],
                            external_refs=[{"source": "crm", "external_id": tag}])
    return c, {"externalSource": "crm", "externalId": tag, "phone": phone, "email": f"p{tag}@example.cn"}


def result(who: dict, *, response_id: str | None = None, nps=9, staff_care=5, resolved=True, **kw) -> dict:
    answers = {"nps": nps, "staff_care": staff_care, "on_time": 4, "resolved": resolved, "visit": "repair"}
    answers = {k: v for k, v in answers.items() if v is not None}
    answers.update(kw.pop("answers", {}))
    return {"templateCode": "after-service", "source": "qualtrics", "responseId": response_id or uuid.uuid4().hex,
            "answers": answers, "customer": who, **kw}
