"""The one GraphQL schema: domain queries and mutations merged, limits and error formatting on."""
from __future__ import annotations

from functools import cached_property

import strawberry
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types.graphql import OperationType

from app.core.errors import InvalidId
from app.domains import schema_packages
from schema.context import Loaders
from schema.limits import CACHE_SIZE, Limits  # noqa: F401 - CACHE_SIZE: tests read it here
from schema.part import SchemaPart
from schema.permissions import PUBLIC, describe
from schema.plan_cache import PlannedExecutor
from schema.relay import Node, resolve_node

MAX_NODES = 100


@strawberry.type
class NodeQuery:
    @strawberry.field(description=describe(None, "Fetch any object by global id; null if it does not exist or is not yours (the object type's own permission applies)."), permission_classes=PUBLIC)
    async def node(self, info: strawberry.Info, id: strawberry.ID) -> Node | None:
        return await resolve_node(info, id)

    @strawberry.field(description=describe(None, f"Fetch up to {MAX_NODES} objects by global id, in order; null where not found (a malformed id or a type you may not read is null with an error for that entry)."), permission_classes=PUBLIC)
    def nodes(self, info: strawberry.Info, ids: list[strawberry.ID]) -> list[Node | None]:
        if len(ids) > MAX_NODES:
            raise InvalidId(f"At most {MAX_NODES} ids per call.")
        # one awaitable per entry: graphql-core completes each on its own (an error is null plus
        # an error at ["nodes", i]) and waits for all of them; DataLoaders still batch them
        return [resolve_node(info, i) for i in ids]  # type: ignore[return-value]


def _parts() -> list[SchemaPart]:
    import importlib

    return [importlib.import_module(name).PART for name in schema_packages()]


PARTS = _parts()
Query = merge_types("Query", (NodeQuery, *(q for p in PARTS for q in p.queries)))
Mutation = merge_types("Mutation", tuple(m for p in PARTS for m in p.mutations))
for _part in PARTS:
    Loaders.register(_part.loaders)


class Schema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None) -> None:
        """Expected errors (validation, AppError) are not logged as failures; unexpected
        ones are logged once, with the request id, by schema.errors.format_errors."""

    async def execute_direct(self, query: str | None, variables: dict | None, context, operation_name: str | None,
                             extensions: dict | None = None):
        """`execute` for one operation of a POST (the direct HTTP path, schema.http): the same
        steps in the same order, with the same answers (parse with the token limit, the
        operation's type, validation with the limits' rules, both through the shared caches;
        then `schema.limits.guarded` around the execution, `extensions.cost`), without
        strawberry's extension runner: that builds every extension's hooks and context
        managers for every request, about 0.1 ms of an operation's 1-2 ms. The extension
        (`Limits`) keeps serving every other way in (GET, tests' `schema.execute`);
        tests/core/test_graphql_http.py holds the two to the same answers."""
        from graphql import ExecutionResult as CoreResult
        from graphql import GraphQLError
        from strawberry.exceptions import MissingQueryError
        from strawberry.execution import optimized_is_awaitable
        from strawberry.schema.exceptions import CannotGetOperationTypeError
        from strawberry.types import ExecutionContext, ExecutionResult

        from schema.limits import MAX_TOKENS, RULES, guarded, parse_document, validate_document

        if not query:
            raise MissingQueryError
        ec = ExecutionContext(query=query, schema=self, allowed_operations=_POST_OPERATIONS, context=context,
                              root_value=None, variables=variables, provided_operation_name=operation_name,
                              operation_extensions=extensions)
        try:
            ec.graphql_document = parse_document(query, max_tokens=MAX_TOKENS)
        except GraphQLError as error:
            return ExecutionResult(data=None, errors=[error], extensions={})
        except Exception as error:  # noqa: BLE001 - strawberry's answer to any failure to parse
            return ExecutionResult(data=None, errors=[GraphQLError(str(error), original_error=error)], extensions={})
        try:
            ec.operation_type  # noqa: B018 - raises when the document names no such operation
        except RuntimeError as error:
            raise CannotGetOperationTypeError(ec.operation_name) from error
        errors = validate_document(self._schema, ec.graphql_document, ec.validation_rules + RULES)
        if errors:
            return ExecutionResult(data=None, errors=errors, extensions={})
        cost = _Cost()
        try:
            async with guarded(ec, cost):
                if not ec.result:
                    ec.result = await self._execute(self._schema, ec.graphql_document, root_value=None, middleware=None,
                                                    variable_values=variables, operation_name=ec.operation_name,
                                                    context_value=context, is_awaitable=optimized_is_awaitable,
                                                    executor_class=self.execution_context_class,
                                                    operation_extensions=extensions)
        except Exception as error:  # noqa: BLE001 - strawberry's answer: the error, as the result's
            result = ExecutionResult(data=None, errors=[error if isinstance(error, GraphQLError) else
                                                        GraphQLError(str(error), original_error=error)])
        else:
            result = ec.result
            if isinstance(result, CoreResult):
                result = ExecutionResult(data=result.data, errors=result.errors)
        result.extensions = {"cost": cost.cost} if cost.cost is not None else {}
        return result

    @cached_property
    def _execute(self):
        return self._get_execute_function()

    def _get_execute_function(self):
        """graphql-core returns as soon as the result is known: when a field fails synchronously,
        sibling resolvers still running are left to settle in the background (none is cancelled:
        schema.plan_cache.gather_settled). Those would keep using the request's connection after
        its transaction ended. The result is only handed back once every piece of the
        operation's asynchronous work has settled."""
        return settled(super()._get_execute_function())


class _Cost:
    cost: dict | None = None


_POST_OPERATIONS = OperationType.from_http("POST")  # what strawberry's view allows a POST


def settled(execute):
    import asyncio

    from graphql import ExecutionHooks
    from graphql.pyutils import is_awaitable

    async def execute_settled(*args, **kwargs):
        done = asyncio.get_running_loop().create_future()

        def finished(_info) -> None:
            if not done.done():
                done.set_result(None)

        result = execute(*args, hooks=ExecutionHooks(async_work_finished=finished), **kwargs)
        if not is_awaitable(result):
            # answered without starting any asynchronous work (e.g. variables that failed to
            # coerce: graphql-core returns the errors without building an executor, and never
            # calls the hook): nothing to wait for
            return result
        given_up = False
        try:
            result = await result
        except asyncio.CancelledError:
            # the operation was given up (its deadline passed): graphql-core calls no hook then;
            # the HTTP view cancels what still runs on the connection and rolls back
            given_up = True
            raise
        finally:
            if not given_up:
                # the hook always runs once execution started; the bound only guards against a
                # bug there turning into a hung request
                await asyncio.wait({done}, timeout=60)
        return result

    return execute_settled


schema = Schema(
    query=Query,
    mutation=Mutation,
    types=[t for p in PARTS for t in p.types],
    config=StrawberryConfig(auto_camel_case=True),
    execution_context_class=PlannedExecutor,  # plans of repeated documents reused (schema/plan_cache.py)
    extensions=[Limits],  # with the parser and validation caches (schema/limits.py)
)


def _nullable_root_fields(s: Schema) -> None:
    """Every root query and mutation field is nullable: a field the caller may not use (or one
    that fails) answers null with its own error, and the rest of the response survives (as
    GitHub's API does), instead of one denied field turning the whole `data` into null."""
    from graphql import GraphQLNonNull

    for root in (s._schema.query_type, s._schema.mutation_type):
        for field in root.fields.values():
            if isinstance(field.type, GraphQLNonNull):
                field.type = field.type.of_type


_nullable_root_fields(schema)
