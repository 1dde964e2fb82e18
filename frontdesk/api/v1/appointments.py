"""Appointments: list by clinic-local day, provider, patient and status; read one.
Booking, rescheduling and cancelling happen on calls (frontdesk.domain.booking)."""

import uuid
from datetime import date, datetime

from fastapi import APIRouter, Depends, Query
from sqlmodel import col

from frontdesk.api.v1.access import ClinicContext, clinic_context
from frontdesk.api.v1.base_models import Output
from frontdesk.api.v1.pagination import Page, PageParams, page_params
from frontdesk.domain.models import Appointment, AppointmentStatus
from frontdesk.domain.repository import ClinicRepository


class AppointmentOut(Output):
    """An appointment."""

    id: uuid.UUID
    patient_id: uuid.UUID
    provider_id: uuid.UUID
    service_id: uuid.UUID
    start_at: datetime
    end_at: datetime
    status: AppointmentStatus
    created_by_call_id: uuid.UUID | None
    notes: str
    created_at: datetime
    updated_at: datetime


def appointments_page(
    repo: ClinicRepository,
    *,
    day: date | None = None,
    provider_id: uuid.UUID | None = None,
    patient_id: uuid.UUID | None = None,
    statuses: list[AppointmentStatus] | None = None,
    limit: int,
    offset: int,
) -> tuple[list[Appointment], int]:
    """One page of appointments by start time, filtered by clinic-local day, provider, patient and
    status (none: every status), and how many match (the list route's and the dashboard's query)."""
    conditions = []
    if day is not None:
        start, end = repo.local_day_bounds(day)
        conditions += [col(Appointment.start_at) >= start, col(Appointment.start_at) < end]
    if provider_id is not None:
        conditions.append(Appointment.provider_id == provider_id)
    if patient_id is not None:
        conditions.append(Appointment.patient_id == patient_id)
    if statuses:
        conditions.append(col(Appointment.status).in_(statuses))
    return repo.page(
        Appointment, *conditions, order_by=[col(Appointment.start_at)], limit=limit, offset=offset
    )


router = APIRouter(prefix="/clinics/{clinic_id}/appointments", tags=["appointments"])


@router.get("", response_model=Page[AppointmentOut])
def list_appointments(
    ctx: ClinicContext = Depends(clinic_context),
    page: PageParams = Depends(page_params),
    day: date | None = Query(None, description="a date in the clinic's time zone"),
    provider_id: uuid.UUID | None = None,
    patient_id: uuid.UUID | None = None,
    status: list[AppointmentStatus] | None = Query(None, description="repeat for several"),
) -> Page[AppointmentOut]:
    """Appointments by start time, filtered by day, provider, patient and status."""
    with ctx.reading() as repo:
        rows, total = appointments_page(
            repo,
            day=day,
            provider_id=provider_id,
            patient_id=patient_id,
            statuses=status,
            limit=page.limit,
            offset=page.offset,
        )
        return Page.of([AppointmentOut.model_validate(r) for r in rows], total, page)


@router.get("/{appointment_id}", response_model=AppointmentOut)
def get_appointment(
    appointment_id: uuid.UUID, ctx: ClinicContext = Depends(clinic_context)
) -> AppointmentOut:
    """One appointment."""
    with ctx.reading() as repo:
        return AppointmentOut.model_validate(repo.require(Appointment, appointment_id))
