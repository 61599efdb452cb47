"""Persisted queries and trusted documents, resolved before the document is parsed.

- Automatic persisted queries (Apollo's `persistedQuery` extension, POST or GET): a request with
  `{"extensions": {"persistedQuery": {"version": 1, "sha256Hash": H}}}` and no `query` runs the
  document stored under H; unknown -> PERSISTED_QUERY_NOT_FOUND ("PersistedQueryNotFound", which
  makes Apollo clients resend with the document). With `query`, its SHA-256 must be H
  (PERSISTED_QUERY_HASH_MISMATCH), and once it validated it is stored in Redis under the brand
  and H (GRAPHQL_APQ_TTL_SECONDS, documents up to GRAPHQL_APQ_MAX_BYTES, at most
  GRAPHQL_APQ_MAX_PER_DAY new ones per brand and day). Per brand: a hash never tells one brand
  what another ran. Redis down: nothing is found or stored, clients fall back to sending the text.
- Allow-list mode (app/core/documents.py), for a brand or one partner app: only documents
  registered for the caller run, sent by hash or in full; anything else is DOCUMENT_NOT_ALLOWED.

Operator side: `read_documents` (the `documents register` command's .graphql files and Apollo or
Relay manifests) and `check_documents` (each one must validate against this schema)."""
from __future__ import annotations

import dataclasses
import json
import logging
import re
from pathlib import Path

from graphql import GraphQLError
from strawberry.http import GraphQLRequestData
from strawberry.types import ExecutionResult

from app.core import clock, documents, ratelimit
from app.core.auth.tokens import AccessClaims
from app.settings import get_settings
from schema.context import partner_app_of

log = logging.getLogger("huifang.graphql")
_HASH = re.compile(r"^[0-9a-f]{64}$")


class Refused(Exception):
    def __init__(self, code: str, message: str, status: int = 200):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status

    def result(self) -> ExecutionResult:
        return ExecutionResult(data=None, errors=[GraphQLError(self.message, extensions={"code": self.code})])


@dataclasses.dataclass
class Resolved:
    data: GraphQLRequestData
    store_as: str | None = None  # an APQ registration: keep the document under this hash once it validated


async def resolve(data: GraphQLRequestData, claims: AccessClaims) -> Resolved:
    digest = _requested_hash(data)
    if digest is not None and data.query is not None and documents.sha256(data.query) != digest:
        raise Refused("PERSISTED_QUERY_HASH_MISMATCH", "The persisted query's sha256Hash does not match its query.", 400)
    policy = await documents.policy(claims.tenant_id)
    caller = partner_app_of(claims) or documents.BRAND
    if policy.applies_to(caller):
        if digest is None and data.query is None:
            return Resolved(data)  # no document at all: strawberry's 400
        body = policy.document(caller, digest or documents.sha256(data.query))
        if body is None:
            raise Refused("DOCUMENT_NOT_ALLOWED", "Only registered documents may run for this caller (allow-list mode); "
                                                  "this one is not registered.")
        return Resolved(dataclasses.replace(data, query=body))
    if digest is None:
        return Resolved(data)
    if data.query is not None:
        return Resolved(data, store_as=digest)
    body = await _stored(claims.tenant_id, digest)
    if body is None:
        raise Refused("PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound")
    return Resolved(dataclasses.replace(data, query=body))


def _requested_hash(data: GraphQLRequestData) -> str | None:
    pq = (data.extensions or {}).get("persistedQuery")
    if pq is None:
        return None
    if not isinstance(pq, dict) or pq.get("version") != 1:
        raise Refused("PERSISTED_QUERY_NOT_SUPPORTED", "Only persistedQuery version 1 is supported.", 400)
    digest = pq.get("sha256Hash")
    if not isinstance(digest, str) or not _HASH.match(digest.lower()):
        raise Refused("BAD_REQUEST", "persistedQuery.sha256Hash must be a SHA-256 in hex.", 400)
    return digest.lower()


# -- the APQ store (Redis) -------------------------------------------------------------------

# KEYS: the document, the brand's count of new documents today; ARGV: body, ttl, daily cap
_PUT = """
if redis.call('EXPIRE', KEYS[1], ARGV[2]) == 1 then return 1 end
local n = redis.call('INCR', KEYS[2])
if n == 1 then redis.call('EXPIRE', KEYS[2], 90000) end
if n > tonumber(ARGV[3]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
"""
_put = None


def _key(tenant_id, digest: str) -> str:
    return f"huifang:apq:{tenant_id}:{digest}"


async def _stored(tenant_id, digest: str) -> str | None:
    try:
        body = await ratelimit.redis().getex(_key(tenant_id, digest), ex=get_settings().graphql_apq_ttl_seconds)
    except Exception as e:  # noqa: BLE001 - Redis down: not found, the client sends the text
        log.warning("persisted-query lookup failed: %s", type(e).__name__)
        return None
    return body.decode() if body is not None else None


async def remember(tenant_id, digest: str, query: str) -> bool:
    """Keep a validated document for later hash-only requests; False when not kept (too large,
    the brand's daily cap reached, Redis unavailable)."""
    global _put
    s = get_settings()
    if len(query.encode("utf-8")) > s.graphql_apq_max_bytes:
        return False
    try:
        if _put is None:
            _put = ratelimit.redis().register_script(_PUT)
        day = clock.today().isoformat()
        return bool(await _put(keys=[_key(tenant_id, digest), f"huifang:apq:n:{tenant_id}:{day}"],
                               args=[query, s.graphql_apq_ttl_seconds, s.graphql_apq_max_per_day], client=ratelimit.redis()))
    except Exception as e:  # noqa: BLE001 - best effort: the operation itself is answered
        log.warning("persisted-query store failed: %s", type(e).__name__)
        return False


# -- operator side ---------------------------------------------------------------------------

def read_documents(paths: list[str]) -> list[tuple[str | None, str]]:
    """(name, body) from .graphql files (the file's text is the document, as the client sends it)
    and persisted-query manifests: Apollo's (`{"format": "apollo-persisted-query-manifest",
    "operations": [{"id", "name", "body"}]}`) or Relay's (`{"<sha256>": "<text>"}`, persistConfig
    algorithm SHA256). A manifest's ids must be the SHA-256 of their bodies."""
    out: list[tuple[str | None, str]] = []
    for p in map(Path, paths):
        text = p.read_text(encoding="utf-8")
        if p.suffix != ".json":
            out.append((_operation_names(text) or p.stem, text))
            continue
        manifest = json.loads(text)
        if isinstance(manifest, dict) and isinstance(manifest.get("operations"), list):
            entries = [(op.get("id"), op.get("name"), op.get("body")) for op in manifest["operations"] if isinstance(op, dict)]
        elif isinstance(manifest, dict) and all(isinstance(v, str) for v in manifest.values()):
            entries = [(k, None, v) for k, v in manifest.items()]
        else:
            raise ValueError(f"{p}: neither an Apollo persisted-query manifest nor a Relay persisted-queries map")
        for digest, name, body in entries:
            if not isinstance(body, str):
                raise ValueError(f"{p}: an operation without a body")
            if digest is not None and str(digest).lower() != documents.sha256(body):
                raise ValueError(f"{p}: id {digest} is not the SHA-256 of its document (Relay: persistConfig algorithm SHA256)")
            out.append((name or _operation_names(body), body))
    return out


def _operation_names(text: str) -> str | None:
    from graphql import OperationDefinitionNode, parse

    try:
        names = [d.name.value for d in parse(text).definitions if isinstance(d, OperationDefinitionNode) and d.name]
    except GraphQLError:
        return None
    return ",".join(names)[:200] or None


def check_documents(docs: list[tuple[str | None, str]]) -> list[str]:
    """What is wrong with each document against this schema and its limits (empty: all valid)."""
    from graphql import parse, specified_rules, validate

    from schema import schema
    from schema.limits import MAX_TOKENS, RULES

    problems = []
    for name, body in docs:
        try:
            errors = validate(schema._schema, parse(body, max_tokens=MAX_TOKENS), (*specified_rules, *RULES))
        except GraphQLError as e:
            errors = [e]
        problems += [f"{name or documents.sha256(body)[:12]}: {e.message}" for e in errors]
    return problems
