"""`POST /imports/<kind>`: upload a CSV or JSON Lines file for a worker to import (app/core/imports.py;
kinds: `customers`, `survey-results`). The examples use customers.

As a multipart form (one file, in a part named `file`; curl -F, an HTML file input):

curl -F file=@customers.csv -H "Authorization: Bearer $T" "$URL/imports/customers"

Without `format`, the part's filename extension decides (.csv; .jsonl or .ndjson), then the part's
Content-Type (as for a raw body, below), else CSV; without `filename`, the part's filename (without
any directory) is kept. Any other part, a second file, no file, or a broken or cut-off envelope is
400 INVALID_UPLOAD: `format` and `filename` go in the query string, not in form fields.

As the raw request body:

curl -X POST "$URL/imports/customers?format=csv&filename=crm.csv" -H "Authorization: Bearer $T" \\
     -H "Content-Type: text/csv" --data-binary @crm.csv

Raw bodies are text/csv, text/plain or application/octet-stream (CSV unless `format=jsonl`), or
application/x-ndjson, application/jsonl, application/json-lines or application/json (JSON Lines);
with no Content-Type at all, CSV unless `format=jsonl`.
Any other Content-Type is 415 UNSUPPORTED_MEDIA_TYPE (note: curl --data-binary without -H sends
application/x-www-form-urlencoded).

Either way the file may be at most IMPORT_MAX_BYTES (counted on the bytes actually received, not on
Content-Length); a larger one is 413 FILE_TOO_LARGE, an empty one 400 FILE_EMPTY, and nothing is stored.
→ 202 {"id": "<CustomerImport id>", "status": "pending"}; follow it with
`node(id:) { ... on CustomerImport { status rowsTotal rowsCreated rowsFailed errors } }` (for survey
results the node is a SurveyResultImport). An unknown kind is 404 UNKNOWN_IMPORT_KIND."""
from __future__ import annotations

import hashlib
import unicodedata

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request
from starlette.responses import JSONResponse

from app.core import db, imports
from app.core.auth.bearer import BearerError, bearer_claims
from app.core.errors import Unauthenticated
from app.core.ids import to_global_id
from app.settings import get_settings

MULTIPART = "multipart/form-data"
FORM_URLENCODED = "application/x-www-form-urlencoded"
# raw-body media types and the format each implies when `format` is absent ("" = no Content-Type,
# accepted as before); application/json was read as JSON Lines before and still is
RAW_TYPES = {
    "": "csv", "text/csv": "csv", "text/plain": "csv", "application/octet-stream": "csv",
    "application/x-ndjson": "jsonl", "application/jsonl": "jsonl", "application/json-lines": "jsonl", "application/json": "jsonl",
}
ACCEPTED = ", ".join([MULTIPART] + [t for t in RAW_TYPES if t])
# a multipart file part's Content-Type, when neither `format` nor the filename's extension decides
PART_TYPES = {**{t: f for t, f in RAW_TYPES.items() if t}, "text/x-csv": "csv", "application/csv": "csv"}
EXTENSIONS = {"csv": "csv", "jsonl": "jsonl", "ndjson": "jsonl"}
FILE_FIELD = "file"
# multipart bytes allowed around the file itself (boundaries, part headers, preamble, epilogue)
ENVELOPE_BYTES = 64 * 1024


def _error(status: int, code: str, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def _unauthorized(e: BearerError) -> JSONResponse:
    return _error(401, e.code, e.message, e.headers)


class _Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _too_large(limit: int) -> _Refused:
    mb, kb = 1024 * 1024, 1024
    size = f"{limit // mb} MB" if limit % mb == 0 else f"{limit // kb} KB" if limit % kb == 0 else f"{limit}-byte"
    return _Refused(413, "FILE_TOO_LARGE", f"The file is larger than the {size} limit; split it into several imports.")


def _invalid(message: str) -> _Refused:
    return _Refused(400, "INVALID_UPLOAD", message)


def _clean_filename(name: str | None) -> str | None:
    """At most 200 characters and no control characters (a NUL cannot be stored in PostgreSQL)."""
    name = "".join(ch for ch in name or "" if unicodedata.category(ch) != "Cc")[:200]
    return name or None


def _part_filename(raw: bytes | None) -> str | None:
    """The part's filename as the client's own name for it: UTF-8 (as browsers and curl send it),
    without any directory."""
    if not raw:
        return None
    try:
        name = raw.decode("utf-8")
    except UnicodeDecodeError:
        name = raw.decode("latin-1")
    return _clean_filename(name.replace("\\", "/").rsplit("/", 1)[-1].strip())


def _part_format(filename: str | None, content_type: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower() if filename and "." in filename else ""
    if ext in EXTENSIONS:
        return EXTENSIONS[ext]
    return PART_TYPES.get(parse_options_header(content_type)[0].decode("latin-1"), "csv")


class _Upload:
    """One multipart/form-data body, parsed as it streams in: exactly one part, named `file`,
    whose bytes are kept (at most `limit` of them); anything else stops the upload at once."""

    def __init__(self, boundary: bytes, limit: int, example: str = "data.csv") -> None:
        self.limit, self.example = limit, example
        self.data = bytearray()
        self.filename: str | None = None
        self.content_type = ""
        self.parts = 0
        self.file_complete = False
        self.ended = False
        self._header = [bytearray(), bytearray()]
        self._headers: dict[bytes, bytes] = {}
        try:
            self.parser = MultipartParser(boundary, {
                "on_part_begin": self._part_begin, "on_header_field": self._header_field, "on_header_value": self._header_value,
                "on_header_end": self._header_end, "on_headers_finished": self._headers_finished, "on_part_data": self._part_data,
                "on_part_end": self._part_end, "on_end": self._end,
            })
        except FormParserError as e:
            raise _invalid(f"Invalid multipart boundary: {e}") from None

    def write(self, chunk: bytes) -> None:
        try:
            self.parser.write(chunk)
        except FormParserError as e:
            raise _invalid(f"The multipart/form-data body is malformed: {e}") from None

    def finish(self) -> None:
        self.parser.finalize()
        if not self.ended:
            raise _invalid("The multipart/form-data body ended before its closing boundary (was the upload cut off?).")
        if not self.file_complete:
            raise _invalid(f"No file was sent: send it in a part named '{FILE_FIELD}' (curl -F {FILE_FIELD}=@{self.example}).")

    def _part_begin(self) -> None:
        self._headers = {}

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header[0] += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._header[1] += data[start:end]

    def _header_end(self) -> None:
        self._headers[bytes(self._header[0]).strip().lower()] = bytes(self._header[1]).strip()
        self._header = [bytearray(), bytearray()]

    def _headers_finished(self) -> None:
        self.parts += 1
        disposition, options = parse_options_header(self._headers.get(b"content-disposition"))
        name = options.get(b"name")
        if disposition != b"form-data" or name is None:
            raise _invalid("Every part needs 'Content-Disposition: form-data; name=...'.")
        if name != FILE_FIELD.encode():
            shown = name.decode("utf-8", "replace")[:50]
            raise _invalid(f"Unexpected part '{shown}': send exactly one file, in a part named '{FILE_FIELD}'; "
                           "format and filename go in the query string.")
        if self.parts > 1:
            raise _invalid(f"Send exactly one file per import, in a part named '{FILE_FIELD}'; this upload has more than one part.")
        self.filename = _part_filename(options.get(b"filename"))
        self.content_type = self._headers.get(b"content-type", b"").decode("latin-1")

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if len(self.data) + (end - start) > self.limit:
            raise _too_large(self.limit)
        self.data += data[start:end]

    def _part_end(self) -> None:
        self.file_complete = True

    def _end(self) -> None:
        self.ended = True


async def _read_raw(request: Request, limit: int) -> bytearray:
    length = request.headers.get("content-length")
    if length and (not length.isdigit() or int(length) > limit):
        raise _too_large(limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _too_large(limit)
    return body


async def _read_multipart(request: Request, params: dict[bytes, bytes], limit: int, example: str) -> _Upload:
    boundary = params.get(b"boundary")
    if not boundary:
        raise _invalid("The multipart/form-data Content-Type has no boundary.")
    envelope = limit + ENVELOPE_BYTES
    length = request.headers.get("content-length")
    if length and (not length.isdigit() or int(length) > envelope):
        raise _too_large(limit)
    upload = _Upload(boundary, limit, example)
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > envelope:
            raise _too_large(limit)
        upload.write(chunk)
    upload.finish()
    return upload


def endpoint(caller):
    """The upload route's handler; `caller(claims) -> (actor, scope)` resolves the token's user
    or app (app.oauth.resource.caller, passed in by app/main.py: the core imports no domain)."""

    async def upload(request: Request) -> JSONResponse:
        return await _upload(request, caller)

    return upload


async def _upload(request: Request, caller) -> JSONResponse:
    s = get_settings()
    kind = imports.kinds().get(request.path_params.get("kind", "").replace("-", "_"))
    if kind is None:
        known = ", ".join(sorted(k.replace("_", "-") for k in imports.kinds()))
        return _error(404, "UNKNOWN_IMPORT_KIND", f"Nothing is imported at this address; the kinds are: {known}.")
    try:
        claims = bearer_claims(request.headers.get("authorization"))
    except BearerError as e:
        return _unauthorized(e)
    media, params = parse_options_header(request.headers.get("content-type", ""))
    media_type = media.decode("latin-1")
    if media_type != MULTIPART and media_type not in RAW_TYPES:
        hint = " (curl --data-binary sends that unless given -H 'Content-Type: text/csv')" if media_type == FORM_URLENCODED else ""
        return _error(415, "UNSUPPORTED_MEDIA_TYPE", f"Content-Type {media_type[:100]!r} is not accepted{hint}; send the file as "
                      f"{MULTIPART} (one part named '{FILE_FIELD}') or as the raw body with one of: {ACCEPTED}.")
    fmt = (request.query_params.get("format") or "").lower()
    if fmt and fmt not in ("csv", "jsonl"):
        return _error(400, "UNSUPPORTED_FORMAT", "format must be csv or jsonl.")
    filename = _clean_filename(request.query_params.get("filename"))
    options = {}
    for name, allowed in kind.options.items():
        value = (request.query_params.get(name) or allowed[0]).lower()
        if value not in allowed:
            return _error(400, "INVALID_OPTION", f"{name} must be one of: {', '.join(allowed)}.")
        options[name] = value
    limit = s.import_max_bytes
    try:
        if media_type == MULTIPART:
            upload = await _read_multipart(request, params, limit, kind.example)
            body = upload.data
            fmt = fmt or _part_format(upload.filename, upload.content_type)
            filename = filename or upload.filename
        else:
            body = await _read_raw(request, limit)
            fmt = fmt or RAW_TYPES[media_type]
    except _Refused as e:
        return _error(e.status, e.code, e.message)
    if not body.strip():
        return _error(400, "FILE_EMPTY", "The file is empty.")
    async with db.tenant_transaction(claims.tenant_id):
        try:
            actor, scope = await caller(claims)
        except Unauthenticated as e:  # the token's user or app refused
            return _unauthorized(BearerError.of(e))
        if kind.perm not in actor.perms:
            return _error(403, "PERMISSION_DENIED", f"Missing permission: this needs the '{kind.perm.value}' scope.")
        if not scope.all_dealers:
            return _error(403, "PERMISSION_DENIED", "Imports are brand-wide: dealer staff and dealer-bound apps cannot import.")
        imp = await imports.create_import(scope, kind.name, bytes(body), fmt, filename, hashlib.sha256(body).hexdigest(), options)
    return JSONResponse({"id": to_global_id(kind.node_type, imp.id), "status": imp.status, "format": fmt,
                         "sizeBytes": imp.size_bytes}, status_code=202)
