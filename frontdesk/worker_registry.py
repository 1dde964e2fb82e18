"""Every workflow and activity the Temporal worker registers. Add new ones here, nowhere else."""

from collections.abc import Callable
from typing import Any

from frontdesk.activities.appointments import APPOINTMENT_ACTIVITIES
from frontdesk.activities.calls import CALL_ACTIVITIES
from frontdesk.workflows.call import CallWorkflow
from frontdesk.workflows.post_call import POST_CALL_ACTIVITIES, PostCallWorkflow

WORKFLOWS: list[type] = [CallWorkflow, PostCallWorkflow]

ACTIVITIES: list[Callable[..., Any]] = [*APPOINTMENT_ACTIVITIES, *CALL_ACTIVITIES, *POST_CALL_ACTIVITIES]
