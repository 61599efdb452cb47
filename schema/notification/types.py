"""GraphQL types of notifications."""
from __future__ import annotations

import uuid
from datetime import datetime

import strawberry

from app.notification import models as m
from schema.relay import Node, gid, node_type


@strawberry.type(description="Something the viewer should know about (a ticket reached their dealer, ...).")
class Notification(Node):
    id: strawberry.ID
    kind: str = strawberry.field(description="ticket_opened, ticket_assign, ticket_reassign, ticket_reopen.")
    title: str
    subject_id: strawberry.ID | None = strawberry.field(description="The object it is about (e.g. a Ticket id).")
    created_at: datetime
    read_at: datetime | None

    @classmethod
    def from_row(cls, n: m.Notification) -> "Notification":
        return cls(id=gid("Notification", n.id), kind=n.kind, title=n.title,
                   subject_id=gid(n.subject_type, n.subject_id) if n.subject_id else None, created_at=n.created_at, read_at=n.read_at)


@node_type("Notification")
async def _notification_node(info: strawberry.Info, pk: uuid.UUID):
    from app.notification import service

    row = await service.my_notification(info.context.scope, pk)
    return Notification.from_row(row) if row else None
