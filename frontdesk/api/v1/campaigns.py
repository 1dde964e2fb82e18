"""Outbound campaigns: create (and start), list, read, pause, resume, cancel, progress.

The same domain and workflow functions as `frontdesk campaign` (frontdesk.campaign_command):
`create_campaign` writes the row, `start_campaign_workflow` starts its CampaignWorkflow, whose
signals steer it and whose `progress` query reports it. Temporal out of reach is a 503.
"""

import uuid
from datetime import datetime
from typing import Any, Final

from fastapi import APIRouter, Depends, Request
from pydantic import AwareDatetime, Field, field_validator
from sqlmodel import col
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError

from frontdesk.api.backends import get_backends
from frontdesk.api.errors import ApiError
from frontdesk.api.v1.access import ClinicContext, clinic_context
from frontdesk.api.v1.base_models import ApiModel, Output
from frontdesk.api.v1.pagination import Page, PageParams, page_params
from frontdesk.config import Settings
from frontdesk.domain.campaign_settings import CampaignAudience, CampaignKind, CampaignPlan, CampaignStatus
from frontdesk.domain.campaigns import create_campaign
from frontdesk.domain.models import Campaign
from frontdesk.logs import get_logger
from frontdesk.temporal_client import TemporalUnavailableError
from frontdesk.workflows.campaign import CampaignWorkflow, campaign_workflow_id
from frontdesk.workflows.launch import start_campaign_workflow

log = get_logger(__name__)

TEMPORAL_WITHIN_S: Final = 5.0
STEERING_SIGNALS: Final = ("pause", "resume", "cancel")


class CampaignIn(ApiModel):
    """A campaign to create and start."""

    name: str = Field(min_length=1, max_length=200)
    kind: CampaignKind
    audience: CampaignAudience
    plan: CampaignPlan = Field(default_factory=CampaignPlan)
    message: str = Field(
        default="", max_length=1000, description="voicemail and SMS wording; empty: the kind's"
    )
    start_at: AwareDatetime | None = Field(default=None, description="when calling may begin (default: now)")


class CampaignOut(Output):
    """A campaign."""

    id: uuid.UUID
    name: str
    kind: CampaignKind
    status: CampaignStatus
    message: str
    start_at: datetime
    plan: CampaignPlan
    audience: CampaignAudience
    workflow_id: str | None
    created_at: datetime
    updated_at: datetime

    @field_validator("plan", mode="before")
    @classmethod
    def _stored_plan(cls, plan: Any) -> Any:
        # Read as stored: a plan saved before the legal calling-hours floor still shows as it is.
        return CampaignPlan.stored(plan) if isinstance(plan, dict) else plan


class CampaignProgress(ApiModel):
    """Counts by target status, from the campaign workflow's `progress` query."""

    campaign_id: uuid.UUID
    progress: dict[str, Any]


async def _client(request: Request) -> Client:
    try:
        return await get_backends(request).temporal.get(within=TEMPORAL_WITHIN_S)
    except TemporalUnavailableError:
        raise ApiError(503, "the workflow service is unreachable; try again shortly") from None


def _require_campaign(ctx: ClinicContext, campaign_id: uuid.UUID) -> Campaign:
    with ctx.reading() as repo:
        return repo.require(Campaign, campaign_id)


async def _handle(request: Request, ctx: ClinicContext, campaign_id: uuid.UUID) -> "WorkflowHandle[Any, Any]":
    await run_in_threadpool(_require_campaign, ctx, campaign_id)  # 404 for another clinic's campaign
    return (await _client(request)).get_workflow_handle(campaign_workflow_id(campaign_id))


def _record_workflow(ctx: ClinicContext, campaign_id: uuid.UUID, workflow_id: str) -> Campaign:
    with ctx.changing(201) as change:
        row = change.repo.require(Campaign, campaign_id)
        row.workflow_id = workflow_id
        change.resource_id = campaign_id
        return row


def _audit_signal(ctx: ClinicContext, campaign_id: uuid.UUID) -> None:
    with ctx.changing(202) as change:
        change.resource_id = campaign_id


async def launch_campaign(
    request: Request, ctx: ClinicContext, settings: Settings, body: CampaignIn
) -> Campaign:
    """Create the campaign's row and start its workflow; ApiError 422 for a campaign that cannot
    be, 503 with Temporal out of reach (before any row is written)."""
    client = await _client(request)  # before the row exists: no campaign without a workflow
    try:
        campaign = await run_in_threadpool(
            lambda: create_campaign(
                ctx.engine,
                ctx.clinic_id,
                name=body.name,
                kind=body.kind,
                audience=body.audience,
                plan=body.plan,
                message=body.message,
                start_at=body.start_at,
            )
        )
    except ValueError as exc:
        raise ApiError(422, str(exc), code="invalid_value") from None
    workflow_id = await start_campaign_workflow(
        client, settings.temporal_task_queue, ctx.clinic_id, campaign.id
    )
    return await run_in_threadpool(_record_workflow, ctx, campaign.id, workflow_id)


async def campaign_progress(request: Request, ctx: ClinicContext, campaign_id: uuid.UUID) -> dict[str, Any]:
    """Counts by target status, live from the campaign's workflow; ApiError 409 when it cannot answer."""
    handle = await _handle(request, ctx, campaign_id)
    try:
        counts: dict[str, Any] = await handle.query(CampaignWorkflow.progress)
    except RPCError as exc:
        log.warning("campaign_progress_failed", campaign_id=str(campaign_id), error=exc.status.name)
        raise ApiError(409, "the campaign's workflow cannot answer now") from None
    return counts


async def steer_campaign(
    request: Request, ctx: ClinicContext, campaign_id: uuid.UUID, signal: str
) -> Campaign:
    """Send the campaign's workflow one of STEERING_SIGNALS (audited); ApiError 409 when it is not running."""
    handle = await _handle(request, ctx, campaign_id)
    try:
        await handle.signal(signal)
    except RPCError as exc:
        log.warning("campaign_signal_failed", campaign_id=str(campaign_id), error=exc.status.name)
        raise ApiError(409, f"the campaign cannot be told to {signal}: its workflow is not running") from None
    await run_in_threadpool(_audit_signal, ctx, campaign_id)
    return await run_in_threadpool(_require_campaign, ctx, campaign_id)


def campaigns_router(settings: Settings) -> APIRouter:
    """The campaign routes; workflows run on `settings.temporal_task_queue`."""
    router = APIRouter(prefix="/clinics/{clinic_id}/campaigns", tags=["campaigns"])

    @router.get("", response_model=Page[CampaignOut])
    def list_campaigns(
        ctx: ClinicContext = Depends(clinic_context), page: PageParams = Depends(page_params)
    ) -> Page[CampaignOut]:
        """The clinic's campaigns, newest first."""
        with ctx.reading() as repo:
            rows, total = repo.page(
                Campaign, order_by=[col(Campaign.created_at).desc()], limit=page.limit, offset=page.offset
            )
            return Page.of([CampaignOut.model_validate(r) for r in rows], total, page)

    @router.post("", response_model=CampaignOut, status_code=201)
    async def create(
        body: CampaignIn, request: Request, ctx: ClinicContext = Depends(clinic_context)
    ) -> CampaignOut:
        """Create a campaign and start its workflow (it calls within its calling hours)."""
        return CampaignOut.model_validate(await launch_campaign(request, ctx, settings, body))

    @router.get("/{campaign_id}", response_model=CampaignOut)
    def get_campaign(campaign_id: uuid.UUID, ctx: ClinicContext = Depends(clinic_context)) -> CampaignOut:
        """One campaign."""
        return CampaignOut.model_validate(_require_campaign(ctx, campaign_id))

    @router.get("/{campaign_id}/progress", response_model=CampaignProgress)
    async def progress(
        campaign_id: uuid.UUID, request: Request, ctx: ClinicContext = Depends(clinic_context)
    ) -> CampaignProgress:
        """Counts by target status (pending, in progress, reached, confirmed...), live from the workflow."""
        counts = await campaign_progress(request, ctx, campaign_id)
        return CampaignProgress(campaign_id=campaign_id, progress=counts)

    def steering_route(signal: str) -> None:
        @router.post(
            f"/{{campaign_id}}/{signal}",
            status_code=202,
            response_model=CampaignOut,
            name=f"{signal}_campaign",
        )
        async def steer(
            campaign_id: uuid.UUID, request: Request, ctx: ClinicContext = Depends(clinic_context)
        ) -> CampaignOut:
            return CampaignOut.model_validate(await steer_campaign(request, ctx, campaign_id, signal))

        steer.__doc__ = f"Signal the campaign's workflow to {signal}."

    for signal in STEERING_SIGNALS:
        steering_route(signal)
    return router
