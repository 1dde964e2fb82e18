"""Recording a call's non-booking actions (message taken, confirmation asked for, transfer,
hang-up) exactly once."""

import uuid
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from frontdesk.domain.database import session_scope, write_scope
from frontdesk.domain.models import Action, ActionStatus, utcnow
from frontdesk.domain.repository import ClinicRepository

# A caller asked for an appointment's confirmation (payload: appointment_id, channel "sms" or
# "email"); the call's post-call workflow sends it.
CONFIRMATION_REQUEST_KIND: Final = "send_confirmation"


def succeeded_action(
    clinic_id: uuid.UUID,
    *,
    kind: str,
    payload: dict[str, Any],
    idempotency_key: str,
    result: dict[str, Any],
    call_id: uuid.UUID | None = None,
) -> Action:
    """The row of an action done now under `idempotency_key` (added by the caller's transaction)."""
    return Action(
        clinic_id=clinic_id,
        call_id=call_id,
        kind=kind,
        payload=payload,
        status=ActionStatus.succeeded,
        idempotency_key=idempotency_key,
        result=result,
        completed_at=utcnow(),
    )


def record_action(
    engine: Engine,
    clinic_id: uuid.UUID,
    *,
    kind: str,
    payload: dict[str, Any],
    idempotency_key: str,
    call_id: uuid.UUID | None = None,
) -> Action:
    """Record a completed action once per idempotency key; a repeat returns the first record."""
    try:
        with write_scope(engine) as session:
            repo = ClinicRepository(session, clinic_id)
            if (previous := repo.action_by_key(idempotency_key)) is not None:
                return previous
            action = succeeded_action(
                clinic_id,
                kind=kind,
                payload=payload,
                idempotency_key=idempotency_key,
                result={},
                call_id=call_id,
            )
            return repo.add(action)
    except sa.exc.IntegrityError:
        # A concurrent twin with the same key won the race: its record is ours.
        with session_scope(engine) as session:
            previous = ClinicRepository(session, clinic_id).action_by_key(idempotency_key)
            if previous is None:
                raise
            return previous
