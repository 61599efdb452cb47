"""Bearer authentication of a request (RFC 6750), the one copy every endpoint taking an access
token uses (`/graphql`, `/imports/customers`).

`bearer_claims(header)` parses the `Authorization` header and verifies the token (no database);
the caller then loads the actor inside its tenant transaction (`app.oauth.resource.caller`).
Every failure is a `BearerError`: 401, code UNAUTHENTICATED, and a `WWW-Authenticate` challenge
(`.headers`). Each endpoint renders the body in its own envelope.

- no `Authorization` header: no `error` in the challenge (RFC 6750 §3.1: no credentials sent);
- not exactly `Bearer <token>` (scheme in any case, one or more spaces, one token, nothing
  after it): `error="invalid_request"`;
- a token that fails verification, or whose user or app is refused: `error="invalid_token"`,
  with the reason as `error_description`."""
from __future__ import annotations

import re

from app.core.auth.tokens import AccessClaims, InvalidToken, verify_access_token
from app.core.errors import AppError, Unauthenticated

REALM = "huifang"
MISSING = "Authentication required: send 'Authorization: Bearer <token>'."
MALFORMED = "The Authorization header must be 'Bearer <token>'."


def challenge(error: str | None = None, description: str | None = None) -> str:
    """The `WWW-Authenticate` value. A description keeps to the characters RFC 6750 allows in a
    quoted error_description (printable ASCII without '"' and '\\')."""
    value = f'Bearer realm="{REALM}"'
    if error:
        value += f', error="{error}"'
        if description:
            safe = "".join(ch if " " <= ch <= "~" and ch not in '"\\' else "?" for ch in description)
            value += f', error_description="{safe}"'
    return value


class BearerError(Unauthenticated):
    """A refused bearer authentication; `error` is the RFC 6750 error code (None: no credentials)."""

    def __init__(self, message: str, error: str | None = "invalid_token") -> None:
        super().__init__(message)
        self.error = error

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": challenge(self.error, self.message)}

    @classmethod
    def of(cls, e: AppError) -> "BearerError":
        """An Unauthenticated (or InvalidToken) raised after parsing, e.g. by the actor loader,
        as an invalid_token refusal."""
        return e if isinstance(e, BearerError) else cls(e.message)


_SPACE = re.compile(r"\s")  # str.isspace()'s characters (re uses the same Unicode table), in C


def bearer_token(header: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header value."""
    if not header:
        raise BearerError(MISSING, error=None)
    scheme, _, rest = header.partition(" ")
    token = rest.strip()
    if scheme.lower() != "bearer" or not token or _SPACE.search(token):
        raise BearerError(MALFORMED, error="invalid_request")
    return token


def bearer_claims(header: str | None) -> AccessClaims:
    """Parse and verify: the claims of a valid access token, else BearerError."""
    token = bearer_token(header)
    try:
        return verify_access_token(token)
    except InvalidToken as e:
        raise BearerError(e.message) from None
