"""A speculative reply (started before the caller's words were final) held at its gate, then
abandoned: `rewind` leaves the conversation, the call's state and the deterministic brain's
dialogue exactly as they were, and none of its tools ran."""

import asyncio
import copy
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from frontdesk.agent.brains.fallback import FallbackBrain
from frontdesk.agent.conversation import Message, ToolUseBlock
from frontdesk.agent.text_call import TextCall
from frontdesk.domain.models import Action, Clinic


async def test_a_reply_abandoned_at_its_gate_is_undone_by_rewind(engine: Engine, demo_clinic: Clinic) -> None:
    now = lambda: datetime.now(UTC)  # noqa: E731
    brain = FallbackBrain(now)
    call = TextCall(engine, demo_clinic.id, "+15550199009", brains=[brain], now=now)
    await call.start()
    receptionist = call.receptionist
    before = [m.model_copy(deep=True) for m in receptionist.conversation.messages]
    state_before, dialogue_before = copy.deepcopy(call.state), copy.deepcopy(brain.dialogue)

    checkpoint = receptionist.checkpoint()
    words: list[str] = []

    async def speak() -> None:
        async for chunk in receptionist.respond("Please stop calling me.", gate=asyncio.Event()):
            words.append(chunk)

    speaking = asyncio.create_task(speak())
    async with asyncio.timeout(30):  # its tool round is written, and waits at the gate
        while not _asked_for_a_tool(receptionist.conversation.messages[len(before) :]):  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    assert not speaking.done() and words
    speaking.cancel()  # abandoned: the final said something else
    await asyncio.gather(speaking, return_exceptions=True)
    await receptionist.settle()  # a tool that had started would finish here
    receptionist.rewind(checkpoint)

    assert receptionist.conversation.messages == before
    assert call.state == state_before and brain.dialogue == dialogue_before
    with Session(engine) as session:
        assert session.exec(select(Action)).all() == []  # the opt-out it asked for never ran

    # The engine goes on as if the abandoned reply never happened.
    answer = "".join([chunk async for chunk in receptionist.respond("What are your hours?")])
    assert answer.strip()
    assert [m.role for m in receptionist.conversation.messages[len(before) :]] == ["user", "assistant"]


def _asked_for_a_tool(messages: list[Message]) -> bool:
    return any(isinstance(block, ToolUseBlock) for message in messages for block in message.content)
