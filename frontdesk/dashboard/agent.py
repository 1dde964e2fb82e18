"""The agent's form: name, greeting, voice, style, hours, time zone, call length, turn-taking,
escalation, booking rules, insurance and how long transcripts are kept. Saved through the admin
API's own change (frontdesk.api.v1.clinics.change_clinic, audited) and used from the next call on.

Form fields are flat (one input each); `form_to_patch` builds the API's patch from them and
`field_errors` puts each of the patch's errors back next to its input.
"""

from collections.abc import Mapping
from datetime import time
from typing import Any, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from frontdesk.api.errors import ApiError
from frontdesk.api.v1.clinics import ClinicOut, ClinicSettingsPatch, change_clinic, clinic_out
from frontdesk.dashboard.auth import PREFIX, ClinicPage, clinic_form, clinic_page
from frontdesk.dashboard.forms import FormErrors, FormReader, submitted
from frontdesk.dashboard.pages import redirect, render
from frontdesk.domain.clinic_settings import (
    MAX_RETENTION_DAYS,
    MIN_RETENTION_DAYS,
    AfterHoursPolicy,
    DentalUrgencyPolicy,
    EndOfTurnProfile,
    Weekday,
)

TEXT_FIELDS: Final = ("agent_name", "voice", "greeting", "style_notes", "timezone")
NUMBERS: Final = ("transfer_number", "billing_number", "clinical_number")
BOOKING: Final = ("min_lead_minutes", "horizon_days", "buffer_minutes", "slot_step_minutes")


def _hours(reader: FormReader, field: str) -> list[dict[str, str]]:
    """'09:00-12:00, 13:00-17:00' as time ranges; empty: closed."""
    ranges = []
    for part in filter(None, (p.strip() for p in reader.text(field).split(","))):
        start, sep, end = part.partition("-")
        try:
            if not sep:
                raise ValueError(part)
            ranges.append(
                {
                    "start": time.fromisoformat(start.strip()).isoformat(),
                    "end": time.fromisoformat(end.strip()).isoformat(),
                }
            )
        except ValueError:
            reader.fail(field, f"{part!r} is not a range like 09:00-17:00")
    return ranges


def form_to_patch(form: FormData) -> ClinicSettingsPatch:
    """The API's patch of every setting on the form; FormErrors naming each field that is wrong."""
    reader = FormReader(form)
    data: dict[str, Any] = {name: reader.text(name) for name in TEXT_FIELDS}
    data["end_of_turn_profile"] = reader.text("end_of_turn_profile")
    data["max_call_seconds"] = reader.whole_number("max_call_minutes") * 60
    data["opening_hours"] = {"days": {day.value: _hours(reader, f"hours_{day.value}") for day in Weekday}}
    data["escalation"] = {
        **{name: reader.text(name) or None for name in NUMBERS},
        "after_hours_policy": reader.text("after_hours_policy"),
        "dental_urgency": reader.text("dental_urgency"),
        "callback_on_dropped_call": reader.checked("callback_on_dropped_call"),
    }
    data["booking_rules"] = {name: reader.whole_number(name) for name in BOOKING}
    data["insurance"] = {
        "accepted": [line.strip() for line in reader.text("insurance").splitlines() if line.strip()]
    }
    data["retention_days"] = reader.whole_number("retention_days")
    return reader.model(ClinicSettingsPatch, data, _field_of)


def _field_of(loc: list[str]) -> str:
    """The input of a patch error's location."""
    if loc[:1] == ["opening_hours"] and len(loc) >= 3:
        return f"hours_{loc[2]}"
    if loc[:1] == ["max_call_seconds"]:
        return "max_call_minutes"
    if loc[:1] in (["escalation"], ["booking_rules"]) and len(loc) >= 2:
        return loc[1]
    return loc[0] if loc else "form"


def form_values(clinic: ClinicOut) -> dict[str, str]:
    """The form's inputs filled from the clinic's settings."""
    values = {name: str(getattr(clinic, name)) for name in TEXT_FIELDS}
    values["end_of_turn_profile"] = clinic.end_of_turn_profile.value
    values["max_call_minutes"] = str(clinic.max_call_seconds // 60)
    for day in Weekday:
        ranges = clinic.opening_hours.days.get(day, [])
        values[f"hours_{day.value}"] = ", ".join(f"{r.start:%H:%M}-{r.end:%H:%M}" for r in ranges)
    escalation = clinic.escalation
    for name in NUMBERS:
        values[name] = getattr(escalation, name) or ""
    values["after_hours_policy"] = escalation.after_hours_policy.value
    values["dental_urgency"] = escalation.dental_urgency.value
    values["callback_on_dropped_call"] = "on" if escalation.callback_on_dropped_call else ""
    for name in BOOKING:
        values[name] = str(getattr(clinic.booking_rules, name))
    values["insurance"] = "\n".join(clinic.insurance.accepted)
    values["retention_days"] = str(clinic.retention_days)
    return values


def _form_page(
    request: Request,
    page: ClinicPage,
    values: Mapping[str, str],
    errors: dict[str, str],
    *,
    saved: bool,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "agent.html",
        user=page.user,
        page=page,
        section="agent",
        values=values,
        errors=errors,
        saved=saved,
        weekdays=list(Weekday),
        profiles=list(EndOfTurnProfile),
        policies=list(AfterHoursPolicy),
        urgency_policies=list(DentalUrgencyPolicy),
        retention_range=(MIN_RETENTION_DAYS, MAX_RETENTION_DAYS),
        status_code=status_code,
    )


router = APIRouter(prefix=f"{PREFIX}/clinics/{{slug}}", include_in_schema=False)


@router.get("/agent")
def agent_page(request: Request, saved: bool = False, page: ClinicPage = Depends(clinic_page)) -> Response:
    """The agent's settings as a form (read-only for staff)."""
    return _form_page(request, page, form_values(clinic_out(page.clinic)), {}, saved=saved)


@router.post("/agent")
async def agent_submit(request: Request, page: ClinicPage = Depends(clinic_form)) -> Response:
    """Save the form: the next call uses it. Errors come back next to their fields."""
    page.require_admin()
    form = await request.form()
    try:
        patch = form_to_patch(form)
        await run_in_threadpool(change_clinic, page.ctx, patch)
    except FormErrors as exc:
        return _form_page(request, page, submitted(form), exc.errors, saved=False, status_code=422)
    except ApiError as exc:
        return _form_page(
            request, page, submitted(form), {"form": exc.message}, saved=False, status_code=exc.status_code
        )
    return redirect(f"{PREFIX}/clinics/{page.clinic.slug}/agent?saved=true")
