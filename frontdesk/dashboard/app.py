"""The clinic's dashboard, served by the API process under /app/: server-rendered pages (Jinja2)
with htmx for live parts, signed in with a dashboard user (frontdesk.domain.users).

`install_dashboard(app, settings)` adds its pages, its static files and the redirect of a
signed-out browser to the sign-in page; its errors are shown as pages (`error_pages`).
"""

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlmodel import Session, col, select

from frontdesk.api.backends import get_backends
from frontdesk.config import Settings
from frontdesk.dashboard import agent, numbers, schedule, sign_in
from frontdesk.dashboard.auth import PREFIX, SignInRequired, current_user, home_path
from frontdesk.dashboard.calls import calls_router
from frontdesk.dashboard.campaigns import campaigns_router
from frontdesk.dashboard.pages import STATIC_DIR, DashboardErrorPages, on_sign_in_required, render
from frontdesk.dashboard.talk import talk_router
from frontdesk.domain.models import Clinic
from frontdesk.domain.users import SessionUser

error_pages = DashboardErrorPages()


def _home_router() -> APIRouter:
    router = APIRouter(prefix=PREFIX, include_in_schema=False)

    @router.get("/")
    def home(request: Request, user: SessionUser = Depends(current_user)) -> Response:
        """A clinic's user goes to their calls; an operator picks a clinic."""
        with Session(get_backends(request).engine) as session:
            if not user.is_operator:
                return RedirectResponse(home_path(user, session), status_code=303)
            clinics = list(session.exec(select(Clinic).order_by(col(Clinic.name))))
        return render(request, "clinics.html", user=user, clinics=clinics)

    return router


def install_dashboard(app: FastAPI, settings: Settings) -> None:
    """Add the dashboard's pages and static files to `app` (see the module docstring)."""
    app.state.public_https = settings.public_base_url.startswith("https://")
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC_DIR), name="dashboard-static")
    app.include_router(_home_router())
    app.include_router(sign_in.router)
    app.include_router(calls_router(settings))
    app.include_router(agent.router)
    app.include_router(campaigns_router(settings))
    app.include_router(numbers.router)
    app.include_router(schedule.router)
    app.include_router(talk_router(settings))
    app.add_exception_handler(SignInRequired, on_sign_in_required)

    @app.get(PREFIX, include_in_schema=False)
    def without_slash() -> Response:
        return RedirectResponse(f"{PREFIX}/", status_code=307)
