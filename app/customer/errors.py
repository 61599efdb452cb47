"""Business errors of customer archives (GraphQL: CustomerErrorCode)."""
from __future__ import annotations

from app.core.errors import Conflict, ValidationFailed


class TooLong(ValidationFailed):
    code = "TOO_LONG"
    message = "The value is too long."


class OutOfRange(ValidationFailed):
    code = "OUT_OF_RANGE"
    message = "The value is out of range."


class InvalidPhone(ValidationFailed):
    code = "INVALID_PHONE"
    message = "Not a valid phone number."


class InvalidEmail(ValidationFailed):
    code = "INVALID_EMAIL"
    message = "Not an e-mail address."


class InvalidImId(ValidationFailed):
    code = "INVALID_IM_ID"
    message = "Not a valid messaging id."


class InvalidChannel(ValidationFailed):
    code = "INVALID_CHANNEL"
    message = "Unknown channel."


class TooManyContactPoints(ValidationFailed):
    code = "TOO_MANY_CONTACT_POINTS"
    message = "Too many contact points."


class DealerRequired(ValidationFailed):
    code = "DEALER_REQUIRED"
    message = "Dealer staff must name their dealer."


class CustomerClosed(ValidationFailed):
    code = "CUSTOMER_CLOSED"
    message = "This customer was erased or merged and cannot change."


class ExternalIdTaken(ValidationFailed):
    code = "EXTERNAL_ID_TAKEN"
    message = "This external reference is taken."


class SameCustomer(ValidationFailed):
    code = "SAME_CUSTOMER"
    message = "A customer cannot be merged into itself."


class AlreadyResolved(Conflict):
    code = "ALREADY_RESOLVED"
    message = "This promise is already resolved."


class LostTypeRequired(ValidationFailed):
    code = "LOST_TYPE_REQUIRED"
    message = "A lost customer needs one of the six lost-customer types."


class InvalidPolicy(ValidationFailed):
    code = "INVALID_POLICY"
    message = "The tier policy is invalid."
