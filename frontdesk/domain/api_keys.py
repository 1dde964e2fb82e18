"""Admin API keys: made once, stored hashed, checked in constant time.

A key reads `fd_<prefix>_<secret>`. The prefix (public, unique) finds the row; the SHA-256 of
the whole key proves it. The plain key is shown once, at creation, and never stored or logged.
"""

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from typing import Final

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from frontdesk.domain.database import session_scope
from frontdesk.domain.errors import NotFound
from frontdesk.domain.models import ApiKey, ApiKeyScope, utcnow
from frontdesk.domain.repository import clinic_by_slug

KEY_MARKER: Final = "fd"
_PREFIX_BYTES: Final = 6  # 12 hex characters
_SECRET_BYTES: Final = 32


@dataclass(frozen=True)
class IssuedKey:
    """A newly made key: its row's id and the plain key, to be shown once."""

    id: uuid.UUID
    name: str
    scope: ApiKeyScope
    clinic_id: uuid.UUID | None
    plain: str


def hash_key(plain: str) -> str:
    """The hex SHA-256 stored for a key."""
    return hashlib.sha256(plain.encode()).hexdigest()


def split_key(plain: str) -> str | None:
    """The prefix of a well-formed key, or None when `plain` is not shaped like one of ours."""
    parts = plain.split("_", 2)  # the secret is url-safe base64, which may itself hold "_"
    if len(parts) != 3 or parts[0] != KEY_MARKER or not parts[1] or not parts[2]:
        return None
    return parts[1]


def issue_key(engine: Engine, *, scope: ApiKeyScope, name: str, clinic_slug: str | None = None) -> IssuedKey:
    """Make a key for the clinic named by `clinic_slug` (clinic scope) or for operators."""
    prefix = secrets.token_hex(_PREFIX_BYTES)
    plain = f"{KEY_MARKER}_{prefix}_{secrets.token_urlsafe(_SECRET_BYTES)}"
    with session_scope(engine) as session:
        clinic_id = None
        if scope is ApiKeyScope.clinic:
            if clinic_slug is None:
                raise ValueError("a clinic key needs the clinic's slug")
            clinic = clinic_by_slug(session, clinic_slug)
            if clinic is None:
                raise NotFound("clinic", clinic_slug)
            clinic_id = clinic.id
        row = ApiKey(clinic_id=clinic_id, prefix=prefix, secret_hash=hash_key(plain), scope=scope, name=name)
        session.add(row)
        session.flush()
        return IssuedKey(row.id, row.name, row.scope, row.clinic_id, plain)


def authenticate_key(session: Session, plain: str) -> ApiKey | None:
    """The live (unrevoked) key row `plain` proves, or None: unknown, malformed, wrong or revoked."""
    prefix = split_key(plain)
    if prefix is None:
        return None
    row = session.exec(select(ApiKey).where(ApiKey.prefix == prefix)).first()
    if row is None or row.revoked_at is not None:
        return None
    return row if hmac.compare_digest(row.secret_hash, hash_key(plain)) else None


def revoke_key(engine: Engine, key_id: uuid.UUID) -> None:
    """Refuse a key from now on (the row stays, so the audit log still names it)."""
    with session_scope(engine) as session:
        row = session.get(ApiKey, key_id)
        if row is None:
            raise NotFound("api key", key_id)
        row.revoked_at = row.revoked_at or utcnow()
