"""Signing in and out of the dashboard.

The sign-in form has no session yet, so its CSRF guard is a double-submit token: a random value
in a SameSite=Strict cookie that the form must repeat. A failed sign-in names neither the email
nor the password, and repeated failures lock the account (frontdesk.domain.users).
"""

import hmac
import secrets
from typing import Final

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from frontdesk.api.backends import get_backends
from frontdesk.dashboard.auth import (
    PREFIX,
    SESSION_COOKIE,
    checked_user,
    home_path,
    optional_user,
    same_site_path,
    secure_cookies,
)
from frontdesk.dashboard.pages import redirect, render
from frontdesk.domain.users import (
    SESSION_LIFETIME,
    SessionUser,
    SignInRefused,
    session_user,
    sign_in,
    sign_out,
)
from frontdesk.logs import get_logger

log = get_logger(__name__)

SIGN_IN_CSRF_COOKIE: Final = "fd_sign_in"


def _sign_in_page(request: Request, *, next_path: str | None, error: str | None, email: str = "") -> Response:
    token = secrets.token_urlsafe(32)
    response = render(
        request,
        "sign_in.html",
        user=None,
        sign_in_token=token,
        next_path=next_path or "",
        error=error,
        email=email,
        status_code=200 if error is None else 401,
    )
    response.set_cookie(
        SIGN_IN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=secure_cookies(request),
        path=f"{PREFIX}/sign-in",
    )
    return response


router = APIRouter(prefix=PREFIX, include_in_schema=False)


@router.get("/sign-in")
def sign_in_page(request: Request, next_path: str | None = Query(None, alias="next")) -> Response:
    """The sign-in form (or straight on, when already signed in)."""
    user = optional_user(request)
    if user is not None:
        with Session(get_backends(request).engine) as session:
            return redirect(same_site_path(next_path) or home_path(user, session))
    return _sign_in_page(request, next_path=same_site_path(next_path), error=None)


@router.post("/sign-in")
async def sign_in_submit(
    request: Request,
    email: str = Form(max_length=254),
    password: str = Form(max_length=1024),
    sign_in_token: str = Form(default="", max_length=128),
    next_path: str = Form(default="", max_length=2000),
) -> Response:
    """Check the email and password; open a session and go on, or show the form again with why not."""
    cookie = request.cookies.get(SIGN_IN_CSRF_COOKIE, "")
    target = same_site_path(next_path)
    if not cookie or not hmac.compare_digest(cookie, sign_in_token):
        return _sign_in_page(
            request, next_path=target, error="the sign-in form expired; please try again", email=email
        )
    engine = get_backends(request).engine
    try:
        signed_in = await run_in_threadpool(sign_in, engine, email, password)
    except SignInRefused as refused:
        log.info("dashboard.sign_in_refused")
        return _sign_in_page(request, next_path=target, error=str(refused), email=email)
    with Session(engine) as session:
        user = session_user(session, signed_in.token)
        assert user is not None  # the session was just made
        response = redirect(target or home_path(user, session))
    response.set_cookie(
        SESSION_COOKIE,
        signed_in.token,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
        path=PREFIX,
    )
    response.delete_cookie(SIGN_IN_CSRF_COOKIE, path=f"{PREFIX}/sign-in")
    log.info("dashboard.signed_in", user_id=str(signed_in.user_id))
    return response


@router.post("/sign-out")
def sign_out_submit(request: Request, user: SessionUser = Depends(checked_user)) -> Response:
    """End this browser's session."""
    sign_out(get_backends(request).engine, request.cookies.get(SESSION_COOKIE, ""))
    log.info("dashboard.signed_out", user_id=str(user.user_id))
    response = redirect(f"{PREFIX}/sign-in")
    response.delete_cookie(SESSION_COOKIE, path=PREFIX)
    return response
