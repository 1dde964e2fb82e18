"""PostCallWorkflow end to end: a real worker on the Temporal dev server, the test databases,
and vendor fakes on 127.0.0.1 (Twilio, HubSpot, Anthropic, a practice bridge) plus a real SMTP
server. Each test books a call through the domain layer, runs the workflow, and reruns it under
the same workflow id to show that nothing is sent or written twice.
"""

from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from uuid import UUID, uuid4

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import Worker

from frontdesk.activities.messaging import MessagingActivities, PatientMessageInput
from frontdesk.config import get_settings
from frontdesk.domain import booking
from frontdesk.domain.calls import TurnRecord, ensure_call, finish_call
from frontdesk.domain.crypto import set_integration_credentials
from frontdesk.domain.database import session_scope
from frontdesk.domain.models import (
    Action,
    Appointment,
    AppointmentStatus,
    Call,
    CallDirection,
    Integration,
    IntegrationKind,
    Message,
    MessageChannel,
    MessageStatus,
    OptOutSource,
    Patient,
    TurnRole,
)
from frontdesk.domain.opt_outs import OptOutChannel, block
from frontdesk.domain.repository import ClinicRepository
from frontdesk.domain.web_callers import web_caller_number
from frontdesk.telephony.choice import worker_carriers
from frontdesk.workflows.inputs import PostCallInput
from frontdesk.workflows.post_call import (
    WRITE_BACK_COMMITTED,
    WRITE_BACK_STAFF_TASK,
    PostCallResult,
    PostCallWorkflow,
    post_call_activities,
)
from tests.activities.vendor_fakes import HUBSPOT_TOKEN, FakeHubSpot, FakePractice, local_smtp
from tests.agent.fake_anthropic import FakeAnthropic, Reply, Text, fake_anthropic, fake_anthropic_server
from tests.domain.factories import NEW_YORK, SmallClinic, local, make_small_clinic
from tests.realtime.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from tests.realtime.served import serve
from tests.temporal_fixtures import temporal_env

__all__ = ["fake_anthropic", "fake_anthropic_server", "temporal_env"]

CLINIC_NUMBER = "+15550140000"
PATIENT_NUMBER = "+15550111000"  # the small clinic's patient
PATIENT_EMAIL = "pat.doe@example.com"
CALLER_WORDS = "Hi, I'd like to book a cleaning with Doctor Lopez please."
VENDOR_ENV = (
    "FRONTDESK_TWILIO_ACCOUNT_SID",
    "FRONTDESK_TWILIO_AUTH_TOKEN",
    "FRONTDESK_TWILIO_BASE_URL",
    "FRONTDESK_TWILIO_MESSAGING_FROM",
    "FRONTDESK_SMTP_HOST",
    "FRONTDESK_SMTP_PORT",
    "FRONTDESK_ANTHROPIC_API_KEY",
    "FRONTDESK_ANTHROPIC_BASE_URL",
)


@dataclass(frozen=True)
class BookedCall:
    """A finished call that booked one appointment."""

    clinic: SmallClinic
    call_id: UUID
    call_sid: str
    appointment_id: UUID

    @property
    def post_call_input(self) -> PostCallInput:
        return PostCallInput(self.clinic.clinic_id, self.call_id, self.call_sid)


@pytest.fixture
def settings_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Settings on the test database with every vendor off; tests switch vendors on through
    the returned monkeypatch and `get_settings.cache_clear()`."""
    monkeypatch.setenv("FRONTDESK_DATABASE_URL", database_url)
    for name in VENDOR_ENV:
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def _configure(monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(f"FRONTDESK_{name.upper()}", value)
    get_settings.cache_clear()


def _in_two_days_at(hour: int) -> datetime:
    day = datetime.now(NEW_YORK).date() + timedelta(days=2)
    return local(day.year, day.month, day.day, hour)


def book_a_call(
    engine: Engine, *, email: str | None = PATIENT_EMAIL, sms_opt_out: bool = False
) -> BookedCall:
    """A small clinic, and a finished inbound call of its patient that booked a cleaning."""
    clinic = make_small_clinic(engine, "east", CLINIC_NUMBER)
    with session_scope(engine) as session:
        patient = session.get(Patient, clinic.patient_id)
        assert patient is not None
        patient.email = email
        if sms_opt_out:  # the patient's number is on the clinic's do-not-contact list for texts
            repo = ClinicRepository(session, clinic.clinic_id)
            block(repo, patient.phone, OptOutChannel.sms, OptOutSource.api)
    call_sid = "CA" + uuid4().hex
    call_id = ensure_call(
        engine,
        clinic.clinic_id,
        call_sid=call_sid,
        direction=CallDirection.inbound,
        from_number=PATIENT_NUMBER,
        to_number=CLINIC_NUMBER,
    )
    appointment = booking.book_appointment(
        engine,
        clinic.clinic_id,
        patient_id=clinic.patient_id,
        provider_id=clinic.provider_id,
        service_id=clinic.cleaning_id,
        start_at=_in_two_days_at(10),
        call_id=call_id,
        idempotency_key=f"{call_sid}:book",
    )
    turns = [
        TurnRecord(TurnRole.agent, "Clinic east, this is Ava. How can I help?"),
        TurnRecord(TurnRole.caller, CALLER_WORDS),
        TurnRecord(TurnRole.agent, "You're booked for a cleaning with Dr. Lopez."),
    ]
    finish_call(
        engine, clinic.clinic_id, call_id, turns=turns, outcome="booked", patient_id=clinic.patient_id
    )
    return BookedCall(clinic, call_id, call_sid, appointment.id)


def add_integration(
    engine: Engine,
    clinic_id: UUID,
    kind: IntegrationKind,
    provider: str,
    settings: dict[str, str],
    secret: str,
) -> None:
    """Connect the clinic to an outside system, its credentials encrypted as the API stores them."""
    with session_scope(engine) as session:
        integration = Integration(clinic_id=clinic_id, kind=kind, provider=provider, settings=settings)
        key = "access_token" if provider == "hubspot" else "token"
        set_integration_credentials(integration, {key: secret}, get_settings().secret_key)
        session.add(integration)


@asynccontextmanager
async def post_call_worker(env: WorkflowEnvironment) -> AsyncIterator[str]:
    """A worker for PostCallWorkflow and its activities on a task queue of its own."""
    task_queue = f"post-call-{uuid4().hex}"
    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="activity") as executor:
        async with Worker(
            env.client,
            task_queue=task_queue,
            workflows=[PostCallWorkflow],
            activities=post_call_activities(MessagingActivities(worker_carriers(get_settings())[1])),
            activity_executor=executor,
        ):
            yield task_queue


async def run_twice(env: WorkflowEnvironment, call: BookedCall) -> tuple[PostCallResult, PostCallResult]:
    """Run the workflow, then again under the same id once the first run has completed."""
    workflow_id = f"post-call-{call.call_sid}"
    async with post_call_worker(env) as task_queue:
        results = [
            await env.client.execute_workflow(
                PostCallWorkflow.run, call.post_call_input, id=workflow_id, task_queue=task_queue
            )
            for _ in range(2)
        ]
    return results[0], results[1]


def assert_rerun_repeats(first: PostCallResult, second: PostCallResult) -> None:
    """The rerun found everything done: the same record ids and counts, the summary as stored."""
    assert second.summary_source == "stored"
    assert replace(second, summary_source=first.summary_source) == first


def rows(engine: Engine, call: BookedCall) -> tuple[Call, list[Action], list[Message], Appointment]:
    """The call, its actions and messages, and the booked appointment, as stored."""
    with session_scope(engine) as session:
        stored_call = session.get(Call, call.call_id)
        actions = list(session.exec(select(Action).where(Action.call_id == call.call_id)))
        messages = list(session.exec(select(Message).where(Message.call_id == call.call_id)))
        appointment = session.get(Appointment, call.appointment_id)
    assert stored_call is not None and appointment is not None
    return stored_call, actions, messages, appointment


def kinds(actions: list[Action]) -> list[str]:
    return sorted(action.kind for action in actions)


async def test_offline_booked_call_records_everything_once(
    temporal_env: WorkflowEnvironment, engine: Engine, settings_env: pytest.MonkeyPatch
) -> None:
    call = book_a_call(engine)

    first, second = await run_twice(temporal_env, call)

    assert_rerun_repeats(first, second)
    assert (first.crm_provider, first.crm_error, first.summary_source) == ("database", None, "structured")
    assert first.messages_sent == 2
    [write_back] = first.write_backs
    assert write_back.status == WRITE_BACK_COMMITTED and write_back.detail == str(call.appointment_id)
    stored_call, actions, messages, appointment = rows(engine, call)
    assert kinds(actions) == ["book_appointment", "crm_record", "crm_sync", "practice_writeback"]
    [record] = [action for action in actions if action.kind == "crm_record"]
    assert str(record.id) == first.crm_record_id
    assert record.payload["intent"] == "book an appointment" and record.payload["outcome"] == "booked"
    assert record.payload["caller_number"] == PATIENT_NUMBER
    assert stored_call.summary is not None and first.summary_length == len(stored_call.summary)
    assert stored_call.summary.startswith("Intent: book an appointment\nOutcome: booked\nBooking: Cleaning")
    assert sorted((m.channel, m.to, m.status, m.provider_message_id) for m in messages) == [
        (MessageChannel.email, PATIENT_EMAIL, MessageStatus.sent, None),
        (MessageChannel.sms, PATIENT_NUMBER, MessageStatus.sent, None),
    ]
    assert all("Cleaning with Dr. Lopez is booked for" in m.body for m in messages)
    assert appointment.status is AppointmentStatus.booked


async def test_booked_call_reaches_each_vendor_exactly_once(
    temporal_env: WorkflowEnvironment,
    engine: Engine,
    settings_env: pytest.MonkeyPatch,
    fake_anthropic: FakeAnthropic,
) -> None:
    call = book_a_call(engine)
    claude_text = "Intent: book a cleaning\nOutcome: booked\nBooking: cleaning, Dr. Lopez\nFollow-ups: none"
    fake_anthropic.script(Reply(Text(claude_text[:20], claude_text[20:])))
    twilio, hubspot = FakeTwilio(), FakeHubSpot(contacts={PATIENT_NUMBER: "501"})
    with local_smtp() as (smtp_port, inbox):
        async with serve(twilio.app) as twilio_url, serve(hubspot.app) as hubspot_url:
            _configure(
                settings_env,
                twilio_account_sid=ACCOUNT_SID,
                twilio_auth_token=AUTH_TOKEN,
                twilio_base_url=twilio_url,
                smtp_host="127.0.0.1",
                smtp_port=str(smtp_port),
                anthropic_api_key="test-key",
                anthropic_base_url=fake_anthropic.url,
            )
            add_integration(
                engine,
                call.clinic.clinic_id,
                IntegrationKind.crm,
                "hubspot",
                {"base_url": hubspot_url},
                HUBSPOT_TOKEN,
            )

            first, second = await run_twice(temporal_env, call)

    assert_rerun_repeats(first, second)
    assert (first.summary_source, first.crm_provider, first.messages_sent) == ("claude", "hubspot", 2)
    [sms] = twilio.messages
    assert (sms["To"], sms["From"]) == (PATIENT_NUMBER, CLINIC_NUMBER)
    assert "Cleaning with Dr. Lopez is booked for" in sms["Body"] and "Reply STOP" in sms["Body"]
    [(envelope, email)] = inbox
    assert envelope.rcpt_tos == [PATIENT_EMAIL]
    assert email["Subject"] == "Your appointment is booked"
    assert "Cleaning with Dr. Lopez is booked for" in email.get_payload()
    [(note_id, note)] = hubspot.notes.items()
    assert note_id == first.crm_record_id
    assert "Intent: book an appointment" in note["properties"]["hs_note_body"]
    assert note["associations"][0]["to"] == {"id": "501"}
    [request] = fake_anthropic.requests  # the rerun kept the stored summary
    assert CALLER_WORDS in request.body["messages"][0]["content"]
    stored_call, _actions, messages, _appointment = rows(engine, call)
    assert stored_call.summary == claude_text
    assert sorted((m.channel, m.provider_message_id) for m in messages) == [
        (MessageChannel.email, email["Message-ID"]),
        (MessageChannel.sms, f"SM{1:032x}"),
    ]


async def test_an_sms_twilio_failed_is_retried_and_sent_once(
    temporal_env: WorkflowEnvironment, engine: Engine, settings_env: pytest.MonkeyPatch
) -> None:
    call = book_a_call(engine, email=None)
    twilio = FakeTwilio(fail_messages=1)
    async with serve(twilio.app) as twilio_url:
        _configure(
            settings_env,
            twilio_account_sid=ACCOUNT_SID,
            twilio_auth_token=AUTH_TOKEN,
            twilio_base_url=twilio_url,
        )
        first, second = await run_twice(temporal_env, call)

    assert first.messages_sent == second.messages_sent == 1
    assert len(twilio.messages) == 1 and twilio.fail_messages == 0
    _call, _actions, [message], _appointment = rows(engine, call)
    assert (message.channel, message.status, message.error) == (MessageChannel.sms, MessageStatus.sent, None)


async def test_sms_opt_out_gets_email_only(
    temporal_env: WorkflowEnvironment, engine: Engine, settings_env: pytest.MonkeyPatch
) -> None:
    call = book_a_call(engine, sms_opt_out=True)

    first, _second = await run_twice(temporal_env, call)

    assert first.messages_sent == 1
    _call, _actions, [message], _appointment = rows(engine, call)
    assert message.channel is MessageChannel.email


async def test_a_patient_registered_on_a_web_call_gets_no_sms(
    temporal_env: WorkflowEnvironment, engine: Engine, settings_env: pytest.MonkeyPatch
) -> None:
    call = book_a_call(engine)
    with session_scope(engine) as session:  # as the dashboard's web call registers a new patient
        patient = session.get(Patient, call.clinic.patient_id)
        assert patient is not None
        patient.phone = web_caller_number("WEB" + uuid4().hex)

    first, _second = await run_twice(temporal_env, call)

    assert first.messages_sent == 1
    _call, _actions, [message], _appointment = rows(engine, call)
    assert message.channel is MessageChannel.email  # no text to a number no phone has


async def test_a_rejecting_practice_system_yields_a_staff_task_and_a_patient_message(
    temporal_env: WorkflowEnvironment, engine: Engine, settings_env: pytest.MonkeyPatch
) -> None:
    call = book_a_call(engine)
    practice = FakePractice(status=422)
    async with serve(practice.app) as practice_url:
        add_integration(
            engine,
            call.clinic.clinic_id,
            IntegrationKind.practice_management,
            "webhook",
            {"url": f"{practice_url}/appointments"},
            "practice-token",
        )
        first, second = await run_twice(temporal_env, call)

    assert_rerun_repeats(first, second)
    [write_back] = first.write_backs
    assert write_back.status == WRITE_BACK_STAFF_TASK and "HTTP 422" in write_back.detail
    # A rejection is final within a run (no retries); the rerun asks again, with the same key.
    [(first_key, body), (second_key, _)] = practice.received
    assert body["appointment_id"] == str(call.appointment_id)
    assert first_key == second_key and first_key.startswith(f"post-call-{call.call_sid}/write-back/")
    _call, actions, messages, appointment = rows(engine, call)
    assert kinds(actions) == ["book_appointment", "crm_record", "crm_sync", "staff_task"]
    [task] = [action for action in actions if action.kind == "staff_task"]
    assert task.payload["appointment_id"] == str(call.appointment_id) and "HTTP 422" in task.payload["reason"]
    unconfirmed = [m for m in messages if "will call you to confirm" in m.body]
    assert sorted(m.channel for m in unconfirmed) == [MessageChannel.email, MessageChannel.sms]
    assert first.messages_sent == len(messages) == 4
    assert appointment.status is AppointmentStatus.booked


async def test_a_crm_refusal_is_reported_and_the_patient_still_gets_confirmations(
    temporal_env: WorkflowEnvironment, engine: Engine, settings_env: pytest.MonkeyPatch
) -> None:
    call = book_a_call(engine)
    hubspot = FakeHubSpot()
    async with serve(hubspot.app) as hubspot_url:
        add_integration(
            engine,
            call.clinic.clinic_id,
            IntegrationKind.crm,
            "hubspot",
            {"base_url": hubspot_url},
            "revoked",
        )
        first, _second = await run_twice(temporal_env, call)

    assert (first.crm_provider, first.crm_record_id) == (None, None)
    assert first.crm_error is not None and "HTTP 401" in first.crm_error
    assert hubspot.notes == {}
    assert first.messages_sent == 2


async def test_a_message_an_attempt_died_sending_is_not_sent_again(
    engine: Engine, settings_env: pytest.MonkeyPatch
) -> None:
    call = book_a_call(engine, email=None)
    environment = ActivityEnvironment()
    environment.info = replace(environment.info, workflow_id="post-call-crashed", activity_id="confirm-sms/a")
    # What a worker killed between "queued" and Twilio's answer leaves behind.
    with session_scope(engine) as session:
        session.add(
            Message(
                clinic_id=call.clinic.clinic_id,
                channel=MessageChannel.sms,
                to=PATIENT_NUMBER,
                body="Clinic east: your Cleaning with Dr. Lopez is booked.",
                idempotency_key="post-call-crashed/confirm-sms/a",
                appointment_id=call.appointment_id,
                call_id=call.call_id,
            )
        )
    request = PatientMessageInput(call.clinic.clinic_id, call.call_id, call.appointment_id, "sms", "booked")
    twilio = FakeTwilio()
    async with serve(twilio.app) as twilio_url:
        _configure(
            settings_env,
            twilio_account_sid=ACCOUNT_SID,
            twilio_auth_token=AUTH_TOKEN,
            twilio_base_url=twilio_url,
        )
        with pytest.raises(ApplicationError, match="may already have reached the patient") as raised:
            texts = worker_carriers(get_settings())[1]
            await environment.run(MessagingActivities(texts).send_patient_message, request)

    assert raised.value.non_retryable and raised.value.type == "MessageOutcomeUnknown"
    assert twilio.messages == []
