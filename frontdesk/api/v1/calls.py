"""Calls: the call log with filters, and one call with its transcript (what the caller heard),
actions, timings, summary and a link to its workflow in the Temporal UI."""

import uuid
from datetime import datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime
from sqlmodel import col

from frontdesk.api.v1.access import ClinicContext, clinic_context
from frontdesk.api.v1.base_models import Output
from frontdesk.api.v1.pagination import Page, PageParams, page_params
from frontdesk.config import Settings
from frontdesk.domain.models import ActionStatus, Call, CallDirection, CallStatus, TurnRole
from frontdesk.domain.outcomes import Outcome


class CallOut(Output):
    """One call of the log."""

    id: uuid.UUID
    call_sid: str
    direction: CallDirection
    from_number: str
    to_number: str
    status: CallStatus
    started_at: datetime
    ended_at: datetime | None
    outcome: str | None
    patient_id: uuid.UUID | None


class TurnOut(Output):
    """A transcript turn: for the agent, `text` is what it generated and `heard_text` what played."""

    index: int
    role: TurnRole
    text: str
    heard_text: str | None
    timings: dict[str, Any]
    created_at: datetime


class ActionOut(Output):
    """A side effect ordered on or after the call."""

    id: uuid.UUID
    kind: str
    status: ActionStatus
    result: dict[str, Any] | None
    error: str | None
    created_at: datetime
    completed_at: datetime | None


class CallDetail(CallOut):
    """A call with its transcript, actions, summary and workflow link; once the clinic's retention
    period has passed, `transcript_removed_at` says when the turns' texts and the summary went."""

    summary: str | None
    transcript_removed_at: datetime | None
    turns: list[TurnOut]
    actions: list[ActionOut]
    workflow_url: str


def workflow_url(settings: Settings, workflow_id: str) -> str:
    """The Temporal Web UI page of a workflow (temporal_ui_url, else the UI beside the frontend on
    its own port)."""
    host = settings.temporal_address.rsplit(":", 1)[0]
    base = (settings.temporal_ui_url or f"http://{host}:{settings.temporal_ui_port}").rstrip("/")
    namespace = quote(settings.temporal_namespace, safe="")
    workflow = quote(workflow_id, safe="")
    return f"{base}/namespaces/{namespace}/workflows/{workflow}"


def call_log_filter(
    started_from: datetime | None,
    started_to: datetime | None,
    direction: CallDirection | None,
    outcome: str | None,
    transferred: bool | None,
) -> list[Any]:
    """The query conditions of the call log's filters (None: that filter is off)."""
    conditions: list[Any] = []
    if started_from is not None:
        conditions.append(col(Call.started_at) >= started_from)
    if started_to is not None:
        conditions.append(col(Call.started_at) < started_to)
    if direction is not None:
        conditions.append(Call.direction == direction)
    if outcome is not None:
        conditions.append(Call.outcome == outcome)
    if transferred is True:
        conditions.append(Call.outcome == Outcome.transferred.value)
    elif transferred is False:
        conditions.append((Call.outcome != Outcome.transferred.value) | col(Call.outcome).is_(None))
    return conditions


def call_detail(ctx: ClinicContext, settings: Settings, call_id: uuid.UUID) -> CallDetail:
    """One call of the clinic with its transcript, actions and workflow link (ApiError 404 for none)."""
    with ctx.reading() as repo:
        call = repo.require(Call, call_id)
        return CallDetail(
            **CallOut.model_validate(call).model_dump(),
            summary=call.summary,
            transcript_removed_at=call.transcript_removed_at,
            turns=[TurnOut.model_validate(t) for t in repo.turns(call.id)],
            actions=[ActionOut.model_validate(a) for a in repo.actions(call_id=call.id)],
            workflow_url=workflow_url(settings, call.call_sid),
        )


def calls_router(settings: Settings) -> APIRouter:
    """The call log routes; workflow links point at `settings`' Temporal UI."""
    router = APIRouter(prefix="/clinics/{clinic_id}/calls", tags=["calls"])

    @router.get("", response_model=Page[CallOut])
    def list_calls(
        ctx: ClinicContext = Depends(clinic_context),
        page: PageParams = Depends(page_params),
        started_from: AwareDatetime | None = Query(
            None, alias="from", description="calls started at or after"
        ),
        started_to: AwareDatetime | None = Query(None, alias="to", description="calls started before"),
        direction: CallDirection | None = None,
        outcome: str | None = Query(None, max_length=64),
        transferred: bool | None = Query(None, description="only calls handed to a human (or only not)"),
    ) -> Page[CallOut]:
        """The clinic's calls, newest first."""
        conditions = call_log_filter(started_from, started_to, direction, outcome, transferred)
        with ctx.reading() as repo:
            rows, total = repo.page(
                Call,
                *conditions,
                order_by=[col(Call.started_at).desc()],
                limit=page.limit,
                offset=page.offset,
            )
            return Page.of([CallOut.model_validate(r) for r in rows], total, page)

    @router.get("/{call_id}", response_model=CallDetail)
    def get_call(call_id: uuid.UUID, ctx: ClinicContext = Depends(clinic_context)) -> CallDetail:
        """One call with its transcript by turn, actions, timings and summary."""
        return call_detail(ctx, settings, call_id)

    return router
