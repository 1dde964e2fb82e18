"""Outbound reminder calls with the deterministic brain on the seeded demo clinic: the clinic calls
John about his cleaning. Whoever answers hears no appointment details until they say they are
John; John can confirm, move or cancel it, or ask not to be called again.

Everything below the engine is real: the tool runner, the database-backed actions and the
booking and opt-out transactions, on SQLite and on PostgreSQL.
"""

import json
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from frontdesk.agent.call_actions import CallActions
from frontdesk.agent.call_state import CallState
from frontdesk.agent.conversation import Conversation, TextBlock, ToolResultBlock, ToolUseBlock
from frontdesk.agent.database_actions import database_call_actions, load_clinic_profile
from frontdesk.agent.text_call import TextCall
from frontdesk.agent.tool_runner import ToolRunner, describe_slot
from frontdesk.domain.appointment_details import AppointmentRecord
from frontdesk.domain.models import Action, Appointment, AppointmentStatus, Clinic, Patient
from frontdesk.domain.opt_outs import OptOutChannel, blocks
from frontdesk.domain.outcomes import Outcome
from frontdesk.domain.repository import ClinicRepository
from tests.agent.test_fallback_conversations import NEW_YORK, appointments_of, converse

JOHN_PHONE = "+15550199002"


def johns_cleaning(engine: Engine) -> Appointment:
    [(appointment, service)] = appointments_of(engine, "John")
    assert service == "cleaning"
    return appointment


def database_actions(engine: Engine, clinic: Clinic) -> CallActions:
    return database_call_actions(engine, load_clinic_profile(engine, clinic.id), f"test-{uuid.uuid4().hex}")


async def johns_record(engine: Engine, clinic: Clinic) -> AppointmentRecord:
    """John's cleaning as the agent sees it."""
    [record] = await database_actions(engine, clinic).upcoming_appointments(john(engine).id)
    return record


async def reminder_call(engine: Engine, clinic: Clinic) -> tuple[TextCall, Appointment]:
    """The clinic calls John about his cleaning, as a reminder campaign does."""
    appointment = johns_cleaning(engine)
    when = describe_slot(await johns_record(engine, clinic), load_clinic_profile(engine, clinic.id))
    call = TextCall(
        engine,
        clinic.id,
        JOHN_PHONE,
        direction="outbound",
        purpose=f"a reminder of your cleaning on {when}",
        appointment_id=appointment.id,
        campaign_kind="reminder",
    )
    return call, appointment


def details_of(appointment: Appointment) -> list[str]:
    """Words that would give the appointment away: the service, provider, weekday and time."""
    local = appointment.start_at.astimezone(NEW_YORK)
    hour = local.hour % 12 or 12
    return ["cleaning", "Sarah", "Kim", local.strftime("%A"), f"{hour} AM", f"{hour}:"]


def john(engine: Engine) -> Patient:
    with Session(engine) as session:
        return session.exec(select(Patient).where(Patient.first_name == "John")).one()


async def test_the_patient_confirms_the_appointment(engine: Engine, demo_clinic: Clinic) -> None:
    call, appointment = await reminder_call(engine, demo_clinic)
    replies = await converse(call, ["Speaking.", "Yes, I'll be there.", "No, that's all, thanks."])
    greeting, purpose, confirmed, goodbye = replies
    assert greeting == "Hi, this is Ava calling from Maple Dental. May I speak with John, please?"
    assert "Thanks, John." in purpose and "reminder of your cleaning" in purpose
    assert "Will you be able to make it?" in purpose
    assert "you're confirmed for" in confirmed
    assert "Have a great day" in goodbye and call.ended
    assert call.state.outcome == Outcome.confirmed
    assert johns_cleaning(engine).status == AppointmentStatus.confirmed
    with Session(engine) as session:
        [action] = session.exec(select(Action).where(Action.kind == "confirm_appointment")).all()
    assert action.payload == {"appointment_id": str(appointment.id)}


async def test_a_question_is_answered_and_the_reminder_resumes(engine: Engine, demo_clinic: Clinic) -> None:
    call, _ = await reminder_call(engine, demo_clinic)
    replies = await converse(call, ["Yes.", "Where are you located again?", "Yep, see you then."])
    assert "Maple Avenue" in replies[2] and "Will you be able to make it?" in replies[2]
    assert "you're confirmed" in replies[3]
    assert johns_cleaning(engine).status == AppointmentStatus.confirmed


async def test_please_stop_calling_opts_the_number_out(engine: Engine, demo_clinic: Clinic) -> None:
    call, appointment = await reminder_call(engine, demo_clinic)
    replies = await converse(call, ["Please stop calling me."])
    assert "off our call list" in replies[1] and call.ended
    assert call.state.outcome == Outcome.opted_out
    with Session(engine) as session:
        repo = ClinicRepository(session, demo_clinic.id)
        number = john(engine).phone
        assert blocks(repo, number, OptOutChannel.calls) and not blocks(repo, number, OptOutChannel.sms)
    assert johns_cleaning(engine).status == AppointmentStatus.booked
    assert not any(word in reply for reply in replies for word in details_of(appointment))


@pytest.mark.parametrize(
    "answers",
    [
        ["Sorry, wrong number."],
        ["No, he's not here right now."],
        ["Who's calling? What is this about?", "This is his wife, he's at work."],
        ["Hold on, let me get him.", "Hello?", "Hello?", "Hello?"],
    ],
)
async def test_no_details_for_anyone_but_the_patient(
    engine: Engine, demo_clinic: Clinic, answers: list[str]
) -> None:
    call, appointment = await reminder_call(engine, demo_clinic)
    replies = await converse(call, answers)
    assert call.ended
    for reply in replies:
        for word in details_of(appointment):
            assert word not in reply, f"{word!r} said to someone who is not John: {reply!r}"
    assert call.state.outcome == Outcome.answered
    assert johns_cleaning(engine).status == AppointmentStatus.booked


async def test_the_patient_moves_the_appointment(engine: Engine, demo_clinic: Clinic) -> None:
    call, before = await reminder_call(engine, demo_clinic)
    replies = await converse(
        call,
        [
            "Yes, this is John.",
            "No, I can't make it.",
            "Can we reschedule it?",
            "sometime next week in the afternoon",
            "the first one",
            "no that's it",
        ],
    )
    assert "reschedule it, or cancel it?" in replies[2]
    assert "What day and time would you like to move it to?" in replies[3]
    assert "Done, I've moved it" in replies[5] and call.ended
    assert call.state.outcome == Outcome.rescheduled
    after = johns_cleaning(engine)
    assert after.id == before.id and after.start_at != before.start_at
    assert after.start_at.astimezone(NEW_YORK).hour >= 12


async def test_the_patient_cancels_the_appointment_the_call_named(
    engine: Engine, demo_clinic: Clinic
) -> None:
    # The call named the cleaning; "I need to cancel it" says which, as a yes to a read-back does.
    call, _ = await reminder_call(engine, demo_clinic)
    replies = await converse(
        call, ["It's me.", "Actually I need to cancel it.", "no, no need to rebook", "bye"]
    )
    assert "cancelled" in replies[2] and "Would you like to book another time?" in replies[2]
    assert "anything else" in replies[3] and call.ended
    assert call.state.outcome == Outcome.cancelled
    assert johns_cleaning(engine).status == AppointmentStatus.cancelled


async def test_a_question_about_cancelling_is_read_back_first(engine: Engine, demo_clinic: Clinic) -> None:
    call, _ = await reminder_call(engine, demo_clinic)
    replies = await converse(call, ["It's me.", "What happens if I cancel it?"])
    assert "you'd like to cancel your cleaning on" in replies[2]
    assert johns_cleaning(engine).status == AppointmentStatus.booked
    replies = [await call.say(line) for line in ("yes please", "sure, next Friday afternoon")]
    assert "cancelled" in replies[0] and johns_cleaning(engine).status == AppointmentStatus.cancelled
    # The rebooking offered is for the same visit, at the time asked for.
    assert "Friday" in replies[1] and "Sarah Kim" in replies[1] and call.state.booking_intent


async def test_an_inbound_caller_confirms_after_identification(engine: Engine, demo_clinic: Clinic) -> None:
    call = TextCall(engine, demo_clinic.id, "+15550199009")
    replies = await converse(
        call, ["I'd like to confirm my appointment", "John Smith, June 14th 1975", "yes", "no thanks, bye"]
    )
    assert "date of birth" in replies[1]
    assert "Shall I confirm it?" in replies[2] and "cleaning" in replies[2]
    assert "you're confirmed" in replies[3]
    assert call.state.outcome == Outcome.confirmed
    assert johns_cleaning(engine).status == AppointmentStatus.confirmed


# The tool runner's rules for confirm_appointment, whatever a model writes.


async def _confirm(runner: ToolRunner, caller_said: str, appointment_id: str) -> ToolResultBlock:
    runner.conversation.add_agent([TextBlock(text="Will you be able to make it?")])
    runner.conversation.add_caller_text(caller_said)
    block = ToolUseBlock(
        id=f"toolu_{uuid.uuid4().hex[:8]}",
        name="confirm_appointment",
        input={"appointment_id": appointment_id},
    )
    runner.conversation.add_agent([block])
    return await runner.run(block)


async def test_confirm_is_refused_for_another_patients_appointment(
    engine: Engine, demo_clinic: Clinic
) -> None:
    actions = database_actions(engine, demo_clinic)
    johns = await johns_record(engine, demo_clinic)
    [(marias, _)] = appointments_of(engine, "Maria")
    state = CallState(caller_number=JOHN_PHONE, direction="outbound", appointment_id=johns.id)
    handle = state.remember_appointment(johns)
    profile = load_clinic_profile(engine, demo_clinic.id)
    runner = ToolRunner(profile, actions, state, Conversation(), lambda: datetime.now(UTC))

    for not_johns in (str(marias.id)[:16], "A2"):
        refused = await _confirm(runner, "yes", not_johns)
        assert refused.is_error and "not one of this caller's appointments" in refused.content
    unsure = await _confirm(runner, "hmm, I'm not sure", handle)
    assert unsure.is_error and "Not confirmed yet" in unsure.content

    confirmed = await _confirm(runner, "yes I'll be there", handle)
    assert not confirmed.is_error and json.loads(confirmed.content)["confirmed"] is True
    with Session(engine) as session:
        statuses = {a.id: a.status for a in session.exec(select(Appointment))}
    assert statuses[johns.id] == AppointmentStatus.confirmed
    assert statuses[marias.id] == AppointmentStatus.booked
