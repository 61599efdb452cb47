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
    return strawberry.ID(to_global_id(type_name, pk))


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
