"""The call's watchdogs: silence prompts and the clinic's maximum call length."""

import asyncio
import time
from collections.abc import Callable
from enum import StrEnum
from typing import Final

# How often the turn loop looks at the clocks: a silence prompt may come this much late.
TICK_SECONDS: Final = 0.5


class Alarm(StrEnum):
    """What a watchdog asks the turn loop to do."""

    idle_prompt = "idle_prompt"  # the caller went quiet: ask whether they are still there
    idle_goodbye = "idle_goodbye"  # still quiet after the prompt: say goodbye and hang up
    time_limit = "time_limit"  # the clinic's maximum call length is reached


class Tick:
    """Time passed: the turn loop checks its watchdogs."""


class CallWatchdogs:
    """Silence and the call's length, judged by the turn loop at each tick (it alone owns them)."""

    def __init__(self, idle_seconds: float, max_call_seconds: float, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self._idle_seconds = idle_seconds
        self._deadline = now + max_call_seconds
        self._last_activity = now
        self._idle_prompts = 0

    def activity(self, now: float | None = None) -> None:
        """Someone spoke: the silence counts from now."""
        self._last_activity = time.monotonic() if now is None else now

    def caller_spoke(self, now: float | None = None) -> None:
        """The caller took a turn: silence counts from now, and a later silence is prompted anew."""
        self.activity(now)
        self._idle_prompts = 0

    def check(self, busy: bool, now: float | None = None) -> Alarm | None:
        """What is due now; `busy` while either side is speaking or a reply is on its way."""
        now = time.monotonic() if now is None else now
        if now >= self._deadline:
            return Alarm.time_limit
        if busy or now - self._last_activity < self._idle_seconds:
            return None
        self._last_activity = now
        self._idle_prompts += 1
        return Alarm.idle_prompt if self._idle_prompts == 1 else Alarm.idle_goodbye


async def tick(post: Callable[[Tick], None]) -> None:
    """Post a Tick to the turn loop every TICK_SECONDS, for the life of the call."""
    while True:
        await asyncio.sleep(TICK_SECONDS)
        post(Tick())
