"""Signing keys for access tokens (JWKS with private keys).

Source, in order: `JWT_KEYS` (inline JWKS JSON), `JWT_KEYS_FILE`, or (development and test only)
`<DATA_DIR>/jwks.json`, generated on first use. The first key signs; every key verifies and is
published, so a rotation is: put a new key first, keep the old one until its tokens expired."""
from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

from joserfc import jwk

from app.core.ids import uuid7
from app.settings import Settings, get_settings


class KeyRing:
    def __init__(self, keyset: jwk.KeySet):
        if not keyset.keys:
            raise ValueError("the JWKS holds no keys")
        for key in keyset.keys:
            if key.kid is None:
                raise ValueError("every signing key needs a kid")
            if not key.is_private:
                raise ValueError(f"key {key.kid} has no private part")
        self.keyset = keyset
        self.signing_key = keyset.keys[0]
        self.public_jwks = keyset.as_dict(private=False)

    @property
    def kid(self) -> str:
        return self.signing_key.kid  # type: ignore[return-value]

    @classmethod
    def from_json(cls, data: str | dict) -> "KeyRing":
        obj = json.loads(data) if isinstance(data, str) else data
        return cls(jwk.KeySet.import_key_set(obj))


def generate_key() -> dict:
    key = jwk.RSAKey.generate_key(2048, parameters={"kid": uuid7().hex[:16], "use": "sig", "alg": "RS256"}, private=True)
    return key.as_dict(private=True)


def write_new_keyfile(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"keys": [generate_key()]}))
    os.chmod(tmp, 0o600)
    tmp.replace(path)


def load_keyring(settings: Settings) -> KeyRing:
    if settings.jwt_keys:
        return KeyRing.from_json(settings.jwt_keys)
    path = settings.jwt_keys_file
    if path is None:
        if settings.env == "production":
            raise RuntimeError("JWT_KEYS or JWT_KEYS_FILE must be set in production")
        path = settings.data_dir / "jwks.json"
    path = Path(path)
    if not path.exists():
        if settings.env == "production":
            raise RuntimeError(f"JWT_KEYS_FILE {path} does not exist")
        write_new_keyfile(path)
    return KeyRing.from_json(Path(path).read_text())


@lru_cache
def keyring() -> KeyRing:
    return load_keyring(get_settings())
