"""Running a scenario at text level through a stack's workflows (`--text` with `--url` or
`--embedded`): the engine runs here, as in plain text mode, but on the stack's database and with
its changes as Updates on a CallWorkflow that the stack's worker runs; at hang-up the workflow
stores the transcript and its PostCallWorkflow sends the confirmations, which are checked as
they were sent. The caller's turns are played as in plain text mode (see text_runner), which
also tells the reply that made a transfer (`transfer_said`)."""

import asyncio
import uuid
from datetime import UTC, datetime

from frontdesk.agent.call_actions import CallActions
from frontdesk.agent.clinic_profile import ClinicProfile
from frontdesk.agent.text_call import TextCall
from frontdesk.caller.webhook import new_call_sid
from frontdesk.config import get_settings
from frontdesk.domain.call_clock import call_clock
from frontdesk.domain.calls import ensure_call, finish_call
from frontdesk.domain.models import CallDirection, Clinic
from frontdesk.domain.outcomes import Outcome
from frontdesk.eval.outbound import ScenarioTarget, answered_by_machine, scenario_target
from frontdesk.eval.results import ScenarioResult
from frontdesk.eval.scenario import Scenario
from frontdesk.eval.stack_runner import StackRunner
from frontdesk.eval.text_runner import converse_in_text
from frontdesk.realtime.call_actions import workflow_call_actions
from frontdesk.workflows.call import CallWorkflow
from frontdesk.workflows.inputs import CallInput


class StackTextRunner(StackRunner):
    """Runs scenarios one by one at text level through the stack's workflows."""

    mode = "text"

    async def _hold_call(
        self, scenario: Scenario, clinic: Clinic, number: str, result: ScenarioResult
    ) -> None:
        instant = scenario.instant(clinic.tz)
        offset = (instant - datetime.now(UTC)).total_seconds()
        target = None
        if scenario.direction == "outbound":
            target = await asyncio.to_thread(scenario_target, self._engine, clinic, scenario, instant)
        call_sid = new_call_sid()
        inbound = scenario.direction == "inbound"
        call_id = await asyncio.to_thread(
            ensure_call,
            self._engine,
            clinic.id,
            call_sid=call_sid,
            direction=CallDirection(scenario.direction),
            from_number=scenario.caller if inbound else number,
            to_number=number if inbound else scenario.caller,
        )
        if target is not None and answered_by_machine(scenario):
            # As the voice webhook answers a machine: the campaign's voicemail, no stream, no workflow.
            await asyncio.to_thread(
                finish_call, self._engine, clinic.id, call_id, turns=[], outcome=Outcome.voicemail.value
            )
            await self._check(call_sid, clinic, scenario, result, [target.context.voicemail], [])
            return
        await self._temporal.start_workflow(
            CallWorkflow.run,
            CallInput(clinic.id, call_id, call_sid, offset, clinic.max_call_seconds),
            id=call_sid,
            task_queue=self._settings.temporal_task_queue,
        )
        call, actions = await asyncio.to_thread(
            self._text_call, scenario, clinic, call_sid, call_id, offset, target
        )
        conversation = await converse_in_text(call, scenario, result)
        outcome = call.state.outcome.value if call.state.outcome else None
        patient = call.state.patient.id if call.state.patient else None
        await actions.hang_up(conversation.records, outcome, patient)
        await self._wait_for_workflows(call_sid)
        await self._check(call_sid, clinic, scenario, result, [], conversation.transfer_replies)

    def _text_call(
        self,
        scenario: Scenario,
        clinic: Clinic,
        call_sid: str,
        call_id: uuid.UUID,
        offset: float,
        target: ScenarioTarget | None,
    ) -> tuple[TextCall, CallActions]:
        """The text call on the call's clock, its changes going to its CallWorkflow (as a live
        call's do, the database taking over should the workflow stop answering)."""
        clock = call_clock(offset)
        made: list[CallActions] = []

        def workflow_actions(profile: ClinicProfile) -> CallActions:
            made.append(
                workflow_call_actions(
                    self._engine,
                    profile,
                    self._temporal,
                    call_sid,
                    call_id=call_id,
                    now=clock,
                    update_deadline=get_settings().call_update_deadline_seconds,
                )
            )
            return made[0]

        context = target.context if target else None
        call = TextCall(
            self._engine,
            clinic.id,
            scenario.caller,
            now=clock,
            direction=scenario.direction,
            purpose=context.purpose if context else None,
            appointment_id=context.appointment_id if context else None,
            campaign_kind=context.kind.value if context else None,
            actions_for=workflow_actions,
        )
        return call, made[0]
