"""Outbound campaigns end to end on the time-skipping Temporal server: CampaignWorkflow pacing
OutboundCallWorkflows, the dialler activity through the real `twilio` SDK at the fake Twilio, the
fake carrier posting signed voice and status webhooks to the real API app, whose status webhook
signals the target's workflow. Pacing and calling hours are measured in workflow time.
"""

import asyncio
import itertools
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from frontdesk.api.app import create_app
from frontdesk.config import Settings, get_settings
from frontdesk.devstack.executables import installed_executable
from frontdesk.domain.campaign_settings import (
    LEGAL_CALLING_END,
    LEGAL_CALLING_START,
    CallingHours,
    CampaignAudience,
    CampaignKind,
    CampaignPlan,
    TargetStatus,
)
from frontdesk.domain.campaigns import outbound_call_workflow_id
from frontdesk.domain.clinic_settings import Weekday
from frontdesk.domain.database import session_scope
from frontdesk.domain.models import (
    Action,
    ActionStatus,
    Appointment,
    AppointmentStatus,
    Call,
    Campaign,
    CampaignTarget,
    Clinic,
    Message,
    OptOutSource,
    Patient,
)
from frontdesk.domain.opt_outs import OptOutChannel, block
from frontdesk.domain.repository import ClinicRepository
from frontdesk.domain.seed import DEMO_NUMBER
from frontdesk.telephony.twilio.signatures import SIGNATURE_HEADER, sign
from frontdesk.worker import build_worker
from frontdesk.workflows.campaign import CampaignInput, CampaignWorkflow, campaign_workflow_id
from tests.domain.factories import make_small_clinic
from tests.realtime.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, CreatedCall, FakeTwilio
from tests.realtime.served import serve
from tests.stack.processes import frontdesk_env
from tests.temporal_fixtures import skipping_env, temporal_address

__all__ = ["skipping_env"]

pytestmark = [pytest.mark.parametrize("database_url", ["postgres"], indirect=True), pytest.mark.slow]

CLINIC_NUMBER = "+15550160000"
DIAL_TIMEOUT_SECONDS = 3.0
NEW_YORK = ZoneInfo("America/New_York")
# Every day, all day long that the law allows (08:00-21:00).
EVERY_DAY = CallingHours(start=LEGAL_CALLING_START, end=LEGAL_CALLING_END, weekdays=list(Weekday))
Carrier = Callable[[CreatedCall], Awaitable[None]]


@dataclass
class CampaignStack:
    """The API, the fake Twilio and a worker, all pointed at each other and the test database."""

    env: WorkflowEnvironment
    engine: Engine
    twilio: FakeTwilio
    settings: Settings
    task_queue: str
    clinic_id: UUID

    def patients(self, count: int, *, opted_out: frozenset[int] = frozenset()) -> list[UUID]:
        """`count` new patients with numbers of their own; those at `opted_out` positions asked
        not to be called."""
        with session_scope(self.engine) as session:
            rows = [
                Patient(
                    clinic_id=self.clinic_id,
                    phone=f"+1555{2000000 + i:07d}",
                    first_name=f"Pat{i}",
                    last_name="Campaign",
                )
                for i in range(count)
            ]
            session.add_all(rows)
            repo = ClinicRepository(session, self.clinic_id)
            for i in opted_out:
                block(repo, rows[i].phone, OptOutChannel.calls, OptOutSource.patient_record)
            session.flush()
            return [row.id for row in rows]

    def campaign(self, patient_ids: list[UUID], plan: CampaignPlan, message: str = "") -> UUID:
        """A recall campaign of these patients, with `plan`."""
        with session_scope(self.engine) as session:
            campaign = Campaign(
                clinic_id=self.clinic_id,
                name="recall test",
                kind=CampaignKind.recall,
                message=message,
                plan=plan,
                audience=CampaignAudience(patient_ids=patient_ids),
            )
            session.add(campaign)
            session.flush()
            return campaign.id

    async def start(self, campaign_id: UUID) -> WorkflowHandle[Any, dict[str, Any]]:
        """Start the campaign's workflow."""
        return await self.env.client.start_workflow(
            CampaignWorkflow.run,
            CampaignInput(self.clinic_id, campaign_id),
            id=campaign_workflow_id(campaign_id),
            task_queue=self.task_queue,
        )

    async def post_signed(self, url: str, form: dict[str, str]) -> httpx.Response:
        """POST a webhook as Twilio does, signed with the account's token."""
        async with httpx.AsyncClient(timeout=30) as http:
            return await http.post(url, data=form, headers={SIGNATURE_HEADER: sign(self.settings, url, form)})

    def targets(self, campaign_id: UUID) -> list[CampaignTarget]:
        """The campaign's targets in calling order."""
        with session_scope(self.engine) as session:
            statement = select(CampaignTarget).where(CampaignTarget.campaign_id == campaign_id)
            return sorted(session.exec(statement), key=lambda t: t.position)


def status_form(call: CreatedCall, status: str) -> dict[str, str]:
    """A status callback of an outbound call, as Twilio posts it."""
    return {
        "CallSid": call.sid,
        "AccountSid": ACCOUNT_SID,
        "From": call.form["From"],
        "To": call.form["To"],
        "Direction": "outbound-api",
        "CallStatus": status,
    }


def answering(stack_ref: list[CampaignStack], outcomes: dict[str, str] | None = None) -> Carrier:
    """A carrier on which each call ends with `outcomes[to]` (default: completed)."""

    async def carry(call: CreatedCall) -> None:
        stack = stack_ref[0]
        status = (outcomes or {}).get(call.form["To"], "completed")
        response = await stack.post_signed(call.form["StatusCallback"], status_form(call, status))
        assert response.status_code == 204, response.text

    return carry


async def within_calling_hours(env: WorkflowEnvironment) -> None:
    """Move workflow time on to the next 08:00 in New York unless two hours of the legal calling
    day are left: tests that watch a campaign, rather than await its result (which skips time
    itself), would otherwise wait for the morning in real time."""
    now = (await env.get_current_time()).astimezone(NEW_YORK)
    opens = datetime.combine(now.date(), LEGAL_CALLING_START, NEW_YORK)
    if opens <= now <= datetime.combine(now.date(), LEGAL_CALLING_END, NEW_YORK) - timedelta(hours=2):
        return
    if now > opens:
        opens += timedelta(days=1)
    await env.sleep(opens.astimezone(UTC) - now.astimezone(UTC))


async def child_start_times(stack: CampaignStack, target_ids: list[UUID]) -> list[datetime]:
    """When each target's OutboundCallWorkflow was started (the moments the campaign paces)."""

    async def started(target_id: UUID) -> datetime:
        handle = stack.env.client.get_workflow_handle(outbound_call_workflow_id(target_id))
        return (await handle.describe()).start_time

    times: list[datetime] = []
    for first in range(0, len(target_ids), 50):
        times.extend(await asyncio.gather(*(started(t) for t in target_ids[first : first + 50])))
    return times


@pytest.fixture
async def stack(
    skipping_env: WorkflowEnvironment, engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[CampaignStack]:
    twilio = FakeTwilio()
    clinic = make_small_clinic(engine, f"campaign-{uuid4().hex[:8]}", CLINIC_NUMBER)
    async with serve(twilio.app) as twilio_url:
        base = {
            "database_url": database_url,
            "twilio_account_sid": ACCOUNT_SID,
            "twilio_auth_token": AUTH_TOKEN,
            "twilio_base_url": twilio_url,
            "temporal_address": temporal_address(skipping_env),
            # Short, so a dial the fake answers late is a lost dial (which the dialler reconciles).
            "twilio_dial_timeout_seconds": str(DIAL_TIMEOUT_SECONDS),
        }
        holder: list[Settings] = []

        def make_app(url: str) -> Any:
            holder.append(Settings(**base, public_base_url=url))  # type: ignore[arg-type]
            return create_app(holder[0])

        async with serve(make_app):
            settings = holder[0]
            for name, value in {**base, "public_base_url": settings.public_base_url}.items():
                monkeypatch.setenv(f"FRONTDESK_{name.upper()}", value)  # the activities' settings
            get_settings.cache_clear()
            task_queue = f"campaigns-{uuid4().hex}"
            await within_calling_hours(skipping_env)
            with ThreadPoolExecutor(max_workers=16, thread_name_prefix="activity") as executor:
                async with build_worker(skipping_env.client, task_queue, executor, get_settings()):
                    yield CampaignStack(skipping_env, engine, twilio, settings, task_queue, clinic.clinic_id)
            assert not twilio.carrier_errors, twilio.carrier_errors
    get_settings.cache_clear()


# A thousand dials, each with its webhooks and bookkeeping, took over 7 minutes on two cores
# loaded by other work. The suite's 300 s stopped it in the middle there, killing a status
# callback of the fake carrier, so the target's next attempt rang the patient a second time.
@pytest.mark.timeout(900)
async def test_a_thousand_targets_paced_once_each_respecting_opt_outs(stack: CampaignStack) -> None:
    opted_out = frozenset(range(0, 1000, 97))
    patients = stack.patients(1000, opted_out=opted_out)
    plan = CampaignPlan(
        calling_hours=EVERY_DAY,
        calls_per_minute=20,
        max_concurrent=5,
        attempts_per_target=2,
        sms_fallback=False,
    )
    stack.twilio.carrier = answering([stack])
    campaign_id = stack.campaign(patients, plan)

    handle = await stack.start(campaign_id)
    progress = await handle.result()

    called = [call.form["To"] for call in stack.twilio.created_calls]
    assert len(called) == len(set(called)) == 1000 - len(opted_out)  # nobody called twice
    skipped_numbers = {f"+1555{2000000 + i:07d}" for i in opted_out}
    assert not skipped_numbers & set(called)
    assert progress["reached"] == 1000 - len(opted_out) and progress["opted_out"] == len(opted_out)
    assert (progress["status"], progress["pending"], progress["in_progress"]) == ("completed", 0, 0)
    targets = stack.targets(campaign_id)
    assert {t.status for t in targets} == {TargetStatus.reached, TargetStatus.opted_out}
    starts = sorted(
        await child_start_times(stack, [t.id for t in targets if t.status is TargetStatus.reached])
    )
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    # 20 calls a minute: 3 s between starts in workflow time. The server stamps a child's start
    # when the parent's workflow task completes, which a busy machine delays (by tens of ms, and
    # once by two seconds under a full suite with two busy loops, leaving a 1 s gap after it): the
    # pace holds over the whole run (the first start's delay, spread over ~990 gaps, is under a
    # millisecond), and starts do not come in bursts: a late stamp shortens one gap, a limiter
    # that let calls through together would shorten many.
    assert (starts[-1] - starts[0]) / len(gaps) >= timedelta(seconds=3) - timedelta(milliseconds=1)
    short = [gap for gap in gaps if gap < timedelta(seconds=2.5)]
    assert len(short) <= len(gaps) // 100, short
    history = [event async for event in handle.fetch_history_events()]
    assert len(history) < 20_000  # continued as new: each run's history stays bounded
    description = await handle.describe()
    assert description.run_id != handle.first_execution_run_id


async def test_unanswered_calls_are_retried_then_texted(stack: CampaignStack) -> None:
    patients = stack.patients(3)
    plan = CampaignPlan(calling_hours=EVERY_DAY, attempts_per_target=2, retry_after_minutes=30)
    busy = "+15552000001"
    stack.twilio.carrier = answering([stack], {busy: "busy", "+15552000002": "no-answer"})
    campaign_id = stack.campaign(patients, plan, message="Time for your check-up!")

    progress = await (await stack.start(campaign_id)).result()

    assert (progress["reached"], progress["failed"]) == (1, 2)
    calls_to = [call.form["To"] for call in stack.twilio.created_calls]
    assert sorted(calls_to) == sorted(["+15552000000", busy, busy, "+15552000002", "+15552000002"])
    texts = [m for m in stack.twilio.messages if m["To"] == busy]
    assert len(texts) == 1 and "Time for your check-up!" in texts[0]["Body"]
    [failed] = [t for t in stack.targets(campaign_id) if t.position == 1]
    assert failed.attempts == 2 and failed.detail == "not reached in 2 attempt(s); texted"
    with session_scope(stack.engine) as session:
        assert len(session.exec(select(Message).where(Message.to == busy)).all()) == 1


async def test_a_dial_lost_after_twilio_placed_the_call_is_adopted_not_dialled_again(
    stack: CampaignStack,
) -> None:
    [patient] = stack.patients(1)
    stack.twilio.hang_creates, stack.twilio.hang_seconds = 1, DIAL_TIMEOUT_SECONDS + 2
    answer = answering([stack])

    async def after_reconciling(call: CreatedCall) -> None:
        # The status arrives only once the dialler asked Twilio's Calls list, so it is the list
        # (not the status webhook's tie) that finds the call.
        await stack.twilio.asked.wait()
        await answer(call)

    stack.twilio.carrier = after_reconciling
    campaign_id = stack.campaign([patient], CampaignPlan(calling_hours=EVERY_DAY, attempts_per_target=3))

    progress = await (await stack.start(campaign_id)).result()

    [call] = stack.twilio.created_calls  # rung once
    assert progress["reached"] == 1
    # Asked twice: the calls that started since the dial, and those still queued (no start time).
    assert [(f["To"], f["From"], f.get("Status")) for f in stack.twilio.listed] == [
        (call.form["To"], CLINIC_NUMBER, None),
        (call.form["To"], CLINIC_NUMBER, "queued"),
    ]
    [target] = stack.targets(campaign_id)
    assert (target.status, target.attempts, target.last_call_sid) == (TargetStatus.reached, 1, call.sid)
    key = f"{outbound_call_workflow_id(target.id)}/dial-1"
    assert parse_qs(urlsplit(call.form["StatusCallback"]).query)["attempt"] == [key]
    with session_scope(stack.engine) as session:
        [action] = session.exec(select(Action).where(Action.idempotency_key == key)).all()
        row = session.exec(select(Call).where(Call.call_sid == call.sid)).one()
        assert (action.status, action.result) == (ActionStatus.succeeded, {"call_sid": call.sid})
        assert action.call_id == row.id
        assert row.patient_id == patient


async def test_calls_wait_for_calling_hours(stack: CampaignStack) -> None:
    now = (await stack.env.get_current_time()).astimezone(NEW_YORK)
    opens = (now + timedelta(hours=2)).time().replace(second=0, microsecond=0)
    closes = (now + timedelta(hours=3)).time().replace(second=0, microsecond=0)
    if closes > LEGAL_CALLING_END:  # late in the day: use tomorrow morning's hours instead
        opens, closes = time(9, 0), time(10, 0)
    hours = CallingHours(start=opens, end=closes, weekdays=list(Weekday))
    stack.twilio.carrier = answering([stack])
    campaign_id = stack.campaign(stack.patients(2), CampaignPlan(calling_hours=hours))

    await (await stack.start(campaign_id)).result()

    for target in stack.targets(campaign_id):
        assert target.last_attempt_at is not None
        local = target.last_attempt_at.astimezone(NEW_YORK).time()
        assert opens <= local < closes


async def test_a_machine_gets_the_voicemail_and_is_not_called_again(stack: CampaignStack) -> None:
    [patient] = stack.patients(1)

    async def machine(call: CreatedCall) -> None:
        form = status_form(call, "in-progress") | {
            "AnsweredBy": "machine_end_beep",
            "CallStatus": "in-progress",
        }
        twiml = await stack.post_signed(call.form["Url"], form)
        assert twiml.status_code == 200 and "<Say>" in twiml.text and "<Stream" not in twiml.text
        assert "Pat0" in twiml.text and CLINIC_NUMBER in twiml.text
        await stack.post_signed(call.form["StatusCallback"], status_form(call, "completed"))

    stack.twilio.carrier = machine
    campaign_id = stack.campaign([patient], CampaignPlan(calling_hours=EVERY_DAY, attempts_per_target=3))

    progress = await (await stack.start(campaign_id)).result()

    assert progress["voicemail"] == 1 and len(stack.twilio.created_calls) == 1
    with session_scope(stack.engine) as session:
        call = session.exec(select(Call).where(Call.call_sid == stack.twilio.created_calls[0].sid)).one()
    assert (call.outcome, call.patient_id) == ("voicemail", patient)


async def test_pause_resume_and_cancel(stack: CampaignStack) -> None:
    patients = stack.patients(12)
    plan = CampaignPlan(calling_hours=EVERY_DAY, calls_per_minute=1, max_concurrent=1)
    stack.twilio.carrier = answering([stack])
    campaign_id = stack.campaign(patients, plan)
    handle = await stack.start(campaign_id)

    async def placed_at_least(count: int) -> None:
        while len(stack.twilio.created_calls) < count:
            await stack.env.sleep(30)

    await placed_at_least(2)
    await handle.signal(CampaignWorkflow.pause)
    paused = len(stack.twilio.created_calls)
    assert (await handle.query(CampaignWorkflow.progress))["status"] == "paused"
    await stack.env.sleep(600)  # ten minutes of workflow time paused: nothing is placed
    assert len(stack.twilio.created_calls) <= paused + 1  # at most the one already starting
    with session_scope(stack.engine) as session:
        row = session.get(Campaign, campaign_id)
        assert row is not None and row.status.value == "paused"
    await handle.signal(CampaignWorkflow.resume)
    await placed_at_least(paused + 2)
    await handle.signal(CampaignWorkflow.cancel)
    progress = await handle.result()

    placed = len(stack.twilio.created_calls)
    assert progress["status"] == "cancelled" and placed < 12
    assert progress["skipped"] == 12 - placed and progress["reached"] == placed


async def test_a_reminder_campaign_from_the_cli_calls_the_demo_patients(
    stack: CampaignStack, demo_clinic: Clinic
) -> None:
    answered: list[str] = []

    async def person(call: CreatedCall) -> None:
        form = status_form(call, "in-progress") | {"AnsweredBy": "human"}
        twiml = await stack.post_signed(call.form["Url"], form)
        answered.append(twiml.text)
        await stack.post_signed(call.form["StatusCallback"], status_form(call, "completed"))

    stack.twilio.carrier = person
    env = frontdesk_env(
        database_url=stack.settings.database_url,
        temporal_address=stack.settings.temporal_address,
        temporal_task_queue=stack.task_queue,
    )
    command = [
        "campaign",
        "create",
        "--clinic",
        "demo",
        "--kind",
        "reminder",
        "--days",
        "30",
        "--hours",
        "08:00-21:00",
        *(option for day in Weekday for option in ("--weekday", day.value)),  # whatever today is
    ]
    outcome = await asyncio.to_thread(
        subprocess.run,
        [str(installed_executable("frontdesk", "frontdesk")), *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert outcome.returncode == 0, outcome.stderr
    campaign_id = UUID(outcome.stdout.split()[1])

    handle = stack.env.client.get_workflow_handle(campaign_workflow_id(campaign_id))
    # Waited on by describing, not result(): the time-skipping server's result long-poll for a
    # workflow another client started can come back without the completion event.
    for _ in range(600):  # a 2-minute hang guard, polled: the server has no event to wait on
        if (await handle.describe()).status is WorkflowExecutionStatus.COMPLETED:
            break
        await asyncio.sleep(0.2)
    progress = await handle.query(CampaignWorkflow.progress)

    with session_scope(stack.engine) as session:
        upcoming = session.exec(
            select(Appointment).where(
                Appointment.clinic_id == demo_clinic.id, Appointment.status == AppointmentStatus.booked
            )
        ).all()
        phones = {session.get(Patient, a.patient_id).phone for a in upcoming}  # type: ignore[union-attr]
        row = session.get(Campaign, campaign_id)
    assert row is not None and (row.status.value, row.workflow_id) == ("completed", handle.id)
    assert progress["reached"] == len(upcoming) > 0
    assert {call.form["To"] for call in stack.twilio.created_calls} == phones
    assert all(call.form["From"] == DEMO_NUMBER for call in stack.twilio.created_calls)
    assert all(
        "<Stream" in twiml and 'name="purpose" value="a reminder of your' in twiml for twiml in answered
    )
