"""Customer-import helpers shared by the import, security and review tests."""
from app.core import db, jobs
from app.core.ids import from_global_id
from app.core.models import DataImport as CustomerImport
from app.customer.importer import IMPORT_JOB

HEADER = "external_source,external_id,name,gender,birth_year,phone,email,dealer_code,tags,service_spend,product_model,serial,purchase_date\n"


def csv_rows(n: int, start: int = 0, dealer: str = "N-001") -> str:
    return "".join(f"crm,C{i:06d},客户{i},female,{1960 + i % 40},1390000{i:04d},c{i}@ex.cn,{dealer},vip;north,{i * 10},"
                   f"Model {i % 3},VIN{i:06d},2021-0{1 + i % 9}-15\n" for i in range(start, start + n))


async def upload(client, token, body: bytes | str, fmt="csv", filename="crm.csv"):
    data = body.encode() if isinstance(body, str) else body
    return await client.post(f"/imports/customers?format={fmt}&filename={filename}", content=data,
                             headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv" if fmt == "csv" else "application/x-ndjson"})


async def run(brand, r) -> CustomerImport:
    assert r.status_code == 202, r.text
    _, iid = from_global_id(r.json()["id"])
    await jobs.REGISTRY[IMPORT_JOB].coroutine({}, str(brand.tenant_id), str(iid))
    async with db.tenant_transaction(brand.tenant_id):
        return await CustomerImport.get(tenant_id=brand.tenant_id, id=iid)
