"""A whole spoken booking call with tracing on is one trace: from the voice webhook's request,
through the media session's turns and their CallWorkflow Updates, to the post-call workflow's
confirmation SMS; and nothing in it names the caller or quotes them."""

from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from uuid import uuid4

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.util.types import Attributes
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from frontdesk.caller.conversation import CallOptions, run_call
from frontdesk.config import Settings, get_settings
from frontdesk.domain.models import Clinic
from frontdesk.domain.seed import DEMO_NUMBER
from frontdesk.realtime.metrics import STAGES
from frontdesk.realtime.speech.piper_tts import PiperTextToSpeech
from frontdesk.realtime.turn.traces import SpeechEnd
from frontdesk.temporal_client import connect_settings
from frontdesk.tracing import CALL_SID, CLINIC_ID, temporal_interceptors
from frontdesk.worker import build_worker
from frontdesk.worker_registry import WORKFLOWS
from frontdesk.workflows.call import post_call_workflow_id
from tests.realtime.booking_call import CALLER, booking_steps, voice_stack, workflows_done
from tests.realtime.stored_calls import stored_call
from tests.temporal_fixtures import temporal_address, temporal_env
from tests.tracing_fixtures import Traced, traced

__all__ = ["temporal_env", "traced"]

pytestmark = [pytest.mark.parametrize("database_url", ["sqlite"], indirect=True), pytest.mark.slow]

# What no span may carry: the caller's name, number, date of birth and words.
PATIENT_DATA = [
    "Lopez",
    "Ana ",
    "5550199001",
    "1988",
    "March",
    "teeth cleaning",
    "Tuesday morning",
    "first one",
]


@dataclass(frozen=True)
class TracedStack:
    url: str
    settings: Settings
    client: Client


@pytest.fixture
async def stack(
    traced: Traced,
    temporal_env: WorkflowEnvironment,
    database_url: str,
    demo_clinic: Clinic,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[TracedStack]:
    """The webhooks, the media socket and a worker as the processes make them with tracing on:
    apps from create_service_app, the worker on a client of `connect_settings`."""
    monkeypatch.setenv("FRONTDESK_DATABASE_URL", database_url)  # activities read the settings
    get_settings.cache_clear()
    base = Settings(
        database_url=database_url,
        temporal_address=temporal_address(temporal_env),
        temporal_task_queue=f"traced-{uuid4().hex}",
        call_idle_seconds=3.0,
    )
    client = await connect_settings(base, within=10.0)
    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="activity") as executor:
        async with (
            build_worker(client, base.temporal_task_queue, executor, base),
            voice_stack(base, "traced test stack") as settings,
        ):
            yield TracedStack(settings.public_base_url, settings, client)
    get_settings.cache_clear()


def named(spans: Sequence[ReadableSpan], name: str) -> list[ReadableSpan]:
    return [span for span in spans if span.name == name]


def strings(attributes: Attributes) -> list[str]:
    """Every string an attribute set holds, in lists too."""
    found: list[str] = []
    for value in (attributes or {}).values():
        items = value if isinstance(value, tuple | list) else [value]
        found += [item for item in items if isinstance(item, str)]
    return found


async def test_a_booking_call_is_one_trace_from_the_webhook_to_the_confirmation_sms(
    stack: TracedStack, traced: Traced, tts: PiperTextToSpeech, engine: Engine, demo_clinic: Clinic
) -> None:
    options = CallOptions(base_url=stack.url, to=DEMO_NUMBER, caller=CALLER, steps=booking_steps())
    result, _recording = await run_call(stack.settings, options, tts)
    row, turns = await stored_call(engine, result.call_sid)
    assert row.outcome == "booked", "\n".join(f"{t.role.value}: {t.text}" for t in turns)
    _, post_call = await workflows_done(stack.client, result.call_sid)
    assert post_call.messages_sent >= 1
    post_call_id = post_call_workflow_id(result.call_sid)

    def session_over(spans: Sequence[ReadableSpan]) -> bool:  # it ends as the media server's side does
        return any(span.attributes.get(CALL_SID) == result.call_sid for span in named(spans, "media.call"))

    spans = await traced.spans_once(session_over, "media.call span")
    [webhook] = [
        s for s in named(spans, "POST /twilio/voice") if s.attributes.get(CALL_SID) == result.call_sid
    ]
    assert webhook.parent is None and webhook.attributes[CLINIC_ID] == str(demo_clinic.id)
    trace_id = webhook.context.trace_id
    call = [span for span in spans if span.context.trace_id == trace_id]
    # Every other span is the carrier's status callbacks': requests of their own, traces of their own.
    others = {span.name for span in spans if span.context.trace_id != trace_id and span.parent is None}
    assert others <= {"POST /twilio/status"}, others

    by_id = {span.context.span_id: span for span in call}
    [session] = named(call, "media.call")
    assert session.parent is not None and session.parent.span_id == webhook.context.span_id
    assert session.attributes[CALL_SID] == result.call_sid
    assert session.attributes["frontdesk.call.outcome"] == "booked"
    for name in [
        "StartWorkflow:CallWorkflow",
        "RunWorkflow:CallWorkflow",
        "media.speech",  # the greeting
        "StartWorkflowUpdate:offer_slots",
        "HandleUpdate:book",
        "RunActivity:book_appointment",
        "SignalWorkflow:hang_up",
        "RunActivity:store_call_transcript",
        "StartChildWorkflow:PostCallWorkflow",
        "RunWorkflow:PostCallWorkflow",
        "CompleteWorkflow:PostCallWorkflow",
    ]:
        assert named(call, name), f"no {name} span in the call's trace: {sorted({s.name for s in call})}"
    [sms] = [
        s
        for s in named(call, "RunActivity:send_patient_message")
        if s.attributes["temporalActivityID"].startswith("confirm-sms/")
    ]
    assert sms.attributes["temporalWorkflowID"] == post_call_id

    # One span per caller turn answered, with its stages; the booking's Update is inside its turn.
    replies = named(call, "media.turn")
    assert len(replies) >= 4
    for reply in replies:
        assert reply.parent is not None and reply.parent.span_id == session.context.span_id
        assert reply.attributes["frontdesk.turn.end"] in set(SpeechEnd)
    heard = [r for r in replies if r.attributes["frontdesk.turn.end"] == SpeechEnd.played]
    assert heard
    for reply in heard:
        assert {"stt_final", "llm_first_token", "tts_first_audio", "first_frame_sent"} <= {
            event.name for event in reply.events
        }
        assert all(event.name in STAGES for event in reply.events)
        # Each stage at its moment: ms after the caller's end of speech, where the span starts.
        for event in reply.events:
            assert event.attributes is not None and reply.start_time is not None
            moment = reply.start_time + round(float(event.attributes["ms"]) * 1e6)
            assert event.timestamp == moment and event.timestamp <= (reply.end_time or 0)
        assert reply.attributes["frontdesk.timings.first_frame_sent"] > 0
    [book] = named(call, "StartWorkflowUpdate:book")
    assert book.parent is not None and by_id[book.parent.span_id].name == "media.turn"

    for span in spans:
        said = [span.name, span.status.description or "", *strings(span.attributes)]
        said += [text for event in span.events for text in [event.name, *strings(event.attributes)]]
        for secret in PATIENT_DATA:
            assert not any(secret in text for text in said), f"{secret!r} in span {span.name}"

    # Replayed with the tracing interceptor, the call's workflows are deterministic and trace nothing again.
    before = len(traced.spans())
    replayer = Replayer(workflows=WORKFLOWS, interceptors=temporal_interceptors())
    for workflow_id in (result.call_sid, post_call_id):
        await replayer.replay_workflow(await stack.client.get_workflow_handle(workflow_id).fetch_history())
    assert len(traced.spans()) == before
