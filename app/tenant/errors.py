"""Business errors of brands, dealers and staff (GraphQL: TenantErrorCode)."""
from __future__ import annotations

from app.core.errors import Conflict, ValidationFailed


class InvalidTimeZone(ValidationFailed):
    code = "INVALID_TIME_ZONE"
    message = "Not a canonical IANA time zone name."


class InvalidEmail(ValidationFailed):
    code = "INVALID_EMAIL"
    message = "Not an e-mail address."


class RoleRequired(ValidationFailed):
    code = "ROLE_REQUIRED"
    message = "A user needs at least one role."


class DuplicateRole(ValidationFailed):
    code = "DUPLICATE_ROLE"
    message = "A role is given twice."


class RoleExceedsCaller(ValidationFailed):
    code = "ROLE_EXCEEDS_CALLER"
    message = "You cannot grant a role with permissions you do not hold."


class RegionsRequired(ValidationFailed):
    code = "REGIONS_REQUIRED"
    message = "A regional manager needs at least one region."


class SelfLockout(ValidationFailed):
    code = "SELF_LOCKOUT"
    message = "You cannot deactivate yourself or drop your own admin role."


class CodeTaken(Conflict):
    code = "CODE_TAKEN"
    message = "A dealer with this code already exists."


class EmailTaken(Conflict):
    code = "EMAIL_TAKEN"
    message = "A user with this e-mail already exists."


class SlugTaken(Conflict):
    code = "SLUG_TAKEN"
    message = "A brand with this slug already exists."
