"""Calls through the Update path, end to end on the dev server with the whole worker.

A booked call: the live call's actions book (and the Update is retried), hang up, and the
PostCallWorkflow child reaches each vendor exactly once: one appointment, one SMS at the fake
Twilio, one email at the local SMTP server, one note at the fake HubSpot. A confirmation the
caller asks for (twice) of an appointment made before the call: a send_confirmation Update in the
call's history, and one SMS.
"""

from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from frontdesk.agent.actions import SlotQuery
from frontdesk.agent.call_actions import CallActions
from frontdesk.agent.database_actions import database_call_actions, load_clinic_profile
from frontdesk.agent.tools import ConfirmationChannel, PatientDetails
from frontdesk.config import get_settings
from frontdesk.domain.calls import TurnRecord, ensure_call
from frontdesk.domain.database import session_scope
from frontdesk.domain.models import Appointment, CallDirection, IntegrationKind, Patient, TurnRole
from frontdesk.realtime.call_actions import workflow_call_actions
from frontdesk.realtime.workflow_changes import slot_handle
from frontdesk.worker import build_worker
from frontdesk.workflows.call import CallWorkflow, post_call_workflow_id
from frontdesk.workflows.inputs import BookRequest, CallInput, CallResult
from frontdesk.workflows.post_call import PostCallResult
from tests.activities.vendor_fakes import HUBSPOT_TOKEN, FakeHubSpot, local_smtp
from tests.domain.factories import SmallClinic, make_small_clinic
from tests.realtime.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from tests.realtime.served import serve
from tests.temporal_fixtures import temporal_env
from tests.workflows.test_post_call import (
    PATIENT_EMAIL,
    PATIENT_NUMBER,
    _configure,
    add_integration,
    settings_env,
)

__all__ = ["settings_env", "temporal_env"]

CLINIC_NUMBER = "+15550170000"
PAT = PatientDetails(first_name="Pat", last_name="Doe", date_of_birth=date(1990, 4, 2), phone=PATIENT_NUMBER)


def _now() -> datetime:
    return datetime.now(UTC)


@asynccontextmanager
async def live_call(
    client: Client, engine: Engine, clinic: SmallClinic
) -> AsyncIterator[tuple[WorkflowHandle[CallWorkflow, CallResult], CallActions]]:
    """A call of the clinic's patient, its CallWorkflow on the whole worker, and its live actions."""
    call_sid = "CA" + uuid4().hex
    call_id = ensure_call(
        engine,
        clinic.clinic_id,
        call_sid=call_sid,
        direction=CallDirection.inbound,
        from_number=PATIENT_NUMBER,
        to_number=CLINIC_NUMBER,
    )
    task_queue = f"calls-{uuid4().hex}"
    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="activity") as executor:
        async with build_worker(client, task_queue, executor, get_settings()):
            handle = await client.start_workflow(
                CallWorkflow.run,
                CallInput(clinic.clinic_id, call_id, call_sid),
                id=call_sid,
                task_queue=task_queue,
            )
            profile = load_clinic_profile(engine, clinic.clinic_id)
            yield (
                handle,
                workflow_call_actions(
                    engine, profile, client, call_sid, call_id=call_id, now=_now, update_deadline=4.0
                ),
            )


async def post_call_result(
    client: Client, handle: WorkflowHandle[CallWorkflow, CallResult]
) -> PostCallResult:
    """The result of the call's PostCallWorkflow child, once it is done."""
    post_call = client.get_workflow_handle(post_call_workflow_id(handle.id), result_type=PostCallResult)
    return await post_call.result()


async def test_a_call_booked_through_updates_reaches_each_vendor_once(
    temporal_env: WorkflowEnvironment, engine: Engine, settings_env: pytest.MonkeyPatch
) -> None:
    clinic = make_small_clinic(engine, "vendors", CLINIC_NUMBER)
    with session_scope(engine) as session:
        patient = session.get(Patient, clinic.patient_id)
        assert patient is not None
        patient.email = PATIENT_EMAIL
    twilio, hubspot = FakeTwilio(), FakeHubSpot(contacts={PATIENT_NUMBER: "701"})
    client = temporal_env.client
    with local_smtp() as (smtp_port, inbox):
        async with serve(twilio.app) as twilio_url, serve(hubspot.app) as hubspot_url:
            _configure(
                settings_env,
                twilio_account_sid=ACCOUNT_SID,
                twilio_auth_token=AUTH_TOKEN,
                twilio_base_url=twilio_url,
                smtp_host="127.0.0.1",
                smtp_port=str(smtp_port),
            )
            add_integration(
                engine,
                clinic.clinic_id,
                IntegrationKind.crm,
                "hubspot",
                {"base_url": hubspot_url},
                HUBSPOT_TOKEN,
            )
            async with live_call(client, engine, clinic) as (handle, actions):
                day = date.today() + timedelta(days=2)
                [slot, *_] = await actions.find_slots(
                    SlotQuery(service_id=clinic.cleaning_id, date_from=day, date_to=day)
                )
                booked = await actions.book(slot, PAT, clinic.patient_id)
                # A lost reply: the realtime process sends the same Update (same id) again.
                again = await handle.execute_update(
                    CallWorkflow.book,
                    BookRequest(slot_handle(slot), patient_id=clinic.patient_id),
                    id="book-1",
                )
                await actions.hang_up([TurnRecord(TurnRole.caller, "book me a cleaning")], "booked")
                result = await handle.result()
                post_call = await post_call_result(client, handle)

    assert again.id == booked.id and result.appointment_ids == [booked.id]
    with session_scope(engine) as session:
        appointments = session.exec(
            select(Appointment).where(Appointment.clinic_id == clinic.clinic_id)
        ).all()
    assert [a.id for a in appointments] == [booked.id]
    assert post_call.messages_sent == 2 and post_call.crm_provider == "hubspot"
    [sms] = twilio.messages
    assert sms["To"] == PATIENT_NUMBER and "Cleaning with" in sms["Body"] and "is booked for" in sms["Body"]
    [(envelope, _email)] = inbox
    assert envelope.rcpt_tos == [PATIENT_EMAIL]
    [(note_id, _note)] = hubspot.notes.items()
    assert note_id == post_call.crm_record_id


async def test_a_confirmation_asked_for_goes_through_the_workflow_and_is_sent_once(
    temporal_env: WorkflowEnvironment, engine: Engine, settings_env: pytest.MonkeyPatch
) -> None:
    clinic = make_small_clinic(engine, "asks", CLINIC_NUMBER)
    before_the_call = database_call_actions(
        engine, load_clinic_profile(engine, clinic.clinic_id), f"setup-{uuid4()}"
    )
    day = date.today() + timedelta(days=3)
    [slot, *_] = await before_the_call.find_slots(
        SlotQuery(service_id=clinic.exam_id, date_from=day, date_to=day + timedelta(days=1))
    )
    exam = await before_the_call.book(slot, PAT, clinic.patient_id)
    twilio = FakeTwilio()
    client = temporal_env.client
    async with serve(twilio.app) as twilio_url:
        _configure(
            settings_env,
            twilio_account_sid=ACCOUNT_SID,
            twilio_auth_token=AUTH_TOKEN,
            twilio_base_url=twilio_url,
        )
        async with live_call(client, engine, clinic) as (handle, actions):
            [upcoming] = await actions.upcoming_appointments(clinic.patient_id)
            where = await actions.send_confirmation(upcoming.id, ConfirmationChannel.sms)
            await actions.send_confirmation(upcoming.id, ConfirmationChannel.sms)  # asked twice
            await actions.hang_up([TurnRecord(TurnRole.caller, "text me my exam, please")], "answered")
            result = await handle.result()
            post_call = await post_call_result(client, handle)
            updates = [
                event.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
                async for event in handle.fetch_history_events()
                if event.HasField("workflow_execution_update_accepted_event_attributes")
            ]

    assert upcoming.id == exam.id and where == "your phone"
    assert updates == ["register_appointments", "send_confirmation", "send_confirmation"]
    assert result.actions == ["send_confirmation", "send_confirmation"]
    assert post_call.messages_sent == 1 and post_call.write_backs == []
    [sms] = twilio.messages
    assert sms["To"] == PATIENT_NUMBER and "Exam with" in sms["Body"] and "is scheduled for" in sms["Body"]
