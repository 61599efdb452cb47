"""Errors over GraphQL.

- Business failures of mutations go into the payload's `errors` with a stable code enum.
- `AppError`s raised by queries become GraphQL errors with `extensions.code`.
- Anything unexpected is masked: "Internal server error" with the request id, logged in full."""
from __future__ import annotations

import logging

import strawberry
from graphql import GraphQLError

from app.core.errors import AppError, InputErrors

log = logging.getLogger("huifang.graphql")


@strawberry.type(description="A business error of a mutation; `code` is stable, `message` is for people.")
class UserError:
    field: str | None
    code: str
    message: str


def user_errors(exc: AppError) -> list[UserError]:
    errs = exc.errors if isinstance(exc, InputErrors) else [exc]
    return [UserError(field=e.field, code=e.code, message=e.message) for e in errs]


class _Refused(Exception):
    """Carries a business-error payload out of the mutation's savepoint (rolling it back)."""

    def __init__(self, payload):
        self.payload = payload


async def run_mutation(info, op, ok, failed):
    """Run a mutation's service call in its own savepoint: business errors become the payload's
    `errors` (with stable codes) and undo this mutation's writes and jobs only; the other root
    mutations of the document keep theirs. `ok(result)` builds the payload."""
    from app.core import db

    try:
        async with db.savepoint():
            try:
                result = await op()
            except AppError as e:
                raise _Refused(failed(user_errors(e))) from None
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
