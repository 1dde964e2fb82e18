"""Reading a call back from the database once the media server has stored it.

The caller's side of a test ends at hang-up; the server stores the transcript as its side of the
call ends, a moment later. `stored_call` waits (bounded) for that, instead of racing it.
"""

import asyncio

from sqlalchemy import Engine
from sqlmodel import Session, select

from frontdesk.domain.models import Call, CallTurn

STORE_GUARD_SECONDS = 30.0  # a hang guard, not a speed check
POLL_SECONDS = 0.05


def _read(engine: Engine, call_sid: str) -> tuple[Call, list[CallTurn]] | None:
    with Session(engine) as session:
        row = session.exec(select(Call).where(Call.call_sid == call_sid)).first()
        if row is None:
            return None
        turns = list(
            session.exec(select(CallTurn).where(CallTurn.call_id == row.id).order_by(CallTurn.index))
        )
        return (row, turns) if turns else None


async def stored_call(engine: Engine, call_sid: str) -> tuple[Call, list[CallTurn]]:
    """The call's row and its transcript, once the media server has stored them."""
    # The store is another process's database write: there is no event to wait on, so poll.
    for _ in range(int(STORE_GUARD_SECONDS / POLL_SECONDS)):
        if (stored := await asyncio.to_thread(_read, engine, call_sid)) is not None:
            return stored
        await asyncio.sleep(POLL_SECONDS)
    raise AssertionError(f"the media server did not store the call within {STORE_GUARD_SECONDS} s")
