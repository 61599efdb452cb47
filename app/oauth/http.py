"""OAuth 2.0 endpoints: /oauth/authorize, /oauth/token, /oauth/revoke, /oauth/introspect,
/.well-known/oauth-authorization-server (RFC 8414) and /.well-known/jwks.json.

Every credential carries its tenant (client ids `hfc_<tenant>_…`, refresh tokens `hfr_<tenant>_…`,
JWT `tid`), so each request opens exactly one tenant transaction before reading anything."""
from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets as pysecrets
import uuid
from urllib.parse import parse_qsl, urlsplit

import orjson
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749.util import extract_basic_authorization
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from app.audit import service as audit
from app.core import clock, db, ratelimit, secrets
from app.core.auth.keys import keyring
from app.core.auth.tokens import InvalidToken, verify_access_token
from app.core.errors import AppError, BadRequest, PayloadTooLarge, Unauthenticated, UnsupportedMediaType
from app.core.netaddr import client_ip as _peer_ip
from app.core.permissions import perms_for_roles
from app.core.tenancy import Actor, Scope, scope_for
from app.oauth import pages
from app.oauth import repository as repo
from app.oauth.resource import cut_off, load_actor
from app.oauth.server import (
    CTX,
    INVALID_CLIENT,
    Access,
    Client,
    Code,
    OAuthCtx,
    OAuthUser,
    Refresh,
    StarletteOAuth2Request,
    server,
)
from app.settings import get_settings
from app.tenant import service as tenant_service
from app.tenant.models import Membership, User

log = logging.getLogger("huifang.oauth")
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
OAUTH_PARAMS = ("client_id", "redirect_uri", "response_type", "scope", "state", "code_challenge", "code_challenge_method")
CSRF_COOKIE = "hf_csrf"
MAX_FORM_BYTES = 16 * 1024
MAX_FORM_FIELDS = 50
FORM_TYPE = "application/x-www-form-urlencoded"


def client_ip(request: Request) -> str:
    """The caller's address for rate limits and the audit trail: the TCP peer, or what a proxy
    listed in TRUSTED_PROXIES forwarded (app/core/netaddr.py); "-" when unknown."""
    return _peer_ip(request) or "-"


def oauth_error(error: str, description: str, status: int = 400, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status, headers={**NO_STORE, **(headers or {})})


async def read_form(request: Request) -> FormData:
    """The urlencoded form, at most MAX_FORM_BYTES read whatever the framing (Content-Length or
    chunked): the stream is counted as it arrives and reading stops past the limit."""
    length = request.headers.get("content-length")
    if length and (not length.isdigit() or int(length) > MAX_FORM_BYTES):
        raise PayloadTooLarge("Request body too large.")
    ctype = request.headers.get("content-type")
    media = ctype.split(";", 1)[0].strip().lower() if ctype else ""
    if media and media != FORM_TYPE:
        raise UnsupportedMediaType(f"Send the parameters as {FORM_TYPE} (RFC 6749), not {media[:60]}.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise PayloadTooLarge("Request body too large.")
    if body and not media:
        raise UnsupportedMediaType(f"Send the parameters as {FORM_TYPE} (RFC 6749).")
    try:
        items = parse_qsl(body.decode("latin-1"), keep_blank_values=True, encoding="utf-8", errors="replace",
                          max_num_fields=MAX_FORM_FIELDS)
    except ValueError:
        raise BadRequest(f"Too many form fields (at most {MAX_FORM_FIELDS}).") from None
    if any("\x00" in k or "\x00" in v for k, v in items):
        raise BadRequest("NUL characters are not allowed.")
    return FormData(items)


def build_request(request: Request, form_items, query_items=()) -> StarletteOAuth2Request:
    uri = get_settings().base_url + request.url.path
    return StarletteOAuth2Request(request.method, uri, request.headers, list(query_items), list(form_items))


def system_scope(tenant_id: uuid.UUID) -> Scope:
    return scope_for(Actor.system(tenant_id))


async def limited(bucket: str, key: str, limit: int, window: int) -> int | None:
    """None if allowed, else seconds to wait."""
    ok, retry = await ratelimit.hit(bucket, key, limit, window)
    return None if ok else retry


def too_many(retry: int) -> JSONResponse:
    return oauth_error("slow_down", "Too many requests; retry later.", 429, {"Retry-After": str(retry)})


# ---- preloading -------------------------------------------------------------------------------

async def load_clients(ctx: OAuthCtx, scope: Scope, client_ids) -> None:
    for cid in client_ids:
        app = await repo.app_by_client_id(scope, cid)
        if app is not None and app.status == "active":
            ctx.clients[cid] = Client(app)


async def load_user(ctx: OAuthCtx, scope: Scope, user_id: uuid.UUID) -> OAuthUser | None:
    user = await User.get_or_none(tenant_id=scope.tenant_id, id=user_id)
    if user is None or not user.is_active:
        return None
    roles = [m.role for m in await Membership.filter(tenant_id=scope.tenant_id, user_id=user.id)]
    ou = OAuthUser(id=user.id, email=user.email, perms=perms_for_roles(roles))
    ctx.users[user.id] = ou
    return ou


async def refresh_alive(scope: Scope, row) -> bool:
    """A refresh token is only worth something while its app is enabled and its user active, and
    if it was issued after the last disabling / deactivation (`tokens_valid_after`)."""
    app = await repo.app_by_client_id(scope, row.client_id)
    if app is None or app.status != "active" or cut_off(row.created_at.timestamp(), app.tokens_valid_after):
        return False
    if row.user_id is not None:
        user = await User.get_or_none(tenant_id=scope.tenant_id, id=row.user_id)
        if user is None or not user.is_active or cut_off(row.created_at.timestamp(), user.tokens_valid_after):
            return False
    return True


async def apply_writes(ctx: OAuthCtx, scope: Scope) -> bool:
    """Apply what authlib's hooks recorded. False if a conditional write lost a race."""
    now = clock.now()
    for op, *args in ctx.writes:
        if op == "insert_code":
            await repo.insert_code(scope, **args[0])
        elif op == "consume_code":
            if not await repo.consume_code(scope, args[0], now):
                return False
        elif op == "insert_refresh":
            await repo.insert_refresh(scope, **args[0])
        elif op == "rotate_refresh":
            if not await repo.rotate_refresh(scope, args[0], now):
                return False
        elif op == "revoke_family":
            await repo.revoke_family(scope, args[0], now, _family_horizon())
            await audit.record(scope, "token.revoked", target_type="TokenFamily", target_id=str(args[0]))
        elif op == "revoke_jti":
            await repo.revoke_jti(scope, args[0], _utc(args[1]))
            await audit.record(scope, "token.revoked", target_type="AccessToken", target_id=args[0])
        else:  # pragma: no cover - a programming error
            raise RuntimeError(op)
    return True


def _utc(ts: float):
    from datetime import datetime, timezone

    return datetime.fromtimestamp(ts, timezone.utc)


def _family_horizon():
    from datetime import timedelta

    return clock.now() + timedelta(seconds=get_settings().access_token_ttl_seconds + 60)


async def revoke_family_for_reuse(scope: Scope, family_id: uuid.UUID, client_id: str, what: str, ip: str) -> None:
    n = await repo.revoke_family(scope, family_id, clock.now(), _family_horizon())
    await audit.record(scope, "token.reuse_detected", target_type="TokenFamily", target_id=str(family_id), ip=ip,
                       actor=f"app:{client_id}", details={"reused": what, "refresh_tokens_revoked": n})
    log.warning("credential reuse detected; token family revoked", extra={"family_id": str(family_id), "reused": what})


class MalformedCredentials(Exception):
    pass


def client_ids_of(oreq: StarletteOAuth2Request) -> set[str]:
    try:
        basic_id, _ = extract_basic_authorization(oreq.headers)
    except (ValueError, UnicodeDecodeError):
        raise MalformedCredentials() from None
    return {c for c in (basic_id, oreq.form.get("client_id")) if c}


def tenant_of_clients(ids: set[str]) -> uuid.UUID | None:
    tenants = {secrets.tenant_of(c, secrets.PREFIX_CLIENT) for c in ids}
    return tenants.pop() if len(tenants) == 1 and None not in tenants else None


def invalid_client() -> JSONResponse:
    return oauth_error("invalid_client", INVALID_CLIENT, 401,
                       {"WWW-Authenticate": 'Basic realm="huifang", error="invalid_client"'})


# ---- /oauth/token -----------------------------------------------------------------------------

async def _client_request(request: Request):
    """What the token, revocation and introspection endpoints share: the per-IP limit, the form,
    the client ids (Basic or form) and the one tenant they belong to. Returns a Response to send
    back, or (oauth request, client ids, tenant, ip)."""
    s = get_settings()
    ip = client_ip(request)
    if (retry := await limited("token-ip", ip, s.rate_limit_token_per_ip, 60)) is not None:
        return too_many(retry)
    try:
        form = await read_form(request)
    except AppError as e:
        return oauth_error("invalid_request", e.message, 413 if e.code == "PAYLOAD_TOO_LARGE" else 400)
    oreq = build_request(request, form.multi_items())
    try:
        ids = client_ids_of(oreq)
    except MalformedCredentials:
        return invalid_client()
    tenant = tenant_of_clients(ids)
    if tenant is None:
        return invalid_client()
    return oreq, ids, tenant, ip


async def token_endpoint(request: Request) -> Response:
    prepared = await _client_request(request)
    if isinstance(prepared, Response):
        return prepared
    oreq, ids, tenant, ip = prepared
    s = get_settings()
    client_key = next(iter(ids))
    # client ids are public: failures count per client *and IP* (nobody can lock a partner out
    # from elsewhere); successful issuances count per client (only the secret holder moves it)
    for bucket, key, limit in (("token-fail", f"{client_key}:{ip}", s.rate_limit_token_per_client),
                               ("token-issued", client_key, s.rate_limit_token_per_client)):
        if (retry := await ratelimit.exceeded(bucket, key, limit, 60)) is not None:
            return too_many(retry)
    result: Response | None = None
    async with db.tenant_transaction(tenant):
        scope = system_scope(tenant)
        ctx = OAuthCtx(tenant_id=tenant)
        await load_clients(ctx, scope, ids)
        grant_type = oreq.form.get("grant_type")
        if grant_type == "authorization_code" and oreq.form.get("code"):
            code = oreq.form["code"]
            row = await repo.code_by_hash(scope, secrets.digest(code))
            if row is not None and row.client_id in ids:
                if row.used_at is not None:  # replayed code: everything issued from it goes
                    await revoke_family_for_reuse(scope, row.family_id, row.client_id, "authorization_code", ip)
                    return oauth_error("invalid_grant", "The authorization code was already used.")
                ctx.codes[code] = Code(row)
                ctx.family_id = row.family_id
                await load_user(ctx, scope, row.user_id)
        elif grant_type == "refresh_token" and oreq.form.get("refresh_token"):
            token = oreq.form["refresh_token"]
            if secrets.tenant_of(token, secrets.PREFIX_REFRESH) == tenant:
                row = await repo.refresh_by_hash(scope, secrets.digest(token))
                if row is not None and row.client_id in ids:
                    if row.rotated_at is not None and row.revoked_at is None:
                        await revoke_family_for_reuse(scope, row.family_id, row.client_id, "refresh_token", ip)
                        return oauth_error("invalid_grant", "The refresh token was already used; its grant is revoked.")
                    ctx.refresh[token] = Refresh(row, dead=not await refresh_alive(scope, row))
                    ctx.family_id = row.family_id
                    if row.user_id:
                        await load_user(ctx, scope, row.user_id)
        reset = CTX.set(ctx)
        try:
            result = server.create_token_response(oreq)
        finally:
            CTX.reset(reset)
        if result.status_code == 200:
            if not await apply_writes(ctx, scope):
                result = oauth_error("invalid_grant", "The grant was used concurrently.")
                raise db.Rollback()  # nothing of this exchange is kept
            for issued in ctx.issued:
                await audit.record(scope, "token.issued", target_type="AccessToken", target_id=issued["jti"], ip=ip,
                                   actor=f"app:{issued['client_id']}", details=issued)
    if result.status_code == 200:
        await ratelimit.hit("token-issued", client_key, 10**9, 60)
    elif result.status_code in (400, 401):
        await ratelimit.hit("token-fail", f"{client_key}:{ip}", 10**9, 60)
    return result


# ---- /oauth/revoke and /oauth/introspect ----------------------------------------------------------

async def _token_endpoint_common(request: Request, endpoint: str) -> Response:
    prepared = await _client_request(request)
    if isinstance(prepared, Response):
        return prepared
    oreq, ids, tenant, ip = prepared
    result: Response | None = None
    async with db.tenant_transaction(tenant):
        scope = system_scope(tenant)
        ctx = OAuthCtx(tenant_id=tenant)
        await load_clients(ctx, scope, ids)
        token = oreq.form.get("token") or ""
        if secrets.tenant_of(token, secrets.PREFIX_REFRESH) == tenant:
            row = await repo.refresh_by_hash(scope, secrets.digest(token))
            if row is not None:  # the same checks as the token endpoint: app enabled, user active
                ctx.refresh[token] = Refresh(row, dead=not await refresh_alive(scope, row))
        elif token.count(".") == 2:
            try:
                claims = verify_access_token(token)
            except InvalidToken:
                claims = None
            if claims is not None and claims.tenant_id == tenant:
                try:  # the same checks as an API request: user active, app enabled, not revoked
                    await load_actor(claims)
                    dead = False
                except Unauthenticated:
                    dead = True
                ctx.access[token] = Access(claims, dead)
        reset = CTX.set(ctx)
        try:
            result = server.create_endpoint_response(endpoint, oreq)
        finally:
            CTX.reset(reset)
        if result.status_code == 200 and ctx.writes:
            await apply_writes(ctx, scope)
    return result


async def revoke_endpoint(request: Request) -> Response:
    return await _token_endpoint_common(request, "revocation")


async def introspect_endpoint(request: Request) -> Response:
    return await _token_endpoint_common(request, "introspection")


# ---- /oauth/authorize: login, consent, code ------------------------------------------------------

def _params_digest(params: dict) -> str:
    return hashlib.sha256(orjson.dumps({k: params.get(k) for k in OAUTH_PARAMS}, option=orjson.OPT_SORT_KEYS)).hexdigest()


_CSP_SOURCE_OK = re.compile(r"^[A-Za-z0-9\-._~:/@!$&()*+=%\[\]]+$")


def form_action(redirect_uri: str | None) -> str:
    """CSP `form-action` for a sign-in or consent page: this site, plus the one redirect URI this
    request was validated for. Chromium applies form-action to the redirect that follows the
    form's POST (our 302 to the client), so 'self' alone leaves the person on the sign-in page.
    The URI without its query (CSP ignores queries) or, should it hold a character that is not
    safe in a CSP source expression (';' or ',' would start a new directive), its origin."""
    if not redirect_uri:
        return "form-action 'self'"
    try:
        u = urlsplit(redirect_uri)
        port = u.port
    except ValueError:
        return "form-action 'self'"
    if u.scheme not in ("http", "https") or not u.hostname:
        return "form-action 'self'"
    host = f"[{u.hostname}]" if ":" in u.hostname else u.hostname
    origin = f"{u.scheme}://{host}" + (f":{port}" if port else "")
    source = origin + (u.path or "")
    return f"form-action 'self' {source if _CSP_SOURCE_OK.match(source) else origin}"


def _html(body: str, status: int = 200, csrf: str | None = None, redirect_uri: str | None = None) -> HTMLResponse:
    resp = HTMLResponse(body, status_code=status, headers={
        **NO_STORE, "X-Frame-Options": "DENY",
        "Content-Security-Policy": f"default-src 'none'; style-src 'unsafe-inline'; {form_action(redirect_uri)}; frame-ancestors 'none'",
        "Referrer-Policy": "no-referrer"})
    if csrf:
        resp.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="lax", secure=get_settings().secure_cookies,
                        path="/oauth/authorize", max_age=1800)
    return resp


async def authorize_endpoint(request: Request) -> Response:
    s = get_settings()
    if request.method == "GET":
        params = {k: request.query_params.get(k) for k in OAUTH_PARAMS if request.query_params.get(k) is not None}
        form = None
        if any("\x00" in v for v in params.values()):
            return _html(pages.error_page("NUL characters are not allowed."), 400)
    else:
        try:
            form = await read_form(request)
        except AppError as e:
            return _html(pages.error_page(e.message), 413 if e.code == "PAYLOAD_TOO_LARGE" else 400)
        params = {k: form.get(k) for k in OAUTH_PARAMS if form.get(k) is not None}
        cookie = request.cookies.get(CSRF_COOKIE, "")
        if not cookie or not hmac.compare_digest(cookie, str(form.get("csrf_token") or "")):
            return _html(pages.error_page("The form expired or was not sent from this site. Start the sign-in again."), 403)
    tenant = secrets.tenant_of(params.get("client_id"), secrets.PREFIX_CLIENT)
    if tenant is None:
        return _html(pages.error_page("Unknown application (client_id)."), 400)
    oreq = build_request(request, [], params.items())
    ip = client_ip(request)
    async with db.tenant_transaction(tenant):
        scope = system_scope(tenant)
        ctx = OAuthCtx(tenant_id=tenant)
        await load_clients(ctx, scope, [params["client_id"]])
        reset = CTX.set(ctx)
        try:
            try:
                grant = server.get_consent_grant(oreq, end_user=None)
            except OAuth2Error as e:
                if e.redirect_uri:
                    return server.handle_error_response(oreq, e)
                return _html(pages.error_page(f"{e.error}: {e.description or ''}"), 400)
            except ValueError:
                return _html(pages.error_page("invalid_request: malformed parameters."), 400)
        finally:
            CTX.reset(reset)
        client: Client = grant.client
        target = grant.redirect_uri  # validated: exactly one of the client's registered URIs
        brand = await tenant_service.get_brand(scope)
        brand_name = brand.name if brand else "Huifang"
        csrf = request.cookies.get(CSRF_COOKIE) if form is not None else None
        csrf = csrf or pysecrets.token_urlsafe(24)
        if form is None:
            return _html(pages.login_page(brand=brand_name, app=client.app.name, oauth_params=params, csrf=csrf), csrf=csrf,
                         redirect_uri=target)

        user: OAuthUser | None = None
        if form.get("action") == "consent":
            raw = await ratelimit.redis().getdel(f"huifang:login:{form.get('ticket') or '-'}")
            data = orjson.loads(raw) if raw else None
            if not data or data["tenant"] != str(tenant) or data["params"] != _params_digest(params):
                return _html(pages.error_page("This sign-in expired. Start again from the application."), 400)
            user = await load_user(ctx, scope, uuid.UUID(data["user"]))
            if user is None:
                return _html(pages.error_page("This account cannot sign in."), 403)
            approved = form.get("decision") == "allow"
            await audit.record(scope, "oauth.consent", target_type="PartnerApp", target_id=client.client_id, ip=ip,
                               actor=f"user:{user.id}", details={"approved": approved, "scope": oreq.payload.scope})
            return await _issue_code(ctx, scope, oreq, grant, user if approved else None)

        # action == login
        email = str(form.get("email") or "").strip().lower()[:254]
        password = str(form.get("password") or "")
        for bucket, key, limit in (("login-ip", ip, s.rate_limit_login_per_ip),
                                   ("login-account", f"{tenant}:{email}", s.rate_limit_login_per_account)):
            if (retry := await limited(bucket, key, limit, 300)) is not None:
                resp = _html(pages.login_page(brand=brand_name, app=client.app.name, oauth_params=params, csrf=csrf, email=email,
                                              error=f"Too many attempts. Try again in {retry} seconds."), 429, csrf=csrf,
                             redirect_uri=target)
                resp.headers["Retry-After"] = str(retry)
                return resp
        row = await User.get_or_none(tenant_id=tenant, email=email)
        ok = secrets.verify_password(password, row.password_hash if row else None)  # always runs the KDF
        if ok and row.is_active:
            user = await load_user(ctx, scope, row.id)
        if user is None:
            await audit.record(scope, "oauth.login_failed", target_type="PartnerApp", target_id=client.client_id, ip=ip,
                               actor="anonymous", details={"email_sha256": hashlib.sha256(email.encode()).hexdigest()[:16]})
            return _html(pages.login_page(brand=brand_name, app=client.app.name, oauth_params=params, csrf=csrf, email=email,
                                          error="Invalid e-mail or password."), 401, csrf=csrf, redirect_uri=target)
        if client.app.first_party:
            return await _issue_code(ctx, scope, oreq, grant, user)
        ticket = pysecrets.token_urlsafe(24)
        await ratelimit.redis().set(
            f"huifang:login:{ticket}",
            orjson.dumps({"tenant": str(tenant), "user": str(user.id), "params": _params_digest(params)}),
            ex=s.login_ticket_ttl_seconds)
        shown = [x for x in (oreq.payload.scope or " ".join(client.app.scopes)).split() if any(p.value == x for p in user.perms)]
        return _html(pages.consent_page(brand=brand_name, app=client.app.name, user=user.email, scopes=shown,
                                        oauth_params=params, csrf=csrf, ticket=ticket), csrf=csrf, redirect_uri=target)


async def _issue_code(ctx: OAuthCtx, scope: Scope, oreq, grant, user: OAuthUser | None) -> Response:
    reset = CTX.set(ctx)
    try:
        resp = server.create_authorization_response(oreq, grant_user=user, grant=grant)
    finally:
        CTX.reset(reset)
    if resp.status_code == 302 and ctx.writes:
        await apply_writes(ctx, scope)
    resp.headers.update(NO_STORE)
    return resp


# ---- development -------------------------------------------------------------------------------

async def dev_callback_endpoint(request: Request) -> Response:
    """GET /dev/callback (ENV=development only, see app/main.py): the demo apps' redirect URI.
    Shows the code and state, escaped; never cached, never referred."""
    params = {k: request.query_params.get(k) for k in ("code", "state", "error", "error_description")}
    if any(v and "\x00" in v for v in params.values()):
        return _html(pages.error_page("NUL characters are not allowed."), 400)
    base = get_settings().base_url
    resp = _html(pages.dev_callback_page(params=params, token_url=f"{base}/oauth/token", redirect_uri=f"{base}{request.url.path}"))
    resp.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; form-action 'none'; frame-ancestors 'none'"
    return resp


# ---- discovery ------------------------------------------------------------------------------------

async def metadata_endpoint(request: Request) -> Response:
    s = get_settings()
    base = s.base_url
    from app.oauth.server import SCOPES

    return JSONResponse({
        "issuer": s.issuer,
        "authorization_endpoint": f"{base}/oauth/authorize",
        "token_endpoint": f"{base}/oauth/token",
        "revocation_endpoint": f"{base}/oauth/revoke",
        "introspection_endpoint": f"{base}/oauth/introspect",
        "jwks_uri": f"{base}/.well-known/jwks.json",
        "scopes_supported": SCOPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": False,
    }, headers={"Cache-Control": "public, max-age=300"})


async def jwks_endpoint(request: Request) -> Response:
    return JSONResponse(keyring().public_jwks, headers={"Cache-Control": "public, max-age=300"})
