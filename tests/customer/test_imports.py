"""Bulk customer import: upload, worker job, idempotency, per-row errors, limits."""
import json

from app.core import db, jobs
from app.core.models import DataImport as CustomerImport
from app.customer.importer import IMPORT_JOB
from app.customer.models import Customer
from tests.import_helpers import HEADER, csv_rows, run, upload


async def customers_by_source(brand, source="crm"):
    async with db.tenant_transaction(brand.tenant_id):
        return {c.name: c for c in await Customer.filter(tenant_id=brand.tenant_id, search_text__contains="c0")}


async def test_csv_import_and_reimport_changes_nothing(client, gql, brand_a):
    body = HEADER + csv_rows(30)
    imp = await run(brand_a, await upload(client, brand_a.token(), body))
    assert (imp.status, imp.rows_total, imp.rows_created, imp.rows_failed) == ("done", 30, 30, 0)
    r = await gql(brand_a.token(), '{ customers(first: 100, filter: {search: "C000007"}) { nodes { name gender tags dealer { code } products { productModel serial } contactPoints { value } } } }')
    (c,) = r["data"]["customers"]["nodes"]
    assert c["name"] == "客户7" and c["gender"] == "FEMALE" and c["tags"] == ["north", "vip"] and c["dealer"] == {"code": "N-001"}
    assert c["products"] == [{"productModel": "Model 1", "serial": "VIN000007"}]
    assert sorted(p["value"] for p in c["contactPoints"]) == ["13900000007", "c7@ex.cn"]
    async with db.tenant_transaction(brand_a.tenant_id):
        stamps = {c.id: c.updated_at for c in await Customer.filter(tenant_id=brand_a.tenant_id)}
    again = await run(brand_a, await upload(client, brand_a.token(), body))
    assert (again.rows_created, again.rows_updated, again.rows_unchanged, again.rows_failed) == (0, 0, 30, 0)
    async with db.tenant_transaction(brand_a.tenant_id):
        assert {c.id: c.updated_at for c in await Customer.filter(tenant_id=brand_a.tenant_id)} == stamps
    # a changed row updates exactly that customer
    changed = body.replace("客户3,female", "客户3-renamed,female")
    third = await run(brand_a, await upload(client, brand_a.token(), changed))
    assert (third.rows_updated, third.rows_unchanged) == (1, 29)
    # the import is visible as a node and in the list
    r = await gql(brand_a.token(), "{ customerImports(first: 5) { nodes { status rowsTotal rowsUnchanged } } }")
    assert r["data"]["customerImports"]["nodes"][0] == {"status": "done", "rowsTotal": 30, "rowsUnchanged": 29}


async def test_jsonl_import(client, brand_a):
    lines = [{"external_source": "dms", "external_id": "J1", "name": "Json One", "birth_year": 1990, "tags": ["a", "b"],
              "phone": "+86 139 1111 2222", "service_spend": 1200.5},
             {"external_source": "dms", "external_id": "J2", "name": "Json Two", "qq": "123456"}]
    imp = await run(brand_a, await upload(client, brand_a.token(), "\n".join(json.dumps(x) for x in lines), fmt="jsonl"))
    assert (imp.rows_created, imp.rows_failed) == (2, 0)


async def test_bad_rows_are_reported_and_the_rest_imported(client, brand_a, brand_b):
    body = HEADER + csv_rows(2) + "\n".join([
        "crm,BAD1,Wrong Year,female,nineteen,,,N-001,,,,,",          # line 4: wrong type
        "crm,BAD2,,female,1980,,,N-001,,,,,",                        # line 5: missing name
        "crm,BAD3,Foreign Dealer,male,1980,,,E-999,,,,,",           # line 6: another brand's / unknown dealer
        "crm,C000000,Dup In File,male,1980,,,N-001,,,,,",           # line 7: duplicate external id in file
        "crm,BAD5,Bad Mail,male,1980,,not-an-email,N-001,,,,,",     # line 8: bad e-mail: no partial customer
        "crm,BAD6,Too,Many,Fields,1980,,,N-001,,,,,",               # line 9: wrong field count
        "crm,OK9,Fine Row,other,1999,,,N-002,,,,,",                 # line 10: fine
    ]) + "\n"
    # B's dealer codes mean nothing in brand A
    imp = await run(brand_a, await upload(client, brand_a.token(), body.replace("E-999", brand_b.dealers["d1"].code + "-b")))
    assert imp.status == "done" and imp.rows_created == 3 and imp.rows_failed == 6
    by_line = {e["line"]: e for e in imp.errors}
    assert by_line[4]["code"] == "WRONG_TYPE" and by_line[4]["field"] == "birth_year"
    assert by_line[5]["code"] == "REQUIRED" and by_line[5]["field"] == "name"
    assert by_line[6]["code"] == "UNKNOWN_DEALER"
    assert by_line[7]["code"] == "DUPLICATE_IN_FILE" and "line 2" in by_line[7]["message"]
    assert by_line[8]["code"] == "INVALID_EMAIL"
    assert by_line[9]["code"] == "WRONG_FIELD_COUNT"
    async with db.tenant_transaction(brand_a.tenant_id):
        names = {c.name for c in await Customer.filter(tenant_id=brand_a.tenant_id)}
    assert "Fine Row" in names and not ({"Wrong Year", "Foreign Dealer", "Dup In File", "Bad Mail"} & names)


async def test_malformed_csv_keeps_the_rows_before(client, brand_a):
    body = HEADER + csv_rows(3) + 'crm,Q1,"unterminated,female,1980,,,N-001,,,,,\n' + csv_rows(2, start=100)
    imp = await run(brand_a, await upload(client, brand_a.token(), body))
    assert imp.rows_created == 3
    assert imp.errors[-1]["code"] == "MALFORMED_CSV" and imp.errors[-1]["line"] >= 5


async def test_file_level_errors(client, brand_a):
    imp = await run(brand_a, await upload(client, brand_a.token(), "name,phone\nx,1\n"))
    assert imp.status == "failed" and imp.errors[0]["code"] == "FILE_MISSING_COLUMNS"
    imp = await run(brand_a, await upload(client, brand_a.token(), b"\xff\xfe" + HEADER.encode()))
    assert imp.status == "failed" and imp.errors[0]["code"] == "FILE_NOT_UTF8"
    imp = await run(brand_a, await upload(client, brand_a.token(), '{"external_source": "x"}\n[1,2]\nnot json\n', fmt="jsonl"))
    assert [e["code"] for e in imp.errors] == ["REQUIRED", "MALFORMED_JSON", "MALFORMED_JSON"]


async def test_upload_limits_and_permissions(client, brand_a):
    big = HEADER.encode() + b"x" * (50 * 1024 * 1024)
    r = await upload(client, brand_a.token(), big)
    assert r.status_code == 413 and r.json()["error"]["code"] == "FILE_TOO_LARGE"
    r = await upload(client, brand_a.token(), "")
    assert r.status_code == 400 and r.json()["error"]["code"] == "FILE_EMPTY"
    r = await upload(client, brand_a.token(), HEADER, fmt="xml")
    assert r.status_code == 400
    r = await upload(client, brand_a.token("d1_agent"), HEADER + csv_rows(1))
    assert r.status_code == 403
    r = await upload(client, brand_a.token("analyst"), HEADER + csv_rows(1))
    assert r.status_code == 403 and "customers:write" in r.json()["error"]["message"]
    r = await client.post("/imports/customers", content=b"x")
    assert r.status_code == 401
    async with db.tenant_transaction(brand_a.tenant_id):
        assert await CustomerImport.filter(tenant_id=brand_a.tenant_id).count() == 0  # nothing was stored


async def test_import_job_run_twice_and_other_brand_cannot_see_it(client, gql, brand_a, brand_b):
    r = await upload(client, brand_a.token(), HEADER + csv_rows(5))
    imp = await run(brand_a, r)
    again = await jobs.REGISTRY[IMPORT_JOB].coroutine({}, str(brand_a.tenant_id), str(imp.id))
    assert again == "done"
    body = await gql(brand_b.token(), "query($id: ID!) { node(id: $id) { id } }", {"id": r.json()["id"]})
    assert body["data"]["node"] is None
    assert (await gql(brand_b.token(), "{ customerImports { nodes { id } } }"))["data"]["customerImports"]["nodes"] == []
    assert (await gql(brand_a.token("d1_agent"), "{ customerImports { nodes { id } } }"))["data"]["customerImports"]["nodes"] == []


async def test_erased_people_are_not_imported_again_and_absent_values_are_kept(client, gql, brand_a):
    body = HEADER + csv_rows(3)
    await run(brand_a, await upload(client, brand_a.token(), body))
    r = await gql(brand_a.token(), '{ customers(filter: {search: "C000001"}) { nodes { id serviceSpend } } }')
    (c,) = r["data"]["customers"]["nodes"]
    await gql(brand_a.token(), 'mutation($id: ID!) { customerUpdate(input: {id: $id, referrals: 7}) { errors { code } } }', {"id": c["id"]})
    # a later file without the referrals column keeps the value set through the API
    again = await run(brand_a, await upload(client, brand_a.token(), body))
    assert again.rows_failed == 0
    r = await gql(brand_a.token(), 'query($id: ID!) { customer(id: $id) { referrals } }', {"id": c["id"]})
    assert r["data"]["customer"]["referrals"] == 7
    await gql(brand_a.token(), 'mutation($id: ID!) { customerErase(id: $id) { errors { code } } }', {"id": c["id"]})
    third = await run(brand_a, await upload(client, brand_a.token(), body))
    assert third.rows_failed == 1 and third.errors[0]["code"] == "ERASED" and third.errors[0]["line"] == 3
    r = await gql(brand_a.token(), '{ customers(filter: {search: "客户1"}) { nodes { name } } }')
    assert r["data"]["customers"]["nodes"] == []
