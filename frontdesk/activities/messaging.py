"""Patient messages after a call: SMS through the carrier, email through SMTP, exactly once.

Each message is one activity, keyed by its workflow and activity ids (one per appointment,
channel and call). The `Message` row is written under that key *before* sending (queued) and
marked sent after, so a retried or rerun activity never sends twice:

- a sent row is returned as it is;
- a failed row (the vendor answered with an error, or could not be connected to at all) is
  sent again, since nothing reached the patient;
- a queued row means an earlier attempt died mid-send and may have reached the patient: it is
  not resent (a non-retryable error says so), because a duplicate is worse than staff checking.

SMS go through the worker's text-message carrier (Twilio); a worker without one (no Twilio
credentials), or without an SMTP host for email, records the message as sent to the database
outbox, the offline twin. Patients who opted out of SMS get none; patients without an
email address get no email. Bodies and addresses are never logged.
"""

import asyncio
import smtplib
import socket
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Final
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from frontdesk.activities.summaries import (
    AppointmentDetails,
    activity_key,
    database_engine,
    describe_appointment,
)
from frontdesk.config import Settings, get_settings
from frontdesk.domain.database import write_scope
from frontdesk.domain.models import (
    Appointment,
    Message,
    MessageChannel,
    MessageStatus,
    Patient,
    utcnow,
)
from frontdesk.domain.opt_outs import OptOutChannel, blocks
from frontdesk.domain.repository import ClinicRepository
from frontdesk.domain.web_callers import is_web_caller_number
from frontdesk.logs import get_logger
from frontdesk.telephony.carrier import CarrierOutcomeUnknown, CarrierRefused, TextMessages

log = get_logger(__name__)

REQUEST_TIMEOUT_SECONDS: Final = 15.0
STATUS_OUTBOX: Final = "outbox"
STATUS_SENT: Final = "sent"
STATUS_SKIPPED: Final = "skipped"
# What each template tells the patient about the appointment.
_NEWS: Final = {
    "booked": "is booked for {when}.",
    "rescheduled": "has been moved to {when}.",
    "scheduled": "is scheduled for {when}.",
    "unconfirmed": "on {when} could not be confirmed in our system yet. A member of our team will call "
    "you to confirm it.",
}
_SUBJECTS: Final = {
    "booked": "Your appointment is booked",
    "rescheduled": "Your appointment has been moved",
    "scheduled": "Your appointment confirmation",
    "unconfirmed": "We will call you to confirm your appointment",
}
# An outbound campaign's own words (its SMS fallback), to a patient rather than about an appointment.
CAMPAIGN_TEMPLATE: Final = "campaign"
TEMPLATES: Final = frozenset({*_NEWS, CAMPAIGN_TEMPLATE})


@dataclass(frozen=True)
class PatientMessageInput:
    """One message: `channel` sms or email, `template` one of TEMPLATES. An appointment template
    names the appointment; the campaign template names the patient and carries its `text`."""

    clinic_id: UUID
    call_id: UUID | None
    appointment_id: UUID | None
    channel: str
    template: str
    patient_id: UUID | None = None
    text: str = ""


@dataclass(frozen=True)
class PatientMessageResult:
    """`status`: sent (through the vendor), outbox (recorded offline) or skipped (`reason` says why)."""

    status: str
    message_id: UUID | None = None
    reason: str = ""

    @property
    def delivered(self) -> bool:
        """Whether the patient was (or, offline, would have been) sent the message."""
        return self.status in (STATUS_SENT, STATUS_OUTBOX)


class SendFailed(Exception):
    """The vendor definitely did not take the message; `final` when retrying cannot help."""

    def __init__(self, message: str, *, final: bool) -> None:
        super().__init__(message)
        self.final = final


@dataclass(frozen=True)
class _Draft:
    to: str
    subject: str
    body: str
    sender: str | None  # None: the offline outbox


def _text(template: str, clinic: str, details: AppointmentDetails, channel: MessageChannel) -> str:
    news = _NEWS[template].format(when=details.when)
    text = f"{clinic}: your {details.service} with {details.provider} {news}"
    if channel is MessageChannel.sms:
        return f"{text} Reply STOP to opt out of texts."
    return f"{text}\n\nIf you need to change it, call us back.\n\n{clinic}"


def _sms_sender(settings: Settings, repo: ClinicRepository, online: bool) -> str | None:
    """The from-number for SMS, or None offline (the worker has no text-message carrier)."""
    if not online:
        return None
    if settings.twilio_messaging_from:
        return settings.twilio_messaging_from
    numbers = repo.phone_numbers()
    if not numbers:
        raise SendFailed("no SMS from-number: set FRONTDESK_TWILIO_MESSAGING_FROM", final=True)
    return numbers[0].e164


def _draft(
    settings: Settings, repo: ClinicRepository, request: PatientMessageInput, online: bool
) -> _Draft | str:
    """The message to send, or why none is sent (opted out, no address)."""
    channel = MessageChannel(request.channel)
    if request.template == CAMPAIGN_TEMPLATE:
        if request.patient_id is None or channel is not MessageChannel.sms or not request.text.strip():
            raise ValueError("a campaign message is an SMS to a patient_id with a text")
        patient = repo.require(Patient, request.patient_id)
        body = f"{repo.clinic().name}: {request.text.strip()} Reply STOP to opt out of texts."
    else:
        if request.appointment_id is None:
            raise ValueError(f"a {request.template} message needs its appointment_id")
        appointment = repo.require(Appointment, request.appointment_id)
        patient = repo.require(Patient, appointment.patient_id)
        body = _text(request.template, repo.clinic().name, describe_appointment(repo, appointment), channel)
    if channel is MessageChannel.sms:
        if is_web_caller_number(patient.phone):
            return "the patient's number is a web call's placeholder: no phone reads it"
        if blocks(repo, patient.phone, OptOutChannel.sms):
            return "the patient's number is on the do-not-contact list for SMS"
        return _Draft(patient.phone, "", body, _sms_sender(settings, repo, online))
    if not patient.email:
        return "the patient has no email address"
    greeting = f"Hello {patient.first_name},\n\n"
    sender = settings.smtp_from if settings.smtp_host else None
    return _Draft(patient.email, _SUBJECTS[request.template], greeting + body, sender)


async def _send_sms(texts: TextMessages, draft: _Draft) -> str:
    """Send through the carrier; the message sid."""
    assert draft.sender
    try:
        return await texts.send_sms(draft.to, draft.sender, draft.body)
    except CarrierRefused as exc:
        raise SendFailed(str(exc), final=exc.final) from exc
    except CarrierOutcomeUnknown as exc:
        # The SMS may have gone: the row stays queued, and a retry does not send it again.
        raise ApplicationError(str(exc), type="MessageOutcomeUnknown") from exc


def _send_email(settings: Settings, draft: _Draft, key: str) -> str:
    """Send through SMTP; the Message-ID."""
    assert settings.smtp_host and draft.sender
    email = EmailMessage()
    email["From"] = draft.sender
    email["To"] = draft.to
    email["Subject"] = draft.subject
    message_id = make_msgid(domain="frontdesk")
    email["Message-ID"] = message_id
    email["X-Frontdesk-Key"] = key
    email.set_content(draft.body)
    try:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=REQUEST_TIMEOUT_SECONDS)
    except (OSError, smtplib.SMTPConnectError) as exc:
        raise SendFailed(f"the SMTP server cannot be reached ({type(exc).__name__})", final=False) from exc
    try:
        with smtp:
            smtp.send_message(email)
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
        code = getattr(exc, "smtp_code", None) or 550
        raise SendFailed(f"the SMTP server refused the email ({code})", final=code >= 500) from exc
    except socket.gaierror as exc:
        raise SendFailed("the SMTP host does not resolve", final=False) from exc
    return message_id


def _claim(
    engine: Engine, request: PatientMessageInput, key: str, online: bool
) -> PatientMessageResult | _Draft:
    """Record the message as queued under its key (or find it); a result when nothing is to send."""
    settings = get_settings()
    with write_scope(engine) as session:
        repo = ClinicRepository(session, request.clinic_id)
        existing = repo.message_by_key(key)
        if existing is not None and existing.status in (MessageStatus.sent, MessageStatus.delivered):
            status = STATUS_SENT if existing.provider_message_id else STATUS_OUTBOX
            return PatientMessageResult(status, existing.id)
        if existing is not None and existing.status is MessageStatus.queued:
            raise ApplicationError(
                f"message {key} may already have reached the patient (an earlier attempt stopped "
                "mid-send); it is not sent again",
                type="MessageOutcomeUnknown",
                non_retryable=True,
            )
        drafted = _draft(settings, repo, request, online)
        if isinstance(drafted, str):
            return PatientMessageResult(STATUS_SKIPPED, reason=drafted)
        message = existing or repo.add(
            Message(
                clinic_id=request.clinic_id,
                channel=MessageChannel(request.channel),
                to=drafted.to,
                body=drafted.body,
                idempotency_key=key,
                appointment_id=request.appointment_id,
                call_id=request.call_id,
            )
        )
        # Offline, recording it is sending it; otherwise it is queued until the vendor answers.
        message.status = MessageStatus.sent if drafted.sender is None else MessageStatus.queued
        message.error = None
        session.flush()
        if drafted.sender is None:
            return PatientMessageResult(STATUS_OUTBOX, message.id)
        return drafted


def _finish(engine: Engine, request: PatientMessageInput, key: str, **changes: object) -> UUID:
    with write_scope(engine) as session:
        message = ClinicRepository(session, request.clinic_id).message_by_key(key)
        assert message is not None  # claimed above, and messages are never deleted
        for name, value in changes.items():
            setattr(message, name, value)
        message.updated_at = utcnow()
        return message.id


class MessagingActivities:
    """The patient-message activity, with the worker's text-message carrier (None: the outbox)."""

    def __init__(self, texts: TextMessages | None) -> None:
        self._texts = texts

    @activity.defn(name="send_patient_message")
    async def send_patient_message(self, request: PatientMessageInput) -> PatientMessageResult:
        """Send one SMS or email about an appointment, at most once per key (see the module doc)."""
        if request.template not in TEMPLATES or request.channel not in set(MessageChannel):
            raise ApplicationError(
                f"unknown message {request.channel}/{request.template}", type="ValueError", non_retryable=True
            )
        key = activity_key()
        engine = database_engine()
        settings = get_settings()
        try:
            claimed = await asyncio.to_thread(_claim, engine, request, key, self._texts is not None)
        except SendFailed as exc:
            raise ApplicationError(str(exc), type="SendFailed", non_retryable=exc.final) from exc
        except ValueError as exc:  # a malformed request: retrying cannot fix it
            raise ApplicationError(str(exc), type="ValueError", non_retryable=True) from exc
        except sa.exc.IntegrityError as exc:
            raise ApplicationError("a concurrent attempt claimed this message", type="MessageRace") from exc
        if isinstance(claimed, PatientMessageResult):
            log.info("patient message", key=key, status=claimed.status, reason=claimed.reason)
            return claimed
        try:
            if request.channel == MessageChannel.sms:
                assert self._texts is not None  # a draft with a sender is only made online
                provider_id = await _send_sms(self._texts, claimed)
            else:
                provider_id = await asyncio.to_thread(_send_email, settings, claimed, key)
        except SendFailed as exc:
            await asyncio.to_thread(
                _finish, engine, request, key, status=MessageStatus.failed, error=str(exc)
            )
            log.warning("patient message failed", key=key, channel=request.channel, final=exc.final)
            raise ApplicationError(str(exc), type="SendFailed", non_retryable=exc.final) from exc
        message_id = await asyncio.to_thread(
            _finish, engine, request, key, status=MessageStatus.sent, provider_message_id=provider_id
        )
        log.info("patient message sent", key=key, channel=request.channel, template=request.template)
        return PatientMessageResult(STATUS_SENT, message_id)
