"""The execution-plan cache (schema/plan_cache.py) and the compiled cost (schema/cost.py).

A plan holds nothing of a request: the same document run by another brand or another caller
answers with that caller's data only; the plan's references are document and schema only.
It is bounded, and a schema built again gets plans of its own. The planned executor answers
exactly what graphql-core's executor answers (data, errors, their paths), and the compiled cost
is OperationCost's."""
from __future__ import annotations

import asyncio
import gc
import uuid
from enum import Enum
from types import FunctionType, SimpleNamespace

import pytest
import strawberry
from graphql import (
    GraphQLArgument,
    GraphQLField,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLSchema,
    Node,
    parse,
)
from graphql.language import Location, Source, Token
from graphql.pyutils import Undefined

from schema import cost as cost_module
from schema import plan_cache
from schema.cost import OperationCost, price_operation
from schema.plan_cache import PlanCache, PlannedExecutor, cache_for

PAGE_QUERY = "query PlanProbe { viewer { roles } dealers(first: 10) { edges { cursor node { id code name region } } pageInfo { hasNextPage } } }"


def _app_cache() -> PlanCache:
    from schema import schema

    return cache_for(schema._schema)


def _walk_plan(plan) -> list:
    """Every object a plan reaches, the schema's own types and fields excepted (they are the
    schema, not a request's). A selection set's generated code reaches what it was written
    with: its globals (the builtins aside)."""
    seen, out, stack = set(), [], [plan]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, type):
            continue
        seen.add(id(obj))
        if isinstance(obj, (GraphQLNamedType, GraphQLField, GraphQLList, GraphQLNonNull, GraphQLSchema, GraphQLArgument)):
            continue
        out.append(obj)
        if isinstance(obj, FunctionType) and obj.__code__.co_filename == plan_cache.GENERATED:
            stack.extend(v for k, v in obj.__globals__.items() if k != "__builtins__")
            continue
        stack.extend(gc.get_referents(obj))
    return out


async def test_one_plan_serves_every_brand_and_caller_with_their_own_data(gql, brand_a, brand_b, monkeypatch):
    monkeypatch.setattr(plan_cache, "GENERATE_AFTER", 1)  # the plan's selection sets written out as code at once
    cache = _app_cache()
    answers = {}
    for name, brand, user in (("a", brand_a, "admin"), ("b", brand_b, "admin"), ("a_agent", brand_a, "d1_agent"),
                              ("a_regional", brand_a, "regional")):
        answers[name] = (await gql(brand.token(user), PAGE_QUERY))["data"]
    hits = cache.hits
    for brand, user in ((brand_b, "admin"), (brand_a, "d1_agent"), (brand_a, "admin")):
        await gql(brand.token(user), PAGE_QUERY)
    assert cache.hits - hits == 3  # the same plan, three callers of two brands

    def names(data):
        return sorted(e["node"]["name"] for e in data["dealers"]["edges"])

    assert names(answers["a"]) == sorted(d.name for d in brand_a.dealers.values())
    assert names(answers["b"]) == sorted(d.name for d in brand_b.dealers.values())
    assert names(answers["a_agent"]) == [brand_a.dealers["d1"].name]  # a dealer agent: their dealer only
    assert names(answers["a_regional"]) == sorted(d.name for d in brand_a.dealers.values() if d.region == "north")
    assert answers["a_agent"]["viewer"]["roles"] == ["DEALER_AGENT"]

    # what the plan holds: the document and the schema, nothing any request produced
    from schema.context import Context

    entry = next(e for e in cache._ops.values() if e.operation.name and e.operation.name.value == "PlanProbe")
    (plan,) = entry.plans.values()
    reached = _walk_plan(plan)
    allowed = (plan_cache.Plan, plan_cache._Field, dict, list, tuple, str, int, bool, type(None), Node, Location, Token,
               Source, frozenset, set, Enum,  # Enum: graphql-core's OperationType, TokenKind
               FunctionType, type(Undefined))  # a selection set's generated code, graphql-core's Undefined (its constants)
    assert any(isinstance(o, FunctionType) for o in reached)  # the plan's selection sets run as generated code
    strays = {type(o).__name__ for o in reached if not isinstance(o, allowed)}
    assert not strays, strays
    assert not any(isinstance(o, (Context, uuid.UUID)) for o in reached)
    texts = [o for o in reached if isinstance(o, str)]
    for brand in (brand_a, brand_b):
        assert not any(brand.slug in t or str(brand.tenant_id) in t for t in texts)


async def test_skip_and_include_variables_get_a_plan_each(gql, brand_a):
    q = "query Probe($x: Boolean!) { viewer { roles @include(if: $x) actorKind @skip(if: $x) } }"
    for x in (True, False, True, False):
        body = await gql(brand_a.token(), q, {"x": x})
        assert set(body["data"]["viewer"]) == ({"roles"} if x else {"actorKind"})
    entry = next(e for e in _app_cache()._ops.values() if e.operation.name and e.operation.name.value == "Probe")
    assert entry.directive_vars == ("x",) and len(entry.plans) == 2


async def test_the_cache_is_bounded(gql, brand_a, monkeypatch):
    cache = _app_cache()
    monkeypatch.setattr(cache, "max_plans", 4)
    for i in range(10):
        body = await gql(brand_a.token(), f"query Bound{i} {{ b{i}: brand {{ name }} }}")
        assert body["data"][f"b{i}"]["name"] == f"Brand {brand_a.slug}"
        assert len(cache) <= 4
    # variants of one operation are bounded too
    small = PlanCache(max_plans=2)
    doc = parse("query($a: Boolean) { x @include(if: $a) }")
    op = doc.definitions[0]
    for i in range(plan_cache.MAX_VARIANTS + 5):
        small.plan(op, {}, {"a": i})  # distinct values (not Booleans: a bound that holds whatever comes)
    assert len(small._ops[id(op)].plans) == plan_cache.MAX_VARIANTS
    for i in range(5):
        small.plan(parse(f"{{ f{i} }}").definitions[0], {}, {})
    assert len(small) == 2


async def test_the_compiled_cost_cache_is_bounded(monkeypatch):
    from schema import cost

    monkeypatch.setattr(cost, "MAX_COMPILED", 3)
    for i in range(8):
        assert price_operation(parse(f"{{ a{i}: brand {{ name }} }}"), None, None, 100).requested() == 2
        assert len(cost._compiled) <= 3


# -- a small schema: exactness against graphql-core's own executor, and schema reloads ------

@strawberry.enum
class Colour(Enum):
    RED = "red"
    BLUE = "blue"


class Boom(Exception):
    pass


@strawberry.type
class Thing:
    name: str
    nick: str | None
    colour: Colour
    count: int
    tags: list[str]

    @strawberry.field
    def loud(self) -> str:
        return self.name.upper()

    @strawberry.field
    async def later(self) -> str | None:
        return f"later {self.name}"

    @strawberry.field
    def where(self, info: strawberry.Info) -> str:
        """A direct resolver reading its info beyond the context (built only when read)."""
        return f"{info.path.as_list()} {info.field_name} {info.python_name} {[f.name for f in info.selected_fields]} {info.context}"


@strawberry.type
class Holder:
    """Plain attributes of object and list types (read directly by the planned executor)."""

    thing: Thing
    things: list[Thing]
    maybe: Thing | None

    @strawberry.field
    def first(self) -> Thing:
        """A direct resolver of an object type: null (where non-null) and a look-alike too."""
        return self.thing

    @strawberry.field
    async def first_later(self) -> Thing | None:
        return self.things[0] if self.things else None


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Pet(Named):
    """Implements an interface: strawberry gives it an `is_type_of`, which every list item passes
    through (a Thing where a Pet belongs is an error of that item)."""

    legs: int


class PetChild(Pet):
    """A subclass: strawberry's is_type_of accepts it (isinstance), the planned executor asks it."""


@strawberry.type
class Picky(Named):
    """Its own is_type_of (strawberry calls it for every object, instances of the class too)."""

    @classmethod
    def is_type_of(cls, obj, _info) -> bool:
        return getattr(obj, "name", None) != "refused"


RAN: list[str] = []


async def _pet_later(name: str) -> Pet:
    RAN.append(name)
    return Pet(name=name, legs=2)


class BadThing:
    """Attributes that fail the way real objects can: None where non-null, an error raised, a
    value the scalar refuses."""

    nick = None
    colour = "green"
    count = "many"
    tags = ["x", None]

    @property
    def name(self):
        raise Boom("no name")


def _schema(greeting: str, things, executor=PlannedExecutor) -> strawberry.Schema:
    @strawberry.type
    class Query:
        @strawberry.field
        def greeting(self) -> str:
            return greeting

        @strawberry.field
        def things(self) -> list[Thing]:
            return things

        @strawberry.field
        def maybe(self) -> Thing | None:
            return things[-1]

        @strawberry.field
        def holders(self) -> list[Holder]:
            bad = things[-1]
            return [Holder(thing=things[0], things=things, maybe=None),
                    Holder(thing=None, things=[things[0], None], maybe=bad),  # type: ignore[arg-type]
                    Holder(thing=bad, things=[], maybe=things[0])]

        @strawberry.field
        def pets(self) -> list[Pet]:
            return [Pet(name="p", legs=4), *things]  # a Thing is not a Pet: an error, the list null

        @strawberry.field
        def maybe_pets(self) -> list[Pet | None]:
            return [Pet(name="p", legs=4), None, things[0], Pet(name="q", legs=3)]

        @strawberry.field
        def awaited_pets(self) -> list[Pet]:
            return [_pet_later("soon"), Pet(name="now", legs=1), _pet_later("later")]

        @strawberry.field
        def empty(self) -> list[Pet]:
            return []

        @strawberry.field
        def odd_pets(self) -> list[Pet | None]:
            # a look-alike cast as a Pet (accepted by its cast), one not cast (refused), a subclass
            return [strawberry.cast(Pet, SimpleNamespace(name="cast", legs=0)), SimpleNamespace(name="plain", legs=0),
                    PetChild(name="child", legs=6), Pet(name="own", legs=4)]

        @strawberry.field
        def odd_pet(self) -> Pet | None:
            return strawberry.cast(Pet, SimpleNamespace(name="cast", legs=0))

        @strawberry.field
        def picky(self) -> list[Picky | None]:
            return [Picky(name="kept"), Picky(name="refused"), SimpleNamespace(name="look-alike")]  # type: ignore[list-item]

        @strawberry.field
        def one_picky(self) -> Picky | None:
            return Picky(name="refused")

        @strawberry.field
        def failing_pets(self) -> list[Pet]:
            return [Pet(name="p", legs=4), None, _pet_later("after the failure")]  # type: ignore[list-item]

    from strawberry.extensions import ParserCache

    # the parser cache hands every repeat the same document object, as in the app's schema
    return strawberry.Schema(query=Query, execution_context_class=executor, extensions=[lambda: ParserCache(maxsize=64)])


GOOD = [Thing(name="a", nick=None, colour=Colour.RED, count=1, tags=["t"]), Thing(name="b", nick="bee", colour=Colour.BLUE, count=2, tags=[])]

DOCUMENTS = [
    "{ greeting things { name nick colour count tags loud later } }",
    "{ things { ...F x: name } } fragment F on Thing { n: name colour __typename }",
    "query($s: Boolean!) { things { name @skip(if: $s) count @include(if: $s) } }",
    "{ maybe { name nick colour count tags } }",
    "{ things { name } maybe { loud later } }",
    "{ holders { thing { name loud } things { name colour later } maybe { nick count } } }",
    "{ holders { maybe { later } } }",
    "{ pets { name legs } greeting }",
    "{ maybePets { name ... on Pet { legs } } empty { name } }",
    "{ awaitedPets { name legs } maybePets { __typename name } }",
    "{ holders { things { later loud } } }",
    "{ things { where w: where } maybe { where } }",
    "{ oddPets { name legs } oddPet { name } }",
    "{ picky { name } onePicky { name } }",
    "{ holders { first { name loud colour } firstLater { name nick } maybe { name } } }",
]


@pytest.mark.parametrize("doc", DOCUMENTS)
@pytest.mark.parametrize("things", [GOOD, [*GOOD, BadThing()]], ids=["good", "bad"])
@pytest.mark.parametrize("with_plan", [True, False], ids=["generated", "loop"])
async def test_answers_exactly_what_graphql_core_answers(doc, things, with_plan, monkeypatch):
    """With a plan, selection sets run as their generated code; without one (a document whose
    field collection a plan cannot hold), through the executor's loop: both as graphql-core."""
    if with_plan:
        monkeypatch.setattr(plan_cache, "GENERATE_AFTER", 1)  # each selection set's code written at its first object
    else:
        monkeypatch.setattr(PlanCache, "plan", lambda self, *a: None)
    planned = _schema("hi", things)
    stock = _schema("hi", things, executor=None)  # strawberry's own executor
    for variables in ({"s": True}, {"s": False}, {"s": True}):
        a = await planned.execute(doc, variable_values=variables)
        b = await stock.execute(doc, variable_values=variables)
        assert a.data == b.data
        assert [(e.message, e.path) for e in a.errors or ()] == [(e.message, e.path) for e in b.errors or ()]


async def test_a_selection_set_is_written_out_as_code_once_it_is_hot(monkeypatch):
    """On the loop for its first GENERATE_AFTER objects, then its generated code; one larger than
    MAX_GENERATED_FIELDS stays on the loop; the answers are the same throughout."""
    monkeypatch.setattr(plan_cache, "GENERATE_AFTER", 5)
    monkeypatch.setattr(plan_cache, "MAX_GENERATED_FIELDS", 4)
    things = [Thing(name=f"t{i}", nick=None, colour=Colour.RED, count=i, tags=[]) for i in range(3)]
    schema = _schema("hi", things)
    small, large = "{ things { name count } }", "{ things { name nick colour count tags } }"
    runs = {}
    for doc in (small, large):
        answers = [(await schema.execute(doc)).data for _ in range(3)]  # 9 objects: past 5
        assert answers[0] == answers[1] == answers[2] == (await _schema("hi", things, executor=None).execute(doc)).data
        entry = next(e for e in cache_for(schema._schema)._ops.values() if e.operation.loc.source.body == doc)
        (plan,) = entry.plans.values()
        thing_type = schema._schema.get_type("Thing")
        (selection,) = [c for (t, _), (_, c) in plan.compiled.items() if t is thing_type]
        runs[doc] = selection.run
    assert getattr(runs[small], "__code__", None) is not None and runs[small].__code__.co_filename == plan_cache.GENERATED
    assert runs[large] is PlannedExecutor._execute_loop  # five fields: the loop


async def test_a_selection_set_that_cannot_be_written_out_stays_on_the_loop(monkeypatch, caplog):
    """Never expected (the names are GraphQL names); if it happens, the loop answers, logged once."""
    def broken(executor, parent_type, compiled):
        raise ValueError("cannot")

    monkeypatch.setattr(plan_cache, "GENERATE_AFTER", 1)
    monkeypatch.setattr(plan_cache, "_generate", broken)
    schema = _schema("hi", GOOD)
    stock = _schema("hi", GOOD, executor=None)
    for _ in range(3):
        assert (await schema.execute("{ things { name count } }")).data == (await stock.execute("{ things { name count } }")).data
    assert caplog.text.count("could not be written out as code") == 2  # the root's selection set and Thing's, once each


async def test_a_list_that_fails_still_settles_its_items_still_waiting():
    """A null in a list of non-null objects fails the list; an awaitable item after it is still
    run to its end (graphql-core's executor does the same), never left unawaited."""
    RAN.clear()
    result = await _schema("hi", GOOD).execute("{ failingPets { name } }")
    for _ in range(5):
        await asyncio.sleep(0)
    assert result.data is None and [e.path for e in result.errors] == [["failingPets", 1]]
    assert RAN == ["after the failure"]


async def test_a_schema_built_again_gets_its_own_plans():
    doc = "{ greeting }"
    one, two = _schema("one", GOOD), _schema("two", GOOD)
    for _ in range(2):  # the parser cache hands both the same document object
        assert (await one.execute(doc)).data == {"greeting": "one"}
        assert (await two.execute(doc)).data == {"greeting": "two"}
    assert cache_for(one._schema) is not cache_for(two._schema)
    assert cache_for(two._schema).hits >= 1
    import weakref

    assert isinstance(plan_cache._caches, weakref.WeakKeyDictionary)  # a dropped schema's plans go with it


COST_DOCUMENTS = [
    ("{ viewer { roles } dealers(first: 20) { edges { cursor node { id code } } pageInfo { hasNextPage } } }", {}),
    ("query($n: Int) { dealers(first: $n) { nodes { id } } }", {"n": 7}),
    ("query($n: Int) { dealers(first: $n) { nodes { id } } }", {"n": 500}),
    ("query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Dealer { code } } }", {"ids": ["a", "b", "c"]}),
    ("query($f: DealerFilter) { dealers(first: 5, filter: $f) { ...D } } fragment D on DealerConnection { nodes { id name } }",
     {"f": {"search": "x"}}),
    ("{ dealers { nodes { id } edges { node { code } } } }", {}),
    ("mutation { a: dealerRecountCustomers(id: \"x\") { errors { code } } }", {}),
]


def _data(n):
    edges = [{"cursor": "c", "node": {"id": "i", "code": "k", "name": "n"}} for _ in range(n)]
    return [
        {"viewer": {"roles": []}, "dealers": {"edges": edges, "nodes": [e["node"] for e in edges], "pageInfo": {"hasNextPage": False}}},
        {"nodes": [{"id": "i", "code": "k"}, None, {"id": "j"}][: max(1, min(n, 3))]},
        {"dealers": None},
        {"a": {"errors": []}},
    ]


@pytest.mark.parametrize("doc,variables", COST_DOCUMENTS)
@pytest.mark.parametrize("generated", [False, True], ids=["walk", "code"])
async def test_the_compiled_cost_is_operation_costs(doc, variables, generated, monkeypatch):
    """Walked, and written out as code (what a document priced again and again gets)."""
    monkeypatch.setattr(cost_module, "GENERATE_AFTER", 1 if generated else 10**9)
    document = parse(doc)
    for _ in range(2):  # compiled on the first, reused on the second
        ref = OperationCost(document, None, variables, 100)
        fast = price_operation(document, None, variables, 100)
        assert fast.requested() == ref.requested() and fast.is_mutation == ref.is_mutation
        for n in (0, 1, 3, 20):
            for data in _data(n):
                assert fast.actual(data, []) == ref.actual(data, [])
                assert fast.actual(data, [["dealers", "edges", 0]]) == ref.actual(data, [["dealers", "edges", 0]])
        assert fast.actual(None, []) == 0


def _tickets_page(n):
    return {"tickets": {"edges": [{"cursor": "c", "node": {"id": "i", "number": "n", "customer": {"id": "c"},
                                                         "dealer": None if i % 2 else {"id": "d", "code": "k"}}} for i in range(n)],
                        "pageInfo": {"hasNextPage": True}}}


# objects whose selection is constant leaves only are priced without walking them: answers shaped
# as real ones are (every key a selection names is in its object), null objects among them
PURE_CASES = [
    ("{ tickets(first: 50) { edges { cursor node { id number dealer { id code } customer { id } } } pageInfo { hasNextPage } } }",
     _tickets_page),
    ("{ tickets(first: 5) { nodes { id } } dealers(first: 3) { edges { node { id } } } }",
     lambda n: {"tickets": {"nodes": [None if i % 3 == 1 else {"id": "i"} for i in range(n)]},
                "dealers": {"edges": [{"node": None if i % 2 else {"id": "d"}} for i in range(n)]}}),
    # a list that is not a page costs its costliest entry, not their sum (a requested cost far
    # above the actual one, so the cap at the requested cost cannot hide an overcharge)
    ("{ t: ticket(id: \"x\") { events { at } } dealers(first: 50) { nodes { id } } }",
     lambda n: {"t": {"events": [{"at": "2026"} for _ in range(n)]}, "dealers": {"nodes": []}}),
    ("{ dealers(first: 3) { __typename } tickets(first: 2) { __typename } nodes(ids: [\"a\", \"b\"]) { id } }",
     lambda n: {"dealers": {"__typename": "DealerConnection"}, "tickets": None, "nodes": [{"id": "a"}, None][: n % 3]}),
]


@pytest.mark.parametrize("doc,answer", PURE_CASES)
@pytest.mark.parametrize("generated", [False, True], ids=["walk", "code"])
async def test_the_compiled_cost_of_constant_objects_is_operation_costs(doc, answer, generated, monkeypatch):
    monkeypatch.setattr(cost_module, "GENERATE_AFTER", 1 if generated else 10**9)
    document = parse(doc)
    ref = OperationCost(document, None, {}, 100)
    fast = price_operation(document, None, {}, 100)
    for n in (0, 1, 2, 3, 20):
        assert fast.actual(answer(n), []) == min(ref.requested(), ref.actual(answer(n), []))


SHARED_KEYS = [
    # two fields under one key, only one of which applies to each object: neither's leaves are
    # certain to be in it (a review found them counted as if they were)
    ("{ nodes(ids: [\"1\", \"2\"]) { ... on Dealer { owner { id name } } ... on Ticket { owner { id } } } }", {},
     {"nodes": [{"owner": {"id": 1}}, None]}),
    ("query($s: Boolean) { a { x } a @skip(if: $s) { y } }", {"s": True}, {"a": {"x": 1}}),
]


@pytest.mark.parametrize("doc,variables,answer", SHARED_KEYS)
@pytest.mark.parametrize("generated", [False, True], ids=["walk", "code"])
async def test_fields_sharing_a_key_are_priced_as_operation_costs(doc, variables, answer, generated, monkeypatch):
    monkeypatch.setattr(cost_module, "GENERATE_AFTER", 1 if generated else 10**9)
    document = parse(doc)
    ref = OperationCost(document, None, variables, 100)
    assert price_operation(document, None, variables, 100).actual(answer, []) == min(ref.requested(), ref.actual(answer, []))


async def test_a_cost_that_cannot_be_written_out_stays_on_the_walk(monkeypatch, caplog):
    """Never expected (the names are GraphQL names); if it happens, the walk answers, logged
    once, and the code is not attempted again for every answer."""
    calls = []

    def broken(roots):
        calls.append(roots)
        raise ValueError("cannot")

    monkeypatch.setattr(cost_module, "GENERATE_AFTER", 1)
    monkeypatch.setattr(cost_module, "_generate_actual", broken)
    document = parse("{ dealers(first: 3) { nodes { id } } }")
    answer = {"dealers": {"nodes": [{"id": "a"}, {"id": "b"}]}}
    ref = OperationCost(document, None, {}, 100)
    for _ in range(3):
        assert price_operation(document, None, {}, 100).actual(answer, []) == min(ref.requested(), ref.actual(answer, []))
    assert len(calls) == 1 and "could not be written out" in caplog.text


@pytest.mark.parametrize("skip", [True, False])
async def test_the_actual_cost_of_a_real_answer_with_skipped_and_fragment_fields(gql, brand_a, skip):
    """The compiled pricing counts the leaves written in a selection as a constant and the
    others (fragments, @skip/@include) by their keys: on a real answer it agrees with
    OperationCost, with the directives on and off."""
    doc = ("query($s: Boolean!, $ids: [ID!]!) { viewer { roles @skip(if: $s) actorKind } "
           "dealers(first: 2) { edges { cursor @include(if: $s) node { id ...D } } } "
           "nodes(ids: $ids) { id ... on Dealer { name } } } fragment D on Dealer { code region }")
    variables = {"s": skip, "ids": [brand_a.gid("Dealer", "d1"), brand_a.gid("Dealer", "d2")]}
    body = await gql(brand_a.token(), doc, variables)
    ref = OperationCost(parse(doc), None, variables, 100)
    assert body["extensions"]["cost"]["actualQueryCost"] == min(ref.requested(), ref.actual(body["data"], []))
    assert ("roles" in body["data"]["viewer"]) is not skip


def test_is_type_of_is_skipped_only_for_an_uncast_instance_of_the_types_own_class():
    """strawberry's own is_type_of answers True for those without being called; a type's own
    is_type_of (Picky) is always called (the comparisons above hold both to the stock answers)."""
    gs = _schema("hi", GOOD)._schema
    assert plan_cache._origin(gs.get_type("Pet")) is Pet
    assert plan_cache._origin(gs.get_type("Picky")) is None and gs.get_type("Picky").is_type_of is not None
    assert plan_cache._origin(gs.get_type("Thing")) is None and gs.get_type("Thing").is_type_of is None  # no interface: no check at all
