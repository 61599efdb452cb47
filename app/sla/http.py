"""`GET /exports/sla-report`: the SLA report as CSV, for spreadsheets (the same numbers as the
`slaReport` query, and its drill-down with `rows=clocks`).

    curl -H "Authorization: Bearer $T" -o sla.csv \\
      "$URL/exports/sla-report?from=2026-10-01&to=2027-01-01&groupBy=dealer&period=month&metrics=first_contact,resolution"

Parameters: `from`, `to` (local dates of the brand calendar's zone, `to` excluded; required),
`groupBy` dealer | region, `period` day | week | month, `metrics` (comma-separated; default all),
`rows` summary (one line per period, dealer or region, and metric: counts and met %) | clocks
(one line per clock: the tickets behind the numbers, at most 100,000). Needs `tickets:read`;
dealer staff get their dealers' lines only. UTF-8 with a byte-order mark (Excel reads Chinese
names), cells a spreadsheet would run as formulas are quoted. Errors are `{"error": {"code",
"message", "field"}}`: 400 INVALID, 401 UNAUTHENTICATED (with `WWW-Authenticate`), 403
PERMISSION_DENIED."""
from __future__ import annotations

from datetime import date

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.core import db
from app.core.auth.bearer import BearerError, bearer_claims
from app.core.errors import AppError, PermissionDenied, Unauthenticated, ValidationFailed
from app.core.permissions import Perm
from app.sla import service
from app.sla.enums import ReportGroup, ReportPeriod


def _error(status: int, code: str, message: str, field: str | None = None, headers: dict | None = None) -> JSONResponse:
    body = {"code": code, "message": message}
    if field:
        body["field"] = field
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def _date(request: Request, name: str) -> date:
    value = request.query_params.get(name) or ""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(f"`{name}` must be a date YYYY-MM-DD.", field=name) from None


def _choice(request: Request, name: str, allowed, default: str) -> str:
    value = (request.query_params.get(name) or default).lower()
    if value not in {a.value if hasattr(a, "value") else a for a in allowed}:
        raise ValidationFailed(f"`{name}` must be one of: {', '.join(a.value if hasattr(a, 'value') else a for a in allowed)}.",
                               field=name)
    return value


def endpoint(caller):
    """The route's handler; `caller(claims) -> (actor, scope)` resolves the token's user or app
    (app.oauth.resource.caller, passed in by app/main.py)."""

    async def export(request: Request) -> Response:
        try:
            claims = bearer_claims(request.headers.get("authorization"))
        except BearerError as e:
            return _error(401, e.code, e.message, headers=e.headers)
        try:
            start, end = _date(request, "from"), _date(request, "to")
            group = _choice(request, "groupBy", ReportGroup, ReportGroup.DEALER.value)
            period = _choice(request, "period", ReportPeriod, ReportPeriod.MONTH.value)
            rows = _choice(request, "rows", ("summary", "clocks"), "summary")
            metrics = [m.strip() for m in (request.query_params.get("metrics") or "").split(",") if m.strip()] or None
        except ValidationFailed as e:
            return _error(400, e.code, e.message, e.field)
        async with db.tenant_transaction(claims.tenant_id):
            try:
                _, scope = await caller(claims)
            except Unauthenticated as e:
                err = BearerError.of(e)
                return _error(401, err.code, err.message, headers=err.headers)
            if not scope.can(Perm.TICKETS_READ):
                return _error(403, PermissionDenied.code, "Missing permission: this needs the 'tickets:read' scope.")
            try:
                body = await service.report_csv(scope, start=start, end=end, group=group, period=period, metrics=metrics, rows=rows)
            except AppError as e:
                return _error(400 if isinstance(e, ValidationFailed) else 403, e.code, e.message, e.field)
        name = f"sla-report-{start.isoformat()}-{end.isoformat()}{'-clocks' if rows == 'clocks' else ''}.csv"
        return Response(body.encode("utf-8"), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})

    return export
