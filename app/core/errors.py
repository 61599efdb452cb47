"""Errors of the platform, shared by every module. Each class carries a stable code; the GraphQL
layer maps them, never masks them. A module declares its own business errors in
`app/<domain>/errors.py` as subclasses of these (each with its code): schema.errors turns them
into that domain's `<Domain>ErrorCode` enum of mutation payloads."""
from __future__ import annotations


class AppError(Exception):
    code = "APP_ERROR"
    message = "Request failed."

    def __init__(self, message: str | None = None, *, field: str | None = None, extensions: dict | None = None):
        # no `code` argument: a code belongs to a class (declared in app/<domain>/errors.py), so
        # every code a caller can see is listed, in the GraphQL enums too
        self.message = message or self.message
        self.field = field
        self.extensions = extensions or {}
        super().__init__(self.message)


class InvalidId(AppError):
    code = "INVALID_ID"
    message = "The id is malformed."


class NotFound(AppError):
    """Also used for objects of another tenant or outside the actor's dealers: the caller
    cannot tell the two apart."""

    code = "NOT_FOUND"
    message = "No such object."


class PermissionDenied(AppError):
    code = "PERMISSION_DENIED"
    message = "You do not have permission to do this."


class ValidationFailed(AppError):
    code = "INVALID"
    message = "The input is invalid."


class Conflict(AppError):
    code = "CONFLICT"
    message = "The object conflicts with an existing one."


class InvalidCursor(ValidationFailed):
    code = "INVALID_CURSOR"
    message = "The cursor is malformed."


class InvalidPagination(ValidationFailed):
    code = "INVALID_PAGINATION"
    message = "The page arguments are invalid."


class BadRequest(AppError):
    code = "BAD_REQUEST"
    message = "The request is malformed."


class PayloadTooLarge(AppError):
    code = "PAYLOAD_TOO_LARGE"
    message = "Request body too large."


class UnsupportedMediaType(AppError):
    code = "UNSUPPORTED_MEDIA_TYPE"
    message = "Unsupported media type."


class Unauthenticated(AppError):
    code = "UNAUTHENTICATED"
    message = "Authentication required."


class InputErrors(AppError):
    """Several field errors at once (a mutation reports all of them in its payload)."""

    code = "INVALID"
    message = "The input is invalid."

    def __init__(self, errors: list[AppError]):
        self.errors = errors
        super().__init__(errors[0].message if errors else self.message)
