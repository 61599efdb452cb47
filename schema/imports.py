"""The GraphQL shape of a bulk import (app/core/imports.py), shared by every kind: a kind's node
type subclasses ImportRecord (`class CustomerImport(ImportRecord, Node)`) and registers its node
resolver with `import_node(...)`."""
from __future__ import annotations

import uuid
from datetime import datetime

import strawberry

from app.core import imports
from app.core.models import DataImport
from app.core.permissions import Perm
from schema.relay import gid, node_type


@strawberry.type
class ImportRecord:
    id: strawberry.ID
    status: str = strawberry.field(description="pending | running | done | failed")
    format: str
    filename: str | None
    size_bytes: int
    rows_total: int
    rows_created: int
    rows_updated: int
    rows_unchanged: int
    rows_failed: int
    errors: strawberry.scalars.JSON = strawberry.field(description="[{line, field, code, message}], the first 1000.")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def from_row(cls, i: DataImport):
        return cls(id=gid(cls.__name__, i.id), status=i.status, format=i.format, filename=i.filename, size_bytes=i.size_bytes,
                   rows_total=i.rows_total, rows_created=i.rows_created, rows_updated=i.rows_updated,
                   rows_unchanged=i.rows_unchanged, rows_failed=i.rows_failed, errors=i.errors, created_at=i.created_at,
                   started_at=i.started_at, finished_at=i.finished_at)


def import_node(type_: type, kind: str, perm: Perm) -> None:
    """`node(id:)` for one kind's imports: brand-wide callers with `perm` only."""

    @node_type(type_.__name__, perm=perm)
    async def _node(info: strawberry.Info, pk: uuid.UUID):
        row = (await imports.imports_by_ids(info.context.scope, kind, [pk])).get(pk)
        return type_.from_row(row) if row else None
