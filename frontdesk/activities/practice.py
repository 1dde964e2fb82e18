"""Practice-management write-back: the call's appointments committed to the clinic's system.

An adapter interface with two implementations: the built-in schedule (the appointment already
lives in our database, so committing checks the row is still active, leaves its status as
booked, and the write-back is recorded) and a webhook adapter for practice systems reached
through an HTTP bridge (POST the appointment as JSON with an Idempotency-Key header). The
clinic's enabled practice_management `Integration` picks the adapter; none means built-in.

A write-back is recorded once per key (`Action` kind practice_writeback). When the adapter
rejects the appointment (or keeps failing past the retries), the workflow records a staff task
(`record_staff_task`, Action kind staff_task) and tells the patient someone will call.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Protocol
from uuid import UUID

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import col, select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from frontdesk.activities.summaries import activity_key, database_engine
from frontdesk.config import get_settings
from frontdesk.domain.call_actions import record_action
from frontdesk.domain.crypto import CredentialsError, integration_credentials
from frontdesk.domain.database import session_scope
from frontdesk.domain.models import Appointment, Integration, IntegrationKind
from frontdesk.domain.repository import ClinicRepository
from frontdesk.logs import get_logger

log = get_logger(__name__)

WRITE_BACK_KIND: Final = "practice_writeback"
STAFF_TASK_KIND: Final = "staff_task"
REQUEST_TIMEOUT_SECONDS: Final = 15.0


class PracticeRejected(Exception):
    """The practice system refused the appointment; retrying will not change its mind."""


class PracticeUnavailable(Exception):
    """The practice system is down or throttling: worth retrying."""


@dataclass(frozen=True)
class PracticeAppointment:
    """An appointment as a practice system receives it."""

    key: str
    appointment_id: UUID
    patient_id: UUID
    provider_id: UUID
    service_id: UUID
    start_at: datetime
    end_at: datetime
    status: str


class PracticeAdapter(Protocol):
    """Commits appointments to one practice-management system."""

    name: str

    def commit(self, appointment: PracticeAppointment) -> str:
        """Commit the appointment (once per `appointment.key`); return its id in that system."""
        ...


class BuiltinSchedule:
    """The built-in schedule: our database is the practice system."""

    name = "builtin"

    def __init__(self, engine: Engine, clinic_id: UUID) -> None:
        self._engine = engine
        self._clinic_id = clinic_id

    def commit(self, appointment: PracticeAppointment) -> str:
        """Check the row is still there and active (status unchanged); its id is the record."""
        with session_scope(self._engine) as session:
            row = ClinicRepository(session, self._clinic_id).get(Appointment, appointment.appointment_id)
            if row is None or not row.status.is_active:
                state = "missing" if row is None else row.status.value
                raise PracticeRejected(f"appointment {appointment.appointment_id} is {state} in the schedule")
            return str(row.id)


class WebhookPractice:
    """A practice system behind an HTTP bridge: POST the appointment to `settings["url"]`."""

    name = "webhook"

    def __init__(self, settings: dict[str, Any], credentials: dict[str, str]) -> None:
        if not settings.get("url"):
            raise PracticeRejected("the webhook practice integration needs a url setting")
        self._url = str(settings["url"])
        self._headers = (
            {"Authorization": f"Bearer {credentials['token']}"} if credentials.get("token") else {}
        )

    def commit(self, appointment: PracticeAppointment) -> str:
        """POST the appointment; 2xx commits it, 4xx rejects it, 429/5xx is retried."""
        body = {
            "appointment_id": str(appointment.appointment_id),
            "patient_id": str(appointment.patient_id),
            "provider_id": str(appointment.provider_id),
            "service_id": str(appointment.service_id),
            "start_at": appointment.start_at.isoformat(),
            "end_at": appointment.end_at.isoformat(),
            "status": appointment.status,
        }
        headers = self._headers | {"Idempotency-Key": appointment.key}
        with httpx.Client(timeout=REQUEST_TIMEOUT_SECONDS) as client:
            response = client.post(self._url, json=body, headers=headers)
        if response.status_code == 429 or response.status_code >= 500:
            raise PracticeUnavailable(f"the practice system answered HTTP {response.status_code}")
        if not response.is_success:
            detail = response.text[:200].strip()
            raise PracticeRejected(
                f"the practice system rejected the appointment (HTTP {response.status_code}): {detail}"
            )
        payload = response.json() if response.content else {}
        return str(payload.get("id") or appointment.appointment_id)


def practice_adapter_for(engine: Engine, clinic_id: UUID) -> PracticeAdapter:
    """The adapter of the clinic's enabled practice integration, else the built-in schedule."""
    with session_scope(engine) as session:
        statement = select(Integration).where(
            Integration.clinic_id == clinic_id,
            Integration.kind == IntegrationKind.practice_management,
            col(Integration.enabled).is_(True),
        )
        integration = session.exec(statement.order_by(col(Integration.created_at))).first()
    if integration is None:
        return BuiltinSchedule(engine, clinic_id)
    if integration.provider != WebhookPractice.name:
        raise PracticeRejected(f"practice system {integration.provider!r} is not supported; use 'webhook'")
    credentials = integration_credentials(integration, get_settings().secret_key)
    return WebhookPractice(dict(integration.settings), credentials)


@dataclass(frozen=True)
class WriteBackInput:
    """Commit one appointment of a call."""

    clinic_id: UUID
    call_id: UUID
    appointment_id: UUID


@dataclass(frozen=True)
class WriteBackResult:
    """Which adapter committed the appointment, and its id there."""

    adapter: str
    external_id: str


@dataclass(frozen=True)
class StaffTaskInput:
    """A task for the clinic's staff about an appointment (`reason` says what to do and why)."""

    clinic_id: UUID
    call_id: UUID
    appointment_id: UUID
    reason: str


@activity.defn(name="write_back_appointment")
def write_back_appointment(request: WriteBackInput) -> WriteBackResult:
    """Commit the appointment to the practice system once per key."""
    key = activity_key()
    engine = database_engine()
    with session_scope(engine) as session:
        repo = ClinicRepository(session, request.clinic_id)
        previous = repo.action_by_key(key)
        if previous is not None:
            return WriteBackResult(previous.payload["adapter"], previous.payload["external_id"])
        row = repo.get(Appointment, request.appointment_id)
        if row is None:
            raise ApplicationError(
                f"appointment {request.appointment_id} does not exist", type="NotFound", non_retryable=True
            )
        appointment = PracticeAppointment(
            key,
            row.id,
            row.patient_id,
            row.provider_id,
            row.service_id,
            row.start_at,
            row.end_at,
            row.status.value,
        )
    try:
        adapter = practice_adapter_for(engine, request.clinic_id)
        external_id = adapter.commit(appointment)
    except (PracticeRejected, CredentialsError) as exc:
        log.warning("practice write-back rejected", appointment_id=str(request.appointment_id))
        raise ApplicationError(str(exc), type="PracticeRejected", non_retryable=True) from exc
    except (PracticeUnavailable, httpx.TransportError) as exc:
        raise ApplicationError(
            f"the practice system is unavailable: {exc}", type="PracticeUnavailable"
        ) from exc
    record_action(
        engine,
        request.clinic_id,
        kind=WRITE_BACK_KIND,
        payload={
            "adapter": adapter.name,
            "external_id": external_id,
            "appointment_id": str(appointment.appointment_id),
        },
        idempotency_key=key,
        call_id=request.call_id,
    )
    log.info("practice write-back done", appointment_id=str(request.appointment_id), adapter=adapter.name)
    return WriteBackResult(adapter.name, external_id)


@activity.defn(name="record_staff_task")
def record_staff_task(request: StaffTaskInput) -> UUID:
    """Record a task for the clinic's staff once per key; the task's id."""
    action = record_action(
        database_engine(),
        request.clinic_id,
        kind=STAFF_TASK_KIND,
        payload={"appointment_id": str(request.appointment_id), "reason": request.reason},
        idempotency_key=activity_key(),
        call_id=request.call_id,
    )
    log.info("staff task recorded", appointment_id=str(request.appointment_id))
    return action.id


PRACTICE_ACTIVITIES: Final = [write_back_appointment, record_staff_task]
