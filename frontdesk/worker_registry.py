"""Every workflow and activity the Temporal worker registers. Add new ones here, nowhere else."""

from collections.abc import Callable
from typing import Any

from frontdesk.activities.appointments import APPOINTMENT_ACTIVITIES
from frontdesk.activities.calls import CALL_ACTIVITIES
from frontdesk.activities.campaigns import CAMPAIGN_ACTIVITIES
from frontdesk.activities.dialing import DialingActivities
from frontdesk.activities.messaging import MessagingActivities
from frontdesk.activities.retention import RETENTION_ACTIVITIES
from frontdesk.telephony.carrier import Carrier, TextMessages
from frontdesk.workflows.call import CallWorkflow
from frontdesk.workflows.campaign import CampaignWorkflow
from frontdesk.workflows.outbound_call import OutboundCallWorkflow
from frontdesk.workflows.post_call import PostCallWorkflow, post_call_activities
from frontdesk.workflows.retention import RetentionWorkflow

WORKFLOWS: list[type] = [
    CallWorkflow,
    PostCallWorkflow,
    CampaignWorkflow,
    OutboundCallWorkflow,
    RetentionWorkflow,
]


def activities(carrier: Carrier, texts: TextMessages | None) -> list[Callable[..., Any]]:
    """Every activity, those that call or text patients bound to the worker's carriers."""
    return [
        *APPOINTMENT_ACTIVITIES,
        *CALL_ACTIVITIES,
        *post_call_activities(MessagingActivities(texts)),
        *CAMPAIGN_ACTIVITIES,
        *RETENTION_ACTIVITIES,
        DialingActivities(carrier).place_outbound_call,
    ]
