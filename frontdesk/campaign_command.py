"""`frontdesk campaign ...`: create, watch and steer outbound campaigns from the command line.

Ops staff use the admin API for the same; both create the campaign row through the domain and
start its CampaignWorkflow, whose signals and progress query the other commands use. Temporal and
the database are imported inside the commands, so `frontdesk --help` stays fast.
"""

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import typer

from frontdesk.config import Settings, get_settings
from frontdesk.domain.campaign_settings import CampaignKind
from frontdesk.domain.clinic_settings import Weekday

if TYPE_CHECKING:
    from temporalio.client import Client, WorkflowHandle

campaign_app = typer.Typer(
    help="Outbound calling campaigns (reminders, recalls, follow-ups).", no_args_is_help=True
)

CONNECT_WITHIN_S = 10.0


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


async def _client(settings: Settings) -> "Client":
    from frontdesk.temporal_client import TemporalUnavailableError, connect_settings

    try:
        return await connect_settings(settings, within=CONNECT_WITHIN_S)
    except TemporalUnavailableError as exc:
        raise _fail(str(exc)) from None


def _clinic_id(settings: Settings, slug: str) -> uuid.UUID:
    from sqlmodel import Session

    from frontdesk.domain.database import make_engine
    from frontdesk.domain.repository import clinic_by_slug

    with Session(make_engine(settings.database_url)) as session:
        clinic = clinic_by_slug(session, slug)
        if clinic is None:
            raise _fail(f"no clinic with slug {slug!r}")
        return clinic.id


async def _handle(settings: Settings, campaign_id: uuid.UUID) -> "WorkflowHandle[Any, Any]":
    from frontdesk.workflows.campaign import campaign_workflow_id

    return (await _client(settings)).get_workflow_handle(campaign_workflow_id(campaign_id))


@campaign_app.command("create")
def create(
    clinic: str = typer.Option("demo", help="the clinic's slug"),
    kind: CampaignKind = typer.Option(CampaignKind.reminder, help="reminder, recall or follow_up"),
    days: int = typer.Option(7, min=1, max=90, help="reminders: appointments in the next DAYS days"),
    patient: list[uuid.UUID] = typer.Option([], help="recall/follow-up: a patient id (repeatable)"),
    name: str | None = typer.Option(None, help="a name for the campaign"),
    message: str = typer.Option("", help="the voicemail and SMS wording (default: the kind's)"),
    calls_per_minute: int = typer.Option(6, min=1, max=600),
    max_concurrent: int = typer.Option(3, min=1, max=100),
    attempts: int = typer.Option(2, min=1, max=5, help="calls per patient at most"),
    hours: str = typer.Option("09:00-19:00", help="calling hours in the clinic's time zone, HH:MM-HH:MM"),
    weekday: list[Weekday] = typer.Option(
        [], help="a day calls may be placed (repeatable; default Monday to Friday)"
    ),
) -> None:
    """Create a campaign and start calling (within calling hours)."""
    from frontdesk.domain.campaign_settings import WORKDAYS, CallingHours, CampaignAudience, CampaignPlan
    from frontdesk.domain.campaigns import create_campaign
    from frontdesk.domain.database import make_engine, session_scope
    from frontdesk.domain.models import Campaign
    from frontdesk.workflows.launch import start_campaign_workflow

    settings = get_settings()
    clinic_id = _clinic_id(settings, clinic)
    try:
        start, end = (datetime.strptime(part.strip(), "%H:%M").time() for part in hours.split("-"))
        plan = CampaignPlan(
            calling_hours=CallingHours(start=start, end=end, weekdays=weekday or list(WORKDAYS)),
            calls_per_minute=calls_per_minute,
            max_concurrent=max_concurrent,
            attempts_per_target=attempts,
        )
        now = datetime.now(UTC)
        audience = (
            CampaignAudience(patient_ids=patient)
            if patient
            else CampaignAudience(appointments_from=now, appointments_to=now + timedelta(days=days))
        )
        campaign = create_campaign(
            make_engine(settings.database_url),
            clinic_id,
            name=name or f"{kind.value} {now:%Y-%m-%d %H:%M}",
            kind=kind,
            audience=audience,
            plan=plan,
            message=message,
        )
    except ValueError as exc:
        raise _fail(str(exc)) from None

    async def start() -> str:
        client = await _client(settings)
        return await start_campaign_workflow(client, settings.temporal_task_queue, clinic_id, campaign.id)

    workflow_id = asyncio.run(start())
    with session_scope(make_engine(settings.database_url)) as session:
        row = session.get(Campaign, campaign.id)
        assert row is not None
        row.workflow_id = workflow_id
    typer.echo(f"campaign {campaign.id} started (workflow {workflow_id})")


@campaign_app.command("progress")
def progress(campaign_id: uuid.UUID) -> None:
    """Print a campaign's progress (pending, in progress, reached, confirmed...) as JSON."""
    from temporalio.service import RPCError

    from frontdesk.workflows.campaign import CampaignWorkflow

    settings = get_settings()

    async def query() -> dict[str, Any]:
        result: dict[str, Any] = await (await _handle(settings, campaign_id)).query(CampaignWorkflow.progress)
        return result

    try:
        typer.echo(json.dumps(asyncio.run(query()), indent=2))
    except RPCError as exc:
        raise _fail(f"campaign {campaign_id}: {exc.message}") from None


def _steer(campaign_id: uuid.UUID, signal: str, done: str) -> None:
    from temporalio.service import RPCError

    settings = get_settings()

    async def send() -> None:
        await (await _handle(settings, campaign_id)).signal(signal)

    try:
        asyncio.run(send())
    except RPCError as exc:
        raise _fail(f"campaign {campaign_id}: {exc.message}") from None
    typer.echo(f"campaign {campaign_id} {done}")


@campaign_app.command("pause")
def pause(campaign_id: uuid.UUID) -> None:
    """Start no new calls until resumed."""
    _steer(campaign_id, "pause", "paused")


@campaign_app.command("resume")
def resume(campaign_id: uuid.UUID) -> None:
    """Start calling again."""
    _steer(campaign_id, "resume", "resumed")


@campaign_app.command("cancel")
def cancel(campaign_id: uuid.UUID) -> None:
    """Stop the campaign: calls in progress finish, the rest are skipped."""
    _steer(campaign_id, "cancel", "cancelled")
