"""Tenancy rules: who may manage dealers, what a valid dealer is, brand provisioning."""
from __future__ import annotations

import re
import uuid
from functools import lru_cache
from zoneinfo import available_timezones

from app.audit import service as audit
from app.core import clock, events, jobs
from app.core.errors import AppError, InputErrors, NotFound, ValidationFailed
from app.core.permissions import ROLE_PERMS, Perm, Role
from app.core.tenancy import Membership as MembershipGrant
from app.core.tenancy import Scope
from app.tenant import errors as err
from app.tenant import repository as repo
from app.tenant.models import Dealer

CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")
RECOUNT_JOB = "tenant.recount_dealer_customers"


# IANA's geographic areas: canonical zone names are Area/Location (zone1970.tab), plus UTC.
# Everything else zoneinfo can load is refused: `localtime` and `Factory` (not zones), the
# `posix/` and `right/` copies, `Etc/GMT+5` style offsets (sign inverted, no DST), and bare or
# country-style legacy aliases (`PRC`, `EST5EDT`, `US/Eastern`, `GB`).
ZONE_AREAS = frozenset({"Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe", "Indian",
                        "Pacific"})


@lru_cache
def _zones() -> frozenset[str]:
    return frozenset(z for z in available_timezones() if z == "UTC" or z.split("/", 1)[0] in ZONE_AREAS)


def _check_dealer_fields(values: dict) -> None:
    errors: list[AppError] = []
    if "code" in values and not CODE_RE.match(values["code"] or ""):
        errors.append(ValidationFailed("Code: 1-32 letters, digits, '.', '_' or '-'.", field="code"))
    for name, limit in (("name", 200), ("region", 64), ("city", 100)):
        if name in values and values[name] is not None:
            v = values[name].strip()
            values[name] = v
            if not v or len(v) > limit:
                errors.append(ValidationFailed(f"{name.capitalize()} must be 1-{limit} characters.", field=name))
    if "time_zone" in values and values["time_zone"] not in _zones():
        errors.append(err.InvalidTimeZone("Not a canonical IANA time zone: use Area/Location, e.g. Asia/Shanghai, or UTC.",
                                       field="timeZone"))
    if errors:
        raise InputErrors(errors)


async def create_dealer(scope: Scope, *, code: str, name: str, region: str, time_zone: str = "Asia/Shanghai", city: str | None = None) -> Dealer:
    scope.require(Perm.ADMIN)
    values = {"code": code, "name": name, "region": region, "time_zone": time_zone, "city": city}
    _check_dealer_fields(values)
    return await repo.create_dealer(scope, **values)


async def get_dealer(scope: Scope, dealer_id: uuid.UUID):
    dealer = (await repo.dealers_by_ids(scope, [dealer_id])).get(dealer_id)
    if dealer is None:
        raise NotFound("No such dealer.", field="id")
    return dealer


async def update_dealer(scope: Scope, dealer_id: uuid.UUID, **changes) -> Dealer:
    scope.require(Perm.ADMIN)
    dealer = await repo.dealer_for_update(scope, dealer_id)
    if dealer is None:
        raise NotFound("No such dealer.", field="id")
    changes = {k: v for k, v in changes.items() if v is not None}
    _check_dealer_fields(changes)
    for k, v in changes.items():
        setattr(dealer, k, v)
    if changes:
        await repo.save_dealer(scope, dealer, list(changes))
    return dealer


async def request_customer_recount(scope: Scope, dealer_id: uuid.UUID) -> Dealer:
    """Queue the recount; the job runs after this transaction commits. Duplicate requests
    for the same dealer collapse into one queued job."""
    scope.require(Perm.ADMIN)
    dealer = await get_dealer(scope, dealer_id)
    jobs.enqueue(RECOUNT_JOB, scope.tenant_id, dealer.id, job_id=f"recount:{scope.tenant_id}:{dealer.id}")
    return dealer


async def recount_dealer_customers(scope: Scope, dealer_id: str) -> int | None:
    return await repo.recount_customers(scope, uuid.UUID(dealer_id))



# ---- staff accounts ------------------------------------------------------------------------

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{2,}$")


def _exceeding(scope: Scope, roles) -> list[str]:
    """The permissions these roles bring that the caller does not hold (for a token narrowed to
    `admin`, or an app holding `admin`, that is nearly everything)."""
    missing: set[Perm] = set()
    for role in roles:
        missing |= ROLE_PERMS[role] - scope.actor.perms
    return sorted(p.value for p in missing)


async def _check_grants(scope: Scope, grants: list[MembershipGrant]) -> list[MembershipGrant]:
    if not grants:
        raise err.RoleRequired("A user needs at least one role.", field="memberships")
    seen, out = set(), []
    for g in grants:
        if g.role in seen:
            raise err.DuplicateRole(f"Role {g.role.value} is given twice.", field="memberships")
        seen.add(g.role)
        if missing := _exceeding(scope, [g.role]):
            # like partnerAppCreate's SCOPE_EXCEEDS_CALLER: nobody hands out rights they lack
            raise err.RoleExceedsCaller(f"You cannot grant {g.role.value}: it brings permissions you do not hold "
                                   f"({', '.join(missing)}).", field="memberships")
        if g.role.is_dealer_role:
            if g.dealer_id is None or not (await repo.dealers_by_ids(scope, [g.dealer_id])):
                raise NotFound("Dealer roles need an existing dealer.", field="memberships")
            if g.regions:
                raise ValidationFailed("Dealer roles take no regions.", field="memberships")
        elif g.dealer_id is not None:
            raise ValidationFailed(f"{g.role.value} is not bound to a dealer.", field="memberships")
        if g.role is Role.REGIONAL_MANAGER and not g.regions:
            raise err.RegionsRequired("A regional manager needs at least one region.", field="memberships")
        if g.role is not Role.REGIONAL_MANAGER and g.regions:
            raise ValidationFailed("Only regional managers have regions.", field="memberships")
        out.append(g)
    return out


async def create_user(scope: Scope, *, email: str, display_name: str, grants: list[MembershipGrant]):
    scope.require(Perm.ADMIN)
    email = (email or "").strip().lower()
    display_name = (display_name or "").strip()
    errors: list[AppError] = []
    if not EMAIL_RE.match(email) or len(email) > 254:
        errors.append(err.InvalidEmail("Not an e-mail address.", field="email"))
    if not 1 <= len(display_name) <= 200:
        errors.append(ValidationFailed("Display name must be 1-200 characters.", field="displayName"))
    if errors:
        raise InputErrors(errors)
    grants = await _check_grants(scope, grants)
    user = await repo.create_user(scope, email=email, display_name=display_name)
    await repo.replace_memberships(scope, user.id, grants)
    await audit.record(scope, "user.created", target_type="User", target_id=str(user.id),
                       details={"roles": [g.role.value for g in grants]})
    return user


async def update_user(scope: Scope, user_id: uuid.UUID, *, display_name: str | None = None, is_active: bool | None = None,
                      grants: list[MembershipGrant] | None = None):
    scope.require(Perm.ADMIN)
    user = await repo.user_for_update(scope, user_id)
    if user is None:
        raise NotFound("No such user.", field="id")
    if user.id == scope.actor.user_id and (is_active is False or (grants is not None and Role.BRAND_ADMIN not in {g.role for g in grants})):
        raise err.SelfLockout("You cannot deactivate yourself or drop your own admin role.", field="id")
    if grants is not None:
        grants = await _check_grants(scope, grants)
    if is_active is not None or grants is not None:
        # changing someone's roles or access needs every right they hold (a token narrowed to
        # `admin` cannot demote or lock out a full brand admin)
        current = (await repo.memberships_of_users(scope, [user.id])).get(user.id, [])
        if missing := _exceeding(scope, [g.role for g in current]):
            raise err.RoleExceedsCaller(f"This user holds permissions you do not hold ({', '.join(missing)}).",
                                   field="id")
    changed = []
    if display_name is not None:
        display_name = display_name.strip()
        if not 1 <= len(display_name) <= 200:
            raise ValidationFailed("Display name must be 1-200 characters.", field="displayName")
        user.display_name = display_name
        changed.append("display_name")
    deactivated = is_active is False and user.is_active
    if is_active is not None:
        user.is_active = is_active  # a deactivated user's tokens stop working at once
        changed.append("is_active")
    if deactivated:
        # ... and for good: access tokens issued until now stay refused after a reactivation,
        # and every refresh token is revoked
        user.tokens_valid_after = clock.now()
        changed.append("tokens_valid_after")
    if changed:
        await repo.save_user(scope, user, changed)
    if deactivated:  # other modules act on it (app/oauth/events.py revokes the refresh tokens)
        await events.record(scope, "tenant.user_deactivated", subject_type="User", subject_id=user.id)
    if grants is not None:
        await repo.replace_memberships(scope, user.id, grants)
    await audit.record(scope, "user.updated", target_type="User", target_id=str(user.id),
                       details={"fields": changed, "roles": [g.role.value for g in grants] if grants is not None else None})
    return user


# --- published for other modules: they call these, never this module's repository ---------

async def get_brand(scope: Scope):
    """The caller's brand (BrandRow), or None."""
    return await repo.get_brand(scope)


async def dealers_by_ids(scope: Scope, ids) -> dict:
    """The dealers among `ids` the caller may see (DealerRow by id)."""
    return await repo.dealers_by_ids(scope, ids)


async def dealer_ids_by_code(scope: Scope) -> dict[str, uuid.UUID]:
    """Every dealer of the brand: code -> id (imports resolve dealer codes with it)."""
    return await repo.dealer_ids_by_code(scope)


async def works_at(scope: Scope, user_id: uuid.UUID, dealer_id: uuid.UUID) -> bool:
    """The user is active staff (dealer manager or agent) of that dealer, which the caller may see."""
    if not await repo.dealers_by_ids(scope, [dealer_id]):
        return False
    return await repo.is_dealer_staff(scope, user_id, dealer_id)


async def dealer_staff(scope: Scope, dealer_id: uuid.UUID) -> list[uuid.UUID]:
    """The active managers and agents of a dealer (user ids); for notifying them."""
    return await repo.dealer_staff_ids(scope, dealer_id)
