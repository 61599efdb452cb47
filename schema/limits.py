"""Request limits: depth, tokens, aliases and a cost budget.

The validation rules are built ONCE, at import. strawberry's ValidationCache keys on the rule
classes; the stock limiters build a new rule class per instance, so passing them as per-request
factories makes every request miss the cache (measured here at ~14x slower per request). This
extension is instantiated per request (no shared state) but appends the same classes each time."""
from __future__ import annotations

from typing import Iterator

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
    VariableNode,
)
from strawberry.extensions import SchemaExtension
from strawberry.extensions.max_aliases import create_validator as alias_validator
from strawberry.extensions.query_depth_limiter import create_validator as depth_validator

from app.settings import get_settings

SEARCH_COST = 500  # a customer search scans a trigram index over the whole brand
DEFAULT_PAGE = 20


def operation_cost(document, operation_name: str | None, variables: dict | None, max_page: int) -> int:
    """The static cost of the operation about to run, variables included: each field 1; a
    selection under `first`/`last` is multiplied by that value (a connection asked without
    one by its default page), under `nodes(ids:)` by the number of ids, literal or variable;
    a customer search adds SEARCH_COST."""
    variables = variables or {}

    def value(node):
        if isinstance(node, VariableNode):
            return variables.get(node.name.value)
        if isinstance(node, IntValueNode):
            return int(node.value)
        if isinstance(node, ListValueNode):
            return [value(v) for v in node.values]
        if isinstance(node, ObjectValueNode):
            return {f.name.value: value(f.value) for f in node.fields}
        return getattr(node, "value", None)

    def selection_cost(sel: SelectionSetNode | None, fragments: dict, seen: frozenset) -> int:
        if sel is None:
            return 0
        total = 0
        for s in sel.selections:
            if isinstance(s, FieldNode):
                mult, extra, paged = 1, 0, False
                for arg in s.arguments or ():
                    name = arg.name.value
                    if name in ("first", "last"):
                        n = value(arg.value)
                        paged = True
                        mult = max(mult, min(n, max_page) if isinstance(n, int) and not isinstance(n, bool) else DEFAULT_PAGE)
                    elif name == "ids":
                        ids = value(arg.value)
                        mult = max(1, len(ids)) if isinstance(ids, list) else 1
                    elif name == "filter":
                        f = value(arg.value)
                        if isinstance(f, dict) and f.get("search"):
                            extra += SEARCH_COST
                if not paged and s.selection_set and any(
                        isinstance(c, FieldNode) and c.name.value in ("edges", "nodes") for c in s.selection_set.selections):
                    mult = max(mult, DEFAULT_PAGE)
                total += 1 + extra + mult * selection_cost(s.selection_set, fragments, seen)
            elif isinstance(s, InlineFragmentNode):
                total += selection_cost(s.selection_set, fragments, seen)
            elif isinstance(s, FragmentSpreadNode):
                name = s.name.value
                if name in fragments and name not in seen:
                    total += selection_cost(fragments[name].selection_set, fragments, seen | {name})
        return total

    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    op = next((o for o in ops if operation_name and o.name and o.name.value == operation_name), ops[0] if ops else None)
    return selection_cost(op.selection_set, fragments, frozenset()) if op else 0


class NoNulStrings(ValidationRule):
    """A NUL written as a GraphQL escape (`\\u{0}`) passes the HTTP-level filter; PostgreSQL
    text cannot hold it. Cached with the document like every other validation rule."""

    def enter_string_value(self, node, *_args) -> None:
        if "\x00" in node.value:
            self.report_error(GraphQLError("Strings must not contain NUL characters.", node,
                                           extensions={"code": "BAD_REQUEST"}))


_s = get_settings()
RULES: tuple[type[ValidationRule], ...] = (
    depth_validator(_s.graphql_max_depth, None, None),
    alias_validator(_s.graphql_max_aliases),
    NoNulStrings,
)
if not _s.introspection_enabled:
    # production: the schema is published (schema/schema.graphql), not explorable by any caller
    from graphql.validation import NoSchemaIntrospectionCustomRule

    RULES += (NoSchemaIntrospectionCustomRule,)
if not _s.suggestions_enabled:
    # no "Did you mean 'phoneNumber'?" in errors: graphql-core's one switch for every message
    # that suggests names (validation and variable coercion alike)
    import sys

    import graphql.pyutils.did_you_mean  # noqa: F401 - the module, not the function it exports

    sys.modules["graphql.pyutils.did_you_mean"].MAX_LENGTH = 0
MAX_COST, MAX_PAGE = _s.graphql_max_cost, _s.graphql_page_max
MAX_TOKENS = _s.graphql_max_tokens


class Limits(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        ec = self.execution_context
        ec.parse_options["max_tokens"] = MAX_TOKENS
        ec.validation_rules = ec.validation_rules + RULES
        yield

    def on_execute(self) -> Iterator[None]:
        from strawberry.types import ExecutionResult
        from strawberry.types.graphql import OperationType

        ec = self.execution_context
        if ec.context is not None and hasattr(ec.context, "is_mutation"):
            ec.context.is_mutation = ec.operation_type == OperationType.MUTATION
        if ec.graphql_document is not None and not ec.result:
            cost = operation_cost(ec.graphql_document, ec.operation_name, ec.variables, MAX_PAGE)
            if cost > MAX_COST:
                ec.result = ExecutionResult(data=None, errors=[GraphQLError(
                    f"Query cost {cost} exceeds the budget of {MAX_COST}: request smaller pages, fewer ids or fewer fields.",
                    extensions={"code": "QUERY_TOO_COSTLY", "cost": cost, "maxCost": MAX_COST})])
        yield
