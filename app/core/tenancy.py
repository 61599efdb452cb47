"""The actor (who is calling) and the scope (what they may see). Wall one of isolation.

`Scope` can only be produced by `scope_for(actor)`: every repository function takes a Scope as
its first argument, so a query without a tenant cannot be written by accident."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from app.core.errors import PermissionDenied
from app.core.permissions import BRAND_WIDE_PERMS, Perm, Role, parse_scope_string, perms_for_roles


@dataclass(frozen=True, slots=True)
class Membership:
    role: Role
    dealer_id: uuid.UUID | None = None
    regions: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Actor:
    """A user (token `sub` = user id) or, later, an OAuth client acting for itself."""

    kind: str  # "user" | "app" | "system"
    tenant_id: uuid.UUID
    user_id: uuid.UUID | None = None
    client_id: str | None = None
    memberships: tuple[Membership, ...] = ()
    # scopes granted to the token; None = not restricted (first-party user token)
    token_scopes: frozenset[Perm] | None = None
    # app actors: an optional dealer restriction
    app_dealer_id: uuid.UUID | None = None
    app_perms: frozenset[Perm] = frozenset()
    # what the actor may do, worked out once (a page asks for each row's fields: `Scope.can`)
    perms: frozenset[Perm] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind == "system":
            perms = frozenset(Perm)
        else:
            base = perms_for_roles(self.roles) if self.kind == "user" else self.app_perms
            perms = base if self.token_scopes is None else base & self.token_scopes
        object.__setattr__(self, "perms", perms)

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(m.role for m in self.memberships)

    @property
    def label(self) -> str:
        if self.kind == "user":
            return f"user:{self.user_id}"
        if self.kind == "app":
            return f"app:{self.client_id}"
        return "system"

    @classmethod
    def system(cls, tenant_id: uuid.UUID) -> "Actor":
        """Workers and operator commands act for the tenant as a whole."""
        return cls(kind="system", tenant_id=tenant_id)

    @classmethod
    def user(cls, tenant_id, user_id, memberships, scope: str | None = None, *, client_id: str | None = None,
             app_dealer_id: uuid.UUID | None = None) -> "Actor":
        return cls(
            kind="user", tenant_id=tenant_id, user_id=user_id, client_id=client_id,
            memberships=tuple(memberships), token_scopes=parse_scope_string(scope), app_dealer_id=app_dealer_id,
        )

    @classmethod
    def app(cls, tenant_id, client_id: str, app_scopes, scope: str | None, dealer_id: uuid.UUID | None) -> "Actor":
        return cls(
            kind="app", tenant_id=tenant_id, client_id=client_id, token_scopes=parse_scope_string(scope),
            app_perms=frozenset(Perm(s) for s in app_scopes if s in {p.value for p in Perm}), app_dealer_id=dealer_id,
        )


_SCOPE_KEY = object()


@dataclass(frozen=True, slots=True)
class Scope:
    tenant_id: uuid.UUID
    actor: Actor
    # None = every dealer of the brand; otherwise the union of these dealers and regions
    dealer_ids: frozenset[uuid.UUID] | None = None
    regions: frozenset[str] = frozenset()
    _key: object = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self._key is not _SCOPE_KEY:
            raise RuntimeError("Scope can only be created by app.core.tenancy.scope_for()")

    @property
    def all_dealers(self) -> bool:
        return self.dealer_ids is None

    def can(self, perm: Perm) -> bool:
        """The actor holds `perm` and, for a brand-wide one (BRAND_WIDE_PERMS: administration),
        sees every dealer of the brand. The one place this rule is applied."""
        return perm in self.actor.perms and (self.all_dealers or perm not in BRAND_WIDE_PERMS)

    def require(self, perm: Perm) -> None:
        if self.can(perm):
            return
        if perm in self.actor.perms:  # held, but brand-wide and this caller is bound to dealers
            raise PermissionDenied("Brand administration is not available to callers bound to a dealer.",
                                   extensions={"missingScope": perm.value})
        raise PermissionDenied(
            f"Missing permission: this needs the '{perm.value}' scope.",
            extensions={"missingScope": perm.value},
        )

    def may_see_dealer(self, dealer_id: uuid.UUID, region: str | None) -> bool:
        if self.dealer_ids is None:
            return True
        return dealer_id in self.dealer_ids or (region is not None and region in self.regions)


def scope_for(actor: Actor) -> Scope:
    """The one function that turns an authenticated actor into a data scope."""
    if actor.kind == "system":
        return Scope(actor.tenant_id, actor, None, frozenset(), _SCOPE_KEY)
    if actor.kind == "app":
        dealers = None if actor.app_dealer_id is None else frozenset({actor.app_dealer_id})
        return Scope(actor.tenant_id, actor, dealers, frozenset(), _SCOPE_KEY)
    if any(m.role.is_brand_wide for m in actor.memberships):
        dealer_ids, regions = None, frozenset()
    else:
        dealer_ids = frozenset(m.dealer_id for m in actor.memberships if m.role.is_dealer_role and m.dealer_id)
        regions = frozenset()
        for m in actor.memberships:
            if m.role is Role.REGIONAL_MANAGER:
                regions |= m.regions
    if actor.app_dealer_id is not None:
        # a user acting through a dealer-restricted app: that dealer, if the user may see it
        # (regional managers get it only through their dealer memberships: conservative)
        allowed = {actor.app_dealer_id} if dealer_ids is None else dealer_ids & {actor.app_dealer_id}
        dealer_ids, regions = frozenset(allowed), frozenset()
    return Scope(actor.tenant_id, actor, dealer_ids, regions, _SCOPE_KEY)


def dealer_visibility_sql(scope: Scope, params: list, column: str = "dealer_id") -> str:
    """The SQL condition (appended with AND) limiting rows whose `column` names a dealer to the
    dealers the scope may see: its dealers, or dealers in its regions (a subquery on dealer, `$1`
    being the tenant id); nothing for a brand-wide scope. Rows with no dealer are brand-only."""
    if scope.all_dealers:
        return ""
    params.append(list(scope.dealer_ids or ()))
    params.append(list(scope.regions))
    a, b = len(params) - 1, len(params)
    return (f" AND ({column} = ANY(${a}::uuid[]) OR {column} IN "
            f"(SELECT d.id FROM dealer d WHERE d.tenant_id = $1 AND d.region = ANY(${b}::text[])))")
