"""`POST /imports/customers`: upload a CSV or JSON Lines file of customers for a worker to import.

curl -X POST "$URL/imports/customers?format=csv&filename=crm.csv" -H "Authorization: Bearer $T" \\
     -H "Content-Type: text/csv" --data-binary @crm.csv
→ 202 {"id": "<CustomerImport id>", "status": "pending"}; follow it with
`node(id:) { ... on CustomerImport { status rowsTotal rowsCreated rowsFailed errors } }`."""
from __future__ import annotations

import hashlib

from starlette.requests import Request
from starlette.responses import JSONResponse

from app.core import db
from app.core.auth.tokens import InvalidToken, verify_access_token
from app.core.errors import Unauthenticated
from app.core.ids import to_global_id
from app.core.logging import actor_var
from app.core.permissions import Perm
from app.core.tenancy import scope_for
from app.customer import importer
from app.oauth.resource import load_actor
from app.settings import get_settings


def _error(status: int, code: str, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


async def upload_customers(request: Request) -> JSONResponse:
    s = get_settings()
    token = request.headers.get("authorization", "")
    if not token.lower().startswith("bearer "):
        return _error(401, "UNAUTHENTICATED", "Send 'Authorization: Bearer <token>'.", {"WWW-Authenticate": 'Bearer realm="huifang"'})
    try:
        claims = verify_access_token(token[7:].strip())
    except InvalidToken as e:
        return _error(401, "UNAUTHENTICATED", e.message, {"WWW-Authenticate": f'Bearer realm="huifang", error="invalid_token", error_description="{e.message}"'})
    fmt = (request.query_params.get("format") or "").lower()
    ctype = request.headers.get("content-type", "")
    if not fmt:
        fmt = "jsonl" if ("ndjson" in ctype or "jsonl" in ctype or "json" in ctype) else "csv"
    if fmt not in ("csv", "jsonl"):
        return _error(400, "UNSUPPORTED_FORMAT", "format must be csv or jsonl.")
    limit = s.import_max_bytes
    length = request.headers.get("content-length")
    if length and (not length.isdigit() or int(length) > limit):
        return _error(413, "FILE_TOO_LARGE", f"The file is larger than the {limit // (1024 * 1024)} MB limit; split it into several imports.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return _error(413, "FILE_TOO_LARGE", f"The file is larger than the {limit // (1024 * 1024)} MB limit; split it into several imports.")
    if not body.strip():
        return _error(400, "FILE_EMPTY", "The file is empty.")
    filename = (request.query_params.get("filename") or "")[:200] or None
    async with db.tenant_transaction(claims.tenant_id):
        try:
            actor = await load_actor(claims)
        except Unauthenticated as e:
            return _error(401, "UNAUTHENTICATED", e.message)
        actor_var.set(actor.label)
        scope = scope_for(actor)
        if Perm.CUSTOMERS_WRITE not in actor.perms:
            return _error(403, "PERMISSION_DENIED", "Missing permission: this needs the 'customers:write' scope.")
        if not scope.all_dealers:
            return _error(403, "PERMISSION_DENIED", "Imports are brand-wide: dealer staff and dealer-bound apps cannot import.")
        imp = await importer.create_import(scope, bytes(body), fmt, filename, hashlib.sha256(body).hexdigest())
    return JSONResponse({"id": to_global_id("CustomerImport", imp.id), "status": imp.status, "format": fmt,
                         "sizeBytes": imp.size_bytes}, status_code=202)
