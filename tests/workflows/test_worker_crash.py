"""PostCallWorkflow survives its worker being SIGKILLed mid-activity: nothing lost, nothing twice.

Each test runs a real `frontdesk worker` process against the Temporal dev server and the test
database, with the vendor fakes of tests/activities/vendor_fakes.py (HubSpot, a practice
bridge, SMTP) and tests/realtime/fake_twilio.py. One vendor request is held at the kill point
(`RequestGate`), so the activity is provably in flight; the test checks the database state
there, SIGKILLs the worker's process group, lets the vendor either handle the request (its
answer lost with the worker) or lose it, starts a fresh worker on the same task queue, and
waits for the workflow's result. Then it counts what reached each vendor and what is stored.

A killed worker's attempt is retried when its start-to-close timeout fires (STEP_TIMEOUT, two
minutes, and no heartbeat timeout): `expire_orphaned_attempt` has the server time it out
at once instead, and restores the workflow's own options before the retry starts, and
`forget_dead_worker` spares the 10 s the next workflow task would wait on the dead worker's
sticky queue. Nothing of Frontdesk is changed or mocked; each test takes about 10 s.
"""

import asyncio
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.message import Message as Email
from pathlib import Path
from uuid import uuid4

import pytest
from aiosmtpd.smtp import Envelope
from sqlalchemy.engine import Engine
from sqlmodel import select
from temporalio.api.enums.v1 import TimeoutType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from frontdesk.config import get_settings
from frontdesk.domain.database import session_scope
from frontdesk.domain.models import IntegrationKind, Message, MessageChannel, MessageStatus
from frontdesk.workflows.post_call import (
    STEP_TIMEOUT,
    WRITE_BACK_COMMITTED,
    PostCallResult,
    PostCallWorkflow,
)
from tests.activities.vendor_fakes import HUBSPOT_TOKEN, FakeHubSpot, FakePractice, local_smtp
from tests.realtime.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from tests.realtime.served import serve
from tests.stack.processes import frontdesk_env, kill_session
from tests.temporal_fixtures import temporal_address, temporal_env
from tests.workflows.crash_points import (
    Expiry,
    RequestGate,
    expire_orphaned_attempt,
    forget_dead_worker,
    print_worker_logs,
    sigkill,
    start_worker,
    started_attempt,
    wait_until,
)
from tests.workflows.test_post_call import PATIENT_NUMBER, BookedCall, add_integration, book_a_call, rows

__all__ = ["temporal_env"]

pytestmark = pytest.mark.slow

HUBSPOT_CONTACT = "501"
# The vendor route each kill point holds.
GATED_ROUTES = {
    "hubspot": ("POST", "/crm/v3/objects/notes"),
    "twilio": ("POST", "/Messages.json"),
    "practice": ("POST", "/appointments"),
}
RESULT_WITHIN_S = 90.0


@dataclass(frozen=True)
class KillPoint:
    """Where the worker dies: inside `step` (an activity id, "/<appointment id>" appended for the
    per-appointment steps) while its `vendor` request is held; after the kill the vendor handles
    the request (`vendor_handles_it`: done there, the answer lost) or never sees it."""

    name: str
    step: str
    vendor: str
    vendor_handles_it: bool

    def activity_id(self, call: BookedCall) -> str:
        """The activity id of the killed step for this call."""
        return self.step if self.step == "crm-sync" else f"{self.step}/{call.appointment_id}"


# After the summary was written, the CRM note request held and then lost: nothing at HubSpot yet.
SUMMARY_WRITTEN_CRM_PENDING = KillPoint("summary-written-crm-pending", "crm-sync", "hubspot", False)
# HubSpot created the note, the worker died before hearing back (and before our crm_sync ledger).
CRM_RECORD_CREATED = KillPoint("crm-record-created", "crm-sync", "hubspot", True)
# The practice system committed the appointment, the worker died before recording the write-back.
WRITE_BACK_IN_FLIGHT = KillPoint("write-back-in-flight", "write-back", "practice", True)
# The SMS row is queued and Twilio accepted the SMS; the worker died before marking it sent.
SMS_IN_FLIGHT = KillPoint("sms-in-flight", "confirm-sms", "twilio", True)
# The SMS row is queued, but the request never reached Twilio.
SMS_QUEUED_NOT_SENT = KillPoint("sms-queued-not-sent", "confirm-sms", "twilio", False)


@dataclass
class Vendors:
    """The fakes one crash test talks to, and what the SMTP server received."""

    twilio: FakeTwilio
    hubspot: FakeHubSpot
    practice: FakePractice
    inbox: list[tuple[Envelope, Email]]
    gate: RequestGate
    worker_env: dict[str, str]


@dataclass(frozen=True)
class Crash:
    """What a crashed-and-recovered run left: the result, the history of the killed step, and how
    the server rescheduled it after the kill."""

    call: BookedCall
    workflow_id: str
    result: PostCallResult
    status: WorkflowExecutionStatus | None
    expiry: Expiry
    final_attempt: HistoryEvent


@asynccontextmanager
async def vendors(
    engine: Engine, database_url: str, call: BookedCall, temporal_env: WorkflowEnvironment, gated: str
) -> AsyncIterator[Vendors]:
    """Every vendor fake served (the `gated` one behind a RequestGate), the clinic connected to
    HubSpot and the practice bridge, and the worker's environment pointing at all of them."""
    twilio, hubspot, practice = (
        FakeTwilio(),
        FakeHubSpot(contacts={PATIENT_NUMBER: HUBSPOT_CONTACT}),
        FakePractice(),
    )
    gate = RequestGate(*GATED_ROUTES[gated])
    apps = {"twilio": twilio.app, "hubspot": hubspot.app, "practice": practice.app}
    apps[gated] = gate.wrap(apps[gated])
    with local_smtp() as (smtp_port, inbox):
        async with (
            serve(apps["twilio"]) as twilio_url,
            serve(apps["hubspot"]) as hubspot_url,
            serve(apps["practice"]) as practice_url,
        ):
            clinic_id = call.clinic.clinic_id
            add_integration(
                engine, clinic_id, IntegrationKind.crm, "hubspot", {"base_url": hubspot_url}, HUBSPOT_TOKEN
            )
            add_integration(
                engine,
                clinic_id,
                IntegrationKind.practice_management,
                "webhook",
                {"url": f"{practice_url}/appointments"},
                "practice-token",
            )
            worker_env = frontdesk_env(
                database_url=database_url,
                temporal_address=temporal_address(temporal_env),
                temporal_task_queue=f"worker-crash-{uuid4().hex}",
                # The key add_integration encrypted the credentials with, so the worker can read them.
                secret_key=get_settings().secret_key.get_secret_value(),
                twilio_account_sid=ACCOUNT_SID,
                twilio_auth_token=AUTH_TOKEN,
                twilio_base_url=twilio_url,
                smtp_host="127.0.0.1",
                smtp_port=str(smtp_port),
            )
            try:
                yield Vendors(twilio, hubspot, practice, inbox, gate, worker_env)
            finally:
                # A request still held would keep its server from shutting down.
                gate.release(vendor_handles_it=False)


def assert_state_at_kill_point(engine: Engine, call: BookedCall, kill: KillPoint) -> None:
    """What the database must hold while the killed step's vendor request is in flight."""
    stored_call, actions, messages, _appointment = rows(engine, call)
    action_kinds = [action.kind for action in actions]
    assert stored_call.summary, "the summary is written before the CRM sync starts"
    if kill.step == "crm-sync":
        assert "crm_sync" not in action_kinds and messages == []
    elif kill.step == "confirm-sms":
        [sms] = messages
        assert (sms.channel, sms.status) == (MessageChannel.sms, MessageStatus.queued)
    else:
        assert sorted((m.channel, m.status) for m in messages) == [
            (MessageChannel.email, MessageStatus.sent),
            (MessageChannel.sms, MessageStatus.sent),
        ]
        assert "practice_writeback" not in action_kinds


async def result_of(handle: WorkflowHandle, worker: subprocess.Popen[bytes], log: Path) -> PostCallResult:
    """The workflow's result, failing with the worker's output if it does not come in time."""
    waiting = asyncio.ensure_future(handle.result())

    async def done() -> bool:
        return waiting.done()

    try:
        await wait_until(done, "the workflow completed", worker=worker, log=log, within=RESULT_WITHIN_S)
    finally:
        waiting.cancel()
    result: PostCallResult = waiting.result()
    return result


async def crash_and_recover(
    temporal_env: WorkflowEnvironment,
    engine: Engine,
    call: BookedCall,
    tmp_path: Path,
    kill: KillPoint,
    vendor: Vendors,
) -> Crash:
    """Start the workflow on a worker, SIGKILL the worker at the kill point, finish on a new one."""
    client = temporal_env.client
    workflow_id = f"post-call-{call.call_sid}"
    activity_id = kill.activity_id(call)
    first, first_log = start_worker(vendor.worker_env, tmp_path, "worker-1")
    second: subprocess.Popen[bytes] | None = None
    try:
        handle = await client.start_workflow(
            PostCallWorkflow.run,
            call.post_call_input,
            id=workflow_id,
            task_queue=vendor.worker_env["FRONTDESK_TEMPORAL_TASK_QUEUE"],
            result_type=PostCallResult,
        )

        async def held() -> bool:
            return vendor.gate.held.is_set()

        await wait_until(
            held, f"{kill.vendor} holding the {activity_id} request", worker=first, log=first_log
        )
        assert_state_at_kill_point(engine, call, kill)
        sigkill(first)
        vendor.gate.release(vendor_handles_it=kill.vendor_handles_it)
        await asyncio.wait_for(vendor.gate.finished.wait(), timeout=10)
        # No worker polls now, so the retry cannot start before the original options are back.
        expiry = await expire_orphaned_attempt(client, workflow_id, activity_id)
        await forget_dead_worker(client, workflow_id)
        second, second_log = start_worker(vendor.worker_env, tmp_path, "worker-2")
        result = await result_of(handle, second, second_log)
        status = (await handle.describe()).status
        final_attempt = await started_attempt(handle, activity_id)
    except BaseException:
        print_worker_logs(tmp_path)
        raise
    finally:
        kill_session(first)
        if second is not None:
            kill_session(second)
    return Crash(call, workflow_id, result, status, expiry, final_attempt)


def assert_retried_on_the_new_worker(crash: Crash) -> None:
    """The killed attempt timed out on the server and a second attempt, under the workflow's own
    timeout, completed the step."""
    timed_out, retry = crash.expiry.timed_out, crash.expiry.retry
    assert timed_out.attempt == retry.attempt == 2
    assert timed_out.last_failure.timeout_failure_info.timeout_type == TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE
    assert retry.activity_options.start_to_close_timeout.ToTimedelta() == STEP_TIMEOUT
    assert crash.final_attempt.activity_task_started_event_attributes.attempt == 2
    assert crash.status == WorkflowExecutionStatus.COMPLETED


def assert_crm_synced_once(engine: Engine, crash: Crash, hubspot: FakeHubSpot) -> None:
    """One summary, one HubSpot note (the one the result and our ledger name), one ledger entry."""
    stored_call, actions, _messages, _appointment = rows(engine, crash.call)
    assert stored_call.summary and crash.result.summary_length == len(stored_call.summary)
    assert crash.result.summary_source == "structured"  # written once, before the kill
    [(note_id, note)] = hubspot.notes.items()
    assert (crash.result.crm_provider, crash.result.crm_record_id, crash.result.crm_error) == (
        "hubspot",
        note_id,
        None,
    )
    assert stored_call.summary in note["properties"]["hs_note_body"]
    [sync] = [action for action in actions if action.kind == "crm_sync"]
    assert sync.payload == {"provider": "hubspot", "record_id": note_id}


def assert_written_back_once(engine: Engine, crash: Crash, practice: FakePractice, requests: int) -> None:
    """The appointment committed under one idempotency key (`requests` POSTs of it), recorded once."""
    _call, actions, _messages, _appointment = rows(engine, crash.call)
    assert [(w.status, w.detail) for w in crash.result.write_backs] == [
        (WRITE_BACK_COMMITTED, f"pm-{crash.call.appointment_id}")
    ]
    key = f"{crash.workflow_id}/write-back/{crash.call.appointment_id}"
    assert [received_key for received_key, _body in practice.received] == [key] * requests
    [write_back] = [action for action in actions if action.kind == "practice_writeback"]
    assert write_back.payload["external_id"] == f"pm-{crash.call.appointment_id}"


def assert_no_staff_task(engine: Engine, crash: Crash) -> None:
    """Nothing was handed to staff, and the patient was not told someone will call."""
    _call, actions, messages, _appointment = rows(engine, crash.call)
    assert [action.payload for action in actions if action.kind == "staff_task"] == []
    assert not [message for message in messages if "will call you to confirm" in message.body]


def message_rows(engine: Engine, call: BookedCall) -> dict[MessageChannel, Message]:
    """The call's Message rows by channel, failing if a channel has more than one."""
    with session_scope(engine) as session:
        messages = list(session.exec(select(Message).where(Message.call_id == call.call_id)))
    by_channel = {message.channel: message for message in messages}
    assert len(by_channel) == len(messages), [(m.channel, m.idempotency_key) for m in messages]
    return by_channel


def assert_email_sent_once(engine: Engine, crash: Crash, inbox: list[tuple[Envelope, Email]]) -> None:
    """One email at the SMTP server, its row sent with that email's Message-ID."""
    [(_envelope, email)] = inbox
    email_row = message_rows(engine, crash.call)[MessageChannel.email]
    assert (email_row.status, email_row.provider_message_id) == (MessageStatus.sent, email["Message-ID"])
    assert str(make_header(decode_header(email["X-Frontdesk-Key"]))) == email_row.idempotency_key


@pytest.mark.parametrize(
    "kill",
    [SUMMARY_WRITTEN_CRM_PENDING, CRM_RECORD_CREATED, WRITE_BACK_IN_FLIGHT],
    ids=lambda kill: kill.name,
)
async def test_a_worker_killed_mid_step_loses_nothing_and_sends_nothing_twice(
    kill: KillPoint, temporal_env: WorkflowEnvironment, engine: Engine, database_url: str, tmp_path: Path
) -> None:
    call = book_a_call(engine)
    async with vendors(engine, database_url, call, temporal_env, kill.vendor) as vendor:
        crash = await crash_and_recover(temporal_env, engine, call, tmp_path, kill, vendor)

    assert_retried_on_the_new_worker(crash)
    # The held request was done at the vendor (201) or lost there (None) before the retry ran.
    assert vendor.gate.answer_status == (201 if kill.vendor_handles_it else None)
    assert_crm_synced_once(engine, crash, vendor.hubspot)
    [sms] = vendor.twilio.messages
    assert sms["To"] == PATIENT_NUMBER and "is booked for" in sms["Body"]
    sms_row = message_rows(engine, call)[MessageChannel.sms]
    assert (sms_row.status, sms_row.provider_message_id) == (MessageStatus.sent, f"SM{1:032x}")
    assert_email_sent_once(engine, crash, vendor.inbox)
    assert crash.result.messages_sent == 2
    # The held write-back reached the practice system, then the retry asked again under the same key.
    assert_written_back_once(engine, crash, vendor.practice, requests=2 if kill.vendor == "practice" else 1)
    assert_no_staff_task(engine, crash)


async def test_an_sms_twilio_took_before_the_kill_is_not_sent_again(
    temporal_env: WorkflowEnvironment, engine: Engine, database_url: str, tmp_path: Path
) -> None:
    call = book_a_call(engine)
    async with vendors(engine, database_url, call, temporal_env, SMS_IN_FLIGHT.vendor) as vendor:
        crash = await crash_and_recover(temporal_env, engine, call, tmp_path, SMS_IN_FLIGHT, vendor)

    assert_retried_on_the_new_worker(crash)
    assert vendor.gate.answer_status == 201  # Twilio accepted the SMS the killed worker sent
    [sms] = vendor.twilio.messages
    assert sms["To"] == PATIENT_NUMBER and "is booked for" in sms["Body"]
    # The retry found the row still queued and, not knowing whether Twilio had it, did not resend:
    # the row stays queued (no sid), and the result does not count it.
    sms_row = message_rows(engine, call)[MessageChannel.sms]
    assert (sms_row.status, sms_row.provider_message_id) == (MessageStatus.queued, None)
    assert crash.result.messages_sent == 1
    assert_email_sent_once(engine, crash, vendor.inbox)
    assert_crm_synced_once(engine, crash, vendor.hubspot)
    assert_written_back_once(engine, crash, vendor.practice, requests=1)
    assert_staff_told_about_the_sms(engine, call)


def assert_staff_told_about_the_sms(engine: Engine, call: BookedCall) -> None:
    """One staff task says the SMS's outcome is unknown (the retry did not resend it)."""
    _call, actions, _messages, _appointment = rows(engine, call)
    [task] = [action for action in actions if action.kind == "staff_task"]
    assert "the sms to the patient may not have been sent" in task.payload["reason"]


async def test_an_sms_queued_but_never_sent_reaches_the_patient_or_staff(
    temporal_env: WorkflowEnvironment, engine: Engine, database_url: str, tmp_path: Path
) -> None:
    call = book_a_call(engine)
    async with vendors(engine, database_url, call, temporal_env, SMS_QUEUED_NOT_SENT.vendor) as vendor:
        crash = await crash_and_recover(temporal_env, engine, call, tmp_path, SMS_QUEUED_NOT_SENT, vendor)

    assert_retried_on_the_new_worker(crash)
    assert vendor.gate.answer_status is None and vendor.twilio.messages == []
    assert_email_sent_once(engine, crash, vendor.inbox)
    assert_crm_synced_once(engine, crash, vendor.hubspot)
    assert_written_back_once(engine, crash, vendor.practice, requests=1)
    # Not resent (it might have reached Twilio), and not lost either: the staff are told.
    assert_staff_told_about_the_sms(engine, call)
