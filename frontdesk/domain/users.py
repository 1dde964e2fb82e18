"""Dashboard users: made with a password kept as its argon2 hash, signed in with a lock-out after
repeated failures, and kept signed in by a server-side session.

A session's cookie carries a random token; the database keeps only its SHA-256, so a copy of the
database signs nobody in. Each session has its own CSRF token, which every form of that session
must send back.
"""

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, delete, select

from frontdesk.domain.database import session_scope
from frontdesk.domain.errors import NotFound
from frontdesk.domain.models import User, UserRole, UserSession, utcnow
from frontdesk.domain.repository import clinic_by_slug

MAX_FAILED_SIGN_INS: Final = 5
LOCK_OUT: Final = timedelta(minutes=15)
SESSION_LIFETIME: Final = timedelta(hours=12)
MIN_PASSWORD_LENGTH: Final = 12
_TOKEN_BYTES: Final = 32

_hasher = PasswordHasher()
# Verified against when the email is unknown, so a wrong email costs the same time as a wrong password.
_UNKNOWN_USER_HASH: Final = _hasher.hash(secrets.token_urlsafe(16))


class SignInRefused(Exception):
    """Why a sign-in failed, in words the page may show (never which of email or password was wrong)."""


@dataclass(frozen=True)
class SignedIn:
    """A session just opened: the cookie's token (shown once) and the user it is for."""

    token: str
    user_id: uuid.UUID
    expires_at: datetime


@dataclass(frozen=True)
class SessionUser:
    """The user behind a live session, and that session's CSRF token."""

    user_id: uuid.UUID
    email: str
    name: str
    role: UserRole
    clinic_id: uuid.UUID | None
    session_id: uuid.UUID
    csrf_token: str

    @property
    def is_operator(self) -> bool:
        """True for operators, who see every clinic."""
        return self.role is UserRole.operator


def normalize_email(email: str) -> str:
    """The stored form of an email: trimmed and lower-case; a clear ValueError when it is not one."""
    value = email.strip().lower()
    local, _, domain = value.partition("@")
    if not local or "." not in domain or any(c.isspace() for c in value) or len(value) > 254:
        raise ValueError(f"{email!r} is not an email address")
    return value


def check_password(password: str) -> str:
    """`password` if it is long enough, else a clear ValueError."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return password


def create_user(
    engine: Engine, *, email: str, password: str, role: UserRole, clinic_slug: str | None, name: str = ""
) -> User:
    """Add a user of the clinic named by `clinic_slug` (admin, staff) or an operator (no clinic)."""
    address = normalize_email(email)
    hashed = _hasher.hash(check_password(password))
    with session_scope(engine) as session:
        clinic_id = None
        if role is UserRole.operator:
            if clinic_slug is not None:
                raise ValueError("an operator belongs to no clinic: leave out the clinic")
        else:
            if clinic_slug is None:
                raise ValueError(f"a clinic {role.value} needs the clinic's slug")
            clinic = clinic_by_slug(session, clinic_slug)
            if clinic is None:
                raise NotFound("clinic", clinic_slug)
            clinic_id = clinic.id
        if session.exec(select(User.id).where(User.email == address)).first() is not None:
            raise ValueError(f"a user with the email {address} already exists")
        user = User(clinic_id=clinic_id, email=address, name=name, role=role, password_hash=hashed)
        session.add(user)
        session.flush()
        return user


def sign_in(engine: Engine, email: str, password: str) -> SignedIn:
    """Open a session for the user with this email and password; SignInRefused otherwise.

    Every failure counts against the account; at MAX_FAILED_SIGN_INS in a row it is locked for
    LOCK_OUT, during which even the right password is refused.
    """
    try:
        address = normalize_email(email)
    except ValueError:
        address = ""
    now = utcnow()
    with session_scope(engine) as session:
        user = session.exec(select(User).where(User.email == address)).first()
        if user is None or user.disabled_at is not None:
            _verify(_UNKNOWN_USER_HASH, password)
            raise SignInRefused("the email or the password is not right")
        if user.locked_until is not None and user.locked_until > now:
            raise SignInRefused(_locked_message(user.locked_until, now))
        if not _verify(user.password_hash, password):
            user.failed_sign_ins += 1
            if user.failed_sign_ins >= MAX_FAILED_SIGN_INS:
                user.failed_sign_ins = 0
                user.locked_until = now + LOCK_OUT
                session.commit()
                raise SignInRefused(_locked_message(user.locked_until, now))
            session.commit()
            raise SignInRefused("the email or the password is not right")
        user.failed_sign_ins = 0
        user.locked_until = None
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = _hasher.hash(password)
        token = secrets.token_urlsafe(_TOKEN_BYTES)
        expires_at = now + SESSION_LIFETIME
        session.add(
            UserSession(
                user_id=user.id,
                token_hash=_token_hash(token),
                csrf_token=secrets.token_urlsafe(_TOKEN_BYTES),
                expires_at=expires_at,
            )
        )
        # Sessions that ran out are dropped as new ones open, so the table does not grow forever.
        session.exec(delete(UserSession).where(col(UserSession.expires_at) <= now))
        return SignedIn(token, user.id, expires_at)


def session_user(session: Session, token: str) -> SessionUser | None:
    """The user of the live session `token` opened, or None (unknown, expired, or user disabled)."""
    row = session.exec(
        select(UserSession, User)
        .join(User, col(User.id) == col(UserSession.user_id))
        .where(UserSession.token_hash == _token_hash(token))
    ).first()
    if row is None:
        return None
    user_session, user = row
    if user_session.expires_at <= utcnow() or user.disabled_at is not None:
        return None
    return SessionUser(
        user.id, user.email, user.name, user.role, user.clinic_id, user_session.id, user_session.csrf_token
    )


def sign_out(engine: Engine, token: str) -> None:
    """End the session `token` opened (nothing happens for an unknown token)."""
    with session_scope(engine) as session:
        session.exec(delete(UserSession).where(col(UserSession.token_hash) == _token_hash(token)))


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _locked_message(until: datetime, now: datetime) -> str:
    minutes = max(1, round((until - now).total_seconds() / 60))
    return f"too many failed sign-ins: this account is locked for {minutes} more minute(s)"
