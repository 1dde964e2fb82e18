"""The voice and status webhooks through the real API app: signatures, TwiML, Call rows, bad input."""

import json
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from uuid import uuid4

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment

from frontdesk.api.app import create_app
from frontdesk.config import Settings
from frontdesk.domain.models import Call, CallDirection, CallStatus, Clinic
from frontdesk.domain.seed import DEMO_NUMBER
from frontdesk.telephony.twilio.signatures import SIGNATURE_HEADER, sign
from frontdesk.telephony.twilio.voice_webhooks import NOT_IN_SERVICE
from tests.realtime.call_worker import UNREACHABLE_TEMPORAL
from tests.temporal_fixtures import temporal_address, temporal_env

__all__ = ["temporal_env"]

PUBLIC = "https://frontdesk.example.com"
CALLER = "+15550142222"
CALL_SID = "CA" + "1f" * 16


@pytest.fixture
def settings(database_url: str, temporal_env: WorkflowEnvironment) -> Settings:
    """Offline settings (no Twilio token: the dev token signs), served at a public https address,
    starting call workflows on the dev server on a task queue no worker polls (they stay running)."""
    return Settings(
        database_url=database_url,
        public_base_url=PUBLIC,
        temporal_address=temporal_address(temporal_env),
        temporal_task_queue=f"webhook-test-{uuid4().hex}",
    )


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the real API app; its own address differs from the public one, as behind a proxy."""
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://10.0.0.7:8000") as http:
        yield http


def voice_form(to: str = DEMO_NUMBER, call_sid: str = CALL_SID) -> dict[str, str]:
    """The fields Twilio posts when a call comes in."""
    return {
        "CallSid": call_sid,
        "AccountSid": "AC" + "0" * 32,
        "From": CALLER,
        "To": to,
        "Direction": "inbound",
        "CallStatus": "ringing",
    }


async def post_signed(
    client: httpx.AsyncClient,
    settings: Settings,
    path: str,
    form: dict[str, str],
    signature: str | None = None,
) -> httpx.Response:
    """POST `form` to `path`, signed as Twilio signs the public URL (or with `signature`)."""
    header = signature if signature is not None else sign(settings, PUBLIC + path, form)
    return await client.post(path, data=form, headers={SIGNATURE_HEADER: header})


def calls(engine: Engine) -> list[Call]:
    """Every Call row."""
    with Session(engine) as session:
        return list(session.exec(select(Call)))


async def test_the_call_workflow_starts_once_per_call_sid(
    client: httpx.AsyncClient,
    settings: Settings,
    engine: Engine,
    demo_clinic: Clinic,
    temporal_env: WorkflowEnvironment,
) -> None:
    call_sid = "CA" + uuid4().hex
    for _ in range(2):  # Twilio retries the webhook: the same call, the same workflow run
        assert (
            await post_signed(client, settings, "/twilio/voice", voice_form(call_sid=call_sid))
        ).is_success
    [call] = [c for c in calls(engine) if c.call_sid == call_sid]
    handle = temporal_env.client.get_workflow_handle(call_sid)
    description = await handle.describe()
    assert (
        description.workflow_type == "CallWorkflow" and description.task_queue == settings.temporal_task_queue
    )
    history = [event async for event in handle.fetch_history_events()]
    [started] = [e for e in history if e.HasField("workflow_execution_started_event_attributes")]
    [payload] = started.workflow_execution_started_event_attributes.input.payloads
    assert json.loads(payload.data) == {
        "clinic_id": str(call.clinic_id),
        "call_id": str(call.id),
        "call_sid": call_sid,
        "clock_offset_seconds": 0.0,  # a real call runs on real time
        "max_call_seconds": demo_clinic.max_call_seconds,  # the workflow's longest wait for the call
    }
    await handle.terminate("test over")


async def test_the_carriers_word_that_a_stream_or_call_ended_reaches_the_call_workflow(
    client: httpx.AsyncClient,
    settings: Settings,
    demo_clinic: Clinic,
    temporal_env: WorkflowEnvironment,
) -> None:
    call_sid = "CA" + uuid4().hex
    assert (await post_signed(client, settings, "/twilio/voice", voice_form(call_sid=call_sid))).is_success
    stream = {"CallSid": call_sid, "StreamSid": "MZ" + "3" * 32}
    status = {"CallSid": call_sid, "From": CALLER, "To": DEMO_NUMBER, "Direction": "inbound"}

    for form in (
        stream | {"StreamEvent": "stream-started"},  # not an end: nothing told
        stream | {"StreamEvent": "stream-stopped"},
        status | {"CallStatus": "in-progress"},  # not an end either
        status | {"CallStatus": "completed"},
    ):
        assert (await post_signed(client, settings, "/twilio/status", form)).status_code == 204

    handle = temporal_env.client.get_workflow_handle(call_sid)
    history = [event async for event in handle.fetch_history_events()]
    signals = [
        e.workflow_execution_signaled_event_attributes.signal_name
        for e in history
        if e.HasField("workflow_execution_signaled_event_attributes")
    ]
    assert signals == ["carrier_ended", "carrier_ended"]
    await handle.terminate("test over")


async def test_the_carriers_word_about_a_finished_call_workflow_is_no_error(
    client: httpx.AsyncClient, settings: Settings, demo_clinic: Clinic, temporal_env: WorkflowEnvironment
) -> None:
    call_sid = "CA" + uuid4().hex
    assert (await post_signed(client, settings, "/twilio/voice", voice_form(call_sid=call_sid))).is_success
    await temporal_env.client.get_workflow_handle(call_sid).terminate("the call's workflow is over")

    event = {"CallSid": call_sid, "StreamSid": "MZ" + "4" * 32, "StreamEvent": "stream-stopped"}
    assert (await post_signed(client, settings, "/twilio/status", event)).status_code == 204


async def test_a_call_is_answered_while_temporal_is_down(
    database_url: str, engine: Engine, demo_clinic: Clinic
) -> None:
    settings = Settings(
        database_url=database_url, public_base_url=PUBLIC, temporal_address=UNREACHABLE_TEMPORAL
    )
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://10.0.0.7:8000") as http:
        response = await post_signed(http, settings, "/twilio/voice", voice_form())
    assert response.status_code == 200 and "<Stream" in response.text  # the media server tries again
    assert [call.call_sid for call in calls(engine)] == [CALL_SID]


async def test_valid_call_gets_stream_twiml_and_a_call_row(
    client: httpx.AsyncClient, settings: Settings, engine: Engine, demo_clinic: Clinic
) -> None:
    response = await post_signed(client, settings, "/twilio/voice", voice_form())

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    [call] = calls(engine)
    assert (call.clinic_id, call.call_sid, call.direction) == (
        demo_clinic.id,
        CALL_SID,
        CallDirection.inbound,
    )
    assert (call.from_number, call.to_number, call.status) == (CALLER, DEMO_NUMBER, CallStatus.ringing)
    root = ET.fromstring(response.text)
    stream = root.find("./Connect/Stream")
    assert stream is not None
    assert stream.get("url") == "wss://frontdesk.example.com/media"
    assert stream.get("statusCallback") == f"{PUBLIC}/twilio/status"
    parameters = {p.get("name"): p.get("value") for p in stream.findall("Parameter")}
    assert parameters == {
        "clinic_id": str(demo_clinic.id),
        "call_id": str(call.id),
        "direction": "inbound",
        "caller": CALLER,
        "called": DEMO_NUMBER,
    }


async def test_retried_webhook_records_one_call(
    client: httpx.AsyncClient, settings: Settings, engine: Engine, demo_clinic: Clinic
) -> None:
    first = await post_signed(client, settings, "/twilio/voice", voice_form())
    second = await post_signed(client, settings, "/twilio/voice", voice_form())

    assert first.status_code == second.status_code == 200
    assert first.text == second.text  # the same call_id parameter both times
    assert len(calls(engine)) == 1


@pytest.mark.parametrize("signature", ["", "bm90IGEgc2lnbmF0dXJl", "forged-by-the-wrong-key"])
async def test_forged_signature_is_refused_and_records_nothing(
    client: httpx.AsyncClient, settings: Settings, engine: Engine, demo_clinic: Clinic, signature: str
) -> None:
    if signature == "forged-by-the-wrong-key":
        other = settings.model_copy(update={"twilio_dev_auth_token": settings.secret_key})
        signature = sign(other, PUBLIC + "/twilio/voice", voice_form())

    response = await post_signed(client, settings, "/twilio/voice", voice_form(), signature=signature)

    assert response.status_code == 403
    assert "X-Twilio-Signature" in response.text
    assert calls(engine) == []


async def test_signature_over_other_fields_is_refused(
    client: httpx.AsyncClient, settings: Settings, engine: Engine, demo_clinic: Clinic
) -> None:
    tampered = voice_form() | {"From": "+15550149999"}
    response = await post_signed(
        client,
        settings,
        "/twilio/voice",
        tampered,
        signature=sign(settings, PUBLIC + "/twilio/voice", voice_form()),
    )
    assert response.status_code == 403
    assert calls(engine) == []


async def test_configured_auth_token_replaces_the_dev_token(database_url: str, demo_clinic: Clinic) -> None:
    settings = Settings(
        database_url=database_url,
        public_base_url=PUBLIC,
        twilio_auth_token="account-token",
        temporal_address=UNREACHABLE_TEMPORAL,
    )
    dev_signed = sign(Settings(public_base_url=PUBLIC), PUBLIC + "/twilio/voice", voice_form())
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        refused = await post_signed(client, settings, "/twilio/voice", voice_form(), signature=dev_signed)
        accepted = await post_signed(client, settings, "/twilio/voice", voice_form())
    assert (refused.status_code, accepted.status_code) == (403, 200)


async def test_unknown_number_gets_a_polite_message(
    client: httpx.AsyncClient, settings: Settings, engine: Engine, demo_clinic: Clinic
) -> None:
    response = await post_signed(client, settings, "/twilio/voice", voice_form(to="+15550177777"))

    assert response.status_code == 200
    root = ET.fromstring(response.text)
    assert [child.tag for child in root] == ["Say", "Hangup"]
    assert root.findtext("Say") == NOT_IN_SERVICE
    assert calls(engine) == []


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"CallSid": "not-a-sid"}, "CallSid"),
        ({"To": "5550100000"}, "To"),
        ({"Direction": "sideways"}, "Direction"),
        ({"CallStatus": "exploded"}, "CallStatus"),
        ({"From": None}, "From"),
    ],
)
async def test_bad_fields_get_400_naming_them(
    client: httpx.AsyncClient,
    settings: Settings,
    engine: Engine,
    demo_clinic: Clinic,
    change: dict[str, str | None],
    complaint: str,
) -> None:
    form = {key: value for key, value in (voice_form() | change).items() if value is not None}
    response = await post_signed(client, settings, "/twilio/voice", form)
    assert response.status_code == 400
    assert complaint in response.json()["detail"]
    assert calls(engine) == []


async def test_status_callbacks_update_the_call(
    client: httpx.AsyncClient, settings: Settings, engine: Engine, demo_clinic: Clinic
) -> None:
    await post_signed(client, settings, "/twilio/voice", voice_form())
    status = {"CallSid": CALL_SID, "From": CALLER, "To": DEMO_NUMBER, "Direction": "inbound"}

    in_progress = await post_signed(
        client, settings, "/twilio/status", status | {"CallStatus": "in-progress"}
    )
    [call] = calls(engine)
    assert (in_progress.status_code, call.status, call.ended_at) == (204, CallStatus.in_progress, None)

    ended = "Tue, 10 Aug 2021 14:00:00 +0000"
    completed = await post_signed(
        client, settings, "/twilio/status", status | {"CallStatus": "completed", "Timestamp": ended}
    )
    late = await post_signed(client, settings, "/twilio/status", status | {"CallStatus": "ringing"})
    [call] = calls(engine)
    assert (completed.status_code, late.status_code) == (204, 204)
    assert call.status is CallStatus.completed  # a late, earlier status does not reopen the call
    assert call.ended_at is not None and call.ended_at.isoformat() == "2021-08-10T14:00:00+00:00"


async def test_status_callback_checks_signature_and_call(
    client: httpx.AsyncClient, settings: Settings, engine: Engine, demo_clinic: Clinic
) -> None:
    await post_signed(client, settings, "/twilio/voice", voice_form())
    status = {"CallSid": CALL_SID, "To": DEMO_NUMBER, "CallStatus": "completed"}

    forged = await post_signed(client, settings, "/twilio/status", status, signature="AAAA")
    unknown = await post_signed(client, settings, "/twilio/status", status | {"CallSid": "CA" + "e" * 32})
    bad = await post_signed(client, settings, "/twilio/status", status | {"Timestamp": "yesterday"})

    assert (forged.status_code, unknown.status_code, bad.status_code) == (403, 404, 400)
    assert "Timestamp" in bad.json()["detail"]
    [call] = calls(engine)
    assert call.status is CallStatus.ringing and call.ended_at is None


async def test_stream_status_events_are_accepted(
    client: httpx.AsyncClient, settings: Settings, demo_clinic: Clinic
) -> None:
    event = {
        "CallSid": CALL_SID,
        "StreamSid": "MZ" + "2" * 32,
        "StreamEvent": "stream-error",
        "StreamError": "x",
    }
    accepted = await post_signed(client, settings, "/twilio/status", event)
    rejected = await post_signed(
        client, settings, "/twilio/status", event | {"StreamEvent": "stream-exploded"}
    )
    assert (accepted.status_code, rejected.status_code) == (204, 400)


async def test_body_that_is_not_a_form_gets_400(client: httpx.AsyncClient) -> None:
    response = await client.post("/twilio/voice", content=b"\xff\xfe{", headers={SIGNATURE_HEADER: "x"})
    assert response.status_code == 400


async def test_a_call_clock_is_refused_unless_the_stack_allows_it(
    client: httpx.AsyncClient, settings: Settings, engine: Engine, demo_clinic: Clinic
) -> None:
    path = "/twilio/voice?clock=2026-11-23T09:30:00-05:00"
    response = await post_signed(client, settings, path, voice_form())

    assert response.status_code == 400
    assert "FRONTDESK_CALL_CLOCK_OVERRIDE is off" in response.text
    assert calls(engine) == []


@pytest.mark.parametrize(
    ("clock", "problem"),
    [("yesterday", "ISO 8601"), ("2026-11-23T09:30:00", "UTC offset"), ("2999-01-01T00:00:00Z", "ten years")],
)
async def test_a_bad_call_clock_gets_400_saying_why(
    settings: Settings, engine: Engine, demo_clinic: Clinic, clock: str, problem: str
) -> None:
    allowed = settings.model_copy(update={"call_clock_override": True})
    transport = httpx.ASGITransport(app=create_app(allowed))
    async with httpx.AsyncClient(transport=transport, base_url="http://10.0.0.7:8000") as http:
        response = await post_signed(http, allowed, f"/twilio/voice?clock={clock}", voice_form())

    assert response.status_code == 400 and problem in response.text
    assert calls(engine) == []


async def test_an_allowed_call_clock_reaches_the_stream_and_the_workflow(
    settings: Settings, engine: Engine, demo_clinic: Clinic, temporal_env: WorkflowEnvironment
) -> None:
    allowed = settings.model_copy(update={"call_clock_override": True})
    call_sid = "CA" + uuid4().hex  # the workflow id: one per database run
    transport = httpx.ASGITransport(app=create_app(allowed))
    async with httpx.AsyncClient(transport=transport, base_url="http://10.0.0.7:8000") as http:
        response = await post_signed(
            http, allowed, "/twilio/voice?clock=2020-01-06T09:30:00-05:00", voice_form(call_sid=call_sid)
        )

    assert response.status_code == 200
    stream = ET.fromstring(response.text).find("./Connect/Stream")
    assert stream is not None
    parameters = {p.get("name"): p.get("value") for p in stream.findall("Parameter")}
    offset = float(parameters["clock_offset"])
    assert offset < -5 * 365 * 86400  # the call runs years in the past
    handle = temporal_env.client.get_workflow_handle(call_sid)
    history = [event async for event in handle.fetch_history_events()]
    [started] = [e for e in history if e.HasField("workflow_execution_started_event_attributes")]
    [payload] = started.workflow_execution_started_event_attributes.input.payloads
    assert json.loads(payload.data)["clock_offset_seconds"] == offset
    await handle.terminate("test over")
