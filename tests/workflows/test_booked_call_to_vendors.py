"""A call booked through the Update path, end to end on the dev server with the whole worker: the
live call's WorkflowCallActions books (and retries the Update), hangs up, and the PostCallWorkflow
child reaches each vendor exactly once: one appointment, one SMS at the fake Twilio, one email at
the local SMTP server, one note at the fake HubSpot.
"""

from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from uuid import uuid4

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select
from temporalio.testing import WorkflowEnvironment

from frontdesk.agent.actions import SlotQuery
from frontdesk.agent.database_actions import load_clinic_profile
from frontdesk.agent.tools import PatientDetails
from frontdesk.domain.calls import TurnRecord, ensure_call
from frontdesk.domain.database import session_scope
from frontdesk.domain.models import Appointment, CallDirection, IntegrationKind, Patient, TurnRole
from frontdesk.realtime.workflow_actions import WorkflowCallActions, slot_handle
from frontdesk.worker import build_worker
from frontdesk.workflows.call import CallWorkflow, post_call_workflow_id
from frontdesk.workflows.inputs import BookRequest, CallInput, CallResult
from frontdesk.workflows.post_call import PostCallResult
from tests.activities.vendor_fakes import HUBSPOT_TOKEN, FakeHubSpot, local_smtp
from tests.domain.factories import make_small_clinic
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


async def test_a_call_booked_through_updates_reaches_each_vendor_once(
    temporal_env: WorkflowEnvironment, engine: Engine, settings_env: pytest.MonkeyPatch
) -> None:
    clinic = make_small_clinic(engine, "vendors", CLINIC_NUMBER)
    with session_scope(engine) as session:
        patient = session.get(Patient, clinic.patient_id)
        assert patient is not None
        patient.email = PATIENT_EMAIL
    call_sid = "CA" + uuid4().hex
    call_id = ensure_call(
        engine,
        clinic.clinic_id,
        call_sid=call_sid,
        direction=CallDirection.inbound,
        from_number=PATIENT_NUMBER,
        to_number=CLINIC_NUMBER,
    )
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
            task_queue = f"vendors-{uuid4().hex}"
            with ThreadPoolExecutor(max_workers=8, thread_name_prefix="activity") as executor:
                async with build_worker(client, task_queue, executor):
                    handle = await client.start_workflow(
                        CallWorkflow.run,
                        CallInput(clinic.clinic_id, call_id, call_sid),
                        id=call_sid,
                        task_queue=task_queue,
                    )
                    profile = load_clinic_profile(engine, clinic.clinic_id)
                    actions = WorkflowCallActions(engine, profile, call_sid, client, call_id=call_id)
                    day = date.today() + timedelta(days=2)
                    [slot, *_] = await actions.find_slots(
                        SlotQuery(service_id=clinic.cleaning_id, date_from=day, date_to=day)
                    )
                    details = PatientDetails(
                        first_name="Pat",
                        last_name="Doe",
                        date_of_birth=date(1990, 4, 2),
                        phone=PATIENT_NUMBER,
                    )
                    booked = await actions.book(slot, details, clinic.patient_id)
                    # A lost reply: the realtime process sends the same Update (same id) again.
                    again = await handle.execute_update(
                        CallWorkflow.book,
                        BookRequest(slot_handle(slot), patient_id=clinic.patient_id),
                        id="book-1",
                    )
                    await actions.hang_up([TurnRecord(TurnRole.caller, "book me a cleaning")], "booked")
                    result = await client.get_workflow_handle(call_sid, result_type=CallResult).result()
                    post_call = await client.get_workflow_handle(
                        post_call_workflow_id(call_sid), result_type=PostCallResult
                    ).result()

    assert again.appointment_id == booked.id and result.appointment_ids == [booked.id]
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
