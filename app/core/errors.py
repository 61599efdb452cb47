"""Domain errors. Each carries a stable code; the GraphQL layer maps them, never masks them."""
from __future__ import annotations


class AppError(Exception):
    code = "APP_ERROR"
    message = "Request failed."

    def __init__(self, message: str | None = None, *, field: str | None = None, code: str | None = None,
                 extensions: dict | None = None):
        self.message = message or self.message
        self.field = field
        self.extensions = extensions or {}
        if code:
            self.code = code
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
