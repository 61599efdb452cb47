"""authlib's OAuth 2.0 server, wired to Huifang.

authlib's hooks are synchronous and it has no Starlette integration, so each HTTP handler
(app/oauth/http.py) opens the tenant transaction, PRE-LOADS the rows the hooks will read into
an `OAuthCtx`, calls authlib (CPU only), and then APPLIES the writes the hooks recorded — in
the same transaction, conditionally (a code is consumed and a refresh token rotated only once;
losing that race rolls everything back and answers invalid_grant)."""
from __future__ import annotations

import contextvars
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

from authlib.oauth2 import AuthorizationServer, OAuth2Request
from authlib.oauth2.rfc6749 import (
    AuthorizationCodeMixin,
    ClientMixin,
    InvalidClientError,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Payload,
    TokenMixin,
    grants,
    list_to_scope,
    scope_to_list,
)
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from starlette.responses import JSONResponse, Response

from app.core import clock, secrets
from app.core.auth.tokens import AccessClaims, mint_access_token
from app.core.ids import uuid7
from app.core.permissions import Perm
from app.oauth.models import AuthorizationCode, PartnerApp, RefreshToken
from app.oauth.service import secret_matches
from app.settings import get_settings

SCOPES = [p.value for p in Perm]
INVALID_CLIENT = "Client authentication failed: unknown client or wrong secret."
REFRESH_INVALID = "The refresh token is invalid, expired or revoked; sign in again."


# ---- request adapter ------------------------------------------------------------------------

class _Payload(OAuth2Payload):
    def __init__(self, items):
        self._datalist: dict[str, list] = {}
        for k, v in items:
            self._datalist.setdefault(k, []).append(v)
        self._data = {k: v[0] for k, v in self._datalist.items()}

    @property
    def data(self):
        return self._data

    @property
    def datalist(self):
        return self._datalist


class StarletteOAuth2Request(OAuth2Request):
    def __init__(self, method, uri, headers, query_items, form_items):
        super().__init__(method, uri, headers=headers)
        self._args = dict(reversed(list(query_items)))
        self._form = dict(reversed(list(form_items)))
        self.payload = _Payload(list(query_items) + list(form_items))

    @property
    def args(self):
        return self._args

    @property
    def form(self):
        return self._form


# ---- per-request unit of work ---------------------------------------------------------------

@dataclass
class OAuthUser:
    id: uuid.UUID
    email: str
    perms: frozenset


@dataclass
class OAuthCtx:
    tenant_id: uuid.UUID
    clients: dict = field(default_factory=dict)   # client_id -> Client
    codes: dict = field(default_factory=dict)     # code string -> Code
    refresh: dict = field(default_factory=dict)   # token string -> Refresh
    access: dict = field(default_factory=dict)    # JWT string -> Access
    users: dict = field(default_factory=dict)     # user id -> OAuthUser
    family_id: uuid.UUID | None = None            # family of the code / refresh token being exchanged
    writes: list = field(default_factory=list)
    issued: list = field(default_factory=list)    # for the audit log (never the token itself)


CTX: contextvars.ContextVar[OAuthCtx] = contextvars.ContextVar("oauth_ctx")


def _now() -> float:
    """Seconds since the epoch from the injectable clock (tests move it)."""
    return clock.now().timestamp()


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc)


# ---- models ---------------------------------------------------------------------------------

class Client(ClientMixin):
    def __init__(self, app: PartnerApp):
        self.app = app
        self.client_id = app.client_id

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        uris = self.app.redirect_uris or []
        return uris[0] if len(uris) == 1 else None

    def get_allowed_scope(self, scope):
        allowed = list(self.app.scopes or [])
        if not scope:
            return list_to_scope(allowed)
        requested = scope_to_list(scope)
        return list_to_scope(requested) if set(requested) <= set(allowed) else None

    def check_redirect_uri(self, redirect_uri):
        return redirect_uri in (self.app.redirect_uris or [])  # exact match only

    def check_client_secret(self, client_secret):
        return self.app.client_type == "confidential" and secret_matches(self.app, client_secret)

    def check_endpoint_auth_method(self, method, endpoint):
        if self.app.client_type == "confidential":
            return method in ("client_secret_basic", "client_secret_post")
        return method == "none" and endpoint in ("token", "revocation")

    def check_response_type(self, response_type):
        return response_type == "code" and "authorization_code" in self.app.grant_types

    def check_grant_type(self, grant_type):
        return grant_type in self.app.grant_types


class Code(AuthorizationCodeMixin):
    def __init__(self, row: AuthorizationCode):
        self.row = row
        self.code_challenge = row.code_challenge
        self.code_challenge_method = row.code_challenge_method

    def get_redirect_uri(self):
        return self.row.redirect_uri

    def get_scope(self):
        return self.row.scope


class Refresh(TokenMixin):
    kind = "refresh_token"

    def __init__(self, row: RefreshToken, dead: bool = False):
        self.row = row
        self.dead = dead  # its user deactivated, its app disabled, or issued before their cutoff

    def check_client(self, client):
        return client.client_id == self.row.client_id

    def get_scope(self):
        return self.row.scope

    def get_expires_in(self):
        return int(self.row.expires_at.timestamp() - _now())

    def is_expired(self):
        return self.row.expires_at.timestamp() <= _now()

    def is_revoked(self):
        return self.dead or self.row.revoked_at is not None or self.row.rotated_at is not None


class Access(TokenMixin):
    kind = "access_token"

    def __init__(self, claims: AccessClaims, revoked: bool):
        self.claims = claims
        self.revoked = revoked

    def check_client(self, client):
        return client.client_id == self.claims.client_id

    def get_scope(self):
        return self.claims.scope or ""

    def get_expires_in(self):
        return int(self.claims.expires_at - _now())

    def is_expired(self):
        return self.claims.expires_at <= _now()

    def is_revoked(self):
        return self.revoked


# ---- token generation: RFC 9068 JWT access token + opaque, rotating refresh token ------------

def generate_token(grant_type, client, user=None, scope=None, expires_in=None, include_refresh_token=True):
    ctx = CTX.get()
    settings = get_settings()
    scope = client.get_allowed_scope(scope)
    if scope is None:
        raise InvalidScopeError("The requested scope exceeds what this app may ask for.")
    granted = scope_to_list(scope)
    if user is not None:  # never beyond the user's own rights
        granted = [s for s in granted if Perm(s) in user.perms]
        if not granted:
            raise InvalidScopeError("The user holds none of the requested scopes.")
    scope = list_to_scope(granted)
    ttl = settings.access_token_ttl_seconds
    jti = uuid7().hex
    family = ctx.family_id if grant_type in ("authorization_code", "refresh_token") else None
    extra = {"fid": str(family)} if family else None
    access = mint_access_token(
        tenant_id=ctx.tenant_id, subject=str(user.id) if user else client.client_id, scope=scope,
        client_id=client.client_id, ttl_seconds=ttl, extra=extra, jti=jti,
    )
    token = {"token_type": "Bearer", "access_token": access, "expires_in": ttl, "scope": scope}
    if include_refresh_token and user is not None and family is not None:
        refresh = secrets.new_tenant_token(secrets.PREFIX_REFRESH, ctx.tenant_id)
        token["refresh_token"] = refresh
        ctx.writes.append(("insert_refresh", dict(
            token_hash=secrets.digest(refresh), family_id=family, client_id=client.client_id, user_id=user.id,
            scope=scope, expires_at=_utc(_now() + settings.refresh_token_ttl_seconds))))
    ctx.issued.append({"grant_type": grant_type, "client_id": client.client_id, "user_id": str(user.id) if user else None,
                       "scope": scope, "jti": jti, "family_id": str(family) if family else None,
                       "refresh_token": "refresh_token" in token})
    return token


# ---- grants and endpoints -------------------------------------------------------------------

class S256Only(CodeChallenge):
    """PKCE with S256 for every client; `plain` and a missing challenge are refused at
    /oauth/authorize (authlib's stock extension accepts both there)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant, redirect_uri):
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: missing 'code_challenge'.")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("PKCE: 'code_challenge_method' must be S256.")
        super().validate_code_challenge(grant, redirect_uri)


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def save_authorization_code(self, code, request):
        d = request.payload.data
        user = request.user
        scope = list_to_scope([s for s in scope_to_list(request.scope or "") if Perm(s) in user.perms])
        CTX.get().writes.append(("insert_code", dict(
            code_hash=secrets.digest(code), client_id=request.client.client_id, user_id=user.id,
            redirect_uri=d.get("redirect_uri"), scope=scope,  # as given: then required at the token endpoint only if given
            code_challenge=d["code_challenge"], code_challenge_method=d["code_challenge_method"], family_id=uuid7(),
            expires_at=_utc(_now() + get_settings().authorization_code_ttl_seconds))))

    def query_authorization_code(self, code, client):
        c = CTX.get().codes.get(code)
        if c and c.row.client_id == client.client_id and c.row.used_at is None and c.row.expires_at.timestamp() > _now():
            return c
        return None

    def delete_authorization_code(self, authorization_code):
        CTX.get().writes.append(("consume_code", authorization_code.row.id))

    def authenticate_user(self, authorization_code):
        return CTX.get().users.get(authorization_code.row.user_id)


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
    INCLUDE_NEW_REFRESH_TOKEN = True

    def _validate_request_token(self, client):
        if self.request.form.get("refresh_token") is None:
            raise InvalidRequestError("Missing 'refresh_token' in request.")
        token = self.authenticate_refresh_token(self.request.form["refresh_token"])
        if not token or not token.check_client(client):
            raise InvalidGrantError(REFRESH_INVALID)
        return token

    def authenticate_refresh_token(self, refresh_token):
        t = CTX.get().refresh.get(refresh_token)
        if t and not t.is_revoked() and not t.is_expired():
            return t
        return None

    def authenticate_user(self, refresh_token):
        return CTX.get().users.get(refresh_token.row.user_id)

    def revoke_old_credential(self, refresh_token):
        CTX.get().writes.append(("rotate_refresh", refresh_token.row.id))


def _query_token(token_string):
    ctx = CTX.get()
    return ctx.refresh.get(token_string) or ctx.access.get(token_string)


class Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def query_token(self, token_string, token_type_hint):
        return _query_token(token_string)

    def revoke_token(self, token, request):
        if isinstance(token, Refresh):
            # a revoked refresh token takes its whole grant with it (RFC 7009 §2.1)
            CTX.get().writes.append(("revoke_family", token.row.family_id))
        else:
            CTX.get().writes.append(("revoke_jti", token.claims.jti, token.claims.expires_at))


class Introspection(IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def query_token(self, token_string, token_type_hint):
        return _query_token(token_string)

    def check_permission(self, token, client, request):
        # a client may introspect its own tokens; an app holding `admin` any token of its brand
        # (administration is brand-wide: an app bound to one dealer only sees its own tokens)
        return token.check_client(client) or (Perm.ADMIN.value in (client.app.scopes or []) and client.app.dealer_id is None)

    def introspect_token(self, token):
        s = get_settings()
        if isinstance(token, Refresh):
            r = token.row
            return {"active": True, "token_type": "refresh_token", "client_id": r.client_id, "scope": r.scope,
                    "sub": str(r.user_id) if r.user_id else r.client_id, "exp": int(r.expires_at.timestamp()),
                    "iat": int(r.created_at.timestamp()), "iss": s.issuer, "tid": str(r.tenant_id)}
        c = token.claims.raw
        out = {"active": True, "token_type": "Bearer", "client_id": c.get("client_id"), "scope": c.get("scope", ""),
               "sub": c["sub"], "exp": c["exp"], "iat": c.get("iat"), "nbf": c.get("nbf"), "iss": c["iss"],
               "aud": c["aud"], "jti": c["jti"], "tid": c["tid"]}
        return {k: v for k, v in out.items() if v is not None}


class HuifangAuthorizationServer(AuthorizationServer):
    def query_client(self, client_id):
        return CTX.get().clients.get(client_id)

    def save_token(self, token, request):
        pass  # generate_token records the refresh token; access tokens are stateless JWTs

    def create_oauth2_request(self, request):
        if isinstance(request, OAuth2Request):
            return request
        raise TypeError("pass a StarletteOAuth2Request")

    def create_json_request(self, request):
        raise TypeError("dynamic client registration is not offered")

    def handle_error_response(self, request, error):
        # authlib's default lists the authentication methods it tried; say what went wrong
        if isinstance(error, InvalidClientError) and (error.description or "").startswith("The client cannot authenticate"):
            error.description = INVALID_CLIENT
        elif error.error == "invalid_grant" and not error.description:
            error.description = "The grant is invalid, expired or revoked, or was issued to another client."
        return super().handle_error_response(request, error)

    def handle_response(self, status, body, headers):
        headers = dict(headers)
        if isinstance(body, dict):
            return JSONResponse(body, status_code=status, headers=headers)
        return Response(body, status_code=status, headers=headers)

    def send_signal(self, name, *args, **kwargs):
        pass


server = HuifangAuthorizationServer(scopes_supported=SCOPES)
server.register_token_generator("default", generate_token)
server.register_grant(AuthorizationCodeGrant, [S256Only(required=True)])
server.register_grant(ClientCredentialsGrant)
server.register_grant(RefreshTokenGrant)
server.register_endpoint(Revocation)
server.register_endpoint(Introspection)
