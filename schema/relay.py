"""Relay plumbing: the Node interface, opaque global ids, generic keyset connections."""
from __future__ import annotations

import uuid
from typing import Awaitable, Callable, Generic, TypeVar

import strawberry

from app.core.ids import from_global_id, to_global_id
from app.core.pagination import Page

T = TypeVar("T")


@strawberry.interface(description="An object with an opaque, globally unique id.")
class Node:
    id: strawberry.ID


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    nodes: list[T]
    page_info: PageInfo

    @classmethod
    def of(cls, page: Page, convert: Callable) -> "Connection":
        nodes = [convert(item) for item in page.items]
        return cls(
            edges=[Edge(cursor=c, node=n) for c, n in zip(page.cursors, nodes)],
            nodes=nodes,
            page_info=PageInfo(
                has_next_page=page.has_next,
                has_previous_page=page.has_previous,
                start_cursor=page.cursors[0] if page.cursors else None,
                end_cursor=page.cursors[-1] if page.cursors else None,
            ),
        )


def _fields(selection_set, fragments: dict, seen: frozenset):
    """The fields of a selection set, inline fragments and fragment spreads flattened (a module
    function: a nested one that calls itself is a reference cycle, which kept the request's
    resolve info, and with it the whole request, alive until the collector ran)."""
    from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode

    for sel in selection_set.selections if selection_set else ():
        if isinstance(sel, FieldNode):
            yield sel
        elif isinstance(sel, InlineFragmentNode):
            yield from _fields(sel.selection_set, fragments, seen)
        elif isinstance(sel, FragmentSpreadNode) and sel.name.value not in seen:
            frag = fragments.get(sel.name.value)
            if frag is not None:
                yield from _fields(frag.selection_set, fragments, seen | {sel.name.value})


def node_fields(info) -> frozenset[str]:
    """The field names the document selects on a connection's nodes (under `edges { node }` and
    `nodes`, fragments included, `@skip`/`@include` ignored: a superset), from the field's own
    AST; a page's resolver prefetches only what is asked for."""
    info = getattr(info, "_raw_info", info)  # strawberry's Info wraps graphql-core's
    fragments, none = info.fragments, frozenset()
    found: set[str] = set()
    for top in info.field_nodes:
        for f in _fields(top.selection_set, fragments, none):
            if f.name.value == "nodes":
                found.update(g.name.value for g in _fields(f.selection_set, fragments, none))
            elif f.name.value == "edges":
                for g in _fields(f.selection_set, fragments, none):
                    if g.name.value == "node":
                        found.update(h.name.value for h in _fields(g.selection_set, fragments, none))
    return frozenset(found)


# type name -> async (info, uuid) -> Node | None; each domain registers its types
NODE_RESOLVERS: dict[str, Callable[[strawberry.Info, uuid.UUID], Awaitable[object | None]]] = {}
# type name -> the permission needed to read it through node/nodes (None: any caller of the brand)
NODE_PERMS: dict[str, object] = {}


def node_type(name: str, perm=None):
    def deco(fn):
        NODE_RESOLVERS[name] = fn
        NODE_PERMS[name] = perm
        return fn

    return deco


def gid(type_name: str, pk: uuid.UUID) -> strawberry.ID:
    # strawberry.ID is a NewType of str: calling it only hands back its argument (one Python
    # call for each of a page's few hundred ids)
    return to_global_id(type_name, pk)  # type: ignore[return-value]


def decode(global_id: str, expected: str | None = None) -> tuple[str, uuid.UUID]:
    from app.core.errors import InvalidId

    type_name, pk = from_global_id(global_id)
    if type_name not in NODE_RESOLVERS or (expected and type_name != expected):
        raise InvalidId(f"Not a valid {expected or 'node'} id.")
    return type_name, pk


async def resolve_node(info: strawberry.Info, global_id: str) -> object | None:
    type_name, pk = decode(global_id)
    perm = NODE_PERMS[type_name]
    if perm is not None:
        info.context.scope.require(perm)
    return await NODE_RESOLVERS[type_name](info, pk)
