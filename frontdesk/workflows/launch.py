"""Starting workflows from outside Temporal: a call's CallWorkflow (the voice webhook, the media
server) and a campaign's CampaignWorkflow (the CLI, the admin API).

Both try for the same call: the webhook when Twilio answers, the media server when the stream
starts (in case the webhook could not reach Temporal). The workflow id is the call sid; an
attempt on a running call joins it, and a finished call's sid never starts a second workflow.
Neither may keep a caller waiting on Temporal, so each attempt is bounded.
"""

import asyncio
from typing import Final
from uuid import UUID

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from frontdesk.logs import get_logger
from frontdesk.temporal_client import TemporalClientCache, TemporalUnavailableError
from frontdesk.workflows.call import CallWorkflow
from frontdesk.workflows.campaign import CampaignInput, CampaignWorkflow, campaign_workflow_id
from frontdesk.workflows.inputs import CallInput

log = get_logger(__name__)

# How long answering a call waits for Temporal before going on without it.
START_WITHIN_S: Final = 1.5


async def start_call_workflow(
    temporal: TemporalClientCache, task_queue: str, call: CallInput, *, within: float = START_WITHIN_S
) -> Client | None:
    """The client, once `call`'s CallWorkflow runs (started here if need be); None, logged, when
    Temporal did not answer within `within` seconds or the call's workflow already finished."""
    try:
        client = await temporal.get(within=within)
        async with asyncio.timeout(within):
            await client.start_workflow(
                CallWorkflow.run,
                call,
                id=call.call_sid,
                task_queue=task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
    except (TemporalUnavailableError, RPCError, TimeoutError, WorkflowAlreadyStartedError) as error:
        log.warning("call_workflow_not_started", call_sid=call.call_sid, error=type(error).__name__)
        return None
    return client


async def start_campaign_workflow(client: Client, task_queue: str, clinic_id: UUID, campaign_id: UUID) -> str:
    """Start a campaign's CampaignWorkflow (joining it if it runs already); its workflow id."""
    handle = await client.start_workflow(
        CampaignWorkflow.run,
        CampaignInput(clinic_id, campaign_id),
        id=campaign_workflow_id(campaign_id),
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
    )
    return handle.id
