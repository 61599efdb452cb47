"""Secrets: opaque credentials that carry their tenant, hashing and constant-time checks.

Client secrets, refresh tokens and authorization codes are 256-bit random values: a SHA-256
digest is enough to store them (no slow hash needed), and comparisons are constant-time.
Passwords are people's: scrypt with a per-password salt."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid

PREFIX_CLIENT = "hfc"
PREFIX_SECRET = "hfs"
PREFIX_REFRESH = "hfr"
PREFIX_CODE = "hfa"


def new_client_id(tenant_id: uuid.UUID) -> str:
    return f"{PREFIX_CLIENT}_{tenant_id.hex}_{secrets.token_hex(6)}"


def new_tenant_token(prefix: str, tenant_id: uuid.UUID, nbytes: int = 32) -> str:
    return f"{prefix}_{tenant_id.hex}_{secrets.token_urlsafe(nbytes)}"


def new_client_secret() -> str:
    return f"{PREFIX_SECRET}_{secrets.token_urlsafe(32)}"


def tenant_of(value: str | None, prefix: str) -> uuid.UUID | None:
    """The tenant encoded in a client id, refresh token or code; None if malformed."""
    if not value or not isinstance(value, str) or len(value) > 200:
        return None
    head, _, rest = value.partition("_")
    if head != prefix or len(rest) < 33 or rest[32] != "_":
        return None
    try:
        return uuid.UUID(hex=rest[:32])
    except ValueError:
        return None


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def matches(value: str, stored_digest: str | None) -> bool:
    if not stored_digest or not isinstance(value, str):
        return False
    return hmac.compare_digest(digest(value), stored_digest)


_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    key = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(key).decode()


def verify_password(password: str, stored: str | None) -> bool:
    """Constant-time; runs the full KDF even when there is no stored hash (no user enumeration
    by timing)."""
    try:
        _, salt_b64, key_b64 = (stored or "scrypt$AAAAAAAAAAAAAAAAAAAAAA==$").split("$")
        salt, key = base64.b64decode(salt_b64), base64.b64decode(key_b64)
    except ValueError:
        salt, key = b"\0" * 16, b""
    candidate = hashlib.scrypt(password.encode()[:1024], salt=salt, **_SCRYPT)
    return bool(stored) and hmac.compare_digest(candidate, key)
