"""The system prompt per clinic and per call: a cached static prefix, then this call's facts."""

import re
import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from frontdesk.agent.acknowledgements import OPENERS
from frontdesk.agent.actions import PatientRecord, SlotOption
from frontdesk.agent.call_state import CallState
from frontdesk.agent.prompt import build_system_prompt, system_prompt_text
from frontdesk.agent.tools import TOOL_MODELS, TransferReason
from frontdesk.domain.appointment_details import AppointmentRecord
from tests.agent.sample_clinics import EXAM, PATEL, bright_smile, harbor

NEW_YORK = ZoneInfo("America/New_York")
MONDAY_10AM = datetime(2026, 11, 23, 10, 0, tzinfo=NEW_YORK)  # Bright Smile is open
MONTH_DAY = re.compile(
    r"\b(January|February|March|April|May|June|July|August|September|October|November|December)"
    r" \d{1,2}(st|nd|rd|th)?\b"
)


def caller() -> CallState:
    return CallState(caller_number="+15550199001")


def patient(**changes: object) -> PatientRecord:
    record = PatientRecord(
        id=uuid.uuid4(),
        first_name="Maria",
        last_name="Gonzalez",
        date_of_birth=date(1979, 6, 14),
        phone="+15550199001",
        insurance_carrier="Guardian",
        last_visit=datetime(2026, 5, 19, 14, 0, tzinfo=UTC),
    )
    return record.model_copy(update=changes)


def test_the_static_prefix_is_cached_and_the_call_block_is_not() -> None:
    blocks = build_system_prompt(bright_smile(), caller(), MONDAY_10AM)
    assert [b["type"] for b in blocks] == ["text", "text"]
    assert blocks[0]["cache_control"] == {"type": "ephemeral"}
    assert "cache_control" not in blocks[1]
    assert blocks[1]["text"].startswith("# This call")


def test_the_prefix_names_the_agent_and_describes_the_clinic() -> None:
    profile = bright_smile()
    static = build_system_prompt(profile, caller(), MONDAY_10AM)[0]["text"]
    assert static.startswith("You are Ava, the receptionist who answers the phone for Bright Smile Dental.")
    assert "Address: 12 Elm Street, Springfield" in static
    assert profile.hours_sentence() in static
    assert "Monday through Friday, 8 AM to 5 PM; Saturday through Sunday, closed." in static
    assert "- Dr. Priya Patel (dentist): Exam, Filling" in static
    assert "- Sam Lee (hygienist): Cleaning" in static
    for service in ["- Cleaning, 60 minutes", "- Exam, 30 minutes", "- Filling, 60 minutes"]:
        assert service in static
    assert "Insurance accepted: Delta Dental, Aetna, Cigna." in static


def test_the_prefix_sets_the_speaking_style_and_the_rules() -> None:
    static = build_system_prompt(bright_smile(), caller(), MONDAY_10AM)[0]["text"]
    assert "Ask one question at a time." in static
    assert '"Certainly!", "Absolutely!"' in static
    # The openers offered are the phrases the realtime layer has ready in the phrase cache.
    assert all(f'"{opener}"' in static for opener in OPENERS) and "sentence of its own" in static
    assert "at most three at a time" in static
    assert "Never guess or promise availability" in static
    assert "read back the day, date, time and provider" in static
    assert "Verify the caller with identify_patient before you discuss" in static
    assert "hang up and dial 911" in static
    assert "say a short goodbye, then call end_call" in static
    for tool in TOOL_MODELS:
        assert tool in static, f"the prompt never mentions the {tool} tool"
    for reason in TransferReason:
        assert f"reason {reason.value}" in static or f"{reason.value}," in static, reason
    # This clinic takes messages after hours instead of transferring.
    assert "When the clinic is closed no one can take the call: take a message" in static


def test_availability_is_never_in_the_prompt() -> None:
    profile = bright_smile()
    state = caller()
    tuesday_9am = datetime(2026, 11, 24, 9, 0, tzinfo=NEW_YORK).astimezone(UTC)
    # Even mid-call, with a slot already offered, the prompt does not carry it.
    handle = state.offer(
        SlotOption(
            provider_id=PATEL.id,
            service_id=EXAM.id,
            start=tuesday_9am,
            end=tuesday_9am + timedelta(minutes=30),
        )
    )
    blocks = build_system_prompt(profile, state, MONDAY_10AM)
    text = system_prompt_text(blocks)
    assert MONTH_DAY.search(blocks[0]["text"]) is None, "the static prefix holds no dates at all"
    assert [m.group(0) for m in MONTH_DAY.finditer(text)] == ["November 23rd"], "only today's date"
    assert handle not in text.split()
    assert "Tuesday" not in blocks[1]["text"]


def test_every_call_of_a_clinic_shares_the_prefix_and_has_its_own_call_block() -> None:
    profile = bright_smile()
    first = build_system_prompt(profile, caller(), MONDAY_10AM)
    later = build_system_prompt(
        profile,
        CallState(caller_number="+15550199002", known_caller=patient()),
        MONDAY_10AM + timedelta(days=2),
    )
    assert first[0] == later[0]
    assert first[1] != later[1]


def test_the_prompt_differs_per_clinic() -> None:
    bright = system_prompt_text(build_system_prompt(bright_smile(), caller(), MONDAY_10AM))
    profile = harbor()
    blocks = build_system_prompt(profile, caller(), MONDAY_10AM)
    static = blocks[0]["text"]
    assert static.startswith(
        "You are Leo, the receptionist who answers the phone for Harbor Family Dentistry."
    )
    assert "Ava" not in static and "Bright Smile" not in static
    assert profile.hours_sentence() in static
    assert "Friday, 9 AM to 1 PM" in static
    assert "- Dr. Omar Haddad (dentist): Teeth whitening" in static
    assert "- Teeth whitening, 90 minutes" in static
    assert "has not listed accepted insurance carriers: check with verify_insurance" in static
    assert "The clinic asks: Mention that parking behind the building is free" in static
    assert "whether or not the clinic is open" in static
    assert "whether or not the clinic is open" not in bright
    assert "broken tooth, severe pain, swelling): transfer_to_human with reason clinical at once" in static
    assert "broken tooth, severe pain, swelling): offer the soonest slots" in bright
    assert static != bright


@pytest.mark.parametrize(
    ("moment", "clock", "status"),
    [
        (
            MONDAY_10AM,
            "It is now Monday, November 23rd, 2026, at 10 AM clinic time.",
            "The clinic is open now.",
        ),
        # 02:30 UTC on Tuesday is still Monday evening in New York.
        (
            datetime(2026, 11, 24, 2, 30, tzinfo=UTC),
            "It is now Monday, November 23rd, 2026, at 9:30 PM clinic time.",
            "The clinic is closed now; it next opens tomorrow at 8 AM.",
        ),
        (
            datetime(2026, 11, 23, 6, 15, tzinfo=NEW_YORK),
            "It is now Monday, November 23rd, 2026, at 6:15 AM clinic time.",
            "The clinic is closed now; it next opens today at 8 AM.",
        ),
        (
            datetime(2026, 11, 27, 17, 0, tzinfo=NEW_YORK),
            "It is now Friday, November 27th, 2026, at 5 PM clinic time.",
            "The clinic is closed now; it next opens Monday, November 30th at 8 AM.",
        ),
    ],
)
def test_the_call_block_tells_clinic_local_time_and_whether_the_clinic_is_open(
    moment: datetime, clock: str, status: str
) -> None:
    call_block = build_system_prompt(bright_smile(), caller(), moment)[1]["text"]
    assert clock in call_block
    assert status in call_block
    assert "This is an inbound call" in call_block


def test_a_clinic_without_hours_is_closed_with_no_next_opening() -> None:
    profile = bright_smile().model_copy(
        update={"opening_hours": bright_smile().opening_hours.model_copy(update={"days": {}})}
    )
    call_block = build_system_prompt(profile, caller(), MONDAY_10AM)[1]["text"]
    assert "The clinic is closed now and has no opening hours set." in call_block


def test_an_outbound_call_carries_its_purpose() -> None:
    state = CallState(
        caller_number="+15550199001", direction="outbound", purpose="a reminder of tomorrow's cleaning"
    )
    call_block = build_system_prompt(bright_smile(), state, MONDAY_10AM)[1]["text"]
    assert (
        "This is an outbound call you placed for the clinic, about: a reminder of tomorrow's cleaning."
        in call_block
    )
    assert "inbound" not in call_block


def test_an_outbound_call_to_a_patient_guards_their_privacy_and_names_its_appointment() -> None:
    state = CallState(
        caller_number="+15550199001",
        direction="outbound",
        purpose="a reminder of your exam on Tuesday",
        appointment_id=uuid.uuid4(),
        campaign_kind="reminder",
        known_caller=patient(),
    )
    state.remember_appointment(
        AppointmentRecord(
            id=state.appointment_id,
            patient_id=state.known_caller.id,
            provider_id=PATEL.id,
            service_id=EXAM.id,
            start=datetime(2026, 11, 24, 15, 0, tzinfo=UTC),
            end=datetime(2026, 11, 24, 15, 30, tzinfo=UTC),
            status="booked",
        )
    )
    call_block = build_system_prompt(bright_smile(), state, MONDAY_10AM)[1]["text"]
    assert "You called Maria Gonzalez, the patient on file for this number." in call_block
    assert "Until the person on the line says they are Maria, say nothing about why you called" in call_block
    assert "call confirm_appointment with appointment_id A1" in call_block
    assert "This appointment needs no identify_patient" in call_block
    assert "inbound" not in call_block and "Guardian" not in call_block


def test_the_rules_cover_opting_out() -> None:
    static = build_system_prompt(bright_smile(), caller(), MONDAY_10AM)[0]["text"]
    assert "asks not to be called or texted any more, call opt_out at once" in static


def test_a_known_caller_is_named_but_unverified_and_their_record_is_withheld() -> None:
    state = CallState(caller_number="+15550199001", known_caller=patient())
    text = system_prompt_text(build_system_prompt(bright_smile(), state, MONDAY_10AM))
    assert "a patient on file, Maria Gonzalez" in text
    assert "This is not verified" in text
    assert "verify with identify_patient before discussing or changing any appointment" in text
    assert "Guardian" not in text
    assert "May" not in text and "1979" not in text
    assert "+15550199001" not in text


def test_a_verified_patient_and_an_unknown_number() -> None:
    verified = CallState(caller_number="+15550199001", patient=patient())
    assert "The caller is verified as the patient Maria Gonzalez." in system_prompt_text(
        build_system_prompt(bright_smile(), verified, MONDAY_10AM)
    )
    unknown = system_prompt_text(build_system_prompt(bright_smile(), caller(), MONDAY_10AM))
    assert "The calling number does not match a patient on file." in unknown


def test_bad_inputs_get_clear_errors() -> None:
    with pytest.raises(ValueError, match="aware datetime"):
        build_system_prompt(bright_smile(), caller(), datetime(2026, 11, 23, 10, 0))
    with pytest.raises(ValueError, match="no agent name"):
        build_system_prompt(bright_smile().model_copy(update={"agent_name": " "}), caller(), MONDAY_10AM)
    with pytest.raises(ValueError, match="system block 1"):
        system_prompt_text([{"type": "text", "text": "ok"}, {"type": "image", "source": {}}])


def test_system_prompt_text_joins_the_blocks() -> None:
    blocks = build_system_prompt(bright_smile(), caller(), MONDAY_10AM)
    text = system_prompt_text(blocks)
    assert text == blocks[0]["text"] + "\n\n" + blocks[1]["text"]
