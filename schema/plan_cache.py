"""Execution plans of repeated documents, kept across requests (issue 12, "Speed").

graphql-core works out, for every object it completes, which fields of the document apply to
it (fragments flattened, `@skip`/`@include` applied, fields of the same name merged) and which
schema field each one is. Given the document, the operation and the values of the variables that
`@skip`/`@include` read, that is pure: the parser cache already hands back the same document
object for the same text, so the answer is computed once per document and reused by every
later request. `PlannedExecutor` is graphql-core's plain (non-incremental) executor with:

- the root fields and every sub-selection's grouped fields taken from the plan;
- each selection set compiled once into a list of its fields, where a *plain attribute* (a
  strawberry field with no resolver, no permission class, no field extension, no exception
  handler; e.g. `Dealer.name`, `Edge.node`) is read with `getattr` instead of building a resolve
  info and going through strawberry's per-field wrapper: a leaf is coerced by its scalar or enum
  right there, an object or a list of objects completed by graphql-core's completion (with a
  resolve info built only if something asks for it). Every other field (resolvers, permission
  classes, interfaces and unions) goes through graphql-core's own `execute_field`, unchanged;
  errors, their paths and null propagation are graphql-core's (the tests compare the two);
- value completion dispatched on a kind kept on each schema type, and a sub-selection's
  grouped fields and their compiled form found with one lookup;
- a selection set that has completed GENERATE_AFTER objects written out as a Python function
  (`_generate`): the loop's step for each of its fields with the field's constants in place, a
  plain leaf answered where it is read, an object from a plain attribute or a direct resolver
  completed without graphql-core's dispatch; any other value takes the loop's own step.

What a plan holds: AST nodes of the document, schema fields and types, and the grouped field
sets built from them; never a value of a request (no context, actor, scope, variables other than
the booleans `@skip`/`@include` read, no resolved data). Serving it to any caller of any brand
is therefore serving them the same document: it cannot carry one tenant's data to another
(tests/core/test_plan_cache.py walks a plan's references to prove it).

Bounded: at most `MAX_PLANS` operations per schema (least recently used dropped), at most
`MAX_VARIANTS` `@skip`/`@include` variants per operation, and within a plan the memo grows
only with the document's own selection sets (its size is capped by the token limit). Plans
are kept per `GraphQLSchema` object (weakly): a schema built again (a reload, a test's own
schema) starts empty and an old schema's plans go with it. A document whose field collection
depends on anything else (fragment arguments) is executed without a plan."""
from __future__ import annotations

import datetime
import decimal
import keyword
import logging
import re
import uuid
import weakref
from asyncio import ensure_future, gather
from collections import OrderedDict
from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLID,
    GraphQLObjectType,
    GraphQLResolveInfoHelpers,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLString,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    VariableNode,
)
from graphql.execution import Executor
from graphql.execution import executor as _executor_module
from graphql.execution.collect_fields import CollectedFields, collect_fields
from graphql.execution.executor import SELECTIONS_NESTED_TOO_DEEPLY, invalid_return_type_error
from graphql.pyutils import Path, Undefined
from graphql.type import is_abstract_type, is_leaf_type, is_list_type, is_non_null_type, is_object_type
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.cast import TYPE_CAST_ATTRIBUTE
from strawberry.types.field import StrawberryField
from strawberry.types.fields.resolver import StrawberryResolver


async def gather_settled(*awaitables):
    """graphql-core's `gather_with_cancel`, except that no sibling is ever cancelled: every
    awaitable runs to its end, then the first failure (in the fields' order) propagates, as
    it would have. graphql-core cancels the siblings of a failed non-null field; a cancelled
    resolver's statement would be cancelled in PostgreSQL (asyncpg's answer to a cancelled
    query), aborting the whole transaction, and its COMMIT would silently roll back what the
    answer reports. Nothing finishes later than before: the execution's result is only handed
    back once all of its work has settled anyway (schema.settled). Installed in graphql-core's
    executor below; a deadline still cancels the whole operation (asyncio.gather passes the
    cancellation on to every awaitable), which then only rolls back."""
    futures = [ensure_future(aw) for aw in awaitables]
    results = await gather(*futures, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


_executor_module.gather_with_cancel = gather_settled

log = logging.getLogger("huifang.graphql")

MAX_PLANS = 1024  # operations per schema (the parser and validation caches hold 1024 documents)
MAX_VARIANTS = 16  # @skip/@include variable combinations per operation

_BACKREF = GraphQLCoreConverter.DEFINITION_BACKREF
_NO_VALUE = object()


class Plan:
    """What is pure about one operation of one document, for one set of `@skip`/`@include`
    variable values: the root's grouped fields, graphql-core's sub-field memo and each
    selection set compiled (see the module's docstring). No request's values."""

    __slots__ = ("operation", "root", "sub_fields", "compiled", "subselections")

    def __init__(self, operation: OperationDefinitionNode):
        self.operation = operation
        self.root: CollectedFields | None = None
        # graphql-core's memo, keyed as graphql-core keys it: (type, id(field group)); every
        # field group is kept alive by this plan, so an id cannot be reused while it is here
        self.sub_fields: dict = {}
        # (parent type, id(grouped field set)) -> (grouped field set, tuple of _Field)
        self.compiled: dict = {}
        # (object type, id(field group)) -> (field group, its sub-selection compiled)
        self.subselections: dict = {}


class _Operation:
    __slots__ = ("operation", "directive_vars", "plans")

    def __init__(self, operation: OperationDefinitionNode, directive_vars: tuple[str, ...] | None):
        self.operation = operation
        self.directive_vars = directive_vars  # None: field collection depends on more than these
        self.plans: OrderedDict = OrderedDict()


class PlanCache:
    """The plans of one schema: operation node -> its plans, least recently used dropped."""

    def __init__(self, max_plans: int = MAX_PLANS):
        self.max_plans = max_plans
        self._ops: OrderedDict[int, _Operation] = OrderedDict()
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._ops)

    def plan(self, operation: OperationDefinitionNode, fragments: dict, coerced: dict) -> Plan | None:
        key = id(operation)
        entry = self._ops.get(key)
        if entry is None or entry.operation is not operation:
            entry = _Operation(operation, _directive_variables(operation, fragments))
            self._ops[key] = entry
            while len(self._ops) > self.max_plans:
                self._ops.popitem(last=False)
        else:
            self._ops.move_to_end(key)
        if entry.directive_vars is None:
            return None
        variant = tuple(coerced.get(name, _NO_VALUE) for name in entry.directive_vars)
        try:
            plan = entry.plans.get(variant)
        except TypeError:  # an unhashable value (cannot be a Boolean): no plan
            return None
        if plan is None:
            self.misses += 1
            plan = entry.plans[variant] = Plan(operation)
            while len(entry.plans) > MAX_VARIANTS:
                entry.plans.popitem(last=False)
        else:
            self.hits += 1
        return plan

    def clear(self) -> None:
        self._ops.clear()


_caches: "weakref.WeakKeyDictionary[GraphQLSchema, PlanCache]" = weakref.WeakKeyDictionary()


def cache_for(schema: GraphQLSchema) -> PlanCache:
    cache = _caches.get(schema)
    if cache is None:
        cache = _caches[schema] = PlanCache()
    return cache


def _directive_variables(operation: OperationDefinitionNode, fragments: dict) -> tuple[str, ...] | None:
    """The variables that `@skip`/`@include` (or any directive) read in the operation and the
    fragments it spreads: the plan varies with their values. None when field collection
    depends on more (fragment arguments)."""
    names: set[str] = set()
    seen: set[str] = set()
    stack = [operation.selection_set]
    while stack:
        sel = stack.pop()
        if sel is None:
            continue
        for s in sel.selections:
            for d in s.directives or ():
                for arg in d.arguments or ():
                    if not isinstance(arg.value, VariableNode):
                        if _has_variable(arg.value):
                            return None
                        continue
                    names.add(arg.value.name.value)
            if isinstance(s, FieldNode):
                stack.append(s.selection_set)
            elif isinstance(s, InlineFragmentNode):
                stack.append(s.selection_set)
            elif isinstance(s, FragmentSpreadNode):
                if getattr(s, "arguments", None):
                    return None
                name = s.name.value
                if name in seen:
                    continue
                seen.add(name)
                details = fragments.get(name)
                if details is None:
                    continue
                if details.variable_signatures or details.definition.variable_definitions:
                    return None
                stack.append(details.definition.selection_set)
    return tuple(sorted(names))


def _has_variable(node) -> bool:
    if isinstance(node, VariableNode):
        return True
    for attr in ("values", "fields"):
        for child in getattr(node, attr, None) or ():
            if _has_variable(getattr(child, "value", child)):
                return True
    return False


class _Awaitable(Exception):
    """A plain attribute that holds an awaitable: completed as graphql-core completes one."""


class _LazyInfo:
    """The resolve info of a plain attribute field or a direct resolver, built only if something
    asks for more than graphql-core's completion and most resolvers do (the parent type and
    field name of error messages, the context): a resolver reading `info.path` or
    `info.selected_fields`, say, gets the real one, built then."""

    __slots__ = ("_executor", "_field", "parent_type", "_path", "_real", "context")

    def __init__(self, executor, field, parent_type, path):
        self._executor, self._field, self.parent_type, self._path, self._real = executor, field, parent_type, path, None
        self.context = executor.context_value

    @property
    def field_name(self) -> str:
        return self._field.field_name

    def __getattr__(self, name):
        real = self._real
        if real is None:
            f = self._field
            real = self._real = self._executor.build_resolve_info(f.field_def, [d.node for d in f.group], self.parent_type,
                                                                  self._path)
        return getattr(real, name)


# strawberry's is_type_of of a type with interfaces (GraphQLCoreConverter.from_object): True for
# an instance of the type's own class that no `strawberry.cast` marked (it then checks the cast)
_STRAWBERRY_IS_TYPE_OF = "GraphQLCoreConverter.from_object.<locals>._get_is_type_of.<locals>.is_type_of"
_CAST = TYPE_CAST_ATTRIBUTE


def _origin(obj_type) -> type | None:
    """The class whose instances (not cast) strawberry's `is_type_of` of `obj_type` accepts
    without asking: the type's own, when `is_type_of` is strawberry's (not one the type
    defines) and the type is no specialisation of a generic one; None otherwise (then
    `is_type_of` is always called). Kept on the type."""
    try:
        return obj_type._hf_origin
    except AttributeError:
        pass
    definition = (obj_type.extensions or {}).get(_BACKREF)
    check = obj_type.is_type_of
    origin = None
    if (check is not None and getattr(check, "__qualname__", None) == _STRAWBERRY_IS_TYPE_OF
            and isinstance(definition, StrawberryObjectDefinition) and definition.is_type_of is None
            and definition.concrete_of is None):
        origin = definition.origin
    obj_type._hf_origin = origin
    return origin


_NON_NULL, _OBJECT, _LEAF, _LIST, _OTHER = "non_null", "object", "leaf", "list", "other"
# what completed values are (an object's answer, a leaf's, a list's): never awaitable, so not asked
_SETTLED = frozenset({dict, list, str, int, float, bool, type(None)})


def _kind_of(t) -> str:
    if is_non_null_type(t):
        return _NON_NULL
    if is_list_type(t):
        return _LIST
    if is_leaf_type(t):
        return _LEAF
    if is_abstract_type(t):
        return _OTHER  # graphql-core's own completion (resolve_type)
    return _OBJECT if is_object_type(t) else _OTHER


class _Field:
    """One entry of a compiled selection set. `attr` is set for a plain attribute of a leaf
    type (read with getattr, coerced here); otherwise graphql-core executes the field."""

    __slots__ = ("name", "group", "return_type", "attr", "leaf", "non_null", "str_passthrough", "field_name", "field_def",
                 "enum_cls", "enum_names", "direct")

    def __init__(self, name, group, return_type, attr, leaf, non_null, field_name, field_def=None):
        self.name, self.group, self.return_type = name, group, return_type
        self.attr, self.leaf, self.non_null, self.field_name = attr, leaf, non_null, field_name
        self.field_def = field_def
        self.direct = None  # (function, takes self, info parameter, strawberry's Info maker): _direct_resolver
        # String and ID answer a str as it is (graphql-core's serialize_string / serialize_id)
        self.str_passthrough = leaf is GraphQLString or leaf is GraphQLID
        # a strawberry enum's members: coerced once each (strawberry scans the enum's values on
        # every call), remembered on the type; anything else goes to coerce_output_value
        self.enum_cls = getattr(leaf, "wrapped_cls", None) if isinstance(leaf, GraphQLEnumType) else None
        self.enum_names = None
        if self.enum_cls is not None:
            try:
                self.enum_names = leaf._hf_names
            except AttributeError:
                self.enum_names = leaf._hf_names = {}


class _Selection(tuple):
    """A compiled selection set: its `_Field`s, and `run`, what executes it (graphql-core's
    execute_fields): `PlannedExecutor._execute_loop`, until a selection set of a plan has run
    GENERATE_AFTER times, then the code `_generate` wrote for it. Writing code costs about 100 µs
    a field and saves about a microsecond a field each time it runs instead of the loop: only
    what runs again and again (a page's rows, a polled dashboard) is worth it, and a document run
    once (or a flood of different ones) costs no more than before. A selection set of more than
    MAX_GENERATED_FIELDS fields stays on the loop (the time to write it grows with it)."""

    run = None  # set below (PlannedExecutor._execute_loop) and per hot planned selection set
    planned = False
    uses = 0


GENERATE_AFTER = 100  # objects completed through a planned selection set before it is written out as code
MAX_GENERATED_FIELDS = 64
GENERATED = "<planned selection set>"  # the file name of the generated code (tracebacks, tests)
# values a scalar's coercion takes as they are read (none an error, an awaitable or None)
_PLAIN_VALUES = frozenset({int, float, bool, str, datetime.datetime, datetime.date, datetime.time, decimal.Decimal, uuid.UUID})
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _generate(executor, parent_type, compiled: _Selection):
    """`PlannedExecutor._execute_loop` for one selection set, written out as a function: each
    field's step is the loop's for that field's kind, with what the loop looks up on the field
    (its name, attribute, kind, enum) as constants. A plain leaf attribute is answered where it
    is read when its value is a str for a String or ID, a member of its strawberry enum already
    coerced once, or a plain Python value its scalar coerces; an object (from a plain attribute or
    a direct resolver) that is an instance of its type's own class is completed by its
    sub-selection's code at once (`_object_guard`). Any other value of a plain attribute goes to
    `_attr_value`, a failing read to `_attr_failed`, any other result of a direct resolver to
    `_direct_completion`: the loop's own steps. Built from the schema's fields and the
    document's response names only (GraphQL names: `[_A-Za-z][_0-9A-Za-z]*`), never from a
    request's values."""
    env: dict[str, Any] = {"_Path": Path, "_Undefined": Undefined, "_SETTLED": _SETTLED, "_str": str, "_TN": parent_type.name,
                           "_PLAIN": _PLAIN_VALUES,
                           "_LazyInfo": _LazyInfo, "_CAST": _CAST}
    lines = ["def run(self, parent_type, source_value, path, compiled, position_context):",
             "    results = {}", "    awaitable_fields = []", "    try:"]
    body_start = len(lines)
    for i, f in enumerate(compiled):
        fv = env[f"_F{i}"] = f
        if not _IDENTIFIER.fullmatch(f.name):
            raise ValueError(f"not a GraphQL response name: {f.name!r}")
        key = repr(f.name)
        if f.attr is not None:
            read = (f"source_value.{f.attr}" if f.attr.isascii() and f.attr.isidentifier() and not keyword.iskeyword(f.attr)
                    and not f.attr.startswith("__")  # (a non-ASCII name would be NFKC-normalised by the compiler)
                    else f"getattr(source_value, {f.attr!r})")
            lines += ["        try:", f"            value = {read}", "        except Exception as raw_error:",
                      f"            self._attr_failed(_F{i}, parent_type, path, raw_error, results)", "        else:"]
            slow = f"self._attr_value(_F{i}, parent_type, value, path, position_context, results, awaitable_fields)"
            if fv.leaf is not None and fv.str_passthrough:
                lines += ["            if value.__class__ is _str:", f"                results[{key}] = value",
                          "            else:", f"                {slow}"]
            elif fv.leaf is not None and fv.enum_cls is not None:
                env[f"_E{i}"], env[f"_N{i}"] = fv.enum_cls, fv.enum_names
                lines += [f"            coerced = _N{i}.get(value) if value.__class__ is _E{i} else None",
                          "            if coerced is not None:", f"                results[{key}] = coerced",
                          "            else:", f"                {slow}"]
            elif fv.leaf is not None and isinstance(fv.leaf, GraphQLScalarType):
                # a value of a plain Python type (never None, an error or an awaitable): the
                # scalar's coercion right here; anything it refuses, the loop's step (which
                # coerces it again and reports the refusal as graphql-core does)
                env[f"_L{i}"] = fv.leaf
                lines += ["            coerced = None", "            if value.__class__ in _PLAIN:", "                try:",
                          f"                    coerced = _L{i}.coerce_output_value(value)", "                except Exception:",
                          "                    coerced = None", "            if coerced is not None and coerced is not _Undefined:",
                          f"                results[{key}] = coerced", "            else:", f"                {slow}"]
            elif fv.leaf is None and (obj := _object_guard(executor, f, env, i)) is not None:
                lines += [f"            if {obj}:", f"                field_path = _Path(path, {key}, _TN)",
                          "                try:", f"                    completed = {_run_sub(i)}",
                          "                except Exception as raw_error:",
                          f"                    self.handle_field_error(raw_error, _F{i}.return_type, _F{i}.group, field_path)",
                          "                    completed = None",
                          "                else:", "                    if completed.__class__ is not dict and self.is_awaitable(completed):",
                          f"                        completed = self._settled(completed, _F{i}.return_type, _F{i}.group, field_path)",
                          f"                        awaitable_fields.append({key})",
                          f"                results[{key}] = completed", "            else:", f"                {slow}"]
            else:
                lines.append(f"            {slow}")
            continue
        if f.return_type is None:
            continue  # not a field of this type (graphql-core: Undefined, left out)
        field_path = f"_Path(path, {key}, _TN)"
        if f.direct is not None and (obj := _object_guard(executor, f, env, i, "result")) is not None:
            func, takes_self, info_name, make_info = f.direct
            env[f"_R{i}"], env[f"_I{i}"] = func, make_info
            call = ", ".join([*(["source_value"] if takes_self else []), *([f"{info_name}=_I{i}(info)"] if info_name else [])])
            lines += [f"        field_path = {field_path}", f"        info = _LazyInfo(self, _F{i}, parent_type, field_path)", "        try:",
                      f"            result = _R{i}({call})", f"            if {obj}:", f"                completed = {_run_sub(i, 'result')}",
                      "                if completed.__class__ is not dict and self.is_awaitable(completed):",
                      f"                    completed = self._settled(completed, _F{i}.return_type, _F{i}.group, field_path)",
                      "            else:",
                      f"                completed = self._direct_completion(_F{i}, info, field_path, result, position_context)",
                      "        except Exception as raw_error:",
                      f"            self.handle_field_error(raw_error, _F{i}.return_type, _F{i}.group, field_path)",
                      "            completed = None", f"        results[{key}] = completed",
                      "        if completed.__class__ not in _SETTLED and self.is_awaitable(completed):",
                      f"            awaitable_fields.append({key})"]
            continue
        if f.direct is not None:
            lines.append(f"        result = self._execute_direct(parent_type, source_value, _F{i}, {field_path}, position_context)")
        else:
            lines.append(f"        result = self.execute_field(parent_type, source_value, _F{i}.group, {field_path}, position_context)")
        lines += ["        if result is not _Undefined:", f"            results[{key}] = result",
                  "            if result.__class__ not in _SETTLED and self.is_awaitable(result):",
                  f"                awaitable_fields.append({key})"]
    if len(lines) == body_start:
        lines.append("        pass")
    lines += ["    except Exception:", "        if awaitable_fields:",
              "            self.settle_in_background([results[field] for field in awaitable_fields])", "        raise",
              "    if not awaitable_fields:", "        return results", "    return self._results_later(results, awaitable_fields)"]
    exec(compile("\n".join(lines), GENERATED, "exec"), env)  # noqa: S102 - from the schema's fields and the document's names only
    return env["run"]


def _object_guard(executor, f: _Field, env: dict, i: int, value: str = "value") -> str | None:
    """For a field of an object type (nullable or not) whose values the generated code completes
    itself: the test that a value is one of them (an instance of the type's own class, and for
    strawberry's `is_type_of`, not cast: what `complete_object_value` accepts without asking),
    with the type, its class and its sub-selection (the plan's, as `_subselection` finds it for
    every object) put in `env`. None for anything else (lists, interfaces and unions, a type
    with its own `is_type_of`): graphql-core's way."""
    return_type = f.return_type
    named = return_type.of_type if is_non_null_type(return_type) else return_type
    if not is_object_type(named):
        return None
    definition = (named.extensions or {}).get(_BACKREF)
    if not isinstance(definition, StrawberryObjectDefinition) or definition.concrete_of is not None:
        return None
    if named.is_type_of is None:
        origin, cast_check = definition.origin, ""
    else:
        origin, cast_check = _origin(named), f" and getattr({value}, _CAST, None) is None"
        if origin is None:
            return None
    env[f"_OT{i}"], env[f"_O{i}"], env[f"_S{i}"] = named, origin, executor._subselection(named, f.group)
    return f"{value}.__class__ is _O{i}{cast_check}"


def _run_sub(i: int, value: str = "value") -> str:
    """The generated call completing an object of field `i` with its sub-selection's own run."""
    return f"_S{i}.run(self, _OT{i}, {value}, field_path, _S{i}, position_context)"


def _plain_attribute(field_def, node: FieldNode) -> str | None:
    """The Python attribute a field reads when it is a plain strawberry attribute: no resolver,
    no permission class or field extension (strawberry compiles those into `_get_basic_result`
    only when it has none), the stock `get_result` and the default resolver (getattr)."""
    sf = (field_def.extensions or {}).get(_BACKREF)
    resolve = field_def.resolve
    if (not isinstance(sf, StrawberryField) or resolve is None or not getattr(resolve, "_is_default", False)
            or resolve.__name__ != "_get_basic_result" or sf.base_resolver is not None or sf.extensions
            or type(sf).get_result is not StrawberryField.get_result or sf.default_resolver is not getattr
            or node.arguments or field_def.args):
        return None
    return sf.python_name


def _direct_resolver(field_def, node: FieldNode):
    """For a strawberry resolver without arguments, permission classes, field extensions or
    exception handlers (e.g. `Ticket.dealer(self, info)`, a DataLoader): what strawberry's
    wrapper would end up calling, taken from the wrapper itself: the function, whether it takes
    the source as `self`, the name of its info parameter, and strawberry's own Info maker. None
    for anything else (or a strawberry whose wrapper is not laid out as expected)."""
    sf = (field_def.extensions or {}).get(_BACKREF)
    resolve = field_def.resolve
    if (not isinstance(sf, StrawberryField) or resolve is None or sf.base_resolver is None or sf.extensions
            or field_def.args or node.arguments or sf.is_subscription or type(sf).get_result is not StrawberryField.get_result
            or getattr(resolve, "__name__", None) not in ("_resolver", "_async_resolver")):
        return None
    cells = dict(zip(resolve.__code__.co_freevars, resolve.__closure__ or ()))
    try:
        handlers = cells["field_exception_handlers"].cell_contents
        make_info = cells["_strawberry_info_from_graphql"].cell_contents
    except (KeyError, ValueError):
        return None
    resolver = sf.base_resolver
    if handlers or type(resolver).__call__ is not StrawberryResolver.__call__ or resolver.arguments:
        return None
    if resolver.parent_parameter is not None or resolver.root_parameter is not None or not callable(resolver.wrapped_func):
        return None
    info = resolver.info_parameter
    return resolver.wrapped_func, resolver.self_parameter is not None, info.name if info is not None else None, make_info


def _alive(ref) -> "PlannedExecutor":
    executor = ref()
    if executor is None:  # only a task that outlived its operation can get here
        raise RuntimeError("the GraphQL operation this resolver belonged to has ended")
    return executor


class PlannedExecutor(Executor):
    """graphql-core's plain executor (this schema enables no @defer/@stream) with strawberry's
    resolve info, executing from the plan of the document (see the module's docstring)."""

    build_resolve_info = StrawberryGraphQLCoreExecutionContext.build_resolve_info

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.operation_extensions = kwargs.pop("operation_extensions", None)
        super().__init__(*args, **kwargs)
        # graphql-core hands resolvers its own bound methods (info.async_helpers), a reference
        # cycle through the executor that kept the whole request (context, loaders, every row)
        # alive until a collection of the older generations: the same methods, reached weakly
        ref = weakref.ref(self)
        self.async_helpers = GraphQLResolveInfoHelpers(gather=lambda values: _alive(ref).gather_async_work(values),
                                                       track=lambda values: _alive(ref).track_async_work(values))
        self._plan = cache_for(self.schema).plan(self.operation, self.fragments, self.variable_values.coerced)
        if self._plan is not None:
            self._relevant_sub_fields = self._plan.sub_fields
        self._compiled_here: dict = {}  # without a plan: compiled for this execution only
        self._subselections = self._plan.subselections if self._plan is not None else {}
        mm = self.middleware_manager
        # a schema extension's `resolve` hook wraps every resolver: then no field is read directly
        self._direct = mm is None or mm._middleware_resolvers is None
        # @stream changes how lists complete: lists are then graphql-core's own (this schema has none)
        self._streams = self.schema.get_directive("stream") is not None

    # -- the root: graphql-core's execute_operation, with the collected root fields planned --

    def execute_operation(self, serially: bool | None = None):
        abort_signal = self.abort_signal
        if abort_signal is not None and abort_signal.aborted:
            self.run_async_work_finished_hook()
            raise self.abort_error()
        try:
            operation = self.operation
            schema = self.schema
            operation_type = operation.operation
            root_type = schema.get_root_type(operation_type)
            if root_type is None:
                raise GraphQLError(f"Schema is not configured to execute {operation_type.value} operation.", operation)  # noqa: TRY301
            plan = self._plan
            collected_fields = plan.root if plan is not None else None
            if collected_fields is None:
                try:
                    collected_fields = collect_fields(schema, self.fragments, self.variable_values, root_type, operation,
                                                      self.hide_suggestions)
                except RecursionError:
                    collected_fields = None
                if collected_fields is None:
                    raise GraphQLError(SELECTIONS_NESTED_TOO_DEEPLY, operation)  # noqa: TRY301
                if plan is not None:
                    plan.root = collected_fields
            grouped_field_set, new_defer_usages, _forbidden = collected_fields
            result = self.execute_collected_root_fields(
                root_type, self.root_value, grouped_field_set,
                operation_type == OperationType.MUTATION if serially is None else serially, new_defer_usages)
            if self.is_awaitable(result):
                async def await_result():
                    try:
                        data = await result
                    except GraphQLError as error:
                        self.collected_errors.add(error, None)
                        return self.build_response(None)
                    except Exception:
                        await self.cancel_incremental_work()
                        self.run_async_work_finished_hook()
                        raise
                    return self.build_response(data)

                if abort_signal is None:
                    return await_result()
                return self.with_aborted_execution_error(await_result())
            data = result
        except GraphQLError as error:
            self.collected_errors.add(error, None)
            return self.finish(self.build_response(None))
        return self.finish(self.build_response(data))

    # -- selection sets: compiled once per plan ---------------------------------------------

    def _compiled(self, parent_type: GraphQLObjectType, grouped_field_set) -> tuple[_Field, ...]:
        plan = self._plan
        key = (parent_type, id(grouped_field_set))
        memo = plan.compiled if plan is not None else self._compiled_here
        hit = memo.get(key)
        if hit is not None and hit[0] is grouped_field_set:
            return hit[1]
        fields = []
        direct = self._direct
        for name, group in grouped_field_set.items():
            node = group[0].node
            field_def = self.schema.get_field(parent_type, node.name.value)
            if field_def is None:
                fields.append(_Field(name, group, None, None, None, False, node.name.value))
                continue
            rtype = field_def.type
            non_null = is_non_null_type(rtype)
            named = rtype.of_type if non_null else rtype
            attr = _plain_attribute(field_def, node) if direct else None
            inner = named
            while is_list_type(inner) or is_non_null_type(inner):
                inner = inner.of_type
            if attr is not None and not is_leaf_type(named) and not is_object_type(inner):
                attr = None  # interfaces and unions: graphql-core's way, resolve info and all
            entry = _Field(name, group, rtype, attr, named if attr and is_leaf_type(named) else None, non_null,
                           node.name.value, field_def)
            if attr is None and direct:
                entry.direct = _direct_resolver(field_def, node)
            fields.append(entry)
        compiled = _Selection(fields)
        compiled.planned = plan is not None  # kept across requests: written out as code once it is hot
        memo[key] = (grouped_field_set, compiled)
        return compiled

    def complete_value(self, return_type, field_details_list, info, path, result, position_context):
        """graphql-core's complete_value, dispatching on a kind kept on the type (the same steps
        in the same order, without testing each type predicate in turn for every value)."""
        try:
            kind = return_type._hf_kind
        except AttributeError:
            kind = return_type._hf_kind = _kind_of(return_type)
        if isinstance(result, Exception):
            raise result
        if kind is _NON_NULL:
            inner = return_type.of_type
            if result is not None and result is not Undefined and getattr(inner, "_hf_kind", None) is _OBJECT:
                return self.complete_object_value(inner, field_details_list, info, path, result, position_context)
            completed = self.complete_value(inner, field_details_list, info, path, result, position_context)
            if completed is None:
                raise TypeError(f"Cannot return null for non-nullable field {info.parent_type}.{info.field_name}.")
            return completed
        if result is None or result is Undefined:
            return None
        if kind is _OBJECT:
            return self.complete_object_value(return_type, field_details_list, info, path, result, position_context)
        if kind is _LEAF:
            return self.complete_leaf_value(return_type, result)
        if kind is _LIST:
            return self.complete_list_value(return_type, field_details_list, info, path, result, position_context)
        return super().complete_value(return_type, field_details_list, info, path, result, position_context)

    def complete_object_value(self, return_type, field_details_list, info, path, result, position_context):
        """graphql-core's, with the sub-selection taken from the plan here (two calls less per
        object) and strawberry's `is_type_of` answered without calling it for an instance of the
        type's own class (`_origin`); an `is_type_of` that answers an awaitable goes
        graphql-core's way."""
        is_type_of = return_type.is_type_of
        if is_type_of is not None:
            try:
                origin = return_type._hf_origin
            except AttributeError:
                origin = _origin(return_type)
            if result.__class__ is not origin or getattr(result, _CAST, None) is not None:
                ok = is_type_of(result, info)
                if ok is not True and self.is_awaitable(ok):
                    return self._type_checked_later(ok, return_type, field_details_list, path, result, position_context)
                if not ok:
                    raise invalid_return_type_error(return_type, result, field_details_list)
        hit = self._subselections.get((return_type, id(field_details_list)))
        if hit is None or hit[0] is not field_details_list:
            return self._execute_compiled(return_type, result, path, self._subselection(return_type, field_details_list),
                                          position_context)
        return self._execute_compiled(return_type, result, path, hit[1], position_context)

    def _type_checked_later(self, ok, return_type, field_details_list, path, result, position_context):
        async def execute_subfields_async():
            if not await self.with_abort_signal(ok):
                raise invalid_return_type_error(return_type, result, field_details_list)
            sub_fields = self.collect_and_execute_subfields(return_type, field_details_list, path, result, position_context)
            if self.is_awaitable(sub_fields):
                return await sub_fields
            return sub_fields

        return execute_subfields_async()

    def complete_list_value(self, return_type, field_details_list, info, path, result, position_context):
        """graphql-core's complete_list_value for a list of objects (`[T]`, `[T!]`), item by
        item as graphql-core's complete_iterable_value and complete_list_item_value complete
        them (the same errors, paths and null propagation), with the items' sub-selection looked
        up once for the whole list. Anything else (lists of leaves, abstract types, nested
        lists, async iterables, a schema with @stream) is graphql-core's own."""
        item_type = return_type.of_type
        non_null = is_non_null_type(item_type)
        obj_type = item_type.of_type if non_null else item_type
        if (not is_object_type(obj_type) or self._streams or self.is_async_iterable(result)
                or not isinstance(result, (list, tuple))):
            return super().complete_list_value(return_type, field_details_list, info, path, result, position_context)
        compiled = self._subselection(obj_type, field_details_list)
        is_awaitable = self.is_awaitable
        is_type_of = obj_type.is_type_of
        origin = _origin(obj_type) if is_type_of is not None else None
        execute = self._execute_compiled
        completed: list[Any] = []
        append = completed.append
        awaitable_indices: list[int] = []
        try:
            for index, item in enumerate(result):
                item_path = Path(path, index, None)
                if is_awaitable(item):
                    append(self.complete_awaitable_list_item_value(item, item_type, field_details_list, info, item_path,
                                                                   position_context))
                    awaitable_indices.append(index)
                    continue
                try:
                    if isinstance(item, Exception):
                        raise item  # noqa: TRY301 - graphql-core's complete_value does the same
                    if item is None or item is Undefined:
                        if non_null:
                            raise TypeError(f"Cannot return null for non-nullable field {info.parent_type}.{info.field_name}.")  # noqa: TRY301
                        append(None)
                        continue
                    if is_type_of is not None and (item.__class__ is not origin or getattr(item, _CAST, None) is not None):
                        ok = is_type_of(item, info)
                        if ok is not True and is_awaitable(ok):
                            value = self._type_checked_later(ok, obj_type, field_details_list, item_path, item, position_context)
                        elif not ok:
                            raise invalid_return_type_error(obj_type, item, field_details_list)  # noqa: TRY301
                        else:
                            value = execute(obj_type, item, item_path, compiled, position_context)
                    else:
                        value = execute(obj_type, item, item_path, compiled, position_context)
                    if value.__class__ is not dict and is_awaitable(value):
                        value = self._settled(value, item_type, field_details_list, item_path)
                        awaitable_indices.append(index)
                    append(value)
                except Exception as raw_error:
                    self.handle_field_error(raw_error, item_type, field_details_list, item_path)
                    append(None)
        except Exception:
            # as graphql-core: the awaitables started and those still waiting further on in the
            # list are settled, never left unawaited (or running past the transaction unseen)
            pending = [completed[i] for i in awaitable_indices]
            pending.extend(x for x in result[index + 1:] if is_awaitable(x))
            if pending:
                self.settle_in_background(pending)
            raise
        if not awaitable_indices:
            return completed

        async def get_completed_results() -> list[Any]:
            if len(awaitable_indices) == 1:
                i = awaitable_indices[0]
                completed[i] = await completed[i]
            else:
                awaited = await gather_settled(*(completed[i] for i in awaitable_indices))
                for i, sub_result in zip(awaitable_indices, awaited, strict=True):
                    completed[i] = sub_result
            return completed

        return get_completed_results()

    def _subselection(self, return_type, field_details_list) -> tuple[_Field, ...]:
        """The sub-selection of `field_details_list` on `return_type`, compiled: from the plan in
        one lookup (its grouped fields collected and compiled the first time)."""
        key = (return_type, id(field_details_list))
        hit = self._subselections.get(key)
        if hit is None or hit[0] is not field_details_list:
            grouped_field_set = self.collect_subfields(return_type, field_details_list).grouped_field_set
            hit = self._subselections[key] = (field_details_list, self._compiled(return_type, grouped_field_set))
        return hit[1]

    def collect_and_execute_subfields(self, return_type, field_details_list, path, result, position_context):
        """graphql-core's, with the sub-selection's grouped fields and their compiled form taken
        from the plan in one lookup."""
        return self._execute_compiled(return_type, result, path, self._subselection(return_type, field_details_list),
                                      position_context)

    def _execute_direct(self, parent_type, source, f, path, position_context):
        """graphql-core's execute_field, calling the resolver as strawberry's wrapper would
        (source as `self`, strawberry's Info as the info parameter; no arguments to convert)."""
        func, takes_self, info_name, make_info = f.direct
        info = _LazyInfo(self, f, parent_type, path)
        try:
            args = (source,) if takes_self else ()
            result = func(*args, **{info_name: make_info(info)}) if info_name else func(*args)
            return self._direct_completion(f, info, path, result, position_context)
        except Exception as raw_error:
            self.handle_field_error(raw_error, f.return_type, f.group, path)
            return None

    def _direct_completion(self, f, info, path, result, position_context):
        """What a direct resolver answered, completed (execute_field's steps after the resolver;
        an error raised here is the field's, the caller handles it)."""
        if self.is_awaitable(result):
            return self.complete_awaitable_value(f.return_type, f.group, info, path, result, position_context)
        completed = self.complete_value(f.return_type, f.group, info, path, result, position_context)
        if self.is_awaitable(completed):
            return self._settled(completed, f.return_type, f.group, path)
        return completed

    def _settled(self, completed, return_type, field_details_list, path):
        """graphql-core's await_completed (execute_field, complete_list_item_value): an error
        completing the value is the field's, or the list item's, at `path`."""
        async def await_completed():
            try:
                return await completed
            except Exception as raw_error:
                self.handle_field_error(raw_error, return_type, field_details_list, path)
                return None

        return await_completed()

    def execute_fields(self, parent_type, source_value, path, grouped_field_set, position_context):
        return self._execute_compiled(parent_type, source_value, path, self._compiled(parent_type, grouped_field_set),
                                      position_context)

    def _execute_compiled(self, parent_type, source_value, path, compiled, position_context):
        """graphql-core's execute_fields over the compiled selection set: its generated code
        once a planned selection set is hot (`_generate`), otherwise `_execute_loop`."""
        return compiled.run(self, parent_type, source_value, path, compiled, position_context)

    def _execute_loop(self, parent_type, source_value, path, compiled, position_context):
        """graphql-core's execute_fields over the compiled selection set, field by field; plain
        leaf attributes are read and coerced here (graphql-core's complete_value for a leaf,
        step by step: `_attr_value`)."""
        if compiled.planned:
            uses = compiled.uses = compiled.uses + 1
            if uses >= GENERATE_AFTER:
                compiled.planned = False
                if len(compiled) <= MAX_GENERATED_FIELDS:
                    try:
                        compiled.run = _generate(self, parent_type, compiled)  # the next object of it runs the code
                    except Exception:  # noqa: BLE001 - never expected (GraphQL names): the loop, for good
                        log.exception("a selection set of %s could not be written out as code", parent_type.name)
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for f in compiled:
                name = f.name
                if f.attr is not None:
                    try:
                        value = getattr(source_value, f.attr)
                    except Exception as raw_error:
                        self._attr_failed(f, parent_type, path, raw_error, results)
                    else:
                        self._attr_value(f, parent_type, value, path, position_context, results, awaitable_fields)
                    continue
                if f.return_type is None:
                    continue  # not a field of this type (graphql-core: Undefined, left out)
                if f.direct is not None:
                    result = self._execute_direct(parent_type, source_value, f, Path(path, name, parent_type.name), position_context)
                else:
                    result = self.execute_field(parent_type, source_value, f.group, Path(path, name, parent_type.name),
                                                position_context)
                if result is not Undefined:
                    results[name] = result
                    if result.__class__ not in _SETTLED and is_awaitable(result):
                        awaitable_fields.append(name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[field] for field in awaitable_fields])
            raise
        if not awaitable_fields:
            return results
        return self._results_later(results, awaitable_fields)

    def _attr_failed(self, f, parent_type, path, raw_error, results) -> None:
        """Reading a plain attribute raised: the field's error, the field null."""
        self.handle_field_error(raw_error, f.return_type, f.group, Path(path, f.name, parent_type.name))
        results[f.name] = None

    def _attr_value(self, f, parent_type, value, path, position_context, results, awaitable_fields) -> None:
        """A plain attribute's value, read: completed into `results` (a leaf coerced here, an
        object or a list by graphql-core's completion; an awaitable as graphql-core awaits one)."""
        name = f.name
        try:
            if f.str_passthrough and type(value) is str:
                results[name] = value
                return
            if f.leaf is None:  # an object, or a list: graphql-core's completion
                if self.is_awaitable(value):
                    raise _Awaitable()  # noqa: TRY301
                field_path = Path(path, name, parent_type.name)
                completed = self.complete_value(f.return_type, f.group, _LazyInfo(self, f, parent_type, field_path),
                                                field_path, value, position_context)
                if completed.__class__ is not dict and self.is_awaitable(completed):
                    completed = self._settled(completed, f.return_type, f.group, field_path)
                    awaitable_fields.append(name)
                results[name] = completed
                return
            if isinstance(value, Exception):
                raise value  # noqa: TRY301 - graphql-core's complete_value does the same
            if value is None or value is Undefined:
                if f.non_null:
                    raise TypeError(f"Cannot return null for non-nullable field {parent_type}.{f.field_name}.")  # noqa: TRY301
                results[name] = None
                return
            if self.is_awaitable(value):
                raise _Awaitable()  # noqa: TRY301
            if type(value) is f.enum_cls:
                coerced = f.enum_names.get(value)
                if coerced is None:
                    coerced = f.enum_names[value] = self.complete_leaf_value(f.leaf, value)
                results[name] = coerced
                return
            results[name] = self.complete_leaf_value(f.leaf, value)
        except _Awaitable:
            field_path = Path(path, name, parent_type.name)
            info = self.build_resolve_info(f.field_def, [d.node for d in f.group], parent_type, field_path)
            results[name] = self.complete_awaitable_value(f.return_type, f.group, info, field_path, value, position_context)
            awaitable_fields.append(name)
        except Exception as raw_error:
            self.handle_field_error(raw_error, f.return_type, f.group, Path(path, name, parent_type.name))
            results[name] = None

    def _results_later(self, results, awaitable_fields):
        """The object's answer once its awaitable fields have settled."""
        async def get_results() -> dict[str, Any]:
            if len(awaitable_fields) == 1:
                field = awaitable_fields[0]
                results[field] = await results[field]
            else:
                awaited = await gather_settled(*(results[field] for field in awaitable_fields))
                results.update(zip(awaitable_fields, awaited, strict=True))
            return results

        return get_results()


_Selection.run = staticmethod(PlannedExecutor._execute_loop)
