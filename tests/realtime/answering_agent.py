"""A tiny stand-in for the turn loop, for the local caller's tests: it greets, and answers each
caller utterance (and each key press) with piper audio, a mark after each chunk; caller speech
over its audio clears it (barge-in). It hears speech by energy, which is all a test needs."""

import asyncio
from dataclasses import dataclass, field
from typing import Final

import numpy as np
from starlette.datastructures import State

from frontdesk.realtime.audio.codec import MULAW_FRAME_BYTES, mulaw_decode
from frontdesk.realtime.speech.piper_tts import PiperTextToSpeech
from frontdesk.realtime.transport import (
    AudioReceived,
    CallStarted,
    CallStopped,
    DigitPressed,
    MarkReached,
    Transport,
)

GREETING: Final = "Thanks for calling Maple Dental."
REPLY: Final = "Sure, I can help with that. Which day works best for you?"
VOICED_RMS: Final = 800.0  # piper speech is far above this; -40 dBFS noise (~330) is below
END_OF_TURN_FRAMES: Final = 25  # 0.5 s of quiet after speech
BARGE_IN_FRAMES: Final = 8  # 160 ms of speech over our audio


@dataclass
class AgentLog:
    """What the agent did and saw on one call."""

    marks_sent: list[str] = field(default_factory=list)
    frames_before_mark: list[int] = field(default_factory=list)  # 20 ms frames played before each mark
    marks_reached: list[str] = field(default_factory=list)
    replies: int = 0
    clears: int = 0
    digits: list[str] = field(default_factory=list)
    stopped: str | None = None


class AnsweringAgent:
    """The call handler; `calls` holds each call's AgentLog."""

    def __init__(self, tts: PiperTextToSpeech, reply: str = REPLY) -> None:
        self._tts = tts
        self._reply = reply
        self.calls: list[AgentLog] = []

    async def _speak(self, transport: Transport, log: AgentLog, text: str) -> None:
        async for chunk in self._tts.synthesize(text):
            name = f"m{len(log.marks_sent)}"
            log.marks_sent.append(name)
            frames = -(-len(chunk) // MULAW_FRAME_BYTES)  # the transport pads the last frame
            log.frames_before_mark.append((log.frames_before_mark or [0])[-1] + frames)
            await transport.play(chunk, name)

    async def handle(self, transport: Transport, _state: State) -> None:
        log = AgentLog()
        self.calls.append(log)
        voiced = quiet = 0
        cleared = False  # this reply was cut by a barge-in already
        speaking: asyncio.Task[None] | None = None
        async for event in transport.events():
            playing = len(log.marks_reached) < len(log.marks_sent)
            if isinstance(event, CallStarted):
                speaking = asyncio.create_task(self._speak(transport, log, GREETING))
            elif isinstance(event, AudioReceived):
                rms = float(np.sqrt(np.mean(mulaw_decode(event.mulaw).astype(np.float64) ** 2)))
                voiced, quiet = (voiced + 1, 0) if rms > VOICED_RMS else (voiced, quiet + 1)
                if playing and voiced >= BARGE_IN_FRAMES and not cleared:
                    if speaking is not None:
                        speaking.cancel()
                    await transport.clear()
                    log.clears += 1
                    cleared = True
                elif not playing and voiced >= BARGE_IN_FRAMES and quiet >= END_OF_TURN_FRAMES:
                    voiced, cleared = 0, False
                    log.replies += 1
                    speaking = asyncio.create_task(self._speak(transport, log, self._reply))
            elif isinstance(event, DigitPressed):
                log.digits.append(event.digit)
                log.replies += 1
                speaking = asyncio.create_task(self._speak(transport, log, self._reply))
            elif isinstance(event, MarkReached):
                log.marks_reached.append(event.name)
            elif isinstance(event, CallStopped):
                log.stopped = event.reason
        if speaking is not None:
            speaking.cancel()
            await asyncio.gather(speaking, return_exceptions=True)
