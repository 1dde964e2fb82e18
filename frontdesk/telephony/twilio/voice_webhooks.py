"""Twilio's voice webhooks: `POST /twilio/voice` answers a call, `POST /twilio/status` records its
progress, `POST /twilio/amd` acts on answering-machine detection's verdict on a campaign call.

Each checks X-Twilio-Signature first (403 otherwise), then the form fields (400 with what is wrong).
The voice webhook finds the clinic by the dialled number, records the Call row (once, however
often Twilio retries) and answers TwiML that connects the call to the media socket:

    <Response><Connect><Stream url="wss://{public host}/media" statusCallback=".../twilio/status">
        <Parameter name="clinic_id" .../> call_id, direction, caller, called (traceparent, traced)
    </Stream></Connect></Response>

A number no clinic owns gets a polite spoken message and a hang-up. The stream's statusCallback
brings stream events (logged); the call's own status callbacks come from the phone number's
configuration in Twilio, pointed at the same URL. The webhook also starts the call's
CallWorkflow (workflow id = CallSid, with the clinic's maximum call length), which owns every
change the call makes. A stream that stopped or failed, and a call's final status, are signalled
to that workflow (`carrier_ended`): they are how it learns that a media process died with a call
(workflows/call.py, "Liveness"). A campaign call's
status URL names the dialler's attempt (`?attempt=` its idempotency key): when its first status
arrives before the dialler recorded the call, the new row is tied to that attempt's pending
record, so a dialler that lost Twilio's answer adopts the call.

Campaign calls run answering-machine detection asynchronously (frontdesk.telephony.twilio.outbound),
so the voice webhook connects them to the agent at once, as any call, and the patient who picks up
hears the agent without a wait. The verdict comes later to the AMD callback, whose URL names the
target: for a machine (once its greeting has ended) the call's row records a voicemail and the
live call is redirected through the REST API to the campaign's voicemail message and a hang-up,
which ends the media stream; a fax is hung up on; a person (or no verdict) changes nothing. Only
that redirect needs Twilio's credentials: a stack without them (offline, whose local carrier never
sends a verdict) answers the callback 501, and a redirect Twilio refuses is answered 502, so
either shows in Twilio's debugger. A voice webhook that does carry a machine's AnsweredBy
(synchronous detection) is still answered with the voicemail TwiML.
"""

import uuid
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Annotated, Final, Literal, TypeVar

from fastapi import APIRouter, HTTPException, Request, Response
from opentelemetry import trace
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_pascal
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from temporalio.service import RPCError, RPCStatusCode
from twilio.twiml.voice_response import VoiceResponse

from frontdesk.api.backends import Backends, get_backends
from frontdesk.config import Settings
from frontdesk.domain.call_clock import CLOCK_QUERY, CallClockError, clock_offset
from frontdesk.domain.campaigns import (
    CALL_ENDED_SIGNAL,
    OutboundContext,
    outbound_call_workflow_id,
    outbound_context,
)
from frontdesk.domain.database import session_scope, write_scope
from frontdesk.domain.errors import NotFound
from frontdesk.domain.models import ActionStatus, Call, CallDirection, CallStatus, check_e164, utcnow
from frontdesk.domain.outcomes import Outcome
from frontdesk.domain.repository import ClinicRepository, clinic_by_phone_number
from frontdesk.logs import get_logger
from frontdesk.telephony.public_urls import public_url, websocket_url
from frontdesk.telephony.twilio.protocol import (
    AMD_PATH,
    APPOINTMENT_PARAMETER,
    ATTEMPT_QUERY,
    CALL_PARAMETER,
    CALLED_PARAMETER,
    CALLER_PARAMETER,
    CAMPAIGN_KIND_PARAMETER,
    CLINIC_PARAMETER,
    CLOCK_OFFSET_PARAMETER,
    DIRECTION_PARAMETER,
    MEDIA_PATH,
    PURPOSE_PARAMETER,
    STATUS_PATH,
    TARGET_QUERY,
    TRACE_PARAMETER,
    VOICE_PATH,
)
from frontdesk.telephony.twilio.rest import TelephonyError, TwilioCalls, voicemail_twiml
from frontdesk.telephony.twilio.signatures import parse_form, webhook_signature_valid
from frontdesk.temporal_client import TemporalUnavailableError
from frontdesk.tracing import call_attributes, current_traceparent
from frontdesk.workflows.call import CallWorkflow
from frontdesk.workflows.inputs import CallInput
from frontdesk.workflows.launch import START_WITHIN_S, start_call_workflow

NOT_IN_SERVICE: Final = (
    "We're sorry, the number you have dialed is not in service. "
    "Please check the number and try again. Goodbye."
)
FINAL_STATUSES: Final = frozenset(
    {CallStatus.completed, CallStatus.busy, CallStatus.failed, CallStatus.no_answer, CallStatus.canceled}
)
TWIML_MEDIA_TYPE: Final = "application/xml"

_log = get_logger(__name__)


def _direction(value: object) -> CallDirection:
    # Twilio says inbound, outbound-api or outbound-dial.
    if value == "inbound":
        return CallDirection.inbound
    if isinstance(value, str) and value.startswith("outbound"):
        return CallDirection.outbound
    raise ValueError("must be inbound, outbound-api or outbound-dial")


def _timestamp(value: object) -> datetime:
    try:
        return parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        raise ValueError("must be an RFC 2822 date like 'Tue, 10 Aug 2021 14:00:00 +0000'") from None


TwilioCallSid = Annotated[str, Field(pattern=r"^CA[0-9a-fA-F]{32}$")]
E164Number = Annotated[str, AfterValidator(lambda value: check_e164(value, "the number"))]
Direction = Annotated[CallDirection, BeforeValidator(_direction)]
Timestamp = Annotated[datetime, BeforeValidator(_timestamp)]


class _TwilioForm(BaseModel):
    # Twilio's fields are PascalCase: call_sid <- CallSid.
    model_config = ConfigDict(extra="ignore", frozen=True, alias_generator=to_pascal)


class VoiceForm(_TwilioForm):
    """The fields of Twilio's voice webhook that we use."""

    call_sid: TwilioCallSid
    from_number: str = Field(alias="From", min_length=1, max_length=32)  # or "anonymous" when withheld
    to_number: E164Number = Field(alias="To")
    direction: Direction = CallDirection.inbound
    call_status: CallStatus = CallStatus.ringing
    # Answering-machine detection's verdict on an outbound call: human, machine_end_beep, fax...
    answered_by: str | None = Field(default=None, max_length=64)

    def clinic_number(self) -> str:
        """The clinic's side of the call: the dialled number inbound, the caller id outbound."""
        return self.to_number if self.direction is CallDirection.inbound else self.from_number

    def reached_a_machine(self) -> bool:
        """Whether answering-machine detection heard a machine (or a fax) rather than a person."""
        return self.answered_by is not None and self.answered_by.startswith(("machine", "fax"))


class CallStatusForm(_TwilioForm):
    """A call status callback."""

    call_sid: TwilioCallSid
    call_status: CallStatus
    from_number: str = Field(alias="From", default="", max_length=32)
    to_number: str = Field(alias="To", default="", max_length=32)
    direction: Direction = CallDirection.inbound
    timestamp: Timestamp | None = None

    def clinic_number(self) -> str:
        """The clinic's side of the call: the dialled number inbound, the caller id outbound."""
        return self.to_number if self.direction is CallDirection.inbound else self.from_number


class StreamStatusForm(_TwilioForm):
    """A <Stream statusCallback> event: stream-started, stream-stopped or stream-error."""

    call_sid: TwilioCallSid
    stream_sid: str = Field(min_length=1, max_length=64)
    stream_event: str = Field(pattern=r"^stream-(started|stopped|error)$")
    stream_error: str = Field(default="", max_length=500)


# What answering-machine detection can answer. Campaign calls use DetectMessageEnd, so a machine's
# verdict is one of the machine_end values, sent once its greeting (and beep) is over: the moment
# to leave a message. machine_start comes only from the Enable mode, before the greeting ends.
AnsweredBy = Literal[
    "human", "machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other", "fax", "unknown"
]
GREETING_ENDED: Final = frozenset({"machine_end_beep", "machine_end_silence", "machine_end_other"})


class AmdForm(_TwilioForm):
    """Asynchronous answering-machine detection's verdict on a call."""

    call_sid: TwilioCallSid
    answered_by: AnsweredBy
    machine_detection_duration: int | None = Field(default=None, ge=0)  # milliseconds


Form = TypeVar("Form", bound="_TwilioForm")


def _parse(model: type[Form], form: FormData) -> Form:
    """The form as `model`, or 400 naming each bad or missing field."""
    try:
        return model.model_validate({key: form[key] for key in form})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors()
        )
        raise HTTPException(400, f"bad Twilio form fields: {problems}") from None


async def _signed_form(request: Request, settings: Settings) -> FormData:
    """The request's form fields, once its X-Twilio-Signature is checked (403 otherwise)."""
    try:
        form = parse_form(await request.body())
    except (UnicodeDecodeError, ValueError):
        raise HTTPException(400, "the body must be application/x-www-form-urlencoded") from None
    if not webhook_signature_valid(settings, request, form):
        _log.warning("twilio.forged_webhook", path=request.url.path)
        raise HTTPException(403, "invalid X-Twilio-Signature")
    return form


def _twiml(response: VoiceResponse) -> Response:
    return Response(str(response), media_type=TWIML_MEDIA_TYPE)


def not_in_service_twiml() -> VoiceResponse:
    """The answer to a number no clinic owns: a polite message, then hang up."""
    response = VoiceResponse()
    response.say(NOT_IN_SERVICE)
    response.hangup()
    return response


def stream_twiml(
    settings: Settings,
    call: Call,
    outbound: OutboundContext | None = None,
    clock_offset: float = 0.0,
    trace_parent: str | None = None,
) -> VoiceResponse:
    """<Connect><Stream> to the media socket, with the call's parameters and the status callback.

    The caller parameter is always the patient's number, the called one the clinic's; a campaign
    call also carries its purpose, appointment and campaign kind, a call placed at another
    moment (frontdesk.domain.call_clock) its clock offset, and a traced call the trace context
    its media session continues."""
    response = VoiceResponse()
    stream = response.connect().stream(
        url=websocket_url(settings, MEDIA_PATH),
        status_callback=public_url(settings, STATUS_PATH),
        status_callback_method="POST",
    )
    inbound = call.direction is CallDirection.inbound
    parameters = {
        CLINIC_PARAMETER: str(call.clinic_id),
        CALL_PARAMETER: str(call.id),
        DIRECTION_PARAMETER: call.direction.value,
        CALLER_PARAMETER: call.from_number if inbound else call.to_number,
        CALLED_PARAMETER: call.to_number if inbound else call.from_number,
    }
    if outbound is not None:
        parameters[PURPOSE_PARAMETER] = outbound.purpose
        parameters[CAMPAIGN_KIND_PARAMETER] = outbound.kind.value
        if outbound.appointment_id is not None:
            parameters[APPOINTMENT_PARAMETER] = str(outbound.appointment_id)
    if clock_offset:
        parameters[CLOCK_OFFSET_PARAMETER] = repr(clock_offset)
    if trace_parent:
        parameters[TRACE_PARAMETER] = trace_parent
    for name, value in parameters.items():
        stream.parameter(name=name, value=value)
    return response


def record_call(engine: Engine, clinic_id: uuid.UUID, form: VoiceForm) -> Call:
    """The Call row of this call sid, created on the first webhook and reused by Twilio's retries."""
    try:
        # A write transaction from the start: on SQLite a read that later writes can deadlock.
        with write_scope(engine) as session:
            repository = ClinicRepository(session, clinic_id)
            existing = repository.call_by_sid(form.call_sid)
            if existing is not None:
                return existing
            return repository.add(
                Call(
                    clinic_id=clinic_id,
                    call_sid=form.call_sid,
                    direction=form.direction,
                    from_number=form.from_number,
                    to_number=form.to_number,
                    status=form.call_status,
                    started_at=utcnow(),
                )
            )
    except IntegrityError:
        # A retry raced us to the insert: theirs is the row.
        with session_scope(engine) as session:
            existing = ClinicRepository(session, clinic_id).call_by_sid(form.call_sid)
        if existing is None:
            raise HTTPException(409, "this CallSid belongs to another clinic's call") from None
        return existing


def _target_id(request: Request) -> uuid.UUID:
    """The campaign target an outbound call's voice URL names (the dialler put it there)."""
    try:
        return uuid.UUID(request.query_params[TARGET_QUERY])
    except (KeyError, ValueError):
        raise HTTPException(
            400, f"an outbound call's voice and AMD URLs need ?{TARGET_QUERY}=<campaign target id>"
        ) from None


def _outbound_answer(
    engine: Engine, clinic_id: uuid.UUID, target_id: uuid.UUID, call: Call, form: VoiceForm
) -> OutboundContext:
    """The campaign call's context; a machine's call is recorded as a voicemail left."""
    with write_scope(engine) as session:
        repo = ClinicRepository(session, clinic_id)
        try:
            context = outbound_context(repo, target_id)
        except NotFound:
            raise HTTPException(404, "no such campaign target for this clinic") from None
        row = repo.require(Call, call.id)
        row.patient_id = row.patient_id or context.patient_id
        if form.reached_a_machine():
            row.outcome = Outcome.voicemail.value
        return context


def _clock_offset(request: Request, settings: Settings) -> float:
    """The offset of the call's clock the voice URL's ?clock= asks for (0 without it); 400 when
    this stack does not allow it or the instant is not one."""
    clock = request.query_params.get(CLOCK_QUERY)
    if clock is None:
        return 0.0
    if not settings.call_clock_override:
        raise HTTPException(
            400, f"?{CLOCK_QUERY}= is for the test-call suite: FRONTDESK_CALL_CLOCK_OVERRIDE is off"
        )
    try:
        return clock_offset(clock, utcnow())
    except CallClockError as error:
        raise HTTPException(400, str(error)) from None


def _find_clinic_id(engine: Engine, number: str) -> uuid.UUID | None:
    found = _answering_clinic(engine, number)
    return found[0] if found else None


def _answering_clinic(engine: Engine, number: str) -> tuple[uuid.UUID, int] | None:
    """The id and maximum call length of the clinic owning `number`; None when none does."""
    with Session(engine) as session:
        clinic = clinic_by_phone_number(session, number)
        return (clinic.id, clinic.max_call_seconds) if clinic else None


def update_call_status(engine: Engine, form: CallStatusForm, attempt: str | None) -> Call | None:
    """Apply a status callback to the call's row; None when no clinic has this call.

    A final status (completed, busy...) is never replaced by an earlier one arriving late. An
    outbound call's row is created here when its status arrives before the dialler recorded it,
    tied to the dialler's `attempt` (its idempotency key) while that is pending.
    """
    try:
        return _apply_status(engine, form, attempt)
    except IntegrityError:  # the dialler wrote the row meanwhile: apply the status to it
        return _apply_status(engine, form, attempt)


def _apply_status(engine: Engine, form: CallStatusForm, attempt: str | None) -> Call | None:
    with write_scope(engine) as session:
        clinic = clinic_by_phone_number(session, form.clinic_number())
        if clinic is None:
            return None
        repo = ClinicRepository(session, clinic.id)
        call = repo.call_by_sid(form.call_sid)
        if call is None and form.direction is CallDirection.outbound:
            call = repo.add(
                Call(
                    clinic_id=clinic.id,
                    call_sid=form.call_sid,
                    direction=CallDirection.outbound,
                    from_number=form.from_number,
                    to_number=form.to_number,
                )
            )
            action = repo.action_by_key(attempt) if attempt else None
            if action is not None and action.status is ActionStatus.pending and action.call_id is None:
                session.flush()  # the action refers to the new row
                action.call_id = call.id
        if call is None:
            return None
        if call.status not in FINAL_STATUSES:
            call.status = form.call_status
            if form.call_status in FINAL_STATUSES:
                call.ended_at = form.timestamp or utcnow()
        return call


def _record_machine(engine: Engine, call_sid: str, target_id: uuid.UUID) -> str:
    """The voicemail of the call's target, once the call's row records a voicemail (404 for a call
    or target we do not have). A fax is recorded so too, as the voice webhook records one that
    synchronous detection heard: nobody was reached, and the number is not worth calling again."""
    with write_scope(engine) as session:
        # The verdict names the call but not the clinic: its row (created by the voice or status
        # webhook, which come first) says which clinic the target must belong to.
        call = session.exec(select(Call).where(Call.call_sid == call_sid)).first()
        if call is None:
            raise HTTPException(404, "no call with this CallSid")
        try:
            context = outbound_context(ClinicRepository(session, call.clinic_id), target_id)
        except NotFound:
            raise HTTPException(404, "no such campaign target for this call's clinic") from None
        # Before the redirect: the stream it stops ends the call's workflow, whose own outcome
        # (dropped, say) then leaves this one in place.
        call.outcome = Outcome.voicemail.value
        call.patient_id = call.patient_id or context.patient_id
        return context.voicemail


def _campaign_target_of(engine: Engine, call: Call) -> uuid.UUID | None:
    with session_scope(engine) as session:
        target = ClinicRepository(session, call.clinic_id).campaign_target_by_call_sid(call.call_sid)
        return target.id if target else None


async def _tell_campaign(backends: Backends, call: Call) -> None:
    """Signal the OutboundCallWorkflow of a campaign call that the call is over. If the signal is
    lost, the workflow finds out by reading the call's row (it checks it on a timer)."""
    target_id = await run_in_threadpool(_campaign_target_of, backends.engine, call)
    if target_id is None:
        return  # not a campaign call (or its dialler has not recorded the sid yet)
    try:
        client = await backends.temporal.get(within=START_WITHIN_S)
        handle = client.get_workflow_handle(outbound_call_workflow_id(target_id))
        await handle.signal(CALL_ENDED_SIGNAL, call.call_sid)
    except (TemporalUnavailableError, RPCError) as error:
        _log.warning("twilio.campaign_not_told", call_sid=call.call_sid, error=type(error).__name__)


async def _tell_call_workflow(backends: Backends, call_sid: str) -> None:
    """Signal the call's CallWorkflow that the carrier ended its stream or the call. A workflow
    already finished is the usual case (the realtime process's hang-up came first), not an error;
    a signal lost otherwise leaves the workflow to its longest-call timer."""
    try:
        client = await backends.temporal.get(within=START_WITHIN_S)
        await client.get_workflow_handle(call_sid).signal(CallWorkflow.carrier_ended)
    except RPCError as error:
        if error.status is not RPCStatusCode.NOT_FOUND:
            _log.warning("twilio.call_workflow_not_told", call_sid=call_sid, status=str(error.status))
    except TemporalUnavailableError as error:
        _log.warning("twilio.call_workflow_not_told", call_sid=call_sid, error=type(error).__name__)


def twilio_voice_router(settings: Settings) -> APIRouter:
    """The router of POST /twilio/voice and POST /twilio/status (see the module docstring)."""
    router = APIRouter()

    @router.post(VOICE_PATH, response_class=Response)
    async def voice(request: Request) -> Response:
        form = _parse(VoiceForm, await _signed_form(request, settings))
        offset = _clock_offset(request, settings)
        engine = get_backends(request).engine
        answering = await run_in_threadpool(_answering_clinic, engine, form.clinic_number())
        if answering is None:
            _log.info("twilio.unknown_number", call_sid=form.call_sid, to=form.clinic_number())
            return _twiml(not_in_service_twiml())
        clinic_id, max_call_seconds = answering
        call = await run_in_threadpool(record_call, engine, clinic_id, form)
        # This request's span is the root of the call's trace: named here, so the call is found by its sid.
        trace.get_current_span().set_attributes(call_attributes(call.call_sid, clinic_id))
        outbound = None
        if form.direction is CallDirection.outbound:
            target = _target_id(request)
            outbound = await run_in_threadpool(_outbound_answer, engine, clinic_id, target, call, form)
            if form.reached_a_machine():
                _log.info("twilio.voicemail_left", call_sid=call.call_sid, answered_by=form.answered_by)
                return Response(voicemail_twiml(outbound.voicemail), media_type=TWIML_MEDIA_TYPE)
        # The caller is answered regardless: the media server tries again when the stream starts.
        await start_call_workflow(
            get_backends(request).temporal,
            settings.temporal_task_queue,
            CallInput(call.clinic_id, call.id, call.call_sid, offset, max_call_seconds),
        )
        _log.info(
            "twilio.call_answered", call_sid=call.call_sid, clinic_id=str(clinic_id), call_id=str(call.id)
        )
        return _twiml(stream_twiml(settings, call, outbound, offset, current_traceparent()))

    @router.post(STATUS_PATH, response_class=Response)
    async def status(request: Request) -> Response:
        form = await _signed_form(request, settings)
        if "StreamEvent" in form:
            event = _parse(StreamStatusForm, form)
            log = _log.warning if event.stream_event == "stream-error" else _log.info
            log(
                "twilio.stream_status",
                call_sid=event.call_sid,
                stream_event=event.stream_event,
                error=event.stream_error,
            )
            if event.stream_event != "stream-started":
                await _tell_call_workflow(get_backends(request), event.call_sid)
            return Response(status_code=204)
        update = _parse(CallStatusForm, form)
        backends = get_backends(request)
        attempt = request.query_params.get(ATTEMPT_QUERY)
        call = await run_in_threadpool(update_call_status, backends.engine, update, attempt)
        if call is None:
            raise HTTPException(404, "no call with this CallSid")
        _log.info("twilio.call_status", call_sid=update.call_sid, status=call.status.value, attempt=attempt)
        if call.status in FINAL_STATUSES:
            await _tell_call_workflow(backends, call.call_sid)
            if call.direction is CallDirection.outbound:
                await _tell_campaign(backends, call)
        return Response(status_code=204)

    return router


def twilio_amd_router(settings: Settings, calls: TwilioCalls | None) -> APIRouter:
    """The router of POST /twilio/amd (see the module docstring); `calls` is None without Twilio
    credentials."""
    router = APIRouter()

    @router.post(AMD_PATH, response_class=Response)
    async def answering_machine(request: Request) -> Response:
        verdict = _parse(AmdForm, await _signed_form(request, settings))
        target = _target_id(request)
        if calls is None:
            _log.error("twilio.amd_without_credentials", call_sid=verdict.call_sid)
            raise HTTPException(
                501, "this stack has no Twilio credentials to act on answering-machine detection with"
            )
        _log.info(
            "twilio.answered_by",
            call_sid=verdict.call_sid,
            answered_by=verdict.answered_by,
            detection_ms=verdict.machine_detection_duration,
        )
        machine = verdict.answered_by in GREETING_ENDED
        if not machine and verdict.answered_by != "fax":
            return Response(status_code=204)  # a person, or no verdict: the agent has the call
        engine = get_backends(request).engine
        voicemail = await run_in_threadpool(_record_machine, engine, verdict.call_sid, target)
        try:
            if machine:
                await calls.leave_voicemail(verdict.call_sid, voicemail)
            else:
                await calls.hangup(verdict.call_sid)
        except TelephonyError as error:  # logged by TwilioCalls; Twilio's debugger shows the 502
            raise HTTPException(502, str(error)) from None
        return Response(status_code=204)

    return router
