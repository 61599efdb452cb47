"""Trusted documents: GraphQL documents registered per brand (its own front-ends) or per
partner app, and allow-list mode, in which a caller may run only the documents registered for
it. PostgreSQL holds them (tables trusted_document and document_policy, under RLS); the API
reads a brand's policy through a per-process cache (`policy`), so a refusal costs no query.

Who is who: `client_id` '' names the brand itself. A document registered without an app is for
callers whose token was issued to no OAuth client of the brand (operator-minted tokens); one
registered for an app is that app's alone: every OAuth client, the brand's own first-party
front-ends included, has its own documents (its build's manifest). Allow-list mode for the
brand ('') covers every caller of the brand, each held to its own documents; for an app, that
app only."""
from __future__ import annotations

import asyncio
import contextvars
import hashlib
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field

from app.core import clock, db
from app.core.errors import ValidationFailed
from app.core.ids import uuid7
from app.core.tenancy import Scope

BRAND = ""  # the client_id of the brand's own front-ends, and of brand-wide allow-list mode
MAX_DOCUMENTS = 5000  # per brand or app
MAX_DOCUMENT_BYTES = 256 * 1024  # the request body bound: a larger document could never be sent


def sha256(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


class TooManyDocuments(ValidationFailed):
    code = "TOO_MANY_DOCUMENTS"
    message = f"At most {MAX_DOCUMENTS} documents may be registered for a brand or an app."


@dataclass(frozen=True)
class Policy:
    """A brand's allow-list mode and, when it is on for anyone, the documents that may run."""

    enforced: frozenset[str] = frozenset()  # client ids in allow-list mode; BRAND: the whole brand
    documents: dict[str, dict[str, str]] = field(default_factory=dict)  # client id -> sha256 -> body

    def applies_to(self, client_id: str) -> bool:
        return BRAND in self.enforced or client_id in self.enforced

    def document(self, client_id: str, digest: str) -> str | None:
        return self.documents.get(client_id, {}).get(digest)


# -- the API's read path: a per-process cache ------------------------------------------------

_now = time.monotonic  # the cache's own clock (a duration, not a time of day)
_cache: OrderedDict[uuid.UUID, tuple[float, Policy]] = OrderedDict()
_loading: dict[uuid.UUID, asyncio.Future] = {}
CACHE_TENANTS = 4096


async def policy(tenant_id: uuid.UUID) -> Policy:
    """The brand's policy, at most GRAPHQL_DOCUMENTS_CACHE_SECONDS old. A miss reads two small
    tables in the brand's transaction (one reader per brand and process at a time)."""
    from app.settings import get_settings

    now = _now()
    hit = _cache.get(tenant_id)
    if hit is not None and hit[0] > now:
        return hit[1]
    pending = _loading.get(tenant_id)
    if pending is None:
        # its own context: never inside a transaction the caller may have open
        pending = _loading[tenant_id] = asyncio.get_running_loop().create_task(_load(tenant_id), context=contextvars.Context())
        pending.add_done_callback(lambda _f: _loading.pop(tenant_id, None))
    value = await asyncio.shield(pending)
    _cache[tenant_id] = (_now() + get_settings().graphql_documents_cache_seconds, value)
    _cache.move_to_end(tenant_id)
    while len(_cache) > CACHE_TENANTS:
        _cache.popitem(last=False)
    return value


def forget(tenant_id: uuid.UUID | None = None) -> None:
    """Drop the cached policy of one brand (or of all): this process reads it again at once."""
    if tenant_id is None:
        _cache.clear()
    else:
        _cache.pop(tenant_id, None)


async def _load(tenant_id: uuid.UUID) -> Policy:
    async with db.tenant_transaction(tenant_id):
        enforced = frozenset(r[0] for r in await db.fetch(
            "SELECT client_id FROM document_policy WHERE tenant_id = $1", [tenant_id]))
        if not enforced:
            return Policy()
        if BRAND in enforced:
            rows = await db.fetch("SELECT client_id, sha256, body FROM trusted_document WHERE tenant_id = $1", [tenant_id])
        else:
            rows = await db.fetch("SELECT client_id, sha256, body FROM trusted_document WHERE tenant_id = $1 AND client_id = ANY($2)",
                                  [tenant_id, list(enforced)])
    documents: dict[str, dict[str, str]] = {}
    for client_id, digest, body in rows:
        documents.setdefault(client_id, {})[digest] = body
    return Policy(enforced, documents)


# -- registration (operator commands) --------------------------------------------------------

async def register(scope: Scope, client_id: str, documents: list[tuple[str | None, str]]) -> tuple[int, int]:
    """Register (name, body) documents for the brand (client_id BRAND) or one partner app;
    returns (added, already registered). Idempotent: a body is registered once, by its hash."""
    by_hash = {sha256(body): (name, body) for name, body in documents}
    for name, body in by_hash.values():
        if len(body.encode("utf-8")) > MAX_DOCUMENT_BYTES:
            raise ValidationFailed(f"The document {name or ''} is larger than {MAX_DOCUMENT_BYTES} bytes.", field="body")
    existing = {r[0] for r in await db.fetch(
        "SELECT sha256 FROM trusted_document WHERE tenant_id = $1 AND client_id = $2", [scope.tenant_id, client_id])}
    new = [h for h in by_hash if h not in existing]
    if len(existing) + len(new) > MAX_DOCUMENTS:
        raise TooManyDocuments()
    if new:
        now = clock.now()
        await db.fetch(
            "INSERT INTO trusted_document (id, tenant_id, client_id, sha256, name, body, created_at) "
            "SELECT u.id, $1, $2, u.sha256, u.name, u.body, $3 FROM unnest($4::uuid[], $5::text[], $6::text[], $7::text[]) "
            "AS u(id, sha256, name, body) ON CONFLICT (tenant_id, client_id, sha256) DO NOTHING",
            [scope.tenant_id, client_id, now, [uuid7() for _ in new], new,
             [by_hash[h][0] for h in new], [by_hash[h][1] for h in new]])
        forget(scope.tenant_id)
    return len(new), len(by_hash) - len(new)


async def list_documents(scope: Scope, client_id: str | None = None) -> list[dict]:
    """The brand's registered documents (of one caller when `client_id` is given), oldest first."""
    sql = "SELECT client_id, sha256, name, created_at FROM trusted_document WHERE tenant_id = $1"
    params: list = [scope.tenant_id]
    if client_id is not None:
        sql += " AND client_id = $2"
        params.append(client_id)
    rows = await db.fetch(sql + " ORDER BY created_at, sha256", params)
    return [{"client_id": r[0], "sha256": r[1], "name": r[2], "created_at": r[3]} for r in rows]


async def enforced(scope: Scope) -> list[str]:
    """Who is in allow-list mode: BRAND (everyone) and/or partner apps' client ids."""
    return sorted(r[0] for r in await db.fetch("SELECT client_id FROM document_policy WHERE tenant_id = $1", [scope.tenant_id]))


async def set_allow_list(scope: Scope, client_id: str, on: bool) -> bool:
    """Turn allow-list mode on or off for the brand (BRAND) or one app; True if it changed.
    Other API processes see the change within GRAPHQL_DOCUMENTS_CACHE_SECONDS."""
    if on:
        rows = await db.fetch(
            "INSERT INTO document_policy (id, tenant_id, client_id, created_by, created_at) VALUES ($1, $2, $3, $4, $5) "
            "ON CONFLICT (tenant_id, client_id) DO NOTHING RETURNING id",
            [uuid7(), scope.tenant_id, client_id, scope.actor.label, clock.now()])
    else:
        rows = await db.fetch("DELETE FROM document_policy WHERE tenant_id = $1 AND client_id = $2 RETURNING id",
                              [scope.tenant_id, client_id])
    forget(scope.tenant_id)
    return bool(rows)
