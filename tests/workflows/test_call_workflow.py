"""CallWorkflow: the liveness rule (the carrier's word, the longest call) on the time-skipping test
server, and the Update path on the real dev server with a worker, the test databases and a live call's actions
(`workflow_call_actions`: changes as Updates, the database taking over past an Update's deadline).

PostCallWorkflow is another workflow (tests/workflows/test_post_call.py covers it); here a
stand-in registered under its name records that the child was started with the call's input.
"""

import asyncio
import statistics
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import (
    Client,
    WorkflowHandle,
    WorkflowHistory,
    WorkflowUpdateFailedError,
)
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from frontdesk.activities.appointments import APPOINTMENT_ACTIVITIES
from frontdesk.activities.calls import CALL_ACTIVITIES, DROPPED_CALL_REASON
from frontdesk.agent.actions import UNAVAILABLE, ActionRefused, CallReads, SlotOption, SlotQuery
from frontdesk.agent.call_actions import CallActions
from frontdesk.agent.database_actions import database_call_actions, load_clinic_profile
from frontdesk.agent.tools import PatientDetails
from frontdesk.config import get_settings
from frontdesk.domain.calls import TurnRecord, ensure_call
from frontdesk.domain.database import session_scope
from frontdesk.domain.models import (
    Action,
    Appointment,
    AppointmentStatus,
    Call,
    CallDirection,
    CallTurn,
    Clinic,
    Patient,
    TurnRole,
)
from frontdesk.domain.opt_outs import OptOutChannel, blocks, unblock
from frontdesk.domain.repository import ClinicRepository
from frontdesk.realtime.call_actions import workflow_call_actions
from frontdesk.realtime.workflow_changes import slot_handle
from frontdesk.workflows.call import CALL_LENGTH_MARGIN, HANG_UP_GRACE, CallWorkflow, post_call_workflow_id
from frontdesk.workflows.inputs import (
    BookRequest,
    CallInput,
    CallResult,
    ConfirmRequest,
    HangUpRequest,
    MessageRequest,
    OptOutRequest,
    PostCallInput,
)
from tests.domain.factories import SmallClinic, make_small_clinic
from tests.temporal_fixtures import skipping_env, temporal_env

__all__ = ["skipping_env", "temporal_env"]

HISTORIES = Path(__file__).parent / "histories"
CLINIC_NUMBER = "+15550150000"
CALLER_NUMBER = "+15550111000"
ROUND_TRIPS = 50
PATIENT = PatientDetails(
    first_name="sam", last_name="rivera", date_of_birth=date(1990, 4, 2), phone=CALLER_NUMBER
)
TURNS = [
    TurnRecord(TurnRole.agent, "Clinic calls, this is Ava. How can I help?", "Clinic calls, this is Ava."),
    TurnRecord(TurnRole.caller, "I'd like to leave a message."),
]


# Outside the sandbox: re-importing this test module there would touch what the sandbox forbids.
@workflow.defn(name="PostCallWorkflow", sandboxed=False)
class StandInPostCall:
    """Stands in for the real PostCallWorkflow: returns the input it was started with."""

    @workflow.run
    async def run(self, request: PostCallInput) -> PostCallInput:
        return request


@dataclass(frozen=True)
class LiveCall:
    """A small clinic and the row of one inbound call to it."""

    clinic: SmallClinic
    call: CallInput


@pytest.fixture
def live_call(engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveCall]:
    """A clinic, a call row, and activities pointed at the test database."""
    monkeypatch.setenv("FRONTDESK_DATABASE_URL", database_url)
    get_settings.cache_clear()
    clinic = make_small_clinic(engine, "calls", CLINIC_NUMBER)
    call_sid = "CA" + uuid4().hex
    call_id = ensure_call(
        engine,
        clinic.clinic_id,
        call_sid=call_sid,
        direction=CallDirection.inbound,
        from_number=CALLER_NUMBER,
        to_number=CLINIC_NUMBER,
    )
    yield LiveCall(clinic, CallInput(clinic.clinic_id, call_id, call_sid))
    get_settings.cache_clear()


@asynccontextmanager
async def call_worker(client: Client) -> AsyncIterator[str]:
    """A worker for CallWorkflow, the stand-in child and the activities, on a task queue of its own."""
    task_queue = f"calls-{uuid4().hex}"
    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="activity") as executor:
        async with Worker(
            client,
            task_queue=task_queue,
            workflows=[CallWorkflow, StandInPostCall],
            activities=[*APPOINTMENT_ACTIVITIES, *CALL_ACTIVITIES],
            activity_executor=executor,
        ):
            yield task_queue


async def start_call(
    client: Client, call: CallInput, task_queue: str
) -> WorkflowHandle[CallWorkflow, CallResult]:
    """Start the call's workflow, as the voice webhook does (workflow id = call sid)."""
    return await client.start_workflow(CallWorkflow.run, call, id=call.call_sid, task_queue=task_queue)


def _actions(engine: Engine, call_id: UUID) -> list[Action]:
    with session_scope(engine) as session:
        return list(session.exec(select(Action).where(Action.call_id == call_id)))


def _appointments(engine: Engine, clinic_id: UUID) -> list[Appointment]:
    with session_scope(engine) as session:
        return list(session.exec(select(Appointment).where(Appointment.clinic_id == clinic_id)))


def _call(engine: Engine, call_id: UUID) -> Call:
    with session_scope(engine) as session:
        call = session.get(Call, call_id)
        assert call is not None
        return call


async def post_call_input(client: Client, result: CallResult) -> PostCallInput:
    """The input the stand-in PostCallWorkflow child was started with."""
    return await client.get_workflow_handle(result.post_call_workflow_id, result_type=PostCallInput).result()


# Liveness (time-skipping): the realtime process died, or keeps the call alive. Each test waits
# for the post-call child too: a child task left without a worker would hold time skipping back
# for every test after it (the server then waits out timers in real time).


async def test_a_stream_that_ended_without_a_hang_up_is_closed_as_dropped_with_a_callback_message(
    skipping_env: WorkflowEnvironment, live_call: LiveCall, engine: Engine
) -> None:
    async with call_worker(skipping_env.client) as task_queue:
        handle = await start_call(skipping_env.client, live_call.call, task_queue)
        await handle.signal(CallWorkflow.carrier_ended)  # the realtime process died with the call
        result = await handle.result()  # the server skips the grace for the hang-up
        child_input = await post_call_input(skipping_env.client, result)
        history = await handle.fetch_history()

    assert result.dropped and result.outcome == "dropped"
    assert result.post_call_workflow_id == post_call_workflow_id(live_call.call.call_sid)
    call = _call(engine, live_call.call.call_id)
    assert call.outcome == "dropped" and call.ended_at is not None
    [callback] = _actions(engine, live_call.call.call_id)
    assert callback.kind == "take_message" and callback.id == result.callback_action_id
    assert callback.payload == {"reason": DROPPED_CALL_REASON, "callback_number": CALLER_NUMBER}
    assert child_input == PostCallInput(
        live_call.call.clinic_id, live_call.call.call_id, live_call.call.call_sid
    )
    # Dropped once the grace for the hang-up ran out after the carrier's word, not before.
    [signalled] = _events(history, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
    [fired] = _events(history, EventType.EVENT_TYPE_TIMER_FIRED)
    waited = fired.event_time.ToDatetime() - signalled.event_time.ToDatetime()
    assert HANG_UP_GRACE <= waited <= HANG_UP_GRACE + timedelta(seconds=2)


def _events(history: WorkflowHistory, kind: EventType.ValueType) -> list[HistoryEvent]:
    return [event for event in history.events if event.event_type == kind]


async def _first_events(handle: WorkflowHandle[Any, Any], kind: EventType.ValueType) -> list[HistoryEvent]:
    """The workflow's events of `kind`, once there is one (within 60 s)."""
    for _ in range(600):
        if found := _events(await handle.fetch_history(), kind):
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"no {EventType.Name(kind)} within 60 s")


async def test_a_dropped_call_records_no_callback_when_the_clinic_says_so(
    skipping_env: WorkflowEnvironment, live_call: LiveCall, engine: Engine
) -> None:
    with session_scope(engine) as session:
        clinic = session.get(Clinic, live_call.clinic.clinic_id)
        assert clinic is not None
        clinic.escalation = {**clinic.escalation, "callback_on_dropped_call": False}
    async with call_worker(skipping_env.client) as task_queue:
        handle = await start_call(skipping_env.client, live_call.call, task_queue)
        await handle.signal(CallWorkflow.carrier_ended)
        result = await handle.result()
        await post_call_input(skipping_env.client, result)  # no child task left for time skipping to wait on

    assert result.dropped and result.callback_action_id is None
    assert _actions(engine, live_call.call.call_id) == []
    assert _call(engine, live_call.call.call_id).outcome == "dropped"


async def test_a_call_waits_for_its_hang_up_up_to_its_longest_length_with_no_signal(
    skipping_env: WorkflowEnvironment, live_call: LiveCall, engine: Engine
) -> None:
    async with call_worker(skipping_env.client) as task_queue:
        handle = await start_call(
            skipping_env.client, replace(live_call.call, max_call_seconds=1800), task_queue
        )
        [timer] = await _first_events(handle, EventType.EVENT_TYPE_TIMER_STARTED)  # the wait began
        await handle.signal(CallWorkflow.hang_up, HangUpRequest(TURNS, "answered"))
        await handle.signal(CallWorkflow.carrier_ended)  # the carrier's word after the hang-up
        result = await handle.result()
        await post_call_input(skipping_env.client, result)
        history = await handle.fetch_history()

    assert not result.dropped and result.outcome == "answered"
    assert _actions(engine, live_call.call.call_id) == []
    assert _call(engine, live_call.call.call_id).outcome == "answered"
    # Liveness cost one timer, for the clinic's longest call and the margin, where the heartbeat
    # cost a signal every 10 s (each a billed action): a long call needs nothing sent to stay live.
    assert _events(history, EventType.EVENT_TYPE_TIMER_STARTED) == [timer]
    waits = timer.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta()
    assert waits == timedelta(seconds=1800) + CALL_LENGTH_MARGIN


async def test_a_hang_up_after_the_carriers_word_still_closes_the_call_normally(
    temporal_env: WorkflowEnvironment, live_call: LiveCall
) -> None:
    async with call_worker(temporal_env.client) as task_queue:
        handle = await start_call(temporal_env.client, live_call.call, task_queue)
        await handle.signal(CallWorkflow.carrier_ended)  # the webhook was quicker than the media server
        await handle.signal(CallWorkflow.hang_up, HangUpRequest(TURNS, "answered"))
        result = await handle.result()

    assert not result.dropped and result.outcome == "answered"


async def test_a_history_begun_under_the_liveness_window_replays_on_its_own_path() -> None:
    """A CallWorkflow open when the carrier's word replaced the heartbeat (30 s windows, four
    heartbeats, then the hang-up; recorded with that code) replays without nondeterminism."""
    history = WorkflowHistory.from_json(
        "call-with-liveness-window", (HISTORIES / "call_with_liveness_window.json").read_text()
    )
    await Replayer(workflows=[CallWorkflow]).replay_workflow(history)


async def test_a_history_begun_before_the_liveness_window_replays_on_its_own_path() -> None:
    """A CallWorkflow open when the window was deployed (its 15 s timer re-armed at each of three
    heartbeats, then the hang-up; recorded with that code) replays without nondeterminism."""
    history = WorkflowHistory.from_json(
        "call-before-liveness-window", (HISTORIES / "call_before_liveness_window.json").read_text()
    )
    await Replayer(workflows=[CallWorkflow]).replay_workflow(history)


# The Update path (real dev server, real worker, a live call's actions as the realtime process uses them).


def _call_actions(
    engine: Engine,
    live_call: LiveCall,
    client: Client,
    update_deadline: float = 4.0,
) -> CallActions:
    profile = load_clinic_profile(engine, live_call.clinic.clinic_id)
    return workflow_call_actions(
        engine,
        profile,
        client,
        live_call.call.call_sid,
        call_id=live_call.call.call_id,
        now=lambda: datetime.now(UTC),
        update_deadline=update_deadline,
    )


async def _slots(actions: CallReads, live_call: LiveCall) -> list[SlotOption]:
    day = date.today() + timedelta(days=2)
    return await actions.find_slots(
        SlotQuery(service_id=live_call.clinic.cleaning_id, date_from=day, date_to=day)
    )


async def test_a_retried_booking_update_books_once(
    temporal_env: WorkflowEnvironment, live_call: LiveCall, engine: Engine
) -> None:
    client = temporal_env.client
    async with call_worker(client) as task_queue:
        handle = await start_call(client, live_call.call, task_queue)
        actions = _call_actions(engine, live_call, client)
        slot = (await _slots(actions, live_call))[0]
        booked = await actions.book(slot, PATIENT, live_call.clinic.patient_id)
        # The realtime process retries the same Update (say, after a lost reply): same id, same key.
        again = await handle.execute_update(
            CallWorkflow.book,
            BookRequest(slot_handle(slot), patient_id=live_call.clinic.patient_id),
            id="book-1",
        )
        # A different Update for the same slot is a new booking attempt: the slot is taken.
        with pytest.raises(ActionRefused):
            await actions.book(slot, PATIENT, live_call.clinic.patient_id)
        await actions.hang_up(TURNS, "booked")
        result = await handle.result()

    assert again.id == booked.id and booked.start == slot.start
    [appointment] = _appointments(engine, live_call.clinic.clinic_id)
    assert appointment.id == booked.id and appointment.patient_id == live_call.clinic.patient_id
    assert result.appointment_ids == [booked.id] and result.outcome == "booked"


async def test_a_new_patient_is_registered_by_the_booking_update(
    temporal_env: WorkflowEnvironment, live_call: LiveCall, engine: Engine
) -> None:
    client = temporal_env.client
    async with call_worker(client) as task_queue:
        handle = await start_call(client, live_call.call, task_queue)
        actions = _call_actions(engine, live_call, client)
        slot = (await _slots(actions, live_call))[0]
        booked = await actions.book(slot, PATIENT, None)
        await actions.hang_up([], None)
        result = await handle.result()

    with session_scope(engine) as session:
        patient = session.get(Patient, booked.patient_id)
        assert patient is not None
        assert (patient.first_name, patient.last_name, patient.date_of_birth) == (
            "Sam",
            "Rivera",
            PATIENT.date_of_birth,
        )
    assert _call(engine, live_call.call.call_id).patient_id == booked.patient_id
    assert result.outcome == "booked"


async def test_a_slot_not_offered_is_refused_and_nothing_is_written(
    temporal_env: WorkflowEnvironment, live_call: LiveCall, engine: Engine
) -> None:
    client = temporal_env.client
    async with call_worker(client) as task_queue:
        handle = await start_call(client, live_call.call, task_queue)
        actions = _call_actions(engine, live_call, client)
        offered = (await _slots(actions, live_call))[0]
        never_offered = offered.model_copy(update={"start": offered.start - timedelta(days=1, minutes=7)})
        with pytest.raises(ActionRefused, match="was not returned by get_availability"):
            await actions.book(never_offered, PATIENT, live_call.clinic.patient_id)
        handles = await handle.query(CallWorkflow.offered_handles)
        await actions.hang_up([], None)
        result = await handle.result()

    assert slot_handle(offered) in handles and slot_handle(never_offered) not in handles
    assert _appointments(engine, live_call.clinic.clinic_id) == []
    assert _actions(engine, live_call.call.call_id) == []
    assert result.appointment_ids == [] and result.actions == []
    # The caller hung up with nothing done: the call was dropped.
    assert result.outcome == "dropped" and _call(engine, live_call.call.call_id).outcome == "dropped"


async def _booked_before_the_call(engine: Engine, live_call: LiveCall, patient_id: UUID, index: int) -> UUID:
    """An appointment of `patient_id` made before the call (directly on the database)."""
    setup = database_call_actions(
        engine, load_clinic_profile(engine, live_call.clinic.clinic_id), f"setup-{uuid4()}"
    )
    day = date.today() + timedelta(days=3)
    slots = await setup.find_slots(
        SlotQuery(service_id=live_call.clinic.exam_id, date_from=day, date_to=day + timedelta(days=1))
    )
    return (await setup.book(slots[index], PATIENT, patient_id)).id


def _other_patient(engine: Engine, live_call: LiveCall) -> UUID:
    with session_scope(engine) as session:
        other = Patient(
            clinic_id=live_call.clinic.clinic_id, phone="+15550111999", first_name="Kim", last_name="Roe"
        )
        session.add(other)
        session.flush()
        return other.id


def _calls_blocked(engine: Engine, clinic_id: UUID, phone: str) -> bool:
    with session_scope(engine) as session:
        return blocks(ClinicRepository(session, clinic_id), phone, OptOutChannel.calls)


async def _exams_of_pat_and_another(engine: Engine, live_call: LiveCall) -> tuple[UUID, UUID]:
    """An exam of the call's patient (Pat) and one of another patient, booked before the call."""
    pats_exam = await _booked_before_the_call(engine, live_call, live_call.clinic.patient_id, 0)
    others_exam = await _booked_before_the_call(engine, live_call, _other_patient(engine, live_call), 4)
    return pats_exam, others_exam


async def test_confirm_and_opt_out_write_once_and_only_for_this_calls_patient(
    temporal_env: WorkflowEnvironment, live_call: LiveCall, engine: Engine
) -> None:
    client = temporal_env.client
    pat, clinic_id = live_call.clinic.patient_id, live_call.clinic.clinic_id
    pats_exam, others_exam = await _exams_of_pat_and_another(engine, live_call)
    async with call_worker(client) as task_queue:
        handle = await start_call(client, live_call.call, task_queue)
        actions = _call_actions(engine, live_call, client)
        # Not yet looked up in this call: not confirmable.
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update(CallWorkflow.confirm, ConfirmRequest(pats_exam), id="too-early")
        [upcoming] = await actions.upcoming_appointments(pat)  # the call learns of Pat's appointments
        confirmed = await actions.confirm(upcoming.id)  # Update id confirm-1
        again = await handle.execute_update(CallWorkflow.confirm, ConfirmRequest(pats_exam), id="confirm-1")
        with pytest.raises(ActionRefused, match="not one of this caller's appointments"):
            await actions.confirm(others_exam)

        await actions.opt_out(OptOutChannel.calls, CALLER_NUMBER)
        assert _calls_blocked(engine, clinic_id, CALLER_NUMBER)
        with session_scope(engine) as session:  # the patient opts back in by other means...
            unblock(ClinicRepository(session, clinic_id), CALLER_NUMBER, OptOutChannel.calls)
        # ...and a retried Update (same id) writes nothing again.
        patients = await handle.execute_update(
            CallWorkflow.opt_out, OptOutRequest("calls", CALLER_NUMBER), id="opt_out-1"
        )
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update(CallWorkflow.opt_out, OptOutRequest("fax", CALLER_NUMBER), id="bad")
        await actions.hang_up(TURNS, "opted_out")
        result = await handle.result()

    assert confirmed.status == "confirmed" and again.id == pats_exam and patients == 1
    statuses = {a.id: a.status for a in _appointments(engine, live_call.clinic.clinic_id)}
    assert statuses == {pats_exam: AppointmentStatus.confirmed, others_exam: AppointmentStatus.booked}
    assert not _calls_blocked(engine, clinic_id, CALLER_NUMBER)
    kinds = sorted(a.kind for a in _actions(engine, live_call.call.call_id))
    assert kinds == ["confirm_appointment", "opt_out"]
    assert result.actions == ["confirm", "opt_out"] and result.outcome == "opted_out"


async def test_only_this_calls_patients_appointments_can_be_moved_or_cancelled(
    temporal_env: WorkflowEnvironment, live_call: LiveCall, engine: Engine
) -> None:
    client = temporal_env.client
    pat = live_call.clinic.patient_id
    pats_exam, others_exam = await _exams_of_pat_and_another(engine, live_call)
    async with call_worker(client) as task_queue:
        handle = await start_call(client, live_call.call, task_queue)
        actions = _call_actions(engine, live_call, client)
        slot = (await _slots(actions, live_call))[0]
        with pytest.raises(ActionRefused, match="not one of this caller's appointments"):
            await actions.cancel(others_exam)  # never looked up in this call
        with pytest.raises(ActionRefused, match="not one of this caller's appointments"):
            await actions.reschedule(others_exam, slot)
        await actions.upcoming_appointments(pat)  # identified: the call learns of Pat's appointments
        cancelled = await actions.cancel(pats_exam)
        await actions.hang_up([], "cancelled")
        await handle.result()

    assert cancelled.status == "cancelled"
    statuses = {a.id: a.status for a in _appointments(engine, live_call.clinic.clinic_id)}
    assert statuses == {pats_exam: AppointmentStatus.cancelled, others_exam: AppointmentStatus.booked}


async def test_hang_up_stores_the_transcript_and_starts_the_post_call_child(
    temporal_env: WorkflowEnvironment, live_call: LiveCall, engine: Engine
) -> None:
    client = temporal_env.client
    async with call_worker(client) as task_queue:
        handle = await start_call(client, live_call.call, task_queue)
        actions = _call_actions(engine, live_call, client)
        await actions.take_message("wants a call about a bill", CALLER_NUMBER)
        await actions.end_call("message_taken")
        await actions.hang_up(TURNS, "message_taken", live_call.clinic.patient_id)  # identified caller
        with pytest.raises(ActionRefused, match="already ended"):
            await actions.take_message("too late", CALLER_NUMBER)
        result = await handle.result()
        child_input = await post_call_input(client, result)

    with session_scope(engine) as session:
        turns = list(session.exec(select(CallTurn).where(CallTurn.call_id == live_call.call.call_id)))
    assert sorted((t.index, t.role, t.text, t.heard_text) for t in turns) == [
        (i, t.role, t.text, t.heard_text) for i, t in enumerate(TURNS)
    ]
    row = _call(engine, live_call.call.call_id)
    assert (row.outcome, row.patient_id) == ("message_taken", live_call.clinic.patient_id)
    kinds = sorted(a.kind for a in _actions(engine, live_call.call.call_id))
    assert kinds == ["end_call", "take_message"]
    assert result.actions == ["take_message", "end"] and not result.dropped
    assert child_input == PostCallInput(
        live_call.call.clinic_id, live_call.call.call_id, live_call.call.call_sid
    )


async def test_an_update_past_its_deadline_is_refused_and_later_changes_go_to_the_database(
    temporal_env: WorkflowEnvironment, live_call: LiveCall, engine: Engine
) -> None:
    client = temporal_env.client
    # No worker polls this task queue: the workflow never answers an Update.
    handle = await start_call(client, live_call.call, f"nobody-{uuid4().hex}")
    deadline = 0.5
    actions = _call_actions(engine, live_call, client, update_deadline=deadline)
    slot = (await _slots(actions.reads, live_call))[0]  # read directly: book is the first Update
    started = time.perf_counter()
    with pytest.raises(ActionRefused) as refused:
        await actions.book(slot, PATIENT, live_call.clinic.patient_id)
    waited = time.perf_counter() - started
    assert str(refused.value) == UNAVAILABLE and deadline <= waited < deadline + 1.0
    assert actions.fell_back

    # The caller leaves a message: written straight to the database, without waiting on the workflow.
    started = time.perf_counter()
    await actions.take_message("wants a cleaning next week", CALLER_NUMBER)
    assert time.perf_counter() - started < deadline
    await actions.hang_up(TURNS, "message_taken")
    await handle.terminate("test over: no worker will ever run it")

    [message] = _actions(engine, live_call.call.call_id)
    assert message.kind == "take_message" and message.payload["callback_number"] == CALLER_NUMBER
    reason = message.payload["reason"]
    assert reason.startswith("wants a cleaning next week") and "a booking" in reason and "unknown" in reason
    assert _appointments(engine, live_call.clinic.clinic_id) == []
    row = _call(engine, live_call.call.call_id)  # the transcript did not wait for the workflow either
    assert row.outcome == "message_taken" and row.ended_at is not None
    with session_scope(engine) as session:
        turns = session.exec(select(CallTurn).where(CallTurn.call_id == live_call.call.call_id)).all()
    assert len(turns) == len(TURNS)


async def test_update_round_trip(temporal_env: WorkflowEnvironment, live_call: LiveCall) -> None:
    """Prints the Update round trip as the realtime process sees it (a figure, not an assertion)."""
    client = temporal_env.client
    async with call_worker(client) as task_queue:
        handle = await start_call(client, live_call.call, task_queue)
        figures: dict[str, list[float]] = {"offer_slots": [], "take_message": []}
        for i in range(ROUND_TRIPS):
            started = time.perf_counter()
            await handle.execute_update(CallWorkflow.offer_slots, [])
            figures["offer_slots"].append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            await handle.execute_update(
                CallWorkflow.take_message, MessageRequest(f"message {i}", CALLER_NUMBER)
            )
            figures["take_message"].append((time.perf_counter() - started) * 1000)
        await handle.signal(CallWorkflow.hang_up, HangUpRequest())
        result = await handle.result()

    for name, samples in figures.items():
        cuts = statistics.quantiles(samples, n=20)
        print(
            f"update round trip {name}: p50 {statistics.median(samples):.1f} ms, p95 {cuts[18]:.1f} ms "
            f"over {len(samples)}"
        )
    assert result.actions == ["take_message"] * ROUND_TRIPS
