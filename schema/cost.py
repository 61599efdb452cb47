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

import logging

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

log = logging.getLogger("huifang.graphql")

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


# -- the same rules, compiled once per document ----------------------------------------------
#
# OperationCost walks the document's AST for every request, and for `actual` once per item of
# every page (each field's arguments read again for each item): for a page of 50 that is most of
# the cost of pricing. The document is the same object for every repeat of a query (the parser
# cache), so its fields, fragments flattened, are compiled once into a tree, each node with its
# terms worked out (unless its arguments read a variable: those are worked out once per request,
# by OperationCost itself). The answers are OperationCost's (tests/core/test_plan_cache.py
# compares the two); an answer with errors is priced by OperationCost, walking paths.

MAX_COMPILED_NODES = 20000  # a document whose flattened tree is larger is priced by OperationCost
MAX_COMPILED = 1024  # documents (the parser cache's size)


class _Node:
    __slots__ = ("key", "field", "root", "children", "dynamic", "subtree_dynamic", "terms", "static")


class _Sel:
    """A selection's compiled fields; `leaves` are (key, base) of those without a selection of
    their own nor a variable in their arguments (each costs its base wherever its key is in the
    answer, whatever its value), `branches` the others."""

    __slots__ = ("nodes", "fixed", "leaves", "branches", "pure")

    def __init__(self, nodes: list, always: frozenset = frozenset()):
        self.nodes = tuple(nodes)
        leaves = [n for n in nodes if n.children is None and not n.dynamic]
        # leaves written in the selection itself, without @skip/@include, are in every answer
        # object: their cost is a constant (`always`: ids of those field nodes); the others
        # (from fragments, with directives) count only where their key is in the answer
        self.fixed = sum(n.terms[0] for n in leaves if id(n.field) in always)
        self.leaves = tuple((n.key, n.terms[0]) for n in leaves if id(n.field) not in always)
        self.branches = tuple(n for n in nodes if n.children is not None or n.dynamic)
        # only constant leaves (a page's `node { id name }`): every answer object costs `fixed`
        self.pure = not self.leaves and not self.branches

    def __iter__(self):
        return iter(self.nodes)


def _always(sel) -> frozenset:
    """The fields written directly in a selection set without a directive (ids of their nodes)."""
    return frozenset(id(s) for s in sel.selections if isinstance(s, FieldNode) and not s.directives)


class _CompiledCost:
    __slots__ = ("document", "operation_name", "max_page", "operation", "is_mutation", "roots", "nodes", "uses", "actual_code")


def _has_variable(node) -> bool:
    if isinstance(node, VariableNode):
        return True
    if isinstance(node, ListValueNode):
        return any(_has_variable(v) for v in node.values)
    if isinstance(node, ObjectValueNode):
        return any(_has_variable(f.value) for f in node.fields)
    return False


def _compile(document: DocumentNode, operation_name: str | None, max_page: int) -> _CompiledCost | None:
    ref = OperationCost(document, operation_name, None, max_page)
    out = _CompiledCost()
    out.document, out.operation_name, out.max_page = document, operation_name, max_page
    out.operation, out.is_mutation = ref.operation, ref.is_mutation
    count = 0

    def build(sel, seen: frozenset, root: bool):
        nonlocal count
        nodes = []
        fields = list(ref._fields(sel, seen))
        keys = [field.alias.value if field.alias else field.name.value for field, _ in fields]
        shared = {k for k in keys if keys.count(k) > 1}
        for (field, seen_here), key in zip(fields, keys, strict=True):
            count += 1
            if count > MAX_COMPILED_NODES:
                raise _TooLarge()
            n = _Node()
            n.key = key
            n.field, n.root = field, root
            # two fields answering under one key (fragments on different types, a @skip twin):
            # the object under it may be either's, so neither's leaves are certain to be in it
            n.children = (_Sel(build(field.selection_set, seen_here, False),
                               frozenset() if key in shared else _always(field.selection_set))
                          if field.selection_set is not None else None)
            n.dynamic = any(a.name.value in ("first", "last", "ids", "filter") and _has_variable(a.value) for a in field.arguments or ())
            n.subtree_dynamic = n.dynamic or any(c.subtree_dynamic for c in n.children or ())
            n.terms = None if n.dynamic else ref._terms(field, root)
            n.static = None
            if not n.subtree_dynamic:
                base, mult, _ = n.terms
                n.static = base + mult * sum(c.static for c in n.children or ())
            nodes.append(n)
        return nodes

    out.uses, out.actual_code = 0, None
    if ref.operation is None:
        out.roots, out.nodes = (), 0
        return out
    try:
        out.roots = _Sel(build(ref.operation.selection_set, frozenset(), True), _always(ref.operation.selection_set))
    except (_TooLarge, RecursionError):
        return None
    out.nodes = count
    return out


# the actual cost written out as code, once a document is priced again and again: writing it
# costs about 100 µs a field, walking the tree about a microsecond a field more than the code
GENERATE_AFTER = 20  # answers priced by the walk first
MAX_GENERATED_NODES = 256  # a larger tree stays on the walk
GENERATED = "<actual cost>"


def _generate_actual(roots: _Sel):
    """`PricedOperation._actual(roots, data, None)` as functions, one per selection that is not
    constant leaves only: each field's step of `_actual` / `_actual_field` written out with the
    field's key, base, repetition and its children's constant as constants (a field whose
    arguments read a variable asks `_terms` at run time, as the walk does). Built from the
    document's response names (GraphQL names) and numbers only."""
    env: dict = {"_isinstance": isinstance, "_dict": dict, "_list": list, "_max": max}
    out: list[str] = []
    names: dict[int, str] = {}

    def function(sel: _Sel) -> str:
        name = names.get(id(sel))
        if name is not None:
            return name
        name = names[id(sel)] = f"_s{len(names)}"
        lines = [f"def {name}(obj, index, pc):", "    if obj.__class__ is not _dict and not _isinstance(obj, _dict):",
                 "        return 0", f"    total = {int(sel.fixed)}"]
        for key, base in sel.leaves:
            lines.append(f"    if {_literal(key)} in obj: total += {int(base)}")
        for n in sel.branches:
            i = len(env)
            env[f"_n{i}"] = n
            lines += [f"    if {_literal(n.key)} in obj:", f"        value = obj[{_literal(n.key)}]",
                      "        if index is not None and _isinstance(value, _list):",
                      "            value = value[index] if index < len(value) else None"]
            if n.dynamic:
                lines.append(f"        base, _mult, repeats = pc._terms(_n{i})")
                base, repeats = "base", None
            else:
                b, _mult, r = n.terms
                base, repeats = str(int(b)), bool(r)
            children = n.children
            if children is None:
                lines.append(f"        total += {base}")
                continue
            lines += ["        if value is None:", f"            total += {base}"]
            if children.pure:
                fixed = int(children.fixed)
                on_list = (f"{fixed} * sum(1 for v in value if _isinstance(v, _dict))" if repeats is True
                           else f"({fixed} if any(_isinstance(v, _dict) for v in value) else 0)" if repeats is False
                           else f"({fixed} * sum(1 for v in value if _isinstance(v, _dict)) if repeats "
                                f"else ({fixed} if any(_isinstance(v, _dict) for v in value) else 0))")
                on_dict = (f"{fixed} * _max(_max((len(v) for v in value.values() if _isinstance(v, _list)), default=0), 1)"
                           if repeats is True else str(fixed) if repeats is False
                           else f"({fixed} * _max(_max((len(v) for v in value.values() if _isinstance(v, _list)), default=0), 1) "
                                f"if repeats else {fixed})")
                lines += ["        elif value.__class__ is _dict and not repeats:" if repeats is None else
                          "        elif value.__class__ is _dict:", f"            total += {base} + {on_dict if repeats is not None else fixed}"]
                lines += ["        elif _isinstance(value, _list):", f"            total += {base} + {on_list}",
                          "        elif not _isinstance(value, _dict):", f"            total += {base}",
                          "        else:", f"            total += {base} + {on_dict}"]
                continue
            child = function(children)
            on_list = (f"sum([{child}(v, None, pc) for v in value if v is not None])" if repeats is True
                       else f"_max([{child}(v, None, pc) for v in value if v is not None], default=0)" if repeats is False
                       else f"(sum if repeats else lambda c: _max(c, default=0))([{child}(v, None, pc) for v in value if v is not None])")
            on_dict = (f"sum([{child}(value, i, pc) for i in range(_max(_max((len(v) for v in value.values() "
                       f"if _isinstance(v, _list)), default=0), 1))])")
            lines += ["        elif _isinstance(value, _list):", f"            total += {base} + {on_list}"]
            if repeats is True:
                lines += ["        else:", f"            total += {base} + {on_dict}"]
            elif repeats is False:
                lines += ["        else:", f"            total += {base} + {child}(value, None, pc)"]
            else:
                lines += ["        elif repeats:", f"            total += {base} + {on_dict}",
                          "        else:", f"            total += {base} + {child}(value, None, pc)"]
        lines.append("    return total")
        out.append("\n".join(lines))
        return name

    root = function(roots)
    exec(compile("\n\n".join(out), GENERATED, "exec"), env)  # noqa: S102 - response names and numbers only
    return env[root]


def _literal(key: str) -> str:
    if not key.replace("_", "a").isalnum() or not key.isascii():
        raise ValueError(f"not a GraphQL response name: {key!r}")
    return repr(key)


class _TooLarge(Exception):
    pass


_compiled: dict = {}  # (id(document), operation name, max page) -> _CompiledCost, least recently used first


def _compiled_for(document: DocumentNode, operation_name: str | None, max_page: int) -> _CompiledCost | None:
    key = (id(document), operation_name, max_page)
    hit = _compiled.get(key)
    if hit is not None and hit.document is document:
        _compiled[key] = _compiled.pop(key)  # most recently used
        return hit
    compiled = _compile(document, operation_name, max_page)
    if compiled is not None:  # it holds the document: its id cannot be reused while it is here
        _compiled[key] = compiled
        while len(_compiled) > MAX_COMPILED:
            del _compiled[next(iter(_compiled))]
    return compiled


class PricedOperation:
    """OperationCost's `requested()`, `actual()` and `is_mutation` from the compiled document."""

    def __init__(self, compiled: _CompiledCost, variables: dict | None, max_page: int):
        self._c = compiled
        self._variables, self._max_page = variables, max_page
        self.is_mutation = compiled.is_mutation
        self._ref: OperationCost | None = None
        self._dyn: dict = {}
        self._requested: int | None = None

    def _reference(self) -> OperationCost:
        if self._ref is None:
            self._ref = OperationCost(self._c.document, self._c.operation_name, self._variables, self._max_page)
        return self._ref

    def _terms(self, n: _Node) -> tuple[int, int, bool]:
        if not n.dynamic:
            return n.terms
        t = self._dyn.get(id(n))
        if t is None:
            t = self._dyn[id(n)] = self._reference()._terms(n.field, n.root)
        return t

    def _static(self, n: _Node) -> int:
        if not n.subtree_dynamic:
            return n.static
        base, mult, _ = self._terms(n)
        return base + mult * sum(self._static(c) for c in n.children or ())

    def requested(self) -> int:
        if self._requested is None:
            self._requested = sum(self._static(n) for n in self._c.roots) if self._c.operation is not None else 0
        return self._requested

    def actual(self, data: dict | None, error_paths) -> int:
        if self._c.operation is None or data is None:
            return 0
        error_paths = list(error_paths)
        if any(error_paths):
            return self._reference().actual(data, error_paths)
        c = self._c
        code = c.actual_code
        if code is None:
            c.uses += 1
            if c.uses >= GENERATE_AFTER and c.nodes <= MAX_GENERATED_NODES:
                try:
                    code = c.actual_code = _generate_actual(c.roots)
                except Exception:  # noqa: BLE001 - never expected (names are GraphQL names): the walk, for good
                    log.exception("the actual cost of a document could not be written out as code")
                    c.uses = float("-inf")
            if code is None:
                return min(self.requested(), self._actual(c.roots, data, None))
        return min(self.requested(), code(data, None, self))

    def _actual(self, sel: _Sel, obj, index: int | None) -> int:
        if not isinstance(obj, dict):
            return 0
        total = sel.fixed
        for key, base in sel.leaves:
            if key in obj:
                total += base
        for n in sel.branches:
            if n.key not in obj:
                continue
            value = obj[n.key]
            if index is not None and isinstance(value, list):
                value = value[index] if index < len(value) else None
            total += self._actual_field(n, value)
        return total

    def _actual_field(self, n: _Node, value) -> int:
        children = n.children
        if n.dynamic:
            base, _mult, repeats = self._terms(n)
        else:
            base, _mult, repeats = n.terms
        if value is None or children is None:
            return base
        if children.pure:  # what _actual would answer for each object, without walking it
            fixed = children.fixed
            if isinstance(value, list):
                objects = sum(1 for v in value if isinstance(v, dict))
                return base + (fixed * objects if repeats else (fixed if objects else 0))
            if not isinstance(value, dict):
                return base
            if repeats:
                k = max((len(v) for v in value.values() if isinstance(v, list)), default=0)
                return base + fixed * max(k, 1)
            return base + fixed
        if isinstance(value, list):
            costs = [self._actual(children, v, None) for v in value if v is not None]
            return base + (sum(costs) if repeats else max(costs, default=0))
        if repeats:
            k = max((len(v) for v in value.values() if isinstance(v, list)), default=0)
            return base + sum(self._actual(children, value, i) for i in range(max(k, 1)))
        return base + self._actual(children, value, None)


def price_operation(document: DocumentNode, operation_name: str | None, variables: dict | None, max_page: int):
    """What the operation costs (OperationCost's interface), from the compiled document when it
    compiles (it nearly always does)."""
    compiled = _compiled_for(document, operation_name, max_page)
    if compiled is None:
        return OperationCost(document, operation_name, variables, max_page)
    return PricedOperation(compiled, variables, max_page)
