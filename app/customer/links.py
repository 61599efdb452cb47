"""The customer module's published registries: how other modules attach to a customer
without importing its internals (and without editing its files).

- `timeline_kind(name, ref_node=...)`: a kind of entry on the customer timeline. The GraphQL
  `TimelineKind` enum is built from this registry; an entry whose kind is not registered (a
  module removed, or a newer deployment writing one during a rolling upgrade) shows as
  `OTHER` with its `kindName`, never an error.
- `append(scope, customer_id, kind, occurred_at, ...)`: add an entry of a registered kind.
- `customer_table(table, ...)`: a table with a `customer_id` column. A merge moves its rows
  to the survivor (or leaves them, `on_merge="keep"`); an erasure runs its `erase` statements.

A module registers in its own `models.py`, next to the tables it describes; every model module
of app.domains is imported before the schema is built (`load()`), so the enum is complete."""
from __future__ import annotations

import importlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from app.core.tenancy import Scope


@dataclass(frozen=True)
class TimelineKindSpec:
    name: str
    ref_node: str | None = None  # GraphQL node type of `refId` (the entry's ref_type must be `ref_type`)
    ref_type: str | None = None  # the ref_type stored with such entries
    description: str | None = None


@dataclass(frozen=True)
class CustomerTable:
    table: str
    on_merge: Literal["move", "keep"] = "move"
    merge_where: str = ""  # extra condition on the rows a merge moves (SQL on the table's columns)
    # statements an erasure runs, each with $1 = tenant id and $2 = customer id
    erase: tuple[str, ...] = ()


TIMELINE_KINDS: dict[str, TimelineKindSpec] = {}
OTHER_KIND = "_other"  # GraphQL TimelineKind.OTHER: any kind not registered (never stored)
CUSTOMER_TABLES: dict[str, CustomerTable] = {}
_REF_NODES: dict[str, str] = {}


def timeline_kind(name: str, *, ref_node: str | None = None, ref_type: str | None = None, description: str | None = None) -> None:
    if not name.isidentifier() or not name.islower() or name.startswith("_") or len(name) > 24:
        raise ValueError(f"timeline kind {name!r}: lower-case identifier, at most 24 characters")
    spec = TimelineKindSpec(name, ref_node, ref_type, description)
    if TIMELINE_KINDS.get(name, spec) != spec:
        raise ValueError(f"timeline kind {name!r} is registered twice, differently")
    TIMELINE_KINDS[name] = spec
    if ref_type and ref_node:
        _REF_NODES[ref_type] = ref_node


def ref_node(ref_type: str, node: str) -> None:
    """A timeline entry of another module's kind (or of a shared one, like `survey`) may point
    at that module's object: its ref_type resolves to this GraphQL node type."""
    if _REF_NODES.get(ref_type, node) != node:
        raise ValueError(f"timeline ref type {ref_type!r} is registered twice, differently")
    _REF_NODES[ref_type] = node


def customer_table(table: str, *, on_merge: Literal["move", "keep"] = "move", merge_where: str = "",
                   erase: tuple[str, ...] = ()) -> None:
    spec = CustomerTable(table, on_merge, merge_where, erase)
    if CUSTOMER_TABLES.get(table, spec) != spec:
        raise ValueError(f"customer table {table!r} is registered twice, differently")
    CUSTOMER_TABLES[table] = spec


def ref_nodes() -> dict[str, str]:
    """ref_type -> GraphQL node type, for the timeline's refId (kept up to date by timeline_kind:
    read for every timeline entry, so not rebuilt each time)."""
    return _REF_NODES


def load() -> None:
    """Import every domain's models (where modules register); idempotent."""
    from app.domains import app_modules

    for name in app_modules("models"):
        importlib.import_module(name)


async def append(scope: Scope, customer_id: uuid.UUID, kind: str, occurred_at: datetime, *,
                 ref_type: str | None = None, ref_id: uuid.UUID | None = None, summary: dict | None = None) -> None:
    """One timeline entry, in the current tenant transaction. `summary` holds no personal data
    beyond what the source row holds (erasure clears it); who did it is recorded for you."""
    if kind not in TIMELINE_KINDS:
        raise ValueError(f"timeline kind {kind!r} is not registered (app.customer.links.timeline_kind)")
    from app.customer import repository

    await repository.add_event(scope, customer_id, kind, occurred_at, ref_type=ref_type, ref_id=ref_id, summary=summary)
