"""What an operation costs: the requested cost, computed from the document and its variables
before anything runs, and the actual cost, computed from the answer.

Requested (static): each field 1, each root mutation field MUTATION_COST; a selection under
`first`/`last` is multiplied by that value (a connection asked without one by DEFAULT_PAGE),
under `nodes(ids:)` by the number of ids, literal or variable; a customer search adds
SEARCH_COST.

Actual: the same rule, with each page multiplied by the number of items it returned instead
of the number it asked for (page by page: a nested page under each item counts its own
items), `nodes` by the entries found, and a list that is not a page by its costliest entry
(the static rule counts such a list once). A field that failed (null with an error) costs what
it requested: the work was done. An answer without data (the variables did not coerce) cost
nothing. Never more than requested."""
from __future__ import annotations

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
)

SEARCH_COST = 500  # a customer search scans a trigram index over the whole brand
DEFAULT_PAGE = 20
MUTATION_COST = 10  # each root mutation field: a unit of work with its own savepoint and writes


class OperationCost:
    def __init__(self, document: DocumentNode, operation_name: str | None, variables: dict | None, max_page: int):
        self.variables = variables or {}
        self.max_page = max_page
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        self.operation = next((o for o in ops if operation_name and o.name and o.name.value == operation_name),
                              ops[0] if ops else None)
        self.is_mutation = self.operation is not None and self.operation.operation == OperationType.MUTATION

    # -- requested ---------------------------------------------------------------------------

    def requested(self) -> int:
        if self.operation is None:
            return 0
        return self._static(self.operation.selection_set, frozenset(), root=True)

    def _static(self, sel: SelectionSetNode | None, seen: frozenset, root: bool = False) -> int:
        total = 0
        for field, seen_here in self._fields(sel, seen):
            total += self._static_field(field, seen_here, root)
        return total

    def _static_field(self, field: FieldNode, seen: frozenset, root: bool) -> int:
        base, mult, _paged = self._terms(field, root)
        return base + mult * self._static(field.selection_set, seen)

    def _terms(self, field: FieldNode, root: bool) -> tuple[int, int, bool]:
        """(base, multiplier, whether the children repeat per item: a page or an id list)."""
        mult, extra, paged, listed = 1, 0, False, False
        for arg in field.arguments or ():
            name = arg.name.value
            if name in ("first", "last"):
                n = self._value(arg.value)
                paged = True
                mult = max(mult, min(n, self.max_page) if isinstance(n, int) and not isinstance(n, bool) else DEFAULT_PAGE)
            elif name == "ids":
                ids = self._value(arg.value)
                listed = True
                mult = max(1, len(ids)) if isinstance(ids, list) else 1
            elif name == "filter":
                f = self._value(arg.value)
                if isinstance(f, dict) and f.get("search"):
                    extra += SEARCH_COST
        if not paged and field.selection_set and any(
                isinstance(c, FieldNode) and c.name.value in ("edges", "nodes") for c in field.selection_set.selections):
            mult, paged = max(mult, DEFAULT_PAGE), True
        base = (MUTATION_COST if root and self.is_mutation else 1) + extra
        return base, mult, paged or listed

    def _fields(self, sel: SelectionSetNode | None, seen: frozenset):
        """The fields of a selection set, fragments flattened (each spread once per path)."""
        if sel is None:
            return
        for s in sel.selections:
            if isinstance(s, FieldNode):
                yield s, seen
            elif isinstance(s, InlineFragmentNode):
                yield from self._fields(s.selection_set, seen)
            elif isinstance(s, FragmentSpreadNode):
                name = s.name.value
                if name in self.fragments and name not in seen:
                    yield from self._fields(self.fragments[name].selection_set, seen | {name})

    def _value(self, node):
        if isinstance(node, VariableNode):
            return self.variables.get(node.name.value)
        if isinstance(node, IntValueNode):
            return int(node.value)
        if isinstance(node, ListValueNode):
            return [self._value(v) for v in node.values]
        if isinstance(node, ObjectValueNode):
            return {f.name.value: self._value(f.value) for f in node.fields}
        return getattr(node, "value", None)

    # -- actual ------------------------------------------------------------------------------

    def actual(self, data: dict | None, error_paths) -> int:
        """The cost of what `data` holds (`error_paths`: the paths of the result's errors)."""
        requested = self.requested()
        if self.operation is None or data is None:
            return 0  # every root field is nullable: no data means nothing ran (e.g. bad variables)
        self._errors = {tuple(p) for p in error_paths if p}
        return min(requested, self._actual(self.operation.selection_set, data, (), frozenset(), root=True))

    def _actual(self, sel, obj, path: tuple, seen: frozenset, root: bool = False, index: int | None = None) -> int:
        if not isinstance(obj, dict):
            return 0
        total = 0
        for field, seen_here in self._fields(sel, seen):
            key = field.alias.value if field.alias else field.name.value
            if key not in obj:
                continue  # skipped, or a fragment on another type
            value, fpath = obj[key], path + (key,)
            if index is not None and isinstance(value, list):  # one item of a page (see below)
                value, fpath = (value[index] if index < len(value) else None), fpath + (index,)
            total += self._actual_field(field, value, fpath, seen_here, root)
        return total

    def _actual_field(self, field: FieldNode, value, path: tuple, seen: frozenset, root: bool) -> int:
        base, _mult, repeats = self._terms(field, root)
        if path in self._errors:
            return self._static_field(field, seen, root)
        if value is None or field.selection_set is None:
            return base
        sel = field.selection_set
        if isinstance(value, list):
            costs = [self._static(sel, seen) if path + (i,) in self._errors else self._actual(sel, v, path + (i,), seen)
                     for i, v in enumerate(value) if v is not None or path + (i,) in self._errors]
            return base + (sum(costs) if repeats else max(costs, default=0))
        if repeats:
            # a connection: item i is its edges[i] / nodes[i] beside its other fields (pageInfo,
            # totalCount), as the static rule multiplies all of them by the page
            n = max((len(v) for v in value.values() if isinstance(v, list)), default=0)
            return base + sum(self._actual(sel, value, path, seen, index=i) for i in range(max(n, 1)))
        return base + self._actual(sel, value, path, seen)


def operation_cost(document, operation_name: str | None, variables: dict | None, max_page: int) -> int:
    """The requested cost of the operation about to run (see the module's docstring)."""
    return OperationCost(document, operation_name, variables, max_page).requested()
