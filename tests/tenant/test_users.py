"""Staff accounts: brand admins add and change users and their roles."""
CREATE = """mutation($i: UserCreateInput!) { userCreate(input: $i) { user { id email memberships { role dealer { code } regions } }
  errors { field code message } } }"""
UPDATE = "mutation($i: UserUpdateInput!) { userUpdate(input: $i) { user { isActive memberships { role } } errors { field code } } }"


async def test_create_update_and_deactivate(gql, client, brand_a):
    tok = brand_a.token()
    r = await gql(tok, CREATE, {"i": {"email": "New.Agent@Brand.CN", "displayName": "New Agent",
                                      "memberships": [{"role": "DEALER_AGENT", "dealerId": brand_a.gid("Dealer", "d3")}]}})
    u = r["data"]["userCreate"]["user"]
    assert u["email"] == "new.agent@brand.cn" and u["memberships"] == [{"role": "DEALER_AGENT", "dealer": {"code": "E-001"}, "regions": []}]
    dup = await gql(tok, CREATE, {"i": {"email": "new.agent@brand.cn", "displayName": "x", "memberships": [{"role": "BRAND_ANALYST"}]}})
    assert dup["data"]["userCreate"]["errors"][0]["code"] == "EMAIL_TAKEN"
    for bad, code in (([{"role": "DEALER_AGENT"}], "NOT_FOUND"), ([{"role": "REGIONAL_MANAGER"}], "REGIONS_REQUIRED"),
                      ([], "ROLE_REQUIRED"), ([{"role": "BRAND_ANALYST"}, {"role": "BRAND_ANALYST"}], "DUPLICATE_ROLE")):
        r = await gql(tok, CREATE, {"i": {"email": f"{code.lower()}@x.cn", "displayName": "x", "memberships": bad}})
        assert r["data"]["userCreate"]["errors"][0]["code"] == code
    # the analyst's token stops working when deactivated
    analyst = brand_a.token("analyst")
    assert (await client.post("/graphql", json={"query": "{ viewer { roles } }"}, headers={"Authorization": f"Bearer {analyst}"})).status_code == 200
    r = await gql(tok, UPDATE, {"i": {"id": brand_a.gid("User", "analyst"), "isActive": False}})
    assert r["data"]["userUpdate"]["user"]["isActive"] is False
    assert (await client.post("/graphql", json={"query": "{ viewer { roles } }"}, headers={"Authorization": f"Bearer {analyst}"})).status_code == 401
    r = await gql(tok, UPDATE, {"i": {"id": brand_a.gid("User", "admin"), "isActive": False}})
    assert r["data"]["userUpdate"]["errors"][0]["code"] == "SELF_LOCKOUT"
    r = await gql(tok, UPDATE, {"i": {"id": brand_a.gid("User", "d1_agent"), "memberships": [{"role": "BRAND_ANALYST"}]}})
    assert r["data"]["userUpdate"]["user"]["memberships"] == [{"role": "BRAND_ANALYST"}]
    users = (await gql(tok, "{ users(first: 100) { nodes { email } } }"))["data"]["users"]["nodes"]
    assert "new.agent@brand.cn" in [x["email"] for x in users]


async def test_users_are_isolated_and_admin_only(gql, brand_a, brand_b):
    tok_b = brand_b.token()
    assert brand_a.users["admin"].email not in [u["email"] for u in (await gql(tok_b, "{ users { nodes { email } } }"))["data"]["users"]["nodes"]]
    r = await gql(tok_b, UPDATE, {"i": {"id": brand_a.gid("User", "analyst"), "isActive": False}})
    assert r["data"]["userUpdate"]["errors"][0]["code"] == "NOT_FOUND"
    r = await gql(tok_b, CREATE, {"i": {"email": "spy@x.cn", "displayName": "x", "memberships": [{"role": "DEALER_AGENT", "dealerId": brand_a.gid("Dealer", "d1")}]}})
    assert r["data"]["userCreate"]["errors"][0]["code"] == "NOT_FOUND"
    for who in ("analyst", "regional", "d1_manager"):
        r = await gql(brand_a.token(who), "{ users { nodes { email } } }", errors_ok=True)
        assert r["errors"][0]["extensions"]["missingScope"] == "admin"


async def test_granting_a_role_needs_every_permission_it_brings(gql, client, brand_a):
    """An app (or a token) holding only `admin` cannot make brand admins or dealer staff."""
    from tests.factories import make_app

    app, secret = await make_app(brand_a, scopes=["admin"])
    r = await client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(app.client_id, secret))
    app_token = r.json()["access_token"]
    narrowed = brand_a.token("admin", scope="admin")
    for tok in (app_token, narrowed):
        async def run(q, v):
            r = await client.post("/graphql", json={"query": q, "variables": v}, headers={"Authorization": f"Bearer {tok}"})
            assert r.status_code == 200, r.text
            return r.json()["data"]

        out = (await run(UPDATE, {"i": {"id": brand_a.gid("User", "d1_agent"), "memberships": [{"role": "BRAND_ADMIN"}]}}))["userUpdate"]
        assert out["errors"] == [{"field": "memberships", "code": "ROLE_EXCEEDS_CALLER"}] and out["user"] is None
        for role in ("BRAND_ADMIN", "BRAND_ANALYST"):
            out = (await run(CREATE, {"i": {"email": f"x{role.lower()}{tok[-6:]}@x.cn", "displayName": "x",
                                            "memberships": [{"role": role}]}}))["userCreate"]
            assert out["errors"][0]["code"] == "ROLE_EXCEEDS_CALLER" and out["user"] is None
        # nor demote or lock out someone holding more than the caller
        out = (await run(UPDATE, {"i": {"id": brand_a.gid("User", "d1_agent"), "isActive": False}}))["userUpdate"]
        assert out["errors"][0]["code"] == "ROLE_EXCEEDS_CALLER"
    roles = (await gql(brand_a.token(), '{ users(first: 100) { nodes { email isActive memberships { role } } } }'))["data"]["users"]["nodes"]
    agent = next(u for u in roles if u["email"] == brand_a.users["d1_agent"].email)
    assert agent == {"email": brand_a.users["d1_agent"].email, "isActive": True, "memberships": [{"role": "DEALER_AGENT"}]}
    # a full brand admin still can
    r = await gql(brand_a.token(), UPDATE, {"i": {"id": brand_a.gid("User", "d1_agent"), "memberships": [{"role": "BRAND_ANALYST"}]}})
    assert r["data"]["userUpdate"]["errors"] == []
