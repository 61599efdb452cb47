"""The bulk-import pipeline every domain shares: a CSV or JSON Lines file is uploaded
(`POST /imports/<kind>`, app/core/upload.py), stored in chunks, and a worker reads it, validates
every row, and hands batches of good rows to the kind's writer. Progress (counts and the first
1000 row errors, with line numbers and stable codes) is committed batch by batch and readable
while the job runs; the file is deleted when the import ends.

A domain registers a kind (app/<domain>/importer.py, loaded through app.domains):

    imports.register(imports.ImportKind(
        name="customers", job="customer.import", node_type="CustomerImport", perm=Perm.CUSTOMERS_WRITE,
        required=("external_source", "external_id", "name"), prepare=..., validate=..., key=..., write=...))

- `prepare(scope, import)` loads what validation and writing need once (e.g. dealer codes, the
  upload's options: `options` names the query parameters the kind accepts and their values);
- `validate(line, raw, ctx)` returns a row object with a `line` attribute or raises RowError;
- `key(row)` is the row's identity: a second row with the same key is DUPLICATE_IN_FILE;
- `write(scope, rows, ctx)` stores one batch in the caller's transaction and returns counts
  ({"created", "updated", "unchanged", "rejected": [(line, RowError)]}); a batch that raises is
  retried row by row, so one bad row costs only itself;
- `finish(scope, progress, import_id)` (optional) runs in the final transaction.
Writers must be idempotent by the rows' own identity, so a re-delivered job changes nothing."""
from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Hashable

from app.core import clock, db, jobs
from app.core.models import DataImport, ImportChunk
from app.core.permissions import Perm
from app.core.tenancy import Scope
from app.settings import get_settings

log = logging.getLogger("huifang.imports")
MAX_ERRORS_KEPT = 1000
CHUNK = 1024 * 1024


class RowError(Exception):
    def __init__(self, field: str | None, code: str, message: str):
        super().__init__(message)
        self.field, self.code, self.message = field, code, message


@dataclass(frozen=True)
class ImportKind:
    name: str  # the URL's /imports/<name>, and data_import.kind
    job: str  # the tenant job that runs it (the domain's tasks.py calls run_import)
    node_type: str  # the GraphQL node type of its import records
    perm: Perm  # what an uploader needs; imports are brand-wide as well
    required: tuple[str, ...]  # CSV columns that must be in the header
    validate: Callable[[int, dict, Any], Any]
    write: Callable[[Scope, list, Any], Awaitable[dict]]
    prepare: Callable[[Scope, DataImport], Awaitable[Any]] | None = None
    options: dict[str, tuple[str, ...]] = field(default_factory=dict)  # upload query parameter -> allowed values (first: default)
    key: Callable[[Any], Hashable] | None = None
    key_field: str | None = None  # the field a DUPLICATE_IN_FILE error names
    batch_size: int | None = None  # rows per write (default IMPORT_BATCH_SIZE)
    finish: Callable[[Scope, "Progress", uuid.UUID], Awaitable[None]] | None = None
    example: str = ""  # a one-line file name for messages (curl -F file=@<example>)


KINDS: dict[str, ImportKind] = {}
_loaded = False


def register(kind: ImportKind) -> ImportKind:
    if kind.name in KINDS and KINDS[kind.name] != kind:
        raise ValueError(f"import kind {kind.name!r} registered twice")
    KINDS[kind.name] = kind
    return kind


def kinds() -> dict[str, ImportKind]:
    """Every registered kind (each domain's importer module, imported once)."""
    global _loaded
    if not _loaded:
        import importlib

        from app.domains import app_modules

        for name in app_modules("importer"):
            importlib.import_module(name)
        _loaded = True
    return KINDS


# ---- upload -------------------------------------------------------------------------------------

async def create_import(scope: Scope, kind: str, data: bytes, fmt: str, filename: str | None, digest: str,
                        options: dict[str, str] | None = None) -> DataImport:
    k = kinds()[kind]
    imp = await DataImport.create(tenant_id=scope.tenant_id, kind=kind, format=fmt, filename=filename, size_bytes=len(data),
                                  sha256=digest, created_by=scope.actor.label, options=options or {})
    for seq, start in enumerate(range(0, len(data), CHUNK)):
        await ImportChunk.create(tenant_id=scope.tenant_id, import_id=imp.id, seq=seq, data=data[start:start + CHUNK])
    jobs.enqueue(k.job, scope.tenant_id, str(imp.id), job_id=f"import:{imp.id}")
    return imp


# ---- parsing ------------------------------------------------------------------------------------

def parse(data: bytes, fmt: str, required: tuple[str, ...] = ()):
    """Yields (line, dict) or (line, RowError). A fatal problem yields (line, RowError) with
    code FILE_* and stops."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        yield line, RowError(None, "FILE_NOT_UTF8", f"The file is not UTF-8 (first bad byte on line {line}).")
        return
    if fmt == "jsonl":
        # split on newlines only: U+2028 and friends are legal inside JSON strings
        for n, line in enumerate(text.split("\n"), 1):
            line = line.rstrip("\r")
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except (ValueError, RecursionError) as e:
                yield n, RowError(None, "MALFORMED_JSON", f"Not valid JSON: {str(e)[:80]}.")
                continue
            if not isinstance(obj, dict):
                yield n, RowError(None, "MALFORMED_JSON", "Each line must be a JSON object.")
                continue
            yield n, obj
        return
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        yield 1, RowError(None, "FILE_EMPTY", "The file is empty.")
        return
    except csv.Error as e:
        yield 1, RowError(None, "FILE_MALFORMED_CSV", f"Malformed CSV header: {e}.")
        return
    header = [h.strip().lower() for h in header]
    missing = [c for c in required if c not in header]
    if missing:
        yield 1, RowError(None, "FILE_MISSING_COLUMNS", f"Missing required column(s): {', '.join(missing)}.")
        return
    if len(set(header)) != len(header):
        yield 1, RowError(None, "FILE_DUPLICATE_COLUMNS", "A column name appears twice in the header.")
        return
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            yield reader.line_num, RowError(None, "MALFORMED_CSV", f"Malformed CSV ({e}); the rest of the file was not read.")
            return
        line = reader.line_num
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            yield line, RowError(None, "WRONG_FIELD_COUNT", f"Expected {len(header)} fields, got {len(values)}.")
            continue
        yield line, {k: (v if v != "" else None) for k, v in zip(header, values)}


# ---- the job ------------------------------------------------------------------------------------

@dataclass
class Progress:
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list = field(default_factory=list)

    def error(self, line: int | None, e: RowError) -> None:
        self.failed += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append({"line": line, "field": e.field, "code": e.code, "message": e.message})

    def count(self, counts: dict) -> None:
        for line, e in counts.get("rejected", ()):
            self.error(line, e)
        for k in ("created", "updated", "unchanged"):
            setattr(self, k, getattr(self, k) + counts.get(k, 0))


async def run_import(scope: Scope, import_id: str) -> str:
    """Idempotent: a finished import is not run again; a re-delivered running one resumes
    harmlessly because every writer is idempotent. An unexpected failure marks the import failed
    (never left "running"). The uploaded file is deleted when the import ends: it holds personal
    data that erasure could not otherwise reach."""
    try:
        return await _run(scope, import_id)
    except Exception:
        log.exception("import failed", extra={"import_id": import_id})
        async with db.tenant_transaction(scope.tenant_id):
            await DataImport.filter(tenant_id=scope.tenant_id, id=uuid.UUID(import_id)).update(
                status="failed", finished_at=clock.now(),
                errors=[{"line": None, "field": None, "code": "INTERNAL", "message": "The import stopped on an internal error."}])
            await ImportChunk.filter(tenant_id=scope.tenant_id, import_id=uuid.UUID(import_id)).delete()
        return "failed"


async def _run(scope: Scope, import_id: str) -> str:
    iid = uuid.UUID(import_id)
    t = scope.tenant_id
    async with db.tenant_transaction(t):
        imp = await DataImport.get_or_none(tenant_id=t, id=iid)
        if imp is None or imp.status in ("done", "failed"):
            return imp.status if imp else "missing"
        kind = kinds()[imp.kind]
        imp.status, imp.started_at = "running", clock.now()
        await imp.save(update_fields=["status", "started_at"])
        chunks = await ImportChunk.filter(tenant_id=t, import_id=iid).order_by("seq")
        data = b"".join(bytes(c.data) for c in chunks)
        ctx = await kind.prepare(scope, imp) if kind.prepare else None
    progress = Progress()
    seen: dict[Hashable, int] = {}
    batch: list = []
    fatal = False
    size = kind.batch_size or get_settings().import_batch_size
    # one batch is written while the next is read and validated: the writer's statements run in
    # PostgreSQL while this loop works, and it yields every few rows so the writer can send its next
    writing: asyncio.Task | None = None
    for n, (line, item) in enumerate(parse(data, imp.format, kind.required)):
        if writing is not None and n % 32 == 0:
            await asyncio.sleep(0)
        progress.total += 1
        if isinstance(item, RowError):
            fatal = fatal or item.code.startswith("FILE_")
            progress.error(line, item)
            continue
        try:
            row = kind.validate(line, item, ctx)
        except RowError as e:
            progress.error(line, e)
            continue
        if kind.key is not None:
            key = kind.key(row)
            if key in seen:
                progress.error(line, RowError(kind.key_field, "DUPLICATE_IN_FILE",
                                                  f"The same {kind.key_field or 'record'} already appears on line {seen[key]}."))
                continue
            seen[key] = line
        batch.append(row)
        if len(batch) >= size:
            if writing is not None:
                await writing
            writing = asyncio.create_task(_write_batch(scope, kind, batch, ctx, progress, iid))
            batch = []
    if writing is not None:
        await writing
    if batch:
        await _write_batch(scope, kind, batch, ctx, progress, iid)
    async with db.tenant_transaction(t):
        status = "failed" if fatal and not (progress.created or progress.updated or progress.unchanged) else "done"
        await _save_progress(t, iid, progress, status=status)
        await ImportChunk.filter(tenant_id=t, import_id=iid).delete()
        if kind.finish:
            await kind.finish(scope, progress, iid)
    log.info("import finished", extra={"import_id": import_id, "kind": imp.kind, "rows": progress.total, "failed": progress.failed})
    return status


async def _save_progress(t: uuid.UUID, iid: uuid.UUID, p: Progress, status: str | None = None) -> None:
    values = dict(rows_total=p.total, rows_created=p.created, rows_updated=p.updated, rows_unchanged=p.unchanged,
                  rows_failed=p.failed, errors=p.errors)
    if status:
        values.update(status=status, finished_at=clock.now())
    await DataImport.filter(tenant_id=t, id=iid).update(**values)


async def _write_batch(scope: Scope, kind: ImportKind, rows: list, ctx, progress: Progress, iid: uuid.UUID) -> None:
    t = scope.tenant_id
    try:
        async with db.tenant_transaction(t):
            # a crash can lose the last few batches committed this way; the job is retried and every
            # writer is idempotent, so they are written again: no flush to disk awaited per batch
            await db.fetch("SET LOCAL synchronous_commit = off", [])
            progress.count(await kind.write(scope, rows, ctx))
            await _save_progress(t, iid, progress)
        return
    except Exception:  # noqa: BLE001 - fall back to row by row to isolate the failing row
        log.warning("import batch failed; retrying row by row", exc_info=True, extra={"kind": kind.name})
    for row in rows:
        try:
            async with db.tenant_transaction(t):
                counts = await kind.write(scope, [row], ctx)
        except Exception as e:  # noqa: BLE001
            progress.error(row.line, RowError(None, "WRITE_FAILED", f"Could not be stored: {type(e).__name__}."))
            continue
        progress.count(counts)
    async with db.tenant_transaction(t):
        await _save_progress(t, iid, progress)


# ---- reading ------------------------------------------------------------------------------------

async def imports_by_ids(scope: Scope, kind: str, ids) -> dict[uuid.UUID, DataImport]:
    if not scope.all_dealers:  # imports are brand-wide: dealer staff and dealer-bound apps do not see them
        return {}
    return {i.id: i for i in await DataImport.filter(tenant_id=scope.tenant_id, kind=kind, id__in=list(ids))}


async def list_imports(scope: Scope, kind: str, page, max_size: int = 100):
    from app.core.pagination import build_page, keyset_clause, parse_datetime, validate

    limit, _ = validate(page, default=20, maximum=max_size)
    if not scope.all_dealers:
        return build_page([], limit, False, page, key=lambda i: [])
    where, extra, order, backwards = keyset_clause(("created_at", "id"), page, 3, descending=True,
                                                   parsers=(parse_datetime, None))
    rows = await db.conn().execute_query_dict(
        f"SELECT * FROM data_import WHERE tenant_id = $1 AND kind = $2{where} ORDER BY {order} LIMIT {limit + 1}",
        [scope.tenant_id, kind, *extra])
    items = [DataImport._init_from_db(**r) for r in rows]
    return build_page(items, limit, backwards, page, key=lambda i: [i.created_at.isoformat(), i.id])
