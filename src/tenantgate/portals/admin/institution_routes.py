"""Choosing the FI an admin acts on, and the tab's question "which FI is this session on?"."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from ...bff.identity_client import IdentityRefused
from ...bff.sessions import PortalSession
from ...bff.web import portal_of
from .refusals import BadInput
from .selection import list_institutions, select_institution
from .session_context import MAX_REF_LENGTH, AdminSession, form_text, require_csrf
from .views import admin_page


async def institution_list_page(
    request: Request, session: PortalSession, *, announce: bool = False
) -> HTMLResponse:
    institutions = await list_institutions(portal_of(request), session)
    return admin_page(
        request, "tenants.html", session, institutions=institutions, announce=announce
    )


def institution_routes() -> APIRouter:
    router = APIRouter()

    @router.get("/tenants")
    async def institutions(request: Request, session: AdminSession) -> HTMLResponse:
        return await institution_list_page(request, session)

    @router.post("/tenants/select")
    async def select(request: Request, session: AdminSession) -> Response:
        form = await request.form()
        require_csrf(request, session, form_text(form, "csrf_token"))
        ref = form_text(form, "tenant", MAX_REF_LENGTH + 1)
        if not ref or len(ref) > MAX_REF_LENGTH:
            raise BadInput("Choose an institution from the list.")
        updated = await select_institution(portal_of(request), session, ref)
        request.state.admin_session = updated
        # The landing page announces the switch to the admin's other tabs (admin.js).
        return RedirectResponse("/?switched=1", status_code=303)

    @router.get("/api/context")
    async def context(request: Request, session: AdminSession) -> JSONResponse:
        """Which FI the session acts on, and whether it is the one a tab shows.

        Tabs ask this when another tab says it switched: a BroadcastChannel message is
        only a hint (any same-origin page can post one); this answer is the truth."""
        shown = request.query_params.get("shown", "")[: MAX_REF_LENGTH + 1]
        matches = False
        if session.tenant_id is not None and shown and len(shown) <= MAX_REF_LENGTH:
            try:
                matches = (await portal_of(request).tenant_context(shown)).tenant_id == (
                    session.tenant_id
                )
            except IdentityRefused:
                matches = False
        tenant = (
            {"ref": session.tenant_ref, "name": session.tenant_name}
            if session.tenant_id is not None
            else None
        )
        return JSONResponse({"tenant": tenant, "matches": matches})

    return router
