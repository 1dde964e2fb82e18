"""Who is calling (the API key's principal) and which clinic a request may touch.

Every clinic route takes `clinic_id` in its path and depends on `clinic_context`: a clinic key
naming another clinic, or any key naming a clinic that does not exist, gets the same 404, so a
key learns nothing of other tenants. Inside, every query goes through `ClinicRepository`, which
filters by that clinic. Changes run in `ClinicContext.changing`, which writes the audit entry in
the same transaction.
"""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from frontdesk.api.backends import get_backends
from frontdesk.api.errors import ApiError
from frontdesk.api.v1.limits import TokenBuckets
from frontdesk.domain.api_keys import authenticate_key
from frontdesk.domain.audit import Actor, record_change
from frontdesk.domain.database import session_scope, write_scope
from frontdesk.domain.models import ActorKind, ApiKeyScope, Clinic
from frontdesk.domain.repository import ClinicRepository
from frontdesk.logs import get_logger

log = get_logger(__name__)

_bearer = HTTPBearer(auto_error=False, description="an API key: `Authorization: Bearer fd_<prefix>_<secret>`")


@dataclass(frozen=True)
class Principal:
    """Who a request acts for: a clinic's key or user, or an operator's (who may name any clinic)."""

    actor: Actor
    scope: ApiKeyScope
    clinic_id: uuid.UUID | None

    @property
    def is_operator(self) -> bool:
        """True for operator keys."""
        return self.scope is ApiKeyScope.operator


def key_principal(engine: Engine, token: str) -> Principal | None:
    """The principal of the live API key `token`, or None (unknown, malformed, wrong or revoked)."""
    with Session(engine) as session:
        row = authenticate_key(session, token)
        if row is None:
            return None
        return Principal(Actor(ActorKind.api_key, row.id, row.name), row.scope, row.clinic_id)


def rate_limiter(request: Request) -> TokenBuckets:
    """The app's per-key token buckets (see frontdesk.api.v1.limits)."""
    buckets: TokenBuckets = request.app.state.rate_limiter
    return buckets


def require_principal(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> Principal:
    """FastAPI dependency: the caller's principal; 401 without a live key, 429 over its rate."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ApiError(
            401, "send an API key as `Authorization: Bearer <key>`", headers={"WWW-Authenticate": "Bearer"}
        )
    principal = key_principal(get_backends(request).engine, credentials.credentials)
    if principal is None:
        raise ApiError(401, "the API key is not valid or was revoked", headers={"WWW-Authenticate": "Bearer"})
    wait = rate_limiter(request).take(principal.actor.id)
    if wait > 0:
        retry_after = max(1, round(wait + 0.5))
        log.info("api.rate_limited", key_id=str(principal.actor.id))
        raise ApiError(
            429,
            f"too many requests for this key; retry in {retry_after}s",
            headers={"Retry-After": str(retry_after)},
        )
    return principal


def require_operator(principal: Principal = Depends(require_principal)) -> Principal:
    """FastAPI dependency: an operator's principal; 403 for clinic keys."""
    if not principal.is_operator:
        raise ApiError(403, "this needs an operator key")
    return principal


def route_template(request: Request) -> str:
    """The request's path with each path parameter put back as `{name}`: no ids, no patient data.

    Built from the path itself because routers included with a prefix do not expose the full
    template on the matched route in every FastAPI version."""
    names = {str(value): name for name, value in request.path_params.items()}
    segments = request.url.path.split("/")
    return "/".join(f"{{{names[s]}}}" if s in names else s for s in segments)


@dataclass
class Change:
    """The repository of a change in progress; set `resource_id` for the audit entry."""

    repo: ClinicRepository
    resource_id: uuid.UUID | str | None = None


@dataclass
class ClinicContext:
    """A request's clinic, already checked against its key, and how to read or change its data."""

    principal: Principal
    clinic_id: uuid.UUID
    engine: Engine
    request: Request = field(repr=False)

    @contextmanager
    def reading(self) -> Iterator[ClinicRepository]:
        """A repository of this clinic in a read transaction."""
        with session_scope(self.engine) as session:
            yield ClinicRepository(session, self.clinic_id)

    @contextmanager
    def changing(self, status_code: int = 200) -> Iterator[Change]:
        """A repository of this clinic in a write transaction that also records the audit entry.

        A broken constraint (a duplicate, a row still in use) is a 409 and a value a model
        refuses is a 422; either way nothing of the change is kept.
        """
        try:
            with write_scope(self.engine) as session:
                change = Change(ClinicRepository(session, self.clinic_id))
                yield change
                session.flush()
                record_audit(
                    self.principal, self.request, session, self.clinic_id, change.resource_id, status_code
                )
        except IntegrityError:
            raise ApiError(
                409, "the change conflicts with existing data (a duplicate or a row in use)"
            ) from None
        except ValueError as exc:
            raise ApiError(422, str(exc), code="invalid_value") from None


def record_audit(
    principal: Principal,
    request: Request,
    session: Session,
    clinic_id: uuid.UUID | None,
    resource_id: uuid.UUID | str | None,
    status_code: int,
) -> None:
    """Add the audit entry of this request's change to `session`."""
    record_change(
        session,
        clinic_id=clinic_id,
        actor=principal.actor,
        method=request.method,
        route=route_template(request),
        resource_id=None if resource_id is None else str(resource_id),
        status_code=status_code,
    )


def _clinic_exists(engine: Engine, clinic_id: uuid.UUID) -> bool:
    with Session(engine) as session:
        return session.get(Clinic, clinic_id) is not None


def clinic_context(
    request: Request,
    clinic_id: uuid.UUID = Path(description="the clinic's id"),
    principal: Principal = Depends(require_principal),
) -> ClinicContext:
    """FastAPI dependency: the clinic named in the path, if this key may see it; 404 otherwise."""
    engine = get_backends(request).engine
    allowed = principal.clinic_id == clinic_id if not principal.is_operator else True
    if not allowed or not _clinic_exists(engine, clinic_id):
        raise ApiError(404, f"no clinic {clinic_id}")
    return ClinicContext(principal, clinic_id, engine, request)
