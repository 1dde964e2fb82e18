"""Talk to your agent: a web call from the browser to the clinic's own agent.

The page runs static/talk/talk.js, which POSTs here for a call (CSRF-checked like every form):
`start_browser_call` records it as a call of this clinic with direction web, starts its
CallWorkflow and returns the media socket's address and the ticket that opens it
(frontdesk/telephony/browser/). Errors come back as `{"error": message}` for the page to show.
"""

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from frontdesk.api.backends import get_backends
from frontdesk.config import Settings
from frontdesk.dashboard.auth import PREFIX, ClinicPage, clinic_form, clinic_page
from frontdesk.dashboard.pages import render
from frontdesk.domain.errors import DomainError
from frontdesk.telephony.browser.calls import start_browser_call


def talk_router(settings: Settings) -> APIRouter:
    """The page and its call-placing route; calls run on `settings`' task queue and media socket."""
    router = APIRouter(prefix=f"{PREFIX}/clinics/{{slug}}", include_in_schema=False)

    @router.get("/talk")
    def talk_page(request: Request, page: ClinicPage = Depends(clinic_page)) -> Response:
        """The button that calls the clinic's agent, and the call's live transcript."""
        return render(request, "talk.html", user=page.user, page=page, section="talk")

    @router.post("/talk")
    async def place_call(request: Request, page: ClinicPage = Depends(clinic_form)) -> Response:
        """Place a web call to this clinic's agent; the socket's address and ticket, as JSON."""
        try:
            call = await start_browser_call(get_backends(request), settings, page.clinic.id)
        except DomainError as exc:
            return JSONResponse({"error": exc.message}, status_code=409)
        return JSONResponse(call.as_json())

    return router
