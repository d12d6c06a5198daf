"""The dashboard page and the JSON/CSV it reads.

The tenant of every query is `TenantScope(session.tenant_id)`: the FI the identity server
put in the session's verified token. Nothing in a request can name another FI — the
period is the only thing a request chooses."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncEngine

from ...banking import InvalidRequest, TenantScope, export_rows, summarize
from ...bff.sessions import PortalSession
from ...bff.web import page, portal_of
from .figures import csv_text, export_filename, summary_json
from .guards import SESSION_QUERY, ApiSession, ReportingSession, error_json
from .periods import PRESETS, BadPeriod, Period, parse_period, today_utc


def scope_of(session: PortalSession) -> TenantScope:
    if session.tenant_id is None:  # reporting_session() already refused such sessions
        raise BadPeriod("This session has no institution.")
    return TenantScope(session.tenant_id)


def period_of(request: Request) -> Period:
    params = {k: v[:32] for k, v in request.query_params.items()}
    return parse_period(params, today_utc(portal_of(request).clock()))


def dashboard_router(banking: AsyncEngine) -> APIRouter:
    router = APIRouter()

    @router.get("/", include_in_schema=False)
    async def root() -> Response:
        return RedirectResponse("/dashboard", status_code=302)

    @router.get("/dashboard", include_in_schema=False)
    async def dashboard(request: Request, session: ReportingSession) -> Response:
        today = today_utc(portal_of(request).clock())
        context: dict[str, object] = {
            "session": session,
            "presets": PRESETS,
            "today": today.isoformat(),
            "session_query": SESSION_QUERY,
        }
        try:
            period = period_of(request)
        except BadPeriod as exc:
            # The page still names the FI and offers the chooser; no figures are loaded.
            context.update(
                period=None,
                error=str(exc),
                start=request.query_params.get("start", "")[:32],
                end=request.query_params.get("end", "")[:32],
            )
            return page(request, "dashboard.html", context, 400)
        context.update(period=period, start=period.start.isoformat(), end=period.end.isoformat())
        return page(request, "dashboard.html", context)

    @router.get("/api/session")
    async def current(session: ApiSession) -> dict[str, object]:
        """A cheap "is my page's session still this browser's?" for tabs to confirm."""
        return {
            "session": session.public_id,
            "tenant": {"ref": session.tenant_ref, "name": session.tenant_name},
        }

    @router.get("/api/summary")
    async def summary(request: Request, session: ApiSession) -> Response:
        period = period_of(request)
        try:
            kpis = await summarize(banking, scope_of(session), period.start, period.end)
        except InvalidRequest as exc:
            return error_json(400, "invalid_period", str(exc))
        return JSONResponse(summary_json(session, period, kpis))

    @router.get("/api/export.csv")
    async def export(request: Request, session: ApiSession) -> Response:
        period = period_of(request)
        try:
            rows = await export_rows(banking, scope_of(session), period.start, period.end)
        except InvalidRequest as exc:
            return error_json(400, "invalid_period", str(exc))
        return Response(
            csv_text(rows),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{export_filename(period)}"',
                "Cache-Control": "no-store",
            },
        )

    return router
