"""Both walls for surveys: another brand sees and changes nothing of this one's templates, rules,
results and imports; dealer staff read only their dealers' results and change nothing; a
partner app needs surveys:write to submit and customers:read to read results back."""
from __future__ import annotations

from tests.factories import make_app
from tests.survey.helpers import QUESTIONS, RULE, SUBMIT, TEMPLATE, person, result, setup_survey

READ = """{ surveyTemplates { id code } selectionRules { id }
  surveyResults(first: 50) { edges { node { id dealer { code } } } } }"""


async def _seed(gql, brand):
    await setup_survey(gql, brand)
    _, d1 = await person(brand, "d1")
    _, d3 = await person(brand, "d3")
    body = await gql(brand.token(), SUBMIT, {"r": [result(d1, nps=2), result(d3, nps=2)]})
    return [o["result"]["id"] for o in body["data"]["surveyResultsSubmit"]["outcomes"]]


async def test_another_brand_sees_and_changes_nothing(gql, brand_a, brand_b):
    ids = await _seed(gql, brand_a)
    rules = (await gql(brand_a.token(), "{ selectionRules { id } }"))["data"]["selectionRules"]
    body = await gql(brand_b.token(), READ)
    assert body["data"] == {"surveyTemplates": [], "selectionRules": [], "surveyResults": {"edges": []}}
    for gid in [*ids, rules[0]["id"]]:
        node = await gql(brand_b.token(), "query($id: ID!) { node(id: $id) { id } }", {"id": gid})
        assert node["data"]["node"] is None
    upd = await gql(brand_b.token(), """mutation($id: ID!) { selectionRuleDelete(id: $id) { deletedId errors { code } } }""",
                    {"id": rules[0]["id"]})
    assert upd["data"]["selectionRuleDelete"] == {"deletedId": None, "errors": [{"code": "NOT_FOUND"}]}
    mv = await gql(brand_b.token(), "mutation($id: ID!) { selectionRuleMove(id: $id, position: 0) { errors { code } } }",
                   {"id": rules[0]["id"]})
    assert mv["data"]["selectionRuleMove"]["errors"] == [{"code": "NOT_FOUND"}]
    # the same template code in brand B is B's own; brand A's customers do not match in B
    await gql(brand_b.token(), TEMPLATE, {"i": {"code": "after-service", "name": "B", "questions": QUESTIONS}})
    _, who = await person(brand_a)
    out = await gql(brand_b.token(), SUBMIT, {"r": [result(who)]})
    assert out["data"]["surveyResultsSubmit"]["outcomes"][0]["outcome"] == "UNMATCHED"
    preview = await gql(brand_b.token(), "{ selectionRulePreview { examined selected } }")
    assert preview["data"]["selectionRulePreview"] == {"examined": 0, "selected": 0}


async def test_dealer_staff_read_their_dealers_results_only_and_change_nothing(gql, brand_a):
    await _seed(gql, brand_a)
    body = await gql(brand_a.token("d1_agent"), READ)
    assert {e["node"]["dealer"]["code"] for e in body["data"]["surveyResults"]["edges"]} == {"N-001"}
    assert body["data"]["selectionRules"] == []  # the brand's business
    regional = await gql(brand_a.token("regional"), READ)  # north: N-001 and N-002
    assert {e["node"]["dealer"]["code"] for e in regional["data"]["surveyResults"]["edges"]} == {"N-001"}
    _, who = await person(brand_a)
    for mutation, variables in (
        (SUBMIT, {"r": [result(who)]}),
        (TEMPLATE, {"i": {"code": "x", "name": "x", "questions": QUESTIONS}}),
        (RULE, {"i": {"name": "x", "conditions": [{"field": "OVERALL", "op": "LT", "value": 1}]}}),
    ):
        out = await gql(brand_a.token("d1_manager"), mutation, variables, errors_ok=True)
        assert out["data"] is None or all(v is None for v in out["data"].values())  # no surveys:write
        assert out["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"


async def test_partner_apps_need_the_scopes(gql, client, brand_a):
    await setup_survey(gql, brand_a)
    _, who = await person(brand_a)
    reader, secret = await make_app(brand_a, scopes=["customers:read"])
    writer, wsecret = await make_app(brand_a, scopes=["surveys:write"])

    async def token(app, s, scope):
        r = await client.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": app.client_id,
                                                    "client_secret": s, "scope": scope})
        return r.json()["access_token"]

    t_read = await token(reader, secret, "customers:read")
    out = await gql(t_read, SUBMIT, {"r": [result(who)]}, errors_ok=True)
    assert out["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    t_write = await token(writer, wsecret, "surveys:write")
    out = await gql(t_write, SUBMIT, {"r": [result(who, nps=1)]})
    o = out["data"]["surveyResultsSubmit"]["outcomes"][0]
    # stored and selected, but a write-only app reads nothing back: not the result, not the customer
    assert o["outcome"] == "SELECTED" and o["result"] is None
    rows = await gql(t_read, "{ surveyResults(first: 5) { edges { node { responseId ticket { id } } } } }")
    edges = rows["data"]["surveyResults"]["edges"]
    assert [e["node"]["ticket"] for e in edges] == [None]  # no tickets:read: the ticket is not shown
