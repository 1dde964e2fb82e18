"""Recording calls: the row per call, and its transcript turn by turn at the end."""

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from frontdesk.domain.database import write_scope
from frontdesk.domain.models import Call, CallDirection, CallStatus, CallTurn, TurnRole, utcnow
from frontdesk.domain.repository import ClinicRepository


@dataclass
class TurnRecord:
    """One turn as the realtime process saw it."""

    role: TurnRole
    text: str
    heard_text: str | None = None
    timings: dict[str, Any] = field(default_factory=dict)


def ensure_call(
    engine: Engine,
    clinic_id: uuid.UUID,
    *,
    call_sid: str,
    direction: CallDirection,
    from_number: str,
    to_number: str,
) -> uuid.UUID:
    """The id of the call's row, created when the webhook did not (a retried start finds it)."""
    with write_scope(engine) as session:
        repo = ClinicRepository(session, clinic_id)
        call = repo.call_by_sid(call_sid)
        if call is None:
            call = repo.add(
                Call(
                    clinic_id=clinic_id,
                    call_sid=call_sid,
                    direction=direction,
                    from_number=from_number,
                    to_number=to_number,
                    status=CallStatus.in_progress,
                )
            )
            session.flush()
        elif call.status in (CallStatus.queued, CallStatus.ringing):
            call.status = CallStatus.in_progress
        return call.id


def finish_call(
    engine: Engine,
    clinic_id: uuid.UUID,
    call_id: uuid.UUID,
    *,
    turns: list[TurnRecord],
    outcome: str | None,
    patient_id: uuid.UUID | None = None,
    ended_at: datetime | None = None,
) -> None:
    """Store the transcript (what was heard, by turn) and close the call's row. Idempotent:
    a second call replaces nothing that is already stored."""
    with write_scope(engine) as session:
        repo = ClinicRepository(session, clinic_id)
        call = repo.require(Call, call_id)
        if not repo.turns(call_id):
            for index, turn in enumerate(turns):
                repo.add(
                    CallTurn(
                        clinic_id=clinic_id,
                        call_id=call_id,
                        index=index,
                        role=turn.role,
                        text=turn.text,
                        heard_text=turn.heard_text,
                        timings=turn.timings,
                    )
                )
        call.ended_at = call.ended_at or ended_at or utcnow()
        call.outcome = call.outcome or outcome
        call.patient_id = call.patient_id or patient_id
        if call.status in (CallStatus.queued, CallStatus.ringing, CallStatus.in_progress):
            call.status = CallStatus.completed
