"""Whole text-level conversations with the deterministic brain on the seeded demo clinic.

Everything below the engine is real: the tool runner, the database-backed actions, the
availability engine and the booking transaction, on SQLite and on PostgreSQL.
"""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from frontdesk.agent.text_call import TextCall
from frontdesk.agent.tools import TransferReason
from frontdesk.domain.models import Action, Appointment, AppointmentStatus, Clinic, Patient, Service
from frontdesk.domain.outcomes import Outcome

NEW_YORK = ZoneInfo("America/New_York")


def at_local(days_ahead_weekday: int, hour: int) -> datetime:
    """The next given weekday (0 = Monday, never today) at `hour` in New York, as aware UTC."""
    today = datetime.now(NEW_YORK).date()
    ahead = (days_ahead_weekday - today.weekday()) % 7 or 7
    return datetime.combine(today + timedelta(days=ahead), time(hour), tzinfo=NEW_YORK).astimezone(UTC)


async def converse(call: TextCall, lines: list[str]) -> list[str]:
    """Say each line in turn; return the agent's replies (stopping when the call ends)."""
    replies = [await call.start()]
    for line in lines:
        replies.append(await call.say(line))
        if call.ended:
            break
    return replies


def appointments_of(engine: Engine, first_name: str) -> list[tuple[Appointment, str]]:
    with Session(engine) as session:
        rows = session.exec(
            select(Appointment, Service.slug)
            .join(Patient, Patient.id == Appointment.patient_id)  # type: ignore[arg-type]
            .join(Service, Service.id == Appointment.service_id)  # type: ignore[arg-type]
            .where(Patient.first_name == first_name)
        ).all()
        return [(appointment, slug) for appointment, slug in rows]


async def test_new_patient_books_a_cleaning(engine: Engine, demo_clinic: Clinic) -> None:
    call = TextCall(engine, demo_clinic.id, "+15550199001")
    replies = await converse(
        call,
        [
            "Hi, I'd like to book a teeth cleaning.",
            "Ana Lopez, March 3rd 1988.",
            "Next Tuesday morning if you have anything.",
            "Yes, the first one.",
            "Yeah, that's all, thanks.",
        ],
    )
    assert call.state.outcome == Outcome.booked and call.ended
    # The offer named the slot: "yes, the first one" books it, no second read-back.
    assert "Tuesday" in replies[3] and "You're all set" in replies[4]
    [(appointment, service)] = appointments_of(engine, "Ana")
    local = appointment.start_at.astimezone(NEW_YORK)
    assert (service, local.strftime("%A"), local.hour < 12) == ("cleaning", "Tuesday", True)
    assert appointment.status == AppointmentStatus.booked
    with Session(engine) as session:
        patient = session.exec(select(Patient).where(Patient.first_name == "Ana")).one()
        assert (patient.last_name, patient.phone, patient.date_of_birth.isoformat()) == (
            "Lopez",
            "+15550199001",
            "1988-03-03",
        )


async def test_none_of_those_offers_different_slots_then_books(engine: Engine, demo_clinic: Clinic) -> None:
    call = TextCall(engine, demo_clinic.id, "+15550199020")
    replies = await converse(
        call,
        [
            "I'd like to come in for an exam next week",
            "my name is Lee Park, born 4/5/1980",
            "none of those work",
            "the last one",
            "yes",
        ],
    )
    first_offer, second_offer = replies[2], replies[3]
    assert "I have" in first_offer and "I have" in second_offer
    assert first_offer.split("I have")[1] != second_offer.split("I have")[1]
    assert call.state.outcome == Outcome.booked
    [(_, service)] = appointments_of(engine, "Lee")
    assert service == "exam"


async def test_existing_patient_reschedules_after_identity_check(engine: Engine, demo_clinic: Clinic) -> None:
    [(before, _)] = appointments_of(engine, "John")
    call = TextCall(engine, demo_clinic.id, "+15550199002")
    replies = await converse(
        call,
        [
            "I need to reschedule my appointment",
            "John Smith, June 14th 1975",
            "sometime next week in the afternoon",
            "the second one",
            "yes",
            "no that's it",
        ],
    )
    assert "name" in replies[1] and "Thanks, John" in replies[2]
    assert call.state.outcome == Outcome.rescheduled
    [(after, _)] = appointments_of(engine, "John")
    assert after.id == before.id and after.start_at != before.start_at
    assert after.start_at.astimezone(NEW_YORK).hour >= 12


async def test_cancel_needs_the_right_birth_date(engine: Engine, demo_clinic: Clinic) -> None:
    call = TextCall(engine, demo_clinic.id, "+15550199003")
    replies = await converse(
        call,
        [
            "I want to cancel my appointment",
            "this is Maria Garcia, born November 3rd 1990",  # wrong day: not identified
            "Maria Garcia, November 2nd 1990",
            "yes please",
            "no thanks, bye",
        ],
    )
    assert "couldn't find" in replies[2]
    assert "cancel your exam" in replies[3]
    assert call.state.outcome == Outcome.cancelled
    [(appointment, _)] = appointments_of(engine, "Maria")
    assert appointment.status == AppointmentStatus.cancelled


async def test_questions_about_hours_location_and_insurance(engine: Engine, demo_clinic: Clinic) -> None:
    call = TextCall(engine, demo_clinic.id, "+15550199009")
    replies = await converse(
        call,
        [
            "What are your hours?",
            "Where are you located?",
            "Do you take Cigna?",
            "what about Humana insurance",
            "no, that's all",
        ],
    )
    assert "Monday through Friday, 8 AM to 5 PM" in replies[1]
    assert "Maple Avenue" in replies[2]
    assert "we accept Cigna" in replies[3]
    assert "don't accept Humana" in replies[4] and "Delta Dental" in replies[4]
    assert call.state.outcome == Outcome.answered and call.ended


async def test_billing_transfers_to_the_billing_line_when_open(engine: Engine, demo_clinic: Clinic) -> None:
    monday_ten = at_local(0, 10)
    call = TextCall(engine, demo_clinic.id, "+15550199009", now=lambda: monday_ten)
    await converse(call, ["I have a question about my bill"])
    assert call.state.transfer_reason == TransferReason.billing and call.ended
    with Session(engine) as session:
        transfer = session.exec(select(Action).where(Action.kind == "transfer_to_human")).one()
    assert transfer.payload == {"reason": "billing", "number": "+15550100002"}


async def test_distress_and_emergency_get_a_human_at_once(engine: Engine, demo_clinic: Clinic) -> None:
    sunday_night = at_local(6, 22)  # closed, yet distress still reaches a person
    call = TextCall(engine, demo_clinic.id, "+15550199009", now=lambda: sunday_night)
    [_, reply] = await converse(call, ["My face is swollen and I can't breathe"])
    assert "911" in reply
    assert call.state.transfer_reason == TransferReason.distress


async def test_a_dental_urgency_follows_the_clinics_rule(engine: Engine, demo_clinic: Clinic) -> None:
    monday_ten = at_local(0, 10)
    urgency = "I cracked a molar and it's throbbing"
    booking = TextCall(engine, demo_clinic.id, "+15550199009", now=lambda: monday_ten)
    [_, reply] = await converse(booking, [urgency])
    assert "as soon as we can" in reply and booking.state.booking_intent and not booking.ended

    with Session(engine) as session:
        clinic = session.get(Clinic, demo_clinic.id)
        assert clinic is not None
        clinic.escalation = {**clinic.escalation, "dental_urgency": "clinical_line"}
        session.add(clinic)
        session.commit()
    transferred = TextCall(engine, demo_clinic.id, "+15550199009", now=lambda: monday_ten)
    [_, reply] = await converse(transferred, [urgency])
    assert "clinical team" in reply and "911" not in reply
    assert transferred.state.transfer_reason == TransferReason.clinical and transferred.ended


async def test_human_request_after_hours_takes_a_message(engine: Engine, demo_clinic: Clinic) -> None:
    sunday_night = at_local(6, 22)
    call = TextCall(engine, demo_clinic.id, "+15550199009", now=lambda: sunday_night)
    replies = await converse(
        call, ["Can I talk to a real person?", "please ask Dr. Chen to call me about my crown", "no, bye"]
    )
    assert "take a message" in replies[1]
    assert "call you back when we open" in replies[2]
    assert call.state.outcome == Outcome.message_taken
    with Session(engine) as session:
        message = session.exec(select(Action).where(Action.kind == "take_message")).one()
    assert "crown" in message.payload["reason"] and message.payload["callback_number"] == "+15550199009"


async def test_out_of_scope_requests_end_with_a_human(engine: Engine, demo_clinic: Clinic) -> None:
    monday_ten = at_local(0, 10)
    call = TextCall(engine, demo_clinic.id, "+15550199009", now=lambda: monday_ten)
    await converse(call, ["blue giraffe", "purple elephant", "orange zebra"])
    assert call.state.transfer_reason == TransferReason.out_of_scope


async def test_details_that_never_come_through_end_with_a_human(engine: Engine, demo_clinic: Clinic) -> None:
    monday_ten = at_local(0, 10)
    call = TextCall(engine, demo_clinic.id, "+15550199009", now=lambda: monday_ten)
    replies = await converse(
        call, ["I'd like to book a cleaning", "Hanalopas, March 3rd 1988", "Hanalopas", "it's Hanalopas"]
    )
    assert "Can I have your first and last name, please?" in replies[2]  # the birth date was heard
    assert call.state.transfer_reason == TransferReason.failure


async def test_a_yes_naming_a_time_not_offered_books_nothing_and_searches_it(
    engine: Engine, demo_clinic: Clinic
) -> None:
    monday_ten = at_local(0, 10)
    call = TextCall(engine, demo_clinic.id, "+15550199021", now=lambda: monday_ten)
    replies = await converse(
        call,
        ["I'd like a cleaning on Wednesday at 8 in the morning", "my name is Lee Park, born 4/5/1980"],
    )
    assert "8 AM" in replies[2] and "Would that work?" in replies[2]
    offer_of_three = await call.say("three's perfect, yes")  # the 8 AM offer was not what they said yes to
    assert appointments_of(engine, "Lee") == []
    assert "3 PM" in offer_of_three and "Wednesday" in offer_of_three
    done = await call.say("yes please")
    assert "You're all set" in done and "3 PM" in done
    [(appointment, _)] = appointments_of(engine, "Lee")
    assert appointment.start_at.astimezone(NEW_YORK).hour == 15


async def test_a_call_back_asked_for_is_the_message(engine: Engine, demo_clinic: Clinic) -> None:
    monday_ten = at_local(0, 10)
    call = TextCall(engine, demo_clinic.id, "+15550199022", now=lambda: monday_ten)
    replies = await converse(
        call, ["Hi, could Dr. Chen call me back about my crown? It came loose.", "no, that's all, thanks"]
    )
    assert "pass that on" in replies[1] and "call you back today" in replies[1]
    assert call.state.outcome == Outcome.message_taken and call.ended
    with Session(engine) as session:
        message = session.exec(select(Action).where(Action.kind == "take_message")).one()
    assert "crown" in message.payload["reason"]


async def test_a_message_to_pass_on_is_asked_for_then_taken(engine: Engine, demo_clinic: Clinic) -> None:
    monday_ten = at_local(0, 10)
    call = TextCall(engine, demo_clinic.id, "+15550199023", now=lambda: monday_ten)
    replies = await converse(
        call,
        [
            "Dr. Patel wanted the name of my medication, can you pass that along to her?",
            "It's lisinopril, ten milligrams.",
        ],
    )
    assert "What would you like me to pass on?" in replies[1]
    assert call.state.outcome == Outcome.message_taken
    with Session(engine) as session:
        message = session.exec(select(Action).where(Action.kind == "take_message")).one()
    assert "lisinopril" in message.payload["reason"]


async def test_a_question_with_a_goodbye_is_answered_and_the_call_ends(
    engine: Engine, demo_clinic: Clinic
) -> None:
    monday_ten = at_local(0, 10)
    call = TextCall(engine, demo_clinic.id, "+15550199009", now=lambda: monday_ten)
    [_, reply] = await converse(call, ["do you take aetna? if you do I'll call back to book, thanks"])
    assert "we accept Aetna" in reply and call.ended
    asked = TextCall(engine, demo_clinic.id, "+15550199009", now=lambda: monday_ten)
    [_, reply] = await converse(asked, ["do you take aetna?"])
    assert "we accept Aetna" in reply and "anything else" in reply and not asked.ended
