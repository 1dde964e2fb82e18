"""The retention clean-up on both databases: what a clinic's period has passed loses its words
(turns, summary, the message taken, the CRM record's summary, message bodies) and keeps its
numbers; newer calls and another clinic with a longer period are untouched; each clinic that
lost something gets one audit entry of counts; a second run removes nothing more."""

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from frontdesk.activities.calls import TAKE_MESSAGE_KIND
from frontdesk.activities.crm.database import RECORD_KIND
from frontdesk.activities.retention import RetentionCounts, remove_expired_texts
from frontdesk.domain.database import session_scope
from frontdesk.domain.models import (
    Action,
    ActorKind,
    AuditEntry,
    Call,
    CallDirection,
    CallStatus,
    CallTurn,
    Clinic,
    Message,
    MessageChannel,
    MessageStatus,
    TurnRole,
    utcnow,
)
from tests.domain.factories import make_small_clinic

CALLER_WORDS = "My tooth hurts since Tuesday, it's Pat Doe."
AGENT_WORDS = "I'm sorry to hear that, Pat. I can book you with Dr. Lopez tomorrow at nine."
HEARD = "I'm sorry to hear that, Pat."
SUMMARY = "Intent: toothache\nOutcome: booked"
MESSAGE_TAKEN = "Please ask Dr. Lopez about the swelling."
SMS = "Pat, your visit with Dr. Lopez is booked for tomorrow at 9:00."
TIMINGS = {"first_frame_sent": 640.0, "turn_ready": 210.0}


@dataclass(frozen=True)
class Conversation:
    """A stored call with every kind of words the clean-up knows, and its SMS."""

    call_id: UUID
    message_id: UUID


def add_conversation(engine: Engine, clinic_id: UUID, started_at: datetime) -> Conversation:
    """A finished, booked call started at `started_at`, with its turns, summary, actions and SMS."""
    with session_scope(engine) as session:
        call = Call(
            clinic_id=clinic_id,
            call_sid="CA" + uuid4().hex,
            direction=CallDirection.inbound,
            from_number="+15550111000",
            to_number="+15550140000",
            status=CallStatus.completed,
            started_at=started_at,
            ended_at=started_at + timedelta(minutes=3),
            outcome="booked",
            summary=SUMMARY,
        )
        session.add(call)
        session.flush()
        message = Message(
            clinic_id=clinic_id,
            call_id=call.id,
            channel=MessageChannel.sms,
            to="+15550111000",
            body=SMS,
            status=MessageStatus.delivered,
            idempotency_key=f"sms-{call.id}",
            created_at=started_at + timedelta(minutes=4),
        )
        session.add_all(
            [
                CallTurn(
                    clinic_id=clinic_id, call_id=call.id, index=0, role=TurnRole.caller, text=CALLER_WORDS
                ),
                CallTurn(
                    clinic_id=clinic_id,
                    call_id=call.id,
                    index=1,
                    role=TurnRole.agent,
                    text=AGENT_WORDS,
                    heard_text=HEARD,
                    timings=TIMINGS,
                ),
                Action(
                    clinic_id=clinic_id,
                    call_id=call.id,
                    kind=TAKE_MESSAGE_KIND,
                    payload={"reason": MESSAGE_TAKEN, "callback_number": "+15550111000"},
                    idempotency_key=f"take-{call.id}",
                ),
                Action(
                    clinic_id=clinic_id,
                    call_id=call.id,
                    kind=RECORD_KIND,
                    payload={"intent": "book an appointment", "outcome": "booked", "summary": SUMMARY},
                    idempotency_key=f"crm-{call.id}",
                ),
                message,
            ]
        )
        return Conversation(call.id, message.id)


def add_unanswered_call(engine: Engine, clinic_id: UUID, started_at: datetime) -> UUID:
    """An outbound call nobody answered: no words to remove."""
    with session_scope(engine) as session:
        call = Call(
            clinic_id=clinic_id,
            call_sid="CA" + uuid4().hex,
            direction=CallDirection.outbound,
            from_number="+15550140000",
            to_number="+15550111000",
            status=CallStatus.no_answer,
            started_at=started_at,
        )
        session.add(call)
        return call.id


@dataclass(frozen=True)
class Stored:
    """A conversation as stored: its words, and what it keeps for the clinic's numbers."""

    texts: list[tuple[str, str | None]]
    summary: str | None
    message_taken: dict[str, Any]
    crm_record: dict[str, Any]
    sms: str
    removed_at: datetime | None
    kept: tuple[object, ...]

    @property
    def untouched(self) -> bool:
        return (
            self.texts == [(CALLER_WORDS, None), (AGENT_WORDS, HEARD)]
            and (self.summary, self.sms, self.message_taken["reason"]) == (SUMMARY, SMS, MESSAGE_TAKEN)
            and self.removed_at is None
        )


def stored(engine: Engine, conversation: Conversation) -> Stored:
    with Session(engine) as session:
        call = session.get(Call, conversation.call_id)
        message = session.get(Message, conversation.message_id)
        assert call is not None and message is not None
        turns = session.exec(
            select(CallTurn).where(CallTurn.call_id == call.id).order_by(col(CallTurn.index))
        ).all()
        actions = {a.kind: a.payload for a in session.exec(select(Action).where(Action.call_id == call.id))}
        return Stored(
            texts=[(turn.text, turn.heard_text) for turn in turns],
            summary=call.summary,
            message_taken=actions[TAKE_MESSAGE_KIND],
            crm_record=actions[RECORD_KIND],
            sms=message.body,
            removed_at=call.transcript_removed_at,
            kept=(call.outcome, call.ended_at, [t.timings for t in turns], message.status),
        )


def audit_entries(engine: Engine) -> list[AuditEntry]:
    with Session(engine) as session:
        return list(session.exec(select(AuditEntry)))


def test_texts_past_the_clinics_period_are_removed_and_newer_ones_kept(engine: Engine) -> None:
    east = make_small_clinic(engine, "east", "+15550140000")
    west = make_small_clinic(engine, "west", "+15550140001")
    with session_scope(engine) as session:
        clinic = session.get(Clinic, west.clinic_id)
        assert clinic is not None and clinic.retention_days == 365  # the default
        clinic.retention_days = 730
    now = utcnow()
    expired = [add_conversation(engine, east.clinic_id, now - timedelta(days=400 + n)) for n in range(3)]
    unanswered = add_unanswered_call(engine, east.clinic_id, now - timedelta(days=500))
    recent = add_conversation(engine, east.clinic_id, now - timedelta(days=300))
    longer_kept = add_conversation(engine, west.clinic_id, now - timedelta(days=400))
    with session_scope(engine) as session:  # a campaign's SMS, of no call
        session.add(
            Message(
                clinic_id=east.clinic_id,
                channel=MessageChannel.sms,
                to="+15550111000",
                body="Maple Dental: time for your check-up. Reply STOP to opt out of texts.",
                status=MessageStatus.sent,
                idempotency_key="campaign-sms",
                created_at=now - timedelta(days=380),
            )
        )
    before = [stored(engine, conversation) for conversation in expired]
    batches: list[None] = []

    removed = remove_expired_texts(engine, "run-1", batch_size=2, progress=lambda: batches.append(None))

    assert removed == RetentionCounts(clinics=1, calls=3, turns=6, messages=4)
    assert len(batches) >= 4  # calls in batches of two, then messages: each batch its own transaction
    for conversation, earlier in zip(expired, before, strict=True):
        after = stored(engine, conversation)
        assert after.texts == [("", None), ("", None)]
        assert after.summary is None and after.sms == ""
        assert after.message_taken == {"reason": "", "callback_number": "+15550111000"}
        assert after.crm_record == {"intent": "book an appointment", "outcome": "booked", "summary": ""}
        assert after.kept == earlier.kept  # outcome, length, latency figures, delivery status
        assert after.removed_at is not None and now <= after.removed_at <= utcnow()
    with Session(engine) as session:
        unanswered_call = session.get(Call, unanswered)
        assert unanswered_call is not None and unanswered_call.transcript_removed_at is not None
        campaign_sms = session.exec(select(Message).where(Message.idempotency_key == "campaign-sms")).one()
    assert campaign_sms.body == "" and campaign_sms.status is MessageStatus.sent
    assert stored(engine, recent).untouched and stored(engine, longer_kept).untouched

    [entry] = audit_entries(engine)
    assert (entry.clinic_id, entry.actor_kind, entry.actor_name, entry.method, entry.route) == (
        east.clinic_id,
        ActorKind.system,
        "Frontdesk",
        "DELETE",
        "retention",
    )
    assert entry.detail == {"calls": 3, "turns": 6, "messages": 4}
    as_json = json.dumps(entry.model_dump(mode="json"))
    assert not any(word in as_json for word in ("Pat", "Lopez", "tooth", "+1555"))

    again = remove_expired_texts(engine, "run-2", batch_size=2)

    assert again == RetentionCounts()
    assert len(audit_entries(engine)) == 1  # nothing removed: no entry
    assert stored(engine, recent).untouched and stored(engine, longer_kept).untouched


def test_a_retried_run_adds_to_its_one_audit_entry_per_clinic(engine: Engine) -> None:
    east = make_small_clinic(engine, "east", "+15550140000")
    now = utcnow()
    add_conversation(engine, east.clinic_id, now - timedelta(days=400))

    first = remove_expired_texts(engine, "run-1", batch_size=500)
    add_conversation(engine, east.clinic_id, now - timedelta(days=401))  # left for the retry, say
    retry = remove_expired_texts(engine, "run-1", batch_size=500)

    assert first == retry == RetentionCounts(clinics=1, calls=1, turns=2, messages=1)
    [entry] = audit_entries(engine)
    assert entry.detail == {"calls": 2, "turns": 4, "messages": 2}


def test_a_shorter_period_applies_at_the_next_run(engine: Engine) -> None:
    east = make_small_clinic(engine, "east", "+15550140000")
    conversation = add_conversation(engine, east.clinic_id, utcnow() - timedelta(days=45))
    assert remove_expired_texts(engine, "run-1", batch_size=10) == RetentionCounts()

    with session_scope(engine) as session:
        clinic = session.get(Clinic, east.clinic_id)
        assert clinic is not None
        clinic.retention_days = 30

    assert remove_expired_texts(engine, "run-2", batch_size=10).calls == 1
    assert stored(engine, conversation).texts == [("", None), ("", None)]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_batch_size_below_one_is_refused(engine: Engine) -> None:
    with pytest.raises(ValueError, match="batch_size must be at least 1, got 0"):
        remove_expired_texts(engine, "run-1", batch_size=0)
