"""Customer import as multipart/form-data (curl -F, an HTML file input): exactly one part named
`file`, its filename and type used when the query string says nothing, the size limit on the
bytes actually received, the media types accepted, and another brand seeing nothing."""
import asyncio
import json
import shutil
import subprocess

import httpx
import pytest
from arq.worker import Worker

from app.core import db, jobs
from app.core.ids import from_global_id
from app.core.models import DataImport as CustomerImport
from app.customer.models import Customer
from app.settings import get_settings
from tests.conftest import spawn_server, stop_server

HEADER = "external_source,external_id,name,gender,birth_year,phone,email,dealer_code,tags\n"
URL = "/imports/customers"


def csv_rows(n: int, prefix: str = "MP") -> str:
    return "".join(f"crm,{prefix}{i:05d},多部件{prefix}{i},female,{1970 + i},1380000{i:04d},{prefix.lower()}{i}@ex.cn,N-001,vip\n"
                   for i in range(n))


def jsonl_rows() -> str:
    return "\n".join(json.dumps(x) for x in [
        {"external_source": "dms", "external_id": "MPJ1", "name": "Multipart Json One", "birth_year": 1990, "tags": ["a"]},
        {"external_source": "dms", "external_id": "MPJ2", "name": "Multipart Json Two", "qq": "123456"},
    ]) + "\n"


def auth(brand, user="admin") -> dict:
    return {"Authorization": f"Bearer {brand.token(user)}"}


def queue() -> str:
    return get_settings().queue_name


async def drain() -> None:
    await jobs.pool().delete(queue())


async def run_worker() -> None:
    """The real arq worker, in burst mode: runs what is queued, then returns."""
    w = Worker(functions=list(jobs.REGISTRY.values()), redis_pool=jobs.pool(), queue_name=queue(),
               burst=True, handle_signals=False, poll_delay=0.05)
    await w.main()


async def stored(brand) -> CustomerImport:
    async with db.tenant_transaction(brand.tenant_id):
        (imp,) = await CustomerImport.filter(tenant_id=brand.tenant_id)
        return imp


async def nothing_stored(brand) -> None:
    async with db.tenant_transaction(brand.tenant_id):
        assert await CustomerImport.filter(tenant_id=brand.tenant_id).count() == 0
        assert await db.fetch("SELECT 1 FROM job_outbox WHERE tenant_id = $1", [brand.tenant_id]) == []
    assert await jobs.pool().zcard(queue()) == 0


async def imported(brand, r) -> CustomerImport:
    """Check the upload queued its job, run the worker, return the finished import."""
    assert r.status_code == 202, r.text
    _, iid = from_global_id(r.json()["id"])
    assert await jobs.pool().zscore(queue(), f"import:{iid}") is not None
    await run_worker()
    async with db.tenant_transaction(brand.tenant_id):
        return await CustomerImport.get(tenant_id=brand.tenant_id, id=iid)


async def names(brand) -> set[str]:
    async with db.tenant_transaction(brand.tenant_id):
        return {c.name for c in await Customer.filter(tenant_id=brand.tenant_id)}


def multipart(*parts: tuple[str, str | None, bytes], boundary: str = "XyZ", close: bool = True) -> tuple[bytes, dict]:
    """A hand-made multipart/form-data body: (name, filename or None, data) per part."""
    out = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n"
    out += f"--{boundary}--\r\n".encode() if close else b""
    return out, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


async def test_multipart_csv_upload_imports_its_rows(client, gql, brand_a):
    await drain()
    r = await client.post(URL, files={"file": ("customers.csv", (HEADER + csv_rows(3)).encode(), "text/csv")}, headers=auth(brand_a))
    assert r.status_code == 202 and r.json()["format"] == "csv" and r.json()["status"] == "pending"
    imp = await imported(brand_a, r)
    assert (imp.status, imp.rows_total, imp.rows_created, imp.rows_failed) == ("done", 3, 3, 0), imp.errors
    assert imp.filename == "customers.csv" and imp.size_bytes == len((HEADER + csv_rows(3)).encode())
    body = await gql(brand_a.token(), '{ customers(first: 10, filter: {search: "MP00001"}) { nodes { name dealer { code } tags } } }')
    assert body["data"]["customers"]["nodes"] == [{"name": "多部件MP1", "dealer": {"code": "N-001"}, "tags": ["vip"]}]


async def test_multipart_jsonl_upload(client, brand_a):
    await drain()
    r = await client.post(URL, files={"file": ("people.jsonl", jsonl_rows().encode(), "application/octet-stream")}, headers=auth(brand_a))
    assert r.json()["format"] == "jsonl"
    imp = await imported(brand_a, r)
    assert (imp.status, imp.rows_created, imp.rows_failed) == ("done", 2, 0), imp.errors
    assert {"Multipart Json One", "Multipart Json Two"} <= await names(brand_a)


@pytest.mark.parametrize(("filename", "ctype", "query", "fmt", "kept"), [
    ("export.ndjson", "application/octet-stream", "", "jsonl", "export.ndjson"),
    ("EXPORT.JSONL", "text/plain", "", "jsonl", "EXPORT.JSONL"),             # the extension wins over the part's type
    ("export.txt", "application/x-ndjson", "", "jsonl", "export.txt"),       # no known extension: the part's type
    ("export.txt", "application/json-lines; charset=utf-8", "", "jsonl", "export.txt"),
    ("export.dat", "application/octet-stream", "", "csv", "export.dat"),     # neither: CSV, as for a raw body
    ("people.jsonl", "application/x-ndjson", "?format=csv&filename=crm-2026.csv", "csv", "crm-2026.csv"),  # the query wins
    ("C:\\Users\\王\\客户.CSV", "application/vnd.ms-excel", "", "csv", "客户.CSV"),  # no directories; UTF-8 kept
    ("../../etc/passwd.csv", "text/csv", "", "csv", "passwd.csv"),
])
async def test_filename_and_format_inference(client, brand_a, filename, ctype, query, fmt, kept):
    r = await client.post(URL + query, files={"file": (filename, (HEADER + csv_rows(1)).encode(), ctype)}, headers=auth(brand_a))
    assert r.status_code == 202, r.text
    assert r.json()["format"] == fmt
    imp = await stored(brand_a)
    assert (imp.format, imp.filename) == (fmt, kept)


async def test_control_characters_are_dropped_from_filenames(client, brand_a):
    """A NUL cannot be stored in PostgreSQL: it used to fail the upload with a server error."""
    data = (HEADER + csv_rows(1)).encode()
    body, headers = multipart(("file", "a\x00b\x01.csv", data))  # raw bytes: httpx would percent-encode them
    r = await client.post(URL, content=body, headers={**headers, **auth(brand_a)})
    assert r.status_code == 202, r.text
    r = await client.post(URL + "?filename=c%00d%0A.csv", content=data, headers={"Content-Type": "text/csv", **auth(brand_a)})
    assert r.status_code == 202, r.text
    async with db.tenant_transaction(brand_a.tenant_id):
        assert {i.filename for i in await CustomerImport.filter(tenant_id=brand_a.tenant_id)} == {"ab.csv", "cd.csv"}


async def test_a_part_without_filename_is_still_the_file(client, brand_a):
    """curl -F 'file=<customers.csv' sends the content as a plain field: still the one file."""
    body, headers = multipart(("file", None, (HEADER + csv_rows(2)).encode()))
    r = await client.post(URL, content=body, headers={**headers, **auth(brand_a)})
    assert r.status_code == 202 and r.json()["format"] == "csv"
    imp = await stored(brand_a)
    assert imp.filename is None and imp.size_bytes == len((HEADER + csv_rows(2)).encode())


async def test_two_files_or_other_parts_are_refused(client, brand_a):
    await drain()
    data = (HEADER + csv_rows(1)).encode()
    cases = [
        {"files": [("file", ("a.csv", data, "text/csv")), ("file", ("b.csv", data, "text/csv"))]},   # two files
        {"files": {"file": ("a.csv", data, "text/csv"), "other": ("b.csv", data, "text/csv")}},      # a second file, other name
        {"files": {"upload": ("a.csv", data, "text/csv")}},                                           # the file under another name
        {"files": {"file": ("a.csv", data, "text/csv")}, "data": {"format": "jsonl"}},               # an extra field
    ]
    for kw in cases:
        r = await client.post(URL, headers=auth(brand_a), **kw)
        assert r.status_code == 400, (kw, r.text)
        assert r.json()["error"]["code"] == "INVALID_UPLOAD" and "'file'" in r.json()["error"]["message"]
    await nothing_stored(brand_a)


async def test_no_file_part_or_broken_envelope_is_400(client, brand_a):
    await drain()
    only_field, h = multipart(("format", None, b"csv"))
    assert only_field.startswith(b"--XyZ")
    cases = [
        (only_field, h),                                                       # fields but no file part
        (b"--XyZ--\r\n", h),                                                   # no parts at all
        (multipart(("file", "a.csv", (HEADER + csv_rows(3)).encode()), close=False)[0], h),  # cut off before the closing boundary
        (b"--XyZ\r\nContent-Type: text/csv\r\n\r\nx\r\n--XyZ--\r\n", h),     # a part without Content-Disposition
        (b"not multipart at all", h),
        (multipart(("file", "a.csv", b"x"))[0], {"Content-Type": "multipart/form-data"}),  # no boundary
    ]
    for body, headers in cases:
        r = await client.post(URL, content=body, headers={**headers, **auth(brand_a)})
        assert r.status_code == 400, (body[:60], r.text)
        assert r.json()["error"]["code"] == "INVALID_UPLOAD", r.text
    # an empty file part is the same FILE_EMPTY as an empty raw body
    r = await client.post(URL, files={"file": ("empty.csv", b"", "text/csv")}, headers=auth(brand_a))
    assert r.status_code == 400 and r.json()["error"]["code"] == "FILE_EMPTY"
    await nothing_stored(brand_a)


async def test_oversized_multipart_is_413_and_stores_nothing(client, brand_a, monkeypatch):
    await drain()
    limit = get_settings().import_max_bytes
    big = HEADER.encode() + b"x" * (limit + 1 - len(HEADER))  # the default limit, one byte over
    r = await client.post(URL, files={"file": ("big.csv", big, "text/csv")}, headers=auth(brand_a))
    assert r.status_code == 413 and r.json()["error"]["code"] == "FILE_TOO_LARGE", r.text
    assert "split it into several imports" in r.json()["error"]["message"]

    monkeypatch.setattr(get_settings(), "import_max_bytes", 4096)
    over = HEADER.encode() + b"y" * (4097 - len(HEADER))
    body, headers = multipart(("file", "over.csv", over))
    # Content-Length is not trusted: streamed without one (chunked), and with one that lies
    async def stream():
        for i in range(0, len(body), 1000):
            yield body[i:i + 1000]
    for kw in ({"content": stream()}, {"content": body, "headers": {"Content-Length": "100"}}):
        r = await client.post(URL, content=kw["content"], headers={**headers, **auth(brand_a), **kw.get("headers", {})})
        assert r.status_code == 413 and r.json()["error"]["code"] == "FILE_TOO_LARGE", r.text
        assert "4 KB" in r.json()["error"]["message"]
    # an honest Content-Length far over the limit is refused before anything is read
    r = await client.post(URL, content=b"", headers={**headers, **auth(brand_a), "Content-Length": str(10 ** 9)})
    assert r.status_code == 413
    await nothing_stored(brand_a)
    # the limit is on the file, not on the envelope around it: exactly 4096 bytes are taken
    exact = HEADER.encode() + b"\n" * (4096 - len(HEADER))
    r = await client.post(URL, files={"file": ("exact.csv", exact, "text/csv")}, headers=auth(brand_a))
    assert r.status_code == 202 and r.json()["sizeBytes"] == 4096


async def test_unsupported_content_type_is_415(client, brand_a):
    await drain()
    data = (HEADER + csv_rows(1)).encode()
    for ctype in ("application/x-www-form-urlencoded", "application/xml", "multipart/mixed; boundary=XyZ", "image/png"):
        r = await client.post(URL + "?format=csv", content=data, headers={"Content-Type": ctype, **auth(brand_a)})
        assert r.status_code == 415, (ctype, r.text)
        error = r.json()["error"]
        assert error["code"] == "UNSUPPORTED_MEDIA_TYPE"
        for accepted in ("multipart/form-data", "text/csv", "application/x-ndjson", "application/jsonl", "application/json-lines",
                         "text/plain", "application/octet-stream"):
            assert accepted in error["message"]
        if ctype == "application/x-www-form-urlencoded":  # what curl --data-binary sends without -H
            assert "curl --data-binary" in error["message"]
    await nothing_stored(brand_a)


@pytest.mark.parametrize(("ctype", "fmt"), [
    ("text/csv; charset=utf-8", "csv"), ("TEXT/PLAIN", "csv"), ("application/octet-stream", "csv"), (None, "csv"),
    ("application/x-ndjson", "jsonl"), ("application/jsonl", "jsonl"), ("application/json-lines", "jsonl"), ("application/json", "jsonl"),
])
async def test_raw_bodies_are_accepted_as_before(client, brand_a, ctype, fmt):
    body = (HEADER + csv_rows(1)) if fmt == "csv" else jsonl_rows()
    r = await client.post(URL, content=body.encode(), headers={**({"Content-Type": ctype} if ctype else {}), **auth(brand_a)})
    assert r.status_code == 202 and r.json()["format"] == fmt, r.text


async def test_other_brand_cannot_see_a_multipart_import(client, gql, brand_a, brand_b):
    await drain()
    r = await client.post(URL, files={"file": ("customers.csv", (HEADER + csv_rows(2, "XT")).encode(), "text/csv")}, headers=auth(brand_a))
    imp = await imported(brand_a, r)
    assert imp.rows_created == 2
    node = "query($id: ID!) { node(id: $id) { id ... on CustomerImport { status filename } } }"
    mine = await gql(brand_a.token(), node, {"id": r.json()["id"]})
    assert mine["data"]["node"]["filename"] == "customers.csv"
    assert (await gql(brand_b.token(), node, {"id": r.json()["id"]}))["data"]["node"] is None
    assert (await gql(brand_b.token(), "{ customerImports { nodes { id } } }"))["data"]["customerImports"]["nodes"] == []
    assert (await gql(brand_b.token(), '{ customers(filter: {search: "XT00001"}) { nodes { id } } }'))["data"]["customers"]["nodes"] == []
    assert not {n for n in await names(brand_b) if n.startswith("多部件XT")}
    # dealer staff of brand A see no import either, and cannot upload one
    assert (await gql(brand_a.token("d1_agent"), "{ customerImports { nodes { id } } }"))["data"]["customerImports"]["nodes"] == []
    r = await client.post(URL, files={"file": ("c.csv", b"x", "text/csv")}, headers=auth(brand_a, "d1_agent"))
    assert r.status_code == 403


async def test_curl_form_upload_over_real_http(live_server, brand_a):
    """The report of issue #8: `curl -F file=@customers.csv` against the running service."""
    if not shutil.which("curl"):
        pytest.skip("curl is not installed")
    await drain()
    path = get_settings().data_dir / f"mp-{brand_a.slug}.csv"
    path.write_text(HEADER + csv_rows(4, "CU"))
    try:
        out = await asyncio.to_thread(subprocess.run, [
            "curl", "-sS", "-F", f"file=@{path}", "-H", f"Authorization: Bearer {brand_a.token()}",
            "-w", "\n%{http_code}", f"{live_server}{URL}?format=csv"], capture_output=True, text=True, timeout=30)
    finally:
        path.unlink()
    text, status = out.stdout.rsplit("\n", 1)
    assert status == "202", out
    r = httpx.Response(202, content=text.encode())
    imp = await imported(brand_a, r)
    assert (imp.status, imp.rows_created, imp.rows_failed, imp.filename) == ("done", 4, 0, path.name), imp.errors
    assert {f"多部件CU{i}" for i in range(4)} <= await names(brand_a)


async def test_oversized_multipart_over_real_http(brand_a):
    """A separate server with a small limit: 413 over a real socket, nothing stored."""
    base, proc = await asyncio.to_thread(spawn_server, {"IMPORT_MAX_BYTES": "65536"})
    try:
        await drain()
        async with httpx.AsyncClient(base_url=base, timeout=30) as c:
            big = HEADER.encode() + b"z" * 200_000
            r = await c.post(URL, files={"file": ("big.csv", big, "text/csv")}, headers=auth(brand_a))
            assert r.status_code == 413 and r.json()["error"]["code"] == "FILE_TOO_LARGE"
            await nothing_stored(brand_a)
            r = await c.post(URL, files={"file": ("ok.csv", (HEADER + csv_rows(1)).encode(), "text/csv")}, headers=auth(brand_a))
            assert r.status_code == 202
    finally:
        await asyncio.to_thread(stop_server, proc)
