"""Interrupting the engine mid-reply (barge-in): tool calls of the unfinished message are never
executed, the conversation stays well formed, and the agent's message is cut to what was heard."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from frontdesk.agent.brains.base import BrainContext, BrainEvent, TextDelta
from frontdesk.agent.conversation import TextBlock, ToolUseBlock
from frontdesk.agent.text_call import TextCall
from frontdesk.domain.models import Action, Clinic


class SlowBrain:
    """A stand-in for a streaming LLM: says a sentence, pauses, then asks for a tool."""

    name = "slow"

    def __init__(self) -> None:
        self.spoke = asyncio.Event()
        self.release = asyncio.Event()

    async def step(self, context: BrainContext) -> AsyncIterator[BrainEvent]:
        yield TextDelta("Let me transfer you to our billing team right away, one moment please. ")
        self.spoke.set()
        await self.release.wait()
        yield ToolUseBlock(id="toolu_interrupted", name="transfer_to_human", input={"reason": "billing"})


async def test_a_cancelled_generation_never_runs_its_tool_call(engine: Engine, demo_clinic: Clinic) -> None:
    brain = SlowBrain()
    call = TextCall(engine, demo_clinic.id, "+15550199009", brains=[brain], now=lambda: datetime.now(UTC))
    await call.start()
    reply = call.receptionist.respond("I have a question about my bill")
    heard: list[str] = []

    async def consume() -> None:
        async for chunk in reply:
            heard.append(chunk)

    task = asyncio.create_task(consume())
    await brain.spoke.wait()
    task.cancel()  # the caller barged in
    await asyncio.gather(task, return_exceptions=True)
    await reply.aclose()
    brain.release.set()
    call.receptionist.heard("Let me transfer you")

    with Session(engine) as session:
        assert session.exec(select(Action)).all() == []  # no transfer happened
    assert not call.state.ended and call.state.transfer_reason is None
    last = call.receptionist.conversation.messages[-1]
    assert last.role == "assistant" and last.content == [TextBlock(text="Let me transfer you")]
    assert not any(
        isinstance(b, ToolUseBlock) for m in call.receptionist.conversation.messages for b in m.content
    )
