"""Business errors of partner apps (GraphQL: OAuthErrorCode). The OAuth endpoints' own errors
(RFC 6749 `error` values) are authlib's."""
from __future__ import annotations

from app.core.errors import ValidationFailed


class InvalidGrantTypes(ValidationFailed):
    code = "INVALID_GRANT_TYPES"
    message = "The grant types are invalid."


class InvalidRedirectUri(ValidationFailed):
    code = "INVALID_REDIRECT_URI"
    message = "The redirect URI is invalid."


class InvalidScope(ValidationFailed):
    code = "INVALID_SCOPE"
    message = "Unknown or empty scopes."


class ScopeExceedsCaller(ValidationFailed):
    code = "SCOPE_EXCEEDS_CALLER"
    message = "An app cannot get permissions you do not hold."


class NoSecret(ValidationFailed):
    code = "NO_SECRET"
    message = "Public clients have no secret."
