"""What the engine says around a tool call: the words before a call are released as the call
begins, and a reply that begins with a call is acknowledged with a fixed phrase at once."""

import asyncio
from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from frontdesk.agent.acknowledgements import LOOKING, Acknowledgement
from frontdesk.agent.brains.base import TextDelta, ToolCallStarted
from frontdesk.agent.conversation import TextBlock, ToolUseBlock
from frontdesk.agent.text_call import TextCall
from frontdesk.domain.models import Clinic
from tests.realtime.scripted_parts import ScriptedBrain

HANG_GUARD_S = 30.0  # bounds a wait for an event; not a speed check
JOHN = {"first_name": "John", "last_name": "Smith", "date_of_birth": "1975-06-14"}  # a demo patient


def identify(number: int) -> ToolUseBlock:
    return ToolUseBlock(id=f"toolu_{number}", name="identify_patient", input=dict(JOHN))


async def start(engine: Engine, clinic: Clinic, brain: ScriptedBrain) -> TextCall:
    call = TextCall(engine, clinic.id, "+15550199009", brains=[brain], now=lambda: datetime.now(UTC))
    await call.start()
    return call


async def test_a_reply_that_begins_with_a_tool_call_is_acknowledged_before_its_arguments(
    engine: Engine, demo_clinic: Clinic
) -> None:
    arguments_done = asyncio.Event()
    brain = ScriptedBrain(
        [ToolCallStarted("identify_patient"), arguments_done.wait, identify(1)],
        [TextDelta("I found your record, John.")],
    )
    call = await start(engine, demo_clinic, brain)
    reply = call.receptionist.respond("It's John Smith, born June 14th 1975.")

    async with asyncio.timeout(HANG_GUARD_S):
        first = await anext(reply)
    assert first == LOOKING and isinstance(first, Acknowledgement)  # spoken from the phrase cache
    arguments_done.set()
    rest = [chunk async for chunk in reply]
    assert "".join(rest) == "I found your record, John."
    acknowledged = call.receptionist.conversation.messages[-3]
    assert acknowledged.content == [TextBlock(text="Let me check."), identify(1)]


async def test_the_words_before_a_tool_call_end_as_the_call_begins(
    engine: Engine, demo_clinic: Clinic
) -> None:
    arguments_done = asyncio.Event()
    brain = ScriptedBrain(
        [
            TextDelta("Let me look you up."),
            ToolCallStarted("identify_patient"),
            arguments_done.wait,
            identify(1),
        ],
        [TextDelta("I found your record.")],
    )
    call = await start(engine, demo_clinic, brain)
    reply = call.receptionist.respond("It's John Smith, born June 14th 1975.")

    async with asyncio.timeout(HANG_GUARD_S):
        # The boundary comes while the call's arguments still stream, so speech releases the
        # sentence now; no acknowledgement, since the caller heard words.
        assert [await anext(reply), await anext(reply)] == ["Let me look you up.", " "]
    arguments_done.set()
    assert "".join([chunk async for chunk in reply]) == "I found your record."


def end_call(number: int) -> ToolUseBlock:
    return ToolUseBlock(id=f"toolu_{number}", name="end_call", input={})


async def test_only_a_reply_that_said_nothing_yet_is_acknowledged(
    engine: Engine, demo_clinic: Clinic
) -> None:
    brain = ScriptedBrain(
        [ToolCallStarted("identify_patient"), identify(1)],
        # A second round: the caller heard "Let me check." already.
        [ToolCallStarted("identify_patient"), identify(2)],
        [TextDelta("Goodbye!"), ToolCallStarted("end_call"), end_call(3)],
    )
    call = await start(engine, demo_clinic, brain)
    chunks = [chunk async for chunk in call.receptionist.respond("It's John Smith, born June 14th 1975.")]
    assert chunks == ["Let me check.", "Goodbye!", " "]


async def test_a_call_that_ends_or_hands_over_the_call_gets_no_acknowledgement(
    engine: Engine, demo_clinic: Clinic
) -> None:
    brain = ScriptedBrain([ToolCallStarted("end_call"), end_call(1)])
    call = await start(engine, demo_clinic, brain)
    assert [chunk async for chunk in call.receptionist.respond("That's all.")] == []
    assert call.state.ended
