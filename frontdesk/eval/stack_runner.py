"""What every run of a scenario against a stack shares, in audio and in text alike: a clinic of
its own in the stack's database (a copy of the demo clinic under a fresh slug and phone number,
seeded relative to the scenario's `now`, so scenarios cannot see each other's bookings), a bound
on the whole call, waiting for the call's workflows, and the checks.

Expectations are checked once the CallWorkflow and its PostCallWorkflow are done: outcome,
appointment, its patient and transfer in the database; `confirmation_sent` in the messages the
post-call workflow actually sent (at least one, none twice); the agent's words in the stored
transcript (what the caller heard); `transfer_said` in the reply the mode saw make the transfer
(text level only); `max_voice_to_voice_ms` against the latencies the mode measured.
"""

import asyncio
import secrets
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Final

from sqlalchemy.engine import Engine
from sqlmodel import col, select
from temporalio.client import Client, WorkflowFailureError
from temporalio.service import RPCError

from frontdesk.caller.webhook import WebhookError
from frontdesk.config import Settings
from frontdesk.domain.database import session_scope
from frontdesk.domain.models import Call, CallTurn, Clinic, Message, MessageStatus, TurnRole
from frontdesk.domain.seed import DEMO_SLUG, seed_demo
from frontdesk.eval.checks import check_call
from frontdesk.eval.outbound import OutboundScenarioError
from frontdesk.eval.results import Check, ScenarioResult
from frontdesk.eval.scenario import Scenario
from frontdesk.workflows.call import post_call_workflow_id

# A scenario's whole call, its workflows included, must be over within this.
SCENARIO_TIMEOUT_SECONDS: Final = 300.0
# After the caller hangs up: the CallWorkflow stores the transcript, then its post-call child
# sends the confirmation. Guards against a stack that never finishes, not speed checks.
CALL_WORKFLOW_TIMEOUT_SECONDS: Final = 60.0
POST_CALL_TIMEOUT_SECONDS: Final = 120.0


class StackModeError(Exception):
    """A scenario that cannot run against this stack as given; the message says why."""


class StackRunner(ABC):
    """Runs scenarios one by one against the stack whose database and Temporal server `settings`
    name (and whose webhooks answer at `base_url`)."""

    mode = "stack"

    def __init__(self, settings: Settings, base_url: str, engine: Engine, temporal: Client) -> None:
        self._settings = settings
        self._base_url = base_url.rstrip("/")
        self._engine = engine
        self._temporal = temporal

    async def run(self, path: Path, scenario: Scenario) -> ScenarioResult:
        """Hold the scenario's call and check its expectations; failures are in the result."""
        result = ScenarioResult.before_the_call(path, scenario)
        try:
            if scenario.clinic != DEMO_SLUG:
                raise StackModeError(
                    f"{self.mode} mode copies only the demo clinic (clinic: {DEMO_SLUG}), "
                    f"not {scenario.clinic!r}"
                )
            async with asyncio.timeout(SCENARIO_TIMEOUT_SECONDS):
                clinic, number = await asyncio.to_thread(self._fresh_clinic, scenario)
                await self._hold_call(scenario, clinic, number, result)
        except (StackModeError, OutboundScenarioError, WebhookError) as error:
            result.error = str(error)
        except TimeoutError:
            result.error = f"the call was not over within {SCENARIO_TIMEOUT_SECONDS:g} s"
        except Exception as error:  # one crashing call must not hide the other scenarios' results
            result.error = f"the call failed: {type(error).__name__}: {error}"
        return result

    @abstractmethod
    async def _hold_call(
        self, scenario: Scenario, clinic: Clinic, number: str, result: ScenarioResult
    ) -> None:
        """Hold the call with `clinic` (dialled at `number`), wait for its workflows and check it."""

    def _fresh_clinic(self, scenario: Scenario) -> tuple[Clinic, str]:
        """A copy of the demo clinic for this call alone, and its phone number."""
        suffix = secrets.token_hex(4)
        number = f"+1555{int(suffix, 16) % 10**7:07d}"
        today = scenario.now.date() if scenario.now else None
        return seed_demo(self._engine, today, slug=f"eval-{suffix}", number=number), number

    async def _wait_for_workflows(self, call_sid: str) -> None:
        """Wait until the call's workflow and its post-call child are done (the transcript is
        stored, the confirmation sent)."""
        try:
            async with asyncio.timeout(CALL_WORKFLOW_TIMEOUT_SECONDS):
                await self._temporal.get_workflow_handle(call_sid).result()
            async with asyncio.timeout(POST_CALL_TIMEOUT_SECONDS):
                await self._temporal.get_workflow_handle(post_call_workflow_id(call_sid)).result()
        except (WorkflowFailureError, RPCError) as error:
            raise StackModeError(f"the call's workflows did not complete: {error}") from None
        except TimeoutError:
            raise StackModeError("the call's workflows were still running after the call") from None

    async def _check(
        self,
        call_sid: str,
        clinic: Clinic,
        scenario: Scenario,
        result: ScenarioResult,
        said: list[str],
        transfer_replies: list[str] | None,
    ) -> None:
        """Fill the result's transcript and checks; `said` is what the carrier said before any
        stream (the voicemail a machine got); `transfer_replies` the agent's replies that made a
        transfer, None when the mode cannot tell them."""
        await asyncio.to_thread(
            self._check_in_database, call_sid, clinic, scenario, result, said, transfer_replies
        )

    def _check_in_database(
        self,
        call_sid: str,
        clinic: Clinic,
        scenario: Scenario,
        result: ScenarioResult,
        said: list[str],
        transfer_replies: list[str] | None,
    ) -> None:
        with session_scope(self._engine) as session:
            call = session.exec(select(Call).where(Call.call_sid == call_sid)).one()
            turns = session.exec(
                select(CallTurn).where(CallTurn.call_id == call.id).order_by(col(CallTurn.index))
            ).all()
            messages = session.exec(
                select(Message).where(Message.clinic_id == clinic.id, Message.status != MessageStatus.failed)
            ).all()
            confirmations = [(m.appointment_id, m.channel) for m in messages if m.appointment_id is not None]
        result.transcript = [(TurnRole.agent.value, text) for text in said] + [
            (turn.role.value, turn.heard_text if turn.heard_text is not None else turn.text) for turn in turns
        ]
        agent_words = " ".join(text for role, text in result.transcript if role == TurnRole.agent.value)
        wanted = bool(scenario.expect.confirmation_sent)
        repeated = len(confirmations) != len(set(confirmations))
        confirmation = Check(
            "confirmation_sent",
            str(wanted).lower(),
            f"{len(confirmations)} confirmation message(s)" + (", one sent twice" if repeated else ""),
            (len(confirmations) > 0) == wanted and not repeated,
        )
        result.checks = check_call(
            self._engine,
            call.id,
            clinic,
            scenario.expect,
            agent_words,
            confirmation=confirmation,
            voice_to_voice_ms=result.voice_to_voice_ms if self.mode == "audio" else None,
            transfer_replies=transfer_replies,
        )
        result.got_outcome = result.checks[0].got
