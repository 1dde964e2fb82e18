"""Campaigns from the dashboard: create one (audience, calling hours, pace, attempts, SMS
fallback), watch its progress live, pause, resume or cancel it.

The same functions as the admin API's campaign routes (frontdesk.api.v1.campaigns): the row is
written and its CampaignWorkflow started by `launch_campaign`, steered by `steer_campaign`, and
its progress read from the workflow's query.
"""

import uuid
from datetime import datetime, time, timedelta
from typing import Any, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlmodel import col
from starlette.datastructures import FormData

from frontdesk.api.errors import ApiError
from frontdesk.api.v1.campaigns import (
    STEERING_SIGNALS,
    CampaignIn,
    CampaignOut,
    campaign_progress,
    launch_campaign,
    steer_campaign,
)
from frontdesk.config import Settings
from frontdesk.dashboard.auth import PREFIX, ClinicPage, clinic_form, clinic_page, parse_uuid
from frontdesk.dashboard.forms import FormErrors, FormReader, submitted
from frontdesk.dashboard.pages import redirect, render
from frontdesk.domain.campaign_settings import WORKDAYS, CampaignKind, CampaignStatus, TargetStatus
from frontdesk.domain.clinic_settings import Weekday
from frontdesk.domain.models import Campaign

PLAN_NUMBERS: Final = ("calls_per_minute", "max_concurrent", "attempts_per_target", "retry_after_minutes")
# Which steering each status allows, so the page offers only what the workflow will accept.
_STEERING: Final = {
    CampaignStatus.scheduled: ("pause", "cancel"),
    CampaignStatus.running: ("pause", "cancel"),
    CampaignStatus.paused: ("resume", "cancel"),
}


def form_to_campaign(form: FormData, page: ClinicPage) -> CampaignIn:
    """The API's campaign from the form: the audience is the patients with appointments between two
    of the clinic's days (both included)."""
    reader = FormReader(form)
    tz = page.clinic.tz
    first, last = reader.day("appointments_from"), reader.day("appointments_to")
    data: dict[str, Any] = {
        "name": reader.text("name"),
        "kind": reader.text("kind"),
        "message": reader.text("message"),
        "start_at": reader.moment("start_at", tz),
        "audience": {
            "appointments_from": datetime.combine(first, time(0), tzinfo=tz),
            "appointments_to": datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz),
        },
        "plan": {
            "calling_hours": {
                "start": reader.text("calling_start"),
                "end": reader.text("calling_end"),
                "weekdays": form.getlist("weekdays"),
            },
            **{name: reader.whole_number(name) for name in PLAN_NUMBERS},
            "sms_fallback": reader.checked("sms_fallback"),
        },
    }
    return reader.model(CampaignIn, data, _field_of)


def _field_of(loc: list[str]) -> str:
    if loc[:2] == ["plan", "calling_hours"]:
        return {"start": "calling_start", "end": "calling_end", "weekdays": "weekdays"}.get(
            loc[2] if len(loc) > 2 else "", "calling_hours"
        )
    if loc[:1] == ["plan"] and len(loc) > 1:
        return loc[1]
    if loc[:1] == ["audience"]:
        return "audience"
    return loc[0] if loc else "form"


def _new_campaign_values(page: ClinicPage) -> dict[str, Any]:
    today = datetime.now(page.clinic.tz).date()
    return {
        "name": "",
        "kind": CampaignKind.reminder.value,
        "appointments_from": today.isoformat(),
        "appointments_to": (today + timedelta(days=14)).isoformat(),
        "calling_start": "09:00",
        "calling_end": "19:00",
        "weekdays": [d.value for d in WORKDAYS],
        "calls_per_minute": "6",
        "max_concurrent": "3",
        "attempts_per_target": "2",
        "retry_after_minutes": "60",
        "sms_fallback": "on",
        "message": "",
        "start_at": "",
    }


def campaigns_router(settings: Settings) -> APIRouter:
    """The campaign pages; workflows run on `settings.temporal_task_queue`."""
    router = APIRouter(prefix=f"{PREFIX}/clinics/{{slug}}", include_in_schema=False)

    def list_page(
        request: Request,
        page: ClinicPage,
        values: dict[str, Any],
        errors: dict[str, str],
        status_code: int = 200,
    ) -> Response:
        with page.ctx.reading() as repo:
            rows, _total = repo.page(
                Campaign, order_by=[col(Campaign.created_at).desc()], limit=100, offset=0
            )
            campaigns = [CampaignOut.model_validate(r) for r in rows]
        return render(
            request,
            "campaigns.html",
            user=page.user,
            page=page,
            section="campaigns",
            campaigns=campaigns,
            values=values,
            errors=errors,
            kinds=list(CampaignKind),
            weekdays=list(Weekday),
            status_code=status_code,
        )

    @router.get("/campaigns")
    def campaigns(request: Request, page: ClinicPage = Depends(clinic_page)) -> Response:
        """The clinic's campaigns, newest first, and the form of a new one (for admins)."""
        return list_page(request, page, _new_campaign_values(page), {})

    @router.post("/campaigns")
    async def create(request: Request, page: ClinicPage = Depends(clinic_form)) -> Response:
        """Create the campaign and start it; errors come back next to their fields."""
        page.require_admin()
        form = await request.form()
        values: dict[str, Any] = {**submitted(form), "weekdays": form.getlist("weekdays")}
        try:
            body = form_to_campaign(form, page)
            campaign = await launch_campaign(request, page.ctx, settings, body)
        except FormErrors as exc:
            return list_page(request, page, values, exc.errors, status_code=422)
        except ApiError as exc:
            return list_page(request, page, values, {"form": exc.message}, status_code=exc.status_code)
        return redirect(f"{PREFIX}/clinics/{page.clinic.slug}/campaigns/{campaign.id}")

    def _campaign(page: ClinicPage, campaign_id: uuid.UUID) -> CampaignOut:
        with page.ctx.reading() as repo:
            return CampaignOut.model_validate(repo.require(Campaign, campaign_id))

    async def _live_status(request: Request, page: ClinicPage, campaign: CampaignOut) -> CampaignStatus:
        """The workflow's own status (the row follows it a moment later); the row's when it cannot answer."""
        try:
            counts = await campaign_progress(request, page.ctx, campaign.id)
        except ApiError:
            return campaign.status
        return CampaignStatus(counts.get("status", campaign.status))

    @router.get("/campaigns/{campaign_id}")
    async def campaign_page(
        request: Request, campaign_id: str, page: ClinicPage = Depends(clinic_page)
    ) -> Response:
        """One campaign: its plan, its live progress and the steering its status allows."""
        campaign = _campaign(page, parse_uuid(campaign_id))
        status = await _live_status(request, page, campaign)
        return render(
            request,
            "campaign.html",
            user=page.user,
            page=page,
            section="campaigns",
            campaign=campaign,
            steering=_STEERING.get(status, ()),
        )

    @router.get("/campaigns/{campaign_id}/progress")
    async def progress(
        request: Request, campaign_id: str, page: ClinicPage = Depends(clinic_page)
    ) -> Response:
        """The progress panel (htmx polls it): counts by target status, live from the workflow."""
        ident = parse_uuid(campaign_id)
        campaign = _campaign(page, ident)
        try:
            counts: dict[str, Any] | None = await campaign_progress(request, page.ctx, ident)
            problem = None
        except ApiError as exc:
            counts, problem = None, exc.message
        return render(
            request,
            "campaign_progress.html",
            user=page.user,
            page=page,
            campaign=campaign,
            counts=counts,
            statuses=list(TargetStatus),
            problem=problem,
        )

    @router.post("/campaigns/{campaign_id}/{signal}")
    async def steer(
        request: Request, campaign_id: str, signal: str, page: ClinicPage = Depends(clinic_form)
    ) -> Response:
        """Pause, resume or cancel the campaign."""
        page.require_admin()
        if signal not in STEERING_SIGNALS:
            raise ApiError(404, "there is no such page")
        ident = parse_uuid(campaign_id)
        await steer_campaign(request, page.ctx, ident, signal)
        return redirect(f"{PREFIX}/clinics/{page.clinic.slug}/campaigns/{ident}")

    return router
