"""Record audit events inside the current tenant transaction (they commit with the change they
describe, or not at all). Never store secrets, tokens or full personal data in `details`."""
from __future__ import annotations

from app.audit import repository
from app.audit.models import AuditEvent
from app.core.logging import request_id_var
from app.core.pagination import Page, PageArgs
from app.core.permissions import Perm
from app.core.tenancy import Scope


async def record(scope: Scope, action: str, *, target_type: str | None = None, target_id: str | None = None,
                 details: dict | None = None, ip: str | None = None, actor: str | None = None) -> None:
    await AuditEvent.create(
        tenant_id=scope.tenant_id, action=action, actor=actor or scope.actor.label,
        target_type=target_type, target_id=target_id, details=details or {}, ip=ip,
        request_id=request_id_var.get(),
    )


async def list_events(scope: Scope, page: PageArgs, *, action: str | None = None, max_size: int = 100) -> Page:
    """The brand's audit trail, newest first: brand administrators only."""
    scope.require(Perm.ADMIN)
    return await repository.list_events(scope, page, action=action, max_size=max_size)
