"""Asynchronous answering-machine detection on campaign calls, end to end: the dialler creates the
call through the real `twilio` SDK at the fake Twilio with AsyncAmd, the fake carrier posts signed
voice, AMD and status webhooks to the real API app, which redirects a machine's call through the
REST API to the voicemail; the campaign runs on the time-skipping Temporal server (the `stack` of
tests.workflows.test_campaigns).

The voice webhook starts each call's CallWorkflow on the API's task queue, which no worker of the
stack polls (no media stream connects here), and the test server skips no time while a workflow
waits for a worker: so the tests end those workflows once their carrier is done, before awaiting
the campaign's result, which may skip time (and then so can the next test's stack).
"""

import asyncio
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

import httpx
import pytest
from sqlmodel import select
from structlog.testing import capture_logs
from temporalio.client import WorkflowExecutionStatus

from frontdesk.api.app import create_app
from frontdesk.config import Settings
from frontdesk.domain.appointment_details import AppointmentDetails, describe_appointment
from frontdesk.domain.campaign_settings import CampaignAudience, CampaignKind, CampaignPlan, TargetStatus
from frontdesk.domain.campaigns import DEFAULT_MESSAGES, VOICEMAIL_MAX_WORDS, voicemail_message
from frontdesk.domain.database import session_scope
from frontdesk.domain.models import Appointment, Call, Campaign, Clinic, Patient
from frontdesk.domain.repository import ClinicRepository
from frontdesk.telephony.twilio.protocol import AMD_PATH, TARGET_QUERY
from frontdesk.telephony.twilio.signatures import SIGNATURE_HEADER, sign
from tests.realtime.call_worker import UNREACHABLE_TEMPORAL
from tests.realtime.fake_twilio import ACCOUNT_SID, CreatedCall
from tests.temporal_fixtures import skipping_env
from tests.workflows.test_campaigns import CLINIC_NUMBER, EVERY_DAY, CampaignStack, stack, status_form

__all__ = ["skipping_env", "stack"]

PUBLIC = "https://frontdesk.example.com"
# A voicemail must be said in under a minute: at 150 words a minute, a normal speaking pace (and
# about that of Twilio's text-to-speech), 130 words take 52 s, leaving room for pauses.
MAX_SPOKEN_WORDS = 130
CARRIER_SECONDS = 60  # a hang guard: the carrier's webhooks take well under a second each


def verdict_form(call_sid: str, answered_by: str) -> dict[str, str]:
    """Answering-machine detection's callback as Twilio posts it: the call and the verdict, no numbers."""
    return {
        "CallSid": call_sid,
        "AccountSid": ACCOUNT_SID,
        "AnsweredBy": answered_by,
        "MachineDetectionDuration": "4210",
    }


def reminder_of_a_cleaning(stack: CampaignStack, patient_id: UUID) -> tuple[UUID, AppointmentDetails]:
    """A reminder campaign of the patient's cleaning in three days, three attempts at most; the
    appointment in words, as the agent says it."""
    start = (datetime.now(UTC) + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    with session_scope(stack.engine) as session:
        repo = ClinicRepository(session, stack.clinic_id)
        cleaning = repo.service_by_slug("cleaning")
        [dentist] = [p for p in repo.providers() if p.short_name == "Dr. Lopez"]
        assert cleaning is not None
        appointment = repo.add(
            Appointment(
                clinic_id=stack.clinic_id,
                patient_id=patient_id,
                provider_id=dentist.id,
                service_id=cleaning.id,
                start_at=start,
                end_at=start + timedelta(hours=1),
            )
        )
        campaign = repo.add(
            Campaign(
                clinic_id=stack.clinic_id,
                name="reminder test",
                kind=CampaignKind.reminder,
                plan=CampaignPlan(calling_hours=EVERY_DAY, attempts_per_target=3),
                audience=CampaignAudience(
                    appointments_from=start - timedelta(hours=1), appointments_to=start + timedelta(hours=1)
                ),
            )
        )
        session.flush()
        return campaign.id, describe_appointment(repo, appointment)


async def run_campaign(
    stack: CampaignStack, campaign_id: UUID, carrier: Callable[[CreatedCall], Awaitable[None]]
) -> dict[str, Any]:
    """The campaign's progress once `carrier` has carried its only call and the campaign is over."""
    carried = asyncio.Event()

    async def carry(call: CreatedCall) -> None:
        try:
            await carrier(call)
        finally:
            carried.set()

    stack.twilio.carrier = carry
    handle = await stack.start(campaign_id)
    await asyncio.wait_for(carried.wait(), CARRIER_SECONDS)
    for call in stack.twilio.created_calls:
        # Each test's fake Twilio numbers its calls from 1: an earlier test's ended workflow may
        # have this id, and then the webhook started none.
        handle_of_call = stack.env.client.get_workflow_handle(call.sid)
        if (await handle_of_call.describe()).status is WorkflowExecutionStatus.RUNNING:
            await handle_of_call.terminate("no media stream in this test")
    return await handle.result()


def call_row(stack: CampaignStack, call_sid: str) -> Call:
    """The Call row of this sid."""
    with session_scope(stack.engine) as session:
        return session.exec(select(Call).where(Call.call_sid == call_sid)).one()


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
@pytest.mark.slow
async def test_a_machine_hears_the_agent_at_once_then_gets_the_voicemail(stack: CampaignStack) -> None:
    [patient] = stack.patients(1)
    campaign_id, appointment = reminder_of_a_cleaning(stack, patient)
    answers: dict[str, httpx.Response] = {}

    async def machine(call: CreatedCall) -> None:
        answers["voice"] = await stack.post_signed(call.form["Url"], status_form(call, "in-progress"))
        verdict = verdict_form(call.sid, "machine_end_beep")
        answers["amd"] = await stack.post_signed(call.form["AsyncAmdStatusCallback"], verdict)
        await stack.post_signed(call.form["StatusCallback"], status_form(call, "completed"))

    progress = await run_campaign(stack, campaign_id, machine)

    [call] = stack.twilio.created_calls  # not called again
    [target] = stack.targets(campaign_id)
    amd_url = f"{stack.settings.public_base_url}{AMD_PATH}?{urlencode({TARGET_QUERY: str(target.id)})}"
    assert (call.form["MachineDetection"], call.form["AsyncAmd"]) == ("DetectMessageEnd", "true")
    assert (call.form["AsyncAmdStatusCallback"], call.form["AsyncAmdStatusCallbackMethod"]) == (
        amd_url,
        "POST",
    )
    # Whoever answers is connected to the agent at once, and the agent knows the appointment.
    voice = answers["voice"]
    assert voice.status_code == 200 and "<Stream" in voice.text and "<Say" not in voice.text
    assert 'name="purpose" value="a reminder of your cleaning' in voice.text
    assert answers["amd"].status_code == 204
    [update] = stack.twilio.updates
    twiml = ET.fromstring(update.form["Twiml"])
    assert update.call_sid == call.sid and [verb.tag for verb in twiml] == ["Say", "Hangup"]
    said = twiml[0].text or ""
    with session_scope(stack.engine) as session:
        clinic_name = ClinicRepository(session, stack.clinic_id).clinic().name
    assert clinic_name in said and "Pat0" in said and CLINIC_NUMBER in said
    # Anyone may hear a voicemail: it names no service, provider, day, date or time.
    weekday, month, day = appointment.when.replace(",", "").split()[:3]
    time_of_day = appointment.when.split(" at ")[1]
    private = [appointment.service, appointment.provider, weekday, f"{month} {day}", time_of_day]
    assert not [words for words in private if words.lower() in said.lower()]
    assert (progress["voicemail"], target.status, target.attempts) == (1, TargetStatus.voicemail, 1)
    row = call_row(stack, call.sid)
    assert (row.outcome, row.patient_id) == ("voicemail", patient)


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
@pytest.mark.slow
async def test_a_person_is_left_talking_with_the_agent(stack: CampaignStack) -> None:
    campaign_id = stack.campaign(
        stack.patients(1), CampaignPlan(calling_hours=EVERY_DAY, attempts_per_target=3)
    )
    answers: dict[str, httpx.Response] = {}

    async def person(call: CreatedCall) -> None:
        answers["voice"] = await stack.post_signed(call.form["Url"], status_form(call, "in-progress"))
        verdict = verdict_form(call.sid, "human")
        answers["amd"] = await stack.post_signed(call.form["AsyncAmdStatusCallback"], verdict)
        await stack.post_signed(call.form["StatusCallback"], status_form(call, "completed"))

    progress = await run_campaign(stack, campaign_id, person)

    [call] = stack.twilio.created_calls
    assert "<Stream" in answers["voice"].text and answers["amd"].status_code == 204
    assert stack.twilio.updates == []  # the call goes on as it was
    [target] = stack.targets(campaign_id)
    assert (progress["reached"], target.status) == (1, TargetStatus.reached)
    assert call_row(stack, call.sid).outcome != "voicemail"


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
@pytest.mark.slow
async def test_a_fax_is_hung_up_on_and_not_called_again(stack: CampaignStack) -> None:
    campaign_id = stack.campaign(
        stack.patients(1), CampaignPlan(calling_hours=EVERY_DAY, attempts_per_target=3)
    )
    answers: dict[str, httpx.Response] = {}

    async def fax(call: CreatedCall) -> None:
        await stack.post_signed(call.form["Url"], status_form(call, "in-progress"))
        verdict = verdict_form(call.sid, "fax")
        answers["amd"] = await stack.post_signed(call.form["AsyncAmdStatusCallback"], verdict)
        await stack.post_signed(call.form["StatusCallback"], status_form(call, "completed"))

    progress = await run_campaign(stack, campaign_id, fax)

    [call] = stack.twilio.created_calls
    [update] = stack.twilio.updates
    assert answers["amd"].status_code == 204 and (update.call_sid, update.form) == (
        call.sid,
        {"Status": "completed"},
    )
    assert progress["voicemail"] == 1 and call_row(stack, call.sid).outcome == "voicemail"


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
@pytest.mark.slow
async def test_a_redirect_twilio_refuses_is_a_502_and_logged_without_patient_data(
    stack: CampaignStack,
) -> None:
    campaign_id = stack.campaign(
        stack.patients(1), CampaignPlan(calling_hours=EVERY_DAY, attempts_per_target=3)
    )
    answers: dict[str, httpx.Response] = {}

    async def machine_gone(call: CreatedCall) -> None:
        await stack.post_signed(call.form["Url"], status_form(call, "in-progress"))
        stack.twilio.live_calls.discard(call.sid)  # Twilio answers the update 404: not a live call
        verdict = verdict_form(call.sid, "machine_end_silence")
        answers["amd"] = await stack.post_signed(call.form["AsyncAmdStatusCallback"], verdict)
        await stack.post_signed(call.form["StatusCallback"], status_form(call, "completed"))

    with capture_logs() as logs:
        progress = await run_campaign(stack, campaign_id, machine_gone)

    [call] = stack.twilio.created_calls
    [update] = stack.twilio.updates  # asked once, and told so
    assert update.call_sid == call.sid and "<Say>" in update.form["Twiml"]
    assert answers["amd"].status_code == 502 and "20404" in answers["amd"].text
    [failure] = [line for line in logs if line["event"] == "twilio.rest_failed"]
    assert (failure["call_sid"], failure["action"], failure["log_level"]) == (call.sid, "voicemail", "error")
    ours = [line for line in logs if line["event"] in {"twilio.rest_failed", "twilio.answered_by"}]
    assert len(ours) == 2 and not [line for line in ours if "+1555" in str(line) or "Pat0" in str(line)]
    # The machine answered all the same: the target is not reached, nor called again.
    assert progress["voicemail"] == 1 and call_row(stack, call.sid).outcome == "voicemail"


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
@pytest.mark.slow
async def test_a_forged_or_malformed_verdict_is_refused(stack: CampaignStack) -> None:
    url = f"{stack.settings.public_base_url}{AMD_PATH}?{TARGET_QUERY}=00000000-0000-4000-8000-000000000001"
    good = verdict_form("CA" + "1f" * 16, "machine_end_beep")
    async with httpx.AsyncClient(timeout=30) as http:
        forged = await http.post(url, data=good, headers={SIGNATURE_HEADER: "bm90IFR3aWxpbw=="})
    untargeted = await stack.post_signed(url.split("?")[0], good)
    for field, value in [("AnsweredBy", "robot"), ("CallSid", "not-a-sid"), ("AnsweredBy", "")]:
        malformed = await stack.post_signed(url, good | {field: value})
        assert malformed.status_code == 400 and field in malformed.text, malformed.text

    assert forged.status_code == 403
    assert untargeted.status_code == 400 and TARGET_QUERY in untargeted.text
    assert stack.twilio.updates == []


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_without_twilio_credentials_a_verdict_is_a_501_and_logged(database_url: str) -> None:
    offline = Settings(
        database_url=database_url,
        public_base_url=PUBLIC,
        temporal_address=UNREACHABLE_TEMPORAL,
        twilio_account_sid=None,
        twilio_auth_token=None,
    )
    url = f"{PUBLIC}{AMD_PATH}?{TARGET_QUERY}=00000000-0000-4000-8000-000000000001"
    form = verdict_form("CA" + "2e" * 16, "machine_end_beep")
    transport = httpx.ASGITransport(app=create_app(offline))
    with capture_logs() as logs:
        async with httpx.AsyncClient(transport=transport, base_url="http://10.0.0.7:8000") as http:
            response = await http.post(url, data=form, headers={SIGNATURE_HEADER: sign(offline, url, form)})

    assert response.status_code == 501 and "Twilio credentials" in response.text
    assert [line["call_sid"] for line in logs if line["event"] == "twilio.amd_without_credentials"] == [
        form["CallSid"]
    ]


@pytest.mark.parametrize("kind", list(CampaignKind))
def test_a_voicemail_is_said_in_well_under_a_minute(kind: CampaignKind) -> None:
    clinic = Clinic(name="Maple Dental and Orthodontics of Springfield", agent_name="Ava")
    patient = Patient(first_name="Maximiliana", last_name="Lopez", phone="+15550142222")
    # As long as the admin API lets a campaign's message be (1000 characters): 140 words or so.
    rambling = " ".join(["Please remember to bring your insurance card and photo identification."] * 14)
    short = "Time for your check-up!"

    defaults = voicemail_message(clinic, patient, Campaign(kind=kind, message=""), CLINIC_NUMBER)
    own = voicemail_message(clinic, patient, Campaign(kind=kind, message=short), CLINIC_NUMBER)
    too_long = voicemail_message(clinic, patient, Campaign(kind=kind, message=rambling[:1000]), CLINIC_NUMBER)

    assert short in own and DEFAULT_MESSAGES[kind] in defaults
    assert too_long == defaults  # the campaign's own words would run past a minute: the SMS has them
    for voicemail in (defaults, own, too_long):
        assert "Maple Dental" in voicemail and "Maximiliana" in voicemail and CLINIC_NUMBER in voicemail
        assert len(voicemail.split()) <= VOICEMAIL_MAX_WORDS
        # Said aloud, the number is its eleven digits, a word each.
        assert len(voicemail.split()) - 1 + len(CLINIC_NUMBER.lstrip("+")) <= MAX_SPOKEN_WORDS
