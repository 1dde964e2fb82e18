"""Waiting until a load's calls are over on the stack's side too: each call's CallWorkflow closed
(its transcript and outcome stored) and the PostCallWorkflow it started finished (summary, CRM,
confirmation SMS). Only then are the call records read and the stack's CPU counted: read earlier,
a booked call still shows its outcome as unset and its post-call work is missing from the CPU."""

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from temporalio.client import Client, WorkflowFailureError
from temporalio.service import RPCError, RPCStatusCode

from frontdesk.workflows.call import post_call_workflow_id

# How long the calls' workflows may take to finish after the last call hung up.
SETTLE_SECONDS: Final = 120.0


class Settled(StrEnum):
    """How a call's workflows ended, as far as the benchmark waited."""

    finished = "finished"  # the CallWorkflow and its PostCallWorkflow completed
    failed = "failed"  # one of them failed or was terminated
    timed_out = "timed_out"  # still running when the wait ran out
    no_workflow = "no_workflow"  # the call ran without a CallWorkflow (Temporal did not answer)


@dataclass(frozen=True)
class Settlement:
    """Each call's end, by call sid."""

    by_call: dict[str, Settled]

    def counts(self) -> dict[str, int]:
        """How many calls ended each way (every kind listed, zeros included)."""
        found = Counter(self.by_call.values())
        return {kind.value: found[kind] for kind in Settled}


async def _settle_one(client: Client, call_sid: str) -> Settled:
    try:
        await client.get_workflow_handle(call_sid).result()
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            return Settled.no_workflow
        raise
    except WorkflowFailureError:
        return Settled.failed
    try:
        await client.get_workflow_handle(post_call_workflow_id(call_sid)).result()
    except WorkflowFailureError:
        return Settled.failed
    return Settled.finished


async def settle_calls(
    client: Client, call_sids: Sequence[str], within: float = SETTLE_SECONDS
) -> Settlement:
    """Wait, up to `within` seconds in all, until every call's workflows have finished."""
    by_call = dict.fromkeys(call_sids, Settled.timed_out)

    async def one(call_sid: str) -> None:
        by_call[call_sid] = await _settle_one(client, call_sid)

    try:
        async with asyncio.timeout(within), asyncio.TaskGroup() as group:
            for call_sid in call_sids:
                group.create_task(one(call_sid))
    except TimeoutError:
        pass  # the calls still unsettled stay timed_out, and are reported so
    return Settlement(by_call)
