"""The retention clean-up: every clinic keeps its calls' transcripts and its messages' bodies for
its `retention_days` (365 unless its admin changes it); RetentionWorkflow runs this once a day.

What goes and what stays. Past the period a call keeps its row (direction, numbers, times,
status, outcome), its turns (role, position, timings) and its actions, which the clinic's numbers
and latency figures are counted from; what was said goes: every turn's text and heard text, the
summary, and the conversation's words its actions copied (a message taken for the staff, the
built-in CRM's record of the summary). A message keeps its row (channel, recipient, status, and
the idempotency key that keeps it from being sent twice) and loses its body. So text columns are
blanked and no row is deleted. Patient records, appointments and the do-not-contact list are the
clinic's records, not transcripts: they stay until the clinic removes them.

Idempotent and batched: a call is done once `transcript_removed_at` is set and a message once its
body is empty, so a second run, or a retry after a crash, finds only what is left. Each batch of
at most `batch_size` calls or messages is one short transaction that also adds its counts to the
run's audit entry on the clinic (frontdesk.domain.audit.record_system_change): one entry per
clinic per run that removed something, counts only, never the text.
"""

import uuid
from collections.abc import Callable
from dataclasses import astuple, dataclass
from datetime import datetime, timedelta
from typing import Final

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import col, select
from temporalio import activity

from frontdesk.activities.appointments import domain_errors_are_final
from frontdesk.activities.calls import TAKE_MESSAGE_KIND
from frontdesk.activities.crm.database import RECORD_KIND
from frontdesk.activities.summaries import database_engine
from frontdesk.domain.audit import record_system_change
from frontdesk.domain.database import session_scope, write_scope
from frontdesk.domain.models import Action, Call, CallTurn, Clinic, Message, utcnow
from frontdesk.logs import get_logger

log = get_logger(__name__)

TASK: Final = "retention"  # the audit entries' route
DEFAULT_BATCH_SIZE: Final = 500
# The conversation's words an action's payload holds, by action kind.
CONVERSATION_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    TAKE_MESSAGE_KIND: ("reason",),
    RECORD_KIND: ("summary",),
}
# Audit entry ids are derived from the run and the clinic, so a retried run adds to its entry.
_AUDIT_IDS: Final = uuid.UUID("6f1d3c2e-9a41-4e0b-8a57-1c2b3d4e5f60")


@dataclass(frozen=True)
class RetentionInput:
    """One clean-up of every clinic; `batch_size` calls or messages per transaction."""

    batch_size: int = DEFAULT_BATCH_SIZE


@dataclass(frozen=True)
class RetentionCounts:
    """What a clean-up removed: the clinics it touched, the calls whose transcript or summary went
    (and how many of their turns held text), the message bodies."""

    clinics: int = 0
    calls: int = 0
    turns: int = 0
    messages: int = 0

    def __add__(self, other: "RetentionCounts") -> "RetentionCounts":
        return RetentionCounts(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))


def _spoken() -> sa.ColumnElement[bool]:
    """A turn that still holds words."""
    return sa.or_(col(CallTurn.text) != "", col(CallTurn.heard_text).is_not(None))


def _remove_call_batch(
    engine: Engine, clinic_id: uuid.UUID, cutoff: datetime, now: datetime, limit: int, entry_id: uuid.UUID
) -> tuple[int, RetentionCounts]:
    """Blank the words of up to `limit` of the clinic's calls started before `cutoff`: how many
    calls were looked at, and what was removed (calls that had words, turns that had)."""
    with write_scope(engine) as session:
        calls = list(
            session.exec(
                select(Call)
                .where(
                    Call.clinic_id == clinic_id,
                    col(Call.started_at) < cutoff,
                    col(Call.transcript_removed_at).is_(None),
                )
                .limit(limit)
            )
        )
        if not calls:
            return 0, RetentionCounts()
        ids = [call.id for call in calls]
        had_words = {call.id for call in calls if call.summary is not None}
        had_words |= set(
            session.exec(select(CallTurn.call_id).where(col(CallTurn.call_id).in_(ids), _spoken()).distinct())
        )
        turns = session.exec(
            sa.update(CallTurn)
            .where(col(CallTurn.call_id).in_(ids), _spoken())
            .values(text="", heard_text=None)
        ).rowcount
        actions = session.exec(
            select(Action).where(col(Action.call_id).in_(ids), col(Action.kind).in_(CONVERSATION_FIELDS))
        )
        for action in actions:
            words = {name: "" for name in CONVERSATION_FIELDS[action.kind] if action.payload.get(name)}
            if words:
                action.payload = {**action.payload, **words}  # a new dict: JSON is not tracked in place
                had_words.add(action.call_id)
        for call in calls:
            call.summary = None
            call.transcript_removed_at = now
        removed = RetentionCounts(calls=len(had_words), turns=turns)
        if had_words:
            counts = {"calls": removed.calls, "turns": removed.turns}
            record_system_change(
                session, entry_id=entry_id, clinic_id=clinic_id, method="DELETE", task=TASK, counts=counts
            )
        return len(calls), removed


def _remove_message_batch(
    engine: Engine, clinic_id: uuid.UUID, cutoff: datetime, limit: int, entry_id: uuid.UUID
) -> int:
    """Blank the bodies of up to `limit` of the clinic's messages written before `cutoff`; how many."""
    with write_scope(engine) as session:
        ids = list(
            session.exec(
                select(Message.id)
                .where(Message.clinic_id == clinic_id, col(Message.created_at) < cutoff, Message.body != "")
                .limit(limit)
            )
        )
        if ids:
            session.exec(sa.update(Message).where(col(Message.id).in_(ids)).values(body=""))
            counts = {"messages": len(ids)}
            record_system_change(
                session, entry_id=entry_id, clinic_id=clinic_id, method="DELETE", task=TASK, counts=counts
            )
        return len(ids)


def _remove_from_clinic(
    engine: Engine,
    clinic_id: uuid.UUID,
    cutoff: datetime,
    now: datetime,
    batch_size: int,
    entry_id: uuid.UUID,
    progress: Callable[[], None],
) -> RetentionCounts:
    """Every batch of one clinic's expired calls, then of its messages; what they removed."""
    total = RetentionCounts()
    looked_at = batch_size
    while looked_at == batch_size:  # a short batch was the last
        looked_at, removed = _remove_call_batch(engine, clinic_id, cutoff, now, batch_size, entry_id)
        total += removed
        progress()
    bodies = batch_size
    while bodies == batch_size:
        bodies = _remove_message_batch(engine, clinic_id, cutoff, batch_size, entry_id)
        total += RetentionCounts(messages=bodies)
        progress()
    return total + RetentionCounts(clinics=1) if total.calls or total.messages else total


def remove_expired_texts(
    engine: Engine, run_key: str, *, batch_size: int, progress: Callable[[], None] = lambda: None
) -> RetentionCounts:
    """Remove, in every clinic, the transcripts and message bodies older than its retention period
    (see the module doc); `run_key` names the run in its audit entries' ids, and `progress` is
    called after every batch."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    now = utcnow()
    with session_scope(engine) as session:
        clinics = list(session.exec(select(Clinic.id, Clinic.retention_days).order_by(col(Clinic.id))))
    totals = RetentionCounts()
    for clinic_id, retention_days in clinics:
        entry_id = uuid.uuid5(_AUDIT_IDS, f"{run_key}/{clinic_id}")
        cutoff = now - timedelta(days=retention_days)
        removed = _remove_from_clinic(engine, clinic_id, cutoff, now, batch_size, entry_id, progress)
        if removed.clinics:
            log.info(
                "retention_removed",
                clinic_id=str(clinic_id),
                retention_days=retention_days,
                calls=removed.calls,
                turns=removed.turns,
                messages=removed.messages,
            )
        totals += removed
    return totals


@activity.defn(name="remove_expired_texts")
def remove_expired_texts_activity(request: RetentionInput) -> RetentionCounts:
    """Run the clean-up; a retry of the same run adds to the same audit entries."""
    info = activity.info()
    with domain_errors_are_final():
        return remove_expired_texts(
            database_engine(),
            f"{info.workflow_run_id}/{info.activity_id}",
            batch_size=request.batch_size,
            progress=activity.heartbeat,
        )


RETENTION_ACTIVITIES: Final = [remove_expired_texts_activity]
