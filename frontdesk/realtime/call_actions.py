"""A live call's actions: reads on the database, changes through the call's CallWorkflow, and the
database as the fallback once the workflow stops answering (see frontdesk.agent.call_actions)."""

import uuid
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.engine import Engine
from temporalio.client import Client

from frontdesk.agent.call_actions import CallActions
from frontdesk.agent.clinic_profile import ClinicProfile
from frontdesk.agent.database_actions import DatabaseChanges, DatabaseReads, database_call_actions
from frontdesk.domain.call_clock import call_clock
from frontdesk.domain.insurance import EligibilityChecker
from frontdesk.realtime import metrics
from frontdesk.realtime.call_services import CallServices
from frontdesk.realtime.workflow_changes import WorkflowChanges
from frontdesk.workflows.inputs import CallInput
from frontdesk.workflows.launch import start_call_workflow


def workflow_call_actions(
    engine: Engine,
    profile: ClinicProfile,
    client: Client,
    call_sid: str,
    *,
    call_id: uuid.UUID,
    now: Callable[[], datetime],
    update_deadline: float,
    eligibility: EligibilityChecker | None = None,
) -> CallActions:
    """The actions of a call whose CallWorkflow (workflow id `call_sid`) is running: its changes as
    Updates, each answered within `update_deadline` seconds or else, like every later change,
    made directly on the database. `eligibility` checks insurance (by default offline)."""
    return CallActions(
        DatabaseReads(engine, profile, now=now, eligibility=eligibility),
        WorkflowChanges(client, call_sid, update_deadline=update_deadline),
        fallback=DatabaseChanges(engine, profile, call_sid, call_id=call_id, now=now),
    )


async def open_call_actions(
    services: CallServices,
    profile: ClinicProfile,
    call_sid: str,
    call_id: uuid.UUID,
    clock_offset_seconds: float = 0.0,
) -> CallActions:
    """A live call's actions: through its CallWorkflow (started here if the webhook could not), or
    directly on the database when Temporal does not answer in time, because a caller on the line
    must be served either way. Both read the time from the call's clock."""
    call = CallInput(profile.id, call_id, call_sid, clock_offset_seconds, profile.max_call_seconds)
    now = call_clock(clock_offset_seconds)
    client = await start_call_workflow(services.temporal, services.settings.temporal_task_queue, call)
    if client is None:
        metrics.CALLS_WITHOUT_WORKFLOW.inc()
        return database_call_actions(
            services.engine, profile, call_sid, call_id=call_id, now=now, eligibility=services.eligibility
        )
    return workflow_call_actions(
        services.engine,
        profile,
        client,
        call_sid,
        call_id=call_id,
        now=now,
        update_deadline=services.settings.call_update_deadline_seconds,
        eligibility=services.eligibility,
    )
