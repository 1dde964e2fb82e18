"""Who is signed in to the dashboard, which clinic a page may show, and the CSRF check of every form.

A session lives in the database (frontdesk.domain.users); the browser holds only its token, in
an HttpOnly, SameSite=Lax cookie (Secure on https: `secure_cookies`). Every POST must carry the session's CSRF
token, as the form field `csrf_token` or the header `X-CSRF-Token` (htmx and scripts).
A page of another clinic answers 404, exactly like an unknown one, as the API keys do.
"""

import hmac
import uuid
from dataclasses import dataclass
from typing import Final
from urllib.parse import quote

from fastapi import Depends, Path, Request
from sqlmodel import Session, select

from frontdesk.api.backends import get_backends
from frontdesk.api.errors import ApiError
from frontdesk.api.v1.access import ClinicContext, Principal
from frontdesk.domain.audit import Actor
from frontdesk.domain.models import ActorKind, ApiKeyScope, Clinic, UserRole
from frontdesk.domain.users import SessionUser, session_user

PREFIX: Final = "/app"
SESSION_COOKIE: Final = "fd_session"
CSRF_FIELD: Final = "csrf_token"
CSRF_HEADER: Final = "X-CSRF-Token"


class SignInRequired(Exception):
    """The page needs a signed-in user; the handler sends the browser to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def sign_in_url(next_path: str | None = None) -> str:
    """The sign-in page, coming back to `next_path` (a path of ours) afterwards."""
    url = f"{PREFIX}/sign-in"
    return url if not next_path else f"{url}?next={quote(next_path, safe='/')}"


def secure_cookies(request: Request) -> bool:
    """Cookies get the Secure flag when the browser reached us over https: seen on the request,
    or known from the public address (TLS often ends at a load balancer before our edge)."""
    public_https: bool = request.app.state.public_https
    return public_https or request.url.scheme == "https"


def optional_user(request: Request) -> SessionUser | None:
    """The signed-in user, or None."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    with Session(get_backends(request).engine) as session:
        return session_user(session, token)


def current_user(request: Request) -> SessionUser:
    """FastAPI dependency: the signed-in user; SignInRequired otherwise."""
    user = optional_user(request)
    if user is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(path if request.method == "GET" else request.url.path)
    return user


async def checked_user(request: Request, user: SessionUser = Depends(current_user)) -> SessionUser:
    """FastAPI dependency of every POST: the signed-in user, once the request's CSRF token is theirs."""
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if sent is None or not hmac.compare_digest(sent, user.csrf_token):
        raise ApiError(
            403, "this form has expired or did not come from this site; reload the page and try again"
        )
    return user


@dataclass(frozen=True)
class ClinicPage:
    """A page of one clinic, for a user allowed to see it."""

    user: SessionUser
    clinic: Clinic
    ctx: ClinicContext

    @property
    def can_change(self) -> bool:
        """Admins and operators change the agent, rules and campaigns; staff read and schedule."""
        return self.user.role in (UserRole.admin, UserRole.operator)

    def require_admin(self) -> None:
        """ApiError 403 for a staff user."""
        if not self.can_change:
            raise ApiError(403, "only the clinic's admins can change this")


def user_principal(user: SessionUser) -> Principal:
    """The principal a user's changes are made and audited as."""
    scope = ApiKeyScope.operator if user.is_operator else ApiKeyScope.clinic
    return Principal(Actor(ActorKind.user, user.user_id, user.email), scope, user.clinic_id)


def _clinic_page(request: Request, slug: str, user: SessionUser) -> ClinicPage:
    engine = get_backends(request).engine
    with Session(engine, expire_on_commit=False) as session:
        clinic = session.exec(select(Clinic).where(Clinic.slug == slug)).first()
    if clinic is None or not (user.is_operator or user.clinic_id == clinic.id):
        raise ApiError(404, "there is no such page")
    return ClinicPage(user, clinic, ClinicContext(user_principal(user), clinic.id, engine, request))


def clinic_page(
    request: Request, slug: str = Path(max_length=64), user: SessionUser = Depends(current_user)
) -> ClinicPage:
    """FastAPI dependency of a clinic's pages (GET): the clinic named by `slug`, if this user may see it."""
    return _clinic_page(request, slug, user)


def clinic_form(
    request: Request, slug: str = Path(max_length=64), user: SessionUser = Depends(checked_user)
) -> ClinicPage:
    """FastAPI dependency of a clinic's forms (POST): as `clinic_page`, after the CSRF check."""
    return _clinic_page(request, slug, user)


def home_path(user: SessionUser, engine_session: Session) -> str:
    """Where a user lands after signing in: their clinic's calls, or the clinic list for operators."""
    if user.clinic_id is None:
        return f"{PREFIX}/"
    clinic = engine_session.get(Clinic, user.clinic_id)
    return f"{PREFIX}/" if clinic is None else f"{PREFIX}/clinics/{clinic.slug}/calls"


def same_site_path(path: str | None) -> str | None:
    """`path` if it is a path of the dashboard (never another site, so sign-in cannot redirect away)."""
    if path and path.startswith(f"{PREFIX}/") and not path.startswith("//") and "\\" not in path:
        return path
    return None


def parse_uuid(value: str) -> uuid.UUID:
    """A path's id; 404 (not 422) when it is not one, as for an unknown id."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ApiError(404, "there is no such page") from None
