"""Errors over GraphQL.

- Business failures of mutations go into the payload's `errors` with a stable code enum.
- `AppError`s raised by queries become GraphQL errors with `extensions.code`.
- Anything unexpected is masked: "Internal server error" with the request id, logged in full."""
from __future__ import annotations

import logging
from enum import Enum
from types import ModuleType

import strawberry
from graphql import GraphQLError

from app.core.errors import AppError, Conflict, InputErrors, InvalidId, NotFound, PermissionDenied, ValidationFailed

log = logging.getLogger("huifang.graphql")


# codes any mutation may answer, whatever its module (the platform's errors)
COMMON: tuple[type[AppError], ...] = (ValidationFailed, InvalidId, NotFound, PermissionDenied, Conflict)


def domain_errors(prefix: str, module: ModuleType | None = None, description: str = "") -> type:
    """`<prefix>Error { field code message }` with `code: <prefix>ErrorCode`: an enum of the
    common codes plus every AppError subclass declared in `module` (app/<domain>/errors.py).
    The type's `of(exc)` turns a raised error into entries; an error whose code the enum lacks
    (another module's) is reported with the nearest code the enum has along its class's
    ancestry, so a payload never fails to serialise."""
    classes = list(COMMON)
    if module is not None:
        classes += [c for c in vars(module).values()
                    if isinstance(c, type) and issubclass(c, AppError) and c.__module__ == module.__name__]
    first = {}
    for c in classes:
        first.setdefault(c.code, c)
    codes = list(first)
    code_enum = strawberry.enum(Enum(f"{prefix}ErrorCode", {
        code: strawberry.enum_value(code, description=first[code].message) for code in codes}),
                                description=f"What went wrong in a {description or prefix} mutation; stable, switch on it.")
    known = set(codes)

    def to_code(exc: AppError) -> str:
        if exc.code in known:
            return exc.code
        for base in type(exc).__mro__:
            code = getattr(base, "code", None)
            if code in known:
                return code
        return ValidationFailed.code

    def of(cls, exc: AppError) -> list:
        errs = exc.errors if isinstance(exc, InputErrors) else [exc]
        return [cls(field=e.field, code=code_enum(to_code(e)), message=e.message) for e in errs]

    # built with type(): the annotations must be the objects themselves, not strings
    namespace = {"__annotations__": {"field": str | None, "code": code_enum, "message": str},
                 "of": classmethod(of), "codes": code_enum, "__module__": __name__}
    DomainError = strawberry.type(type(f"{prefix}Error", (), namespace), name=f"{prefix}Error", description=(
        f"A business error of a {description or prefix} mutation: `code` is stable (an enum), `message` is for people, "
        "`field` names the input at fault."))
    return DomainError


class _Refused(Exception):
    """Carries a business-error payload out of the mutation's savepoint (rolling it back)."""

    def __init__(self, payload):
        self.payload = payload


async def run_mutation(info, op, ok, failed, error_type):
    """Run a mutation's service call in its own savepoint: business errors become the payload's
    `errors` (`error_type`, the domain's `<Domain>Error`, with stable codes) and undo this
    mutation's writes and jobs only; the other root mutations of the document keep theirs.
    `ok(result)` builds the payload."""
    from app.core import db

    try:
        async with db.savepoint():
            try:
                result = await op()
            except AppError as e:
                raise _Refused(failed(error_type.of(e))) from None
            return ok(result)
    except _Refused as refused:
        return refused.payload


def format_errors(errors: list[GraphQLError], request_id: str | None) -> list[GraphQLError]:
    """Applied by the HTTP view to every result (parse, validation and execution errors)."""
    return [_format(e, request_id) for e in errors]


def _format(error: GraphQLError, request_id: str | None) -> GraphQLError:
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        ext = dict(error.extensions or {})
        ext.setdefault("code", "GRAPHQL_VALIDATION_FAILED" if error.path is None else "BAD_REQUEST")
        return GraphQLError(error.message, error.nodes, error.source, error.positions, error.path, None, ext)
    if isinstance(original, AppError):
        ext = {"code": original.code, **original.extensions}
        if original.field:
            ext["field"] = original.field
        return GraphQLError(original.message, error.nodes, error.source, error.positions, error.path, None, ext)
    if _is_statement_timeout(original):
        return GraphQLError(
            "The operation took too long and was stopped (statement timeout); ask for less, e.g. a smaller page or a narrower filter.",
            error.nodes, error.source, error.positions, error.path, None, {"code": "STATEMENT_TIMEOUT", "requestId": request_id})
    log.error("unhandled error in resolver", exc_info=(type(original), original, original.__traceback__),
              extra={"path": list(error.path or [])})
    return GraphQLError(
        f"Internal server error. Quote request id {request_id} when reporting it.",
        error.nodes, error.source, error.positions, error.path, None,
        {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
    )


def _is_statement_timeout(exc: BaseException) -> bool:
    import asyncpg

    while exc is not None:
        if isinstance(exc, asyncpg.exceptions.QueryCanceledError) or "statement timeout" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False
