"""GraphQL types of the audit trail."""
from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from app.audit.models import AuditEvent as AuditRow


@strawberry.type(description="One entry of the brand's audit trail.")
class AuditEvent:
    at: datetime
    action: str
    actor: str
    target_type: str | None
    target_id: str | None
    details: JSON
    ip: str | None
    request_id: str | None

    @classmethod
    def from_row(cls, e: AuditRow) -> "AuditEvent":
        return cls(at=e.at, action=e.action, actor=e.actor, target_type=e.target_type, target_id=e.target_id,
                   details=e.details, ip=e.ip, request_id=e.request_id)
