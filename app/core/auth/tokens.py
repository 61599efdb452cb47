"""The resource server: mint and verify JWT access tokens (RFC 9068 profile).

One module, reused by the OAuth authorization server. Verification is local (no database):
signature with a known `kid`, `typ: at+jwt`, RS256 only (`alg: none` and HMAC are refused),
issuer, audience, expiry and not-before with a small leeway, and the tenant claim."""
from __future__ import annotations

import uuid
from collections import OrderedDict
from dataclasses import dataclass

from joserfc import errors as jose_errors
from joserfc import jwt

from app.core import clock
from app.core.auth.keys import KeyRing, keyring
from app.core.errors import AppError
from app.core.ids import uuid7
from app.settings import get_settings

ALGORITHMS = ["RS256"]
MAX_TOKEN_BYTES = 8192
TENANT_CLAIM = "tid"


class InvalidToken(AppError):
    code = "INVALID_TOKEN"
    message = "The access token is invalid."


@dataclass(frozen=True, slots=True)
class AccessClaims:
    subject: str
    tenant_id: uuid.UUID
    scope: str | None
    client_id: str | None
    jti: str
    expires_at: int
    raw: dict


def mint_access_token(
    *,
    tenant_id: uuid.UUID,
    subject: str,
    scope: str | None = None,
    client_id: str | None = None,
    ttl_seconds: int | None = None,
    extra: dict | None = None,
    ring: KeyRing | None = None,
    now: int | None = None,
    jti: str | None = None,
) -> str:
    settings = get_settings()
    ring = ring or keyring()
    iat = clock.timestamp() if now is None else now
    claims = {
        "iss": settings.issuer,
        "aud": settings.jwt_audience,
        "sub": subject,
        "iat": iat,
        "nbf": iat,
        "exp": iat + (ttl_seconds or settings.access_token_ttl_seconds),
        "jti": jti or uuid7().hex,
        TENANT_CLAIM: str(tenant_id),
        "client_id": client_id or "huifang-cli",
    }
    if scope is not None:
        claims["scope"] = scope
    if extra:
        claims.update(extra)
    header = {"alg": "RS256", "kid": ring.kid, "typ": "at+jwt"}
    return jwt.encode(header, claims, ring.signing_key)


_VERIFIED: "OrderedDict[tuple[str, int], AccessClaims]" = OrderedDict()
_VERIFIED_MAX = 10_000


def verify_access_token(token: str, *, ring: KeyRing | None = None) -> AccessClaims:
    """Verified tokens are remembered until they expire (keyed by the whole token and the key
    ring): a client sends the same token for many requests, and the signature check is the
    most expensive part. Revocation is checked per request in the database, not here."""
    key = (token, id(ring or keyring()))
    hit = _VERIFIED.get(key)
    if hit is not None:
        if hit.expires_at + get_settings().clock_skew_seconds > clock.timestamp():
            return hit
        _VERIFIED.pop(key, None)
    claims = _verify(token, ring=ring)
    _VERIFIED[key] = claims
    if len(_VERIFIED) > _VERIFIED_MAX:
        _VERIFIED.popitem(last=False)
    return claims


def _verify(token: str, *, ring: KeyRing | None = None) -> AccessClaims:
    settings = get_settings()
    ring = ring or keyring()
    if not token or len(token) > MAX_TOKEN_BYTES:
        raise InvalidToken("The access token is missing or too long.")
    try:
        decoded = jwt.decode(token, ring.keyset, algorithms=ALGORITHMS)
    except jose_errors.InvalidKeyIdError:
        raise InvalidToken("The access token was signed with an unknown key.") from None
    except jose_errors.BadSignatureError:
        raise InvalidToken("The access token signature is invalid.") from None
    except (jose_errors.JoseError, ValueError, TypeError, KeyError):
        raise InvalidToken("The access token is malformed or uses a disallowed algorithm.") from None
    if decoded.header.get("typ", "").lower() not in ("at+jwt", "application/at+jwt"):
        raise InvalidToken("The token is not an access token (typ must be at+jwt).")
    registry = jwt.JWTClaimsRegistry(
        now=clock.timestamp,
        leeway=settings.clock_skew_seconds,
        iss={"essential": True, "value": settings.issuer},
        aud={"essential": True, "value": settings.jwt_audience},
        sub={"essential": True},
        exp={"essential": True},
        jti={"essential": True},
        **{TENANT_CLAIM: {"essential": True}},
    )
    try:
        registry.validate(decoded.claims)
    except jose_errors.ExpiredTokenError:
        raise InvalidToken("The access token has expired.") from None
    except jose_errors.MissingClaimError as e:
        raise InvalidToken(f"The access token lacks a required claim ({getattr(e, 'claim', '?')}).") from None
    except jose_errors.InvalidClaimError as e:
        if getattr(e, "claim", None) == "nbf":
            raise InvalidToken("The access token is not valid yet.") from None
        raise InvalidToken(f"The access token has a wrong '{getattr(e, 'claim', '?')}' claim.") from None
    except jose_errors.JoseError:
        raise InvalidToken() from None
    claims = decoded.claims
    try:
        tenant_id = uuid.UUID(str(claims[TENANT_CLAIM]))
    except ValueError:
        raise InvalidToken("The access token has a malformed tenant claim.") from None
    scope = claims.get("scope")
    return AccessClaims(
        subject=str(claims["sub"]),
        tenant_id=tenant_id,
        scope=scope if isinstance(scope, str) else None,
        client_id=claims.get("client_id"),
        jti=str(claims["jti"]),
        expires_at=int(claims["exp"]),
        raw=claims,
    )
