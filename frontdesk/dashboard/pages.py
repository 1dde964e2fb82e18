"""Rendering the dashboard's pages: the Jinja2 templates (autoescaped), what every page is given
(the user, their CSRF token, the clinic and its navigation), and the error page."""

from pathlib import Path
from typing import Any, Final
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import QueryParams

from frontdesk.api.errors import ApiError
from frontdesk.dashboard.auth import PREFIX, ClinicPage, SignInRequired, optional_user, sign_in_url
from frontdesk.domain.users import SessionUser

_HERE: Final = Path(__file__).parent
STATIC_DIR: Final = _HERE / "static"
templates: Final = Jinja2Templates(directory=_HERE / "templates")


def _with_page(query: QueryParams, number: int) -> str:
    """The query string of `query` with its page set to `number` (for the pager's links)."""
    return urlencode([*((k, v) for k, v in query.multi_items() if k != "page"), ("page", str(number))])


templates.env.filters["urlencode_page"] = _with_page

# The clinic's sections, in the navigation's order: (path under the clinic, label).
SECTIONS: Final = (
    ("calls", "Calls"),
    ("schedule", "Schedule"),
    ("agent", "Agent"),
    ("campaigns", "Campaigns"),
    ("numbers", "Numbers"),
    ("talk", "Talk to your agent"),
)


def render(
    request: Request,
    template: str,
    *,
    user: SessionUser | None,
    page: ClinicPage | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """The page `template` with the user, their CSRF token and (on a clinic's page) its navigation."""
    return templates.TemplateResponse(
        request,
        template,
        {
            "prefix": PREFIX,
            "user": user,
            "csrf_token": user.csrf_token if user else None,
            "clinic": page.clinic if page else None,
            "can_change": page.can_change if page else False,
            "sections": SECTIONS,
            **context,
        },
        status_code=status_code,
    )


def redirect(path: str) -> Response:
    """After a form: 303 to `path`, so a reload does not post the form again."""
    return RedirectResponse(path, status_code=303)


class DashboardErrorPages:
    """The dashboard's answer to errors: a readable page, or the sign-in page when signed out."""

    prefix = PREFIX

    def render(self, request: Request, error: ApiError) -> Response:
        """The error page (its status is the error's)."""
        titles = {403: "Not allowed", 404: "Not found", 503: "Try again shortly"}
        return render(
            request,
            "error.html",
            user=optional_user(request),
            status_code=error.status_code,
            title=titles.get(error.status_code, "Something went wrong"),
            message=error.message,
        )


def on_sign_in_required(_request: Request, exc: Exception) -> Response:
    """Send a signed-out browser to the sign-in page, back to where it was going afterwards."""
    assert isinstance(exc, SignInRequired)
    return RedirectResponse(sign_in_url(exc.next_path), status_code=303)
