"""Request limits: depth, tokens, aliases and a cost budget.

The validation rules are built ONCE, at import. strawberry's ValidationCache keys on the rule
classes; the stock limiters build a new rule class per instance, so passing them as per-request
factories makes every request miss the cache (measured here at ~14x slower per request). This
extension is instantiated per request (no shared state) but appends the same classes each time."""
from __future__ import annotations

from typing import Iterator

from graphql import (
    FieldNode, FragmentDefinitionNode, FragmentSpreadNode, GraphQLError, InlineFragmentNode,
    IntValueNode, ListValueNode, OperationDefinitionNode, SelectionSetNode, ValidationRule, VariableNode,
)
from strawberry.extensions import SchemaExtension
from strawberry.extensions.max_aliases import create_validator as alias_validator
from strawberry.extensions.query_depth_limiter import create_validator as depth_validator

from app.settings import get_settings


def cost_validator(max_cost: int, max_page: int) -> type[ValidationRule]:
    def selection_cost(sel: SelectionSetNode | None, fragments: dict, seen: frozenset) -> int:
        if sel is None:
            return 0
        total = 0
        for s in sel.selections:
            if isinstance(s, FieldNode):
                mult = 1
                for arg in s.arguments or ():
                    name = arg.name.value
                    if name in ("first", "last"):
                        if isinstance(arg.value, IntValueNode):
                            mult = max(1, int(arg.value.value))
                        elif isinstance(arg.value, VariableNode):
                            mult = max_page
                    elif name == "ids" and isinstance(arg.value, ListValueNode):
                        mult = max(1, len(arg.value.values))
                total += 1 + mult * selection_cost(s.selection_set, fragments, seen)
            elif isinstance(s, InlineFragmentNode):
                total += selection_cost(s.selection_set, fragments, seen)
            elif isinstance(s, FragmentSpreadNode):
                name = s.name.value
                if name in fragments and name not in seen:
                    total += selection_cost(fragments[name].selection_set, fragments, seen | {name})
        return total

    class CostLimitValidator(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_args) -> None:
            fragments = {
                d.name.value: d for d in self.context.document.definitions if isinstance(d, FragmentDefinitionNode)
            }
            cost = selection_cost(node.selection_set, fragments, frozenset())
            if cost > max_cost:
                self.report_error(
                    GraphQLError(
                        f"Query cost {cost} exceeds the budget of {max_cost}: request smaller pages or fewer fields.",
                        node, extensions={"code": "QUERY_TOO_COSTLY"},
                    )
                )

    return CostLimitValidator


_s = get_settings()
RULES: tuple[type[ValidationRule], ...] = (
    depth_validator(_s.graphql_max_depth, None, None),
    alias_validator(_s.graphql_max_aliases),
    cost_validator(_s.graphql_max_cost, _s.graphql_page_max),
)
MAX_TOKENS = _s.graphql_max_tokens


class Limits(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        ec = self.execution_context
        ec.parse_options["max_tokens"] = MAX_TOKENS
        ec.validation_rules = ec.validation_rules + RULES
        yield

    def on_execute(self) -> Iterator[None]:
        from strawberry.types.graphql import OperationType

        ec = self.execution_context
        if ec.context is not None and hasattr(ec.context, "is_mutation"):
            ec.context.is_mutation = ec.operation_type == OperationType.MUTATION
        yield
