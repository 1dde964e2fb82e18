"""Every workflow and activity the Temporal worker registers. Add new ones here, nowhere else."""

from collections.abc import Callable
from typing import Any

from frontdesk.activities.appointments import APPOINTMENT_ACTIVITIES
from frontdesk.activities.calls import CALL_ACTIVITIES
from frontdesk.activities.campaigns import CAMPAIGN_ACTIVITIES
from frontdesk.activities.dialing import DIALING_ACTIVITIES
from frontdesk.workflows.call import CallWorkflow
from frontdesk.workflows.campaign import CampaignWorkflow
from frontdesk.workflows.outbound_call import OutboundCallWorkflow
from frontdesk.workflows.post_call import POST_CALL_ACTIVITIES, PostCallWorkflow

WORKFLOWS: list[type] = [CallWorkflow, PostCallWorkflow, CampaignWorkflow, OutboundCallWorkflow]

ACTIVITIES: list[Callable[..., Any]] = [
    *APPOINTMENT_ACTIVITIES,
    *CALL_ACTIVITIES,
    *POST_CALL_ACTIVITIES,
    *CAMPAIGN_ACTIVITIES,
    *DIALING_ACTIVITIES,
]
