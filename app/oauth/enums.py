"""The OAuth module's enumerations: the one list of each set of values (stored as their values,
exposed to GraphQL by schema/oauth as they are)."""
from __future__ import annotations

from enum import StrEnum


class ClientType(StrEnum):
    CONFIDENTIAL = "confidential"
    PUBLIC = "public"


class GrantType(StrEnum):
    CLIENT_CREDENTIALS = "client_credentials"
    AUTHORIZATION_CODE = "authorization_code"
    REFRESH_TOKEN = "refresh_token"


class PartnerAppStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"
