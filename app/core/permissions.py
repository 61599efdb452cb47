"""Roles, OAuth scopes and how they map. One table, read by services and the GraphQL layer.

A user's rights are the union of their roles' scopes; an OAuth token's rights are its granted
scopes intersected with those (a token never exceeds its user's rights)."""
from __future__ import annotations

from enum import Enum


class Role(str, Enum):
    BRAND_ADMIN = "brand_admin"
    BRAND_ANALYST = "brand_analyst"
    REGIONAL_MANAGER = "regional_manager"
    DEALER_MANAGER = "dealer_manager"
    DEALER_AGENT = "dealer_agent"

    @property
    def is_dealer_role(self) -> bool:
        return self in (Role.DEALER_MANAGER, Role.DEALER_AGENT)

    @property
    def is_brand_wide(self) -> bool:
        return self in (Role.BRAND_ADMIN, Role.BRAND_ANALYST)


class Perm(str, Enum):
    CUSTOMERS_READ = "customers:read"
    CUSTOMERS_WRITE = "customers:write"
    CUSTOMERS_PII = "customers:pii"
    TICKETS_READ = "tickets:read"
    TICKETS_WRITE = "tickets:write"
    SURVEYS_WRITE = "surveys:write"
    SCORES_READ = "scores:read"
    INCENTIVES_READ = "incentives:read"
    INCENTIVES_WRITE = "incentives:write"
    ADMIN = "admin"


ALL_PERMS = frozenset(Perm)

# permissions only a caller seeing every dealer of the brand may use: administration is
# brand-wide, so a caller bound to a dealer (a dealer-restricted app, a user through one, dealer
# staff) cannot administer the brand even holding the scope. Applied by app.core.tenancy.Scope.can
# (and so Scope.require and the GraphQL field permissions), nowhere else.
BRAND_WIDE_PERMS: frozenset[Perm] = frozenset({Perm.ADMIN})

ROLE_PERMS: dict[Role, frozenset[Perm]] = {
    Role.BRAND_ADMIN: ALL_PERMS,
    Role.BRAND_ANALYST: frozenset(
        {Perm.CUSTOMERS_READ, Perm.TICKETS_READ, Perm.SCORES_READ, Perm.INCENTIVES_READ}
    ),
    Role.REGIONAL_MANAGER: frozenset(
        {
            Perm.CUSTOMERS_READ, Perm.CUSTOMERS_WRITE, Perm.CUSTOMERS_PII,
            Perm.TICKETS_READ, Perm.TICKETS_WRITE, Perm.SCORES_READ, Perm.INCENTIVES_READ,
        }
    ),
    Role.DEALER_MANAGER: frozenset(
        {
            Perm.CUSTOMERS_READ, Perm.CUSTOMERS_WRITE, Perm.CUSTOMERS_PII,
            Perm.TICKETS_READ, Perm.TICKETS_WRITE, Perm.SCORES_READ, Perm.INCENTIVES_READ,
        }
    ),
    Role.DEALER_AGENT: frozenset(
        {Perm.CUSTOMERS_READ, Perm.CUSTOMERS_WRITE, Perm.CUSTOMERS_PII, Perm.TICKETS_READ, Perm.TICKETS_WRITE}
    ),
}


def perms_for_roles(roles) -> frozenset[Perm]:
    out: set[Perm] = set()
    for role in roles:
        out |= ROLE_PERMS[Role(role)]
    return frozenset(out)


def parse_scope_string(scope: str | None) -> frozenset[Perm] | None:
    """`None` means the token carries no scope restriction (first-party user token)."""
    if scope is None:
        return None
    known = {p.value for p in Perm}
    return frozenset(Perm(s) for s in scope.split() if s in known)
