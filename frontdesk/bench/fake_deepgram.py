"""A Deepgram listen v1 WebSocket (`/v1/listen`) that transcribes the bench caller by script.

It finds utterances in the audio by energy (`utterances.py`): at an utterance's start it sends
SpeechStarted; every half second of speech an interim Results (so the fallback chain never takes
the provider for stalled) with as many of the line's words as a caller speaking
`WORDS_PER_SECOND` has said by then (at least one, at most the line), so the last interim before
the end of speech holds the whole line or nearly; and after its end Results is_final +
speech_final with the next line of the bench script, then UtteranceEnd. The i-th utterance on a
connection is script line i.

The final's delay from the end of speech is the profile's draw, but never less than the silence
the client asked for with `endpointing` (Deepgram's default, 10 ms, when it asked for none) plus
the short processing a Finalize's answer takes: Deepgram cannot say speech_final before its
endpointing silence has passed, so a platform that waits for speech_final with a clinic's 650 ms
waits that long here too. KeepAlive is accepted; CloseStream is answered
with Metadata and a normal close, as Deepgram does.

Finalize is answered as Deepgram does, without waiting for the end of speech: an utterance still
in progress (the detector waits `END_SILENCE_MS` of silence) is ended at its last speech frame,
and its final, like the final of an utterance that ended but is not sent yet, goes out
`FINALIZE_SHARE` of its drawn delay after the Finalize arrived (Deepgram has no endpointing
silence to wait for then: 20-40 ms on the seed profile), unless the profile's delay from the end
of speech comes sooner. A final sent early by a Finalize is is_final + from_finalize (not
speech_final, as Deepgram marks it), then UtteranceEnd; each utterance's final goes out once,
whichever comes first, and is logged with when the Finalize arrived. With no final pending the
Finalize gets no answer (Deepgram need not answer when it holds nothing).
"""

import asyncio
import contextlib
import itertools
import json
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Final

from starlette.websockets import WebSocket, WebSocketDisconnect

from frontdesk.bench.profiles import DelayDraws
from frontdesk.bench.script import LINES, transcript
from frontdesk.bench.utterances import Utterance, UtteranceDetector
from frontdesk.bench.vendor_log import SttFinal, VendorLog
from frontdesk.realtime.audio.codec import FRAME_MS, MULAW_FRAME_BYTES

LISTEN_PATH: Final = "/v1/listen"
INTERIM_EVERY_FRAMES: Final = 500 // FRAME_MS  # half a second of speech
# Transcript words per second of the bench caller's speech, for interims: piper says lines 0, 2 and
# 3 at 4-5 (the last interim then holds 8 of 9, 6 of 6, 6 of 6 words), the date line at 2.5.
WORDS_PER_SECOND: Final = 4.0
FINALIZE_SHARE: Final = 0.1  # a Finalize's answer takes this share of the utterance's drawn delay
DEFAULT_ENDPOINTING_MS: Final = 10  # Deepgram's, when the client asks for none
_ARRIVALS_KEPT: Final = 500  # ten seconds of frames: longer than any end-of-speech wait
_CLOSE_POLICY: Final = 1008


def _results(
    text: str, start: float, end: float, *, final: bool, from_finalize: bool = False
) -> dict[str, Any]:
    """A Results message (without word timings: the platform reads the transcript and its span);
    a final is speech_final unless it answers a Finalize."""
    alternative = {"transcript": text, "confidence": 0.98, "words": []}
    return {
        "type": "Results",
        "channel_index": [0, 1],
        "duration": end - start,
        "start": start,
        "is_final": final,
        "speech_final": final and not from_finalize,
        "from_finalize": from_finalize,
        "channel": {"alternatives": [alternative]},
        "metadata": {
            "request_id": "bench",
            "model_info": {"name": "bench-fake", "version": "1", "arch": "bench"},
            "model_uuid": "00000000-0000-0000-0000-000000000000",
        },
    }


def interim_words(line: str, speech_s: float) -> str:
    """The words of `line` a caller has said after `speech_s` of speech (at least one)."""
    words = line.split()
    return " ".join(words[: max(1, min(len(words), int(speech_s * WORDS_PER_SECOND)))])


@dataclass
class _PendingFinal:
    """An ended utterance whose final is not sent yet."""

    index: int  # its position on the connection (= the script line)
    utterance: Utterance
    speech_end_at: float  # when its last speech frame arrived
    drawn_ms: float  # the profile's delay, from the end of speech
    endpointing_ms: int  # the silence the client asked Deepgram to wait for
    finalize_at: float | None = None  # when a Finalize asked for it
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def send_at(self) -> tuple[float, bool]:
        """When the final is due, and whether a Finalize is what makes it due then."""
        processing_s = FINALIZE_SHARE * self.drawn_ms / 1000
        endpointed = self.speech_end_at + max(self.drawn_ms / 1000, self.endpointing_ms / 1000 + processing_s)
        if self.finalize_at is None:
            return endpointed, False
        finalized = self.finalize_at + processing_s
        return min(endpointed, finalized), finalized < endpointed


class _Connection:
    """One live socket: its audio position, the utterance in progress and the pending finals."""

    def __init__(
        self, websocket: WebSocket, number: int, endpointing_ms: int, draws: DelayDraws, log: VendorLog
    ) -> None:
        self.websocket = websocket
        self.number = number
        self.endpointing_ms = endpointing_ms
        self.draws = draws
        self.log = log
        self.detector = UtteranceDetector()
        self.arrivals: deque[float] = deque(maxlen=_ARRIVALS_KEPT)  # arrival time of each frame
        self.unframed = b""
        self.utterances = 0  # utterances ended so far
        self.speech_frames = 0  # speech frames of the utterance in progress
        self.pending: list[_PendingFinal] = []  # finals not sent yet, oldest first
        self.sending: set[asyncio.Task[None]] = set()
        self.send_lock = asyncio.Lock()

    async def audio(self, data: bytes) -> None:
        self.unframed += data
        while len(self.unframed) >= MULAW_FRAME_BYTES:
            frame, self.unframed = self.unframed[:MULAW_FRAME_BYTES], self.unframed[MULAW_FRAME_BYTES:]
            self.arrivals.append(time.monotonic())
            started, ended = self.detector.feed(frame)
            for first in started:
                self.speech_frames = 0
                await self.send(
                    {"type": "SpeechStarted", "channel": [0], "timestamp": first * FRAME_MS / 1000}
                )
            if self.detector.in_speech:
                self.speech_frames += 1
                if self.speech_frames % INTERIM_EVERY_FRAMES == 0:
                    await self._interim()
            for utterance in ended:
                self._ended(utterance)

    def finalize(self) -> None:
        """Finalize: end the utterance in progress now, and have every pending final sent soon."""
        now = time.monotonic()
        if (unfinished := self.detector.flush()) is not None:
            self._ended(unfinished)
        for pending in self.pending:
            if pending.finalize_at is None:
                pending.finalize_at = now
                pending.wake.set()

    def _ended(self, utterance: Utterance) -> None:
        """An utterance is over: its final goes out after the profile's delay (or a Finalize's)."""
        arrived = self.arrivals[utterance.last_frame - (self.detector.frames - len(self.arrivals))]
        pending = _PendingFinal(self.utterances, utterance, arrived, self.draws.stt_ms(), self.endpointing_ms)
        self.pending.append(pending)
        task = asyncio.create_task(self._final(pending))
        self.sending.add(task)
        task.add_done_callback(self.sending.discard)
        self.utterances += 1

    async def _interim(self) -> None:
        if self.utterances >= len(LINES):
            return  # the caller said more than the script: nothing is recognized
        now_s = self.detector.frames * FRAME_MS / 1000
        speech_s = self.speech_frames * FRAME_MS / 1000
        words = interim_words(LINES[self.utterances].transcript, speech_s)
        await self.send(_results(words, now_s - speech_s, now_s, final=False))

    async def _final(self, pending: _PendingFinal) -> None:
        """Send an utterance's final once, when it is due (a Finalize may bring that forward)."""
        while (remaining := pending.send_at()[0] - time.monotonic()) > 0:
            pending.wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await pending.wake.wait()
        self.pending.remove(pending)
        text = transcript(pending.index, self.number)
        if text is None:
            return  # the caller said more than the script: nothing is recognized
        utterance, finalized = pending.utterance, pending.send_at()[1]
        await self.send(
            _results(text, utterance.start_s, utterance.end_s, final=True, from_finalize=finalized)
        )
        self.log.stt.append(
            SttFinal(
                self.number,
                pending.index,
                pending.speech_end_at,
                time.monotonic(),
                pending.drawn_ms,
                pending.finalize_at if finalized else None,
            )
        )
        await self.send({"type": "UtteranceEnd", "channel": [0, 1], "last_word_end": utterance.end_s})

    async def send(self, message: dict[str, Any]) -> None:
        async with self.send_lock:
            await self.websocket.send_text(json.dumps(message))

    async def close_stream(self) -> None:
        """CloseStream: flush the finals still due, send Metadata, close normally."""
        await asyncio.gather(*self.sending, return_exceptions=True)
        seconds = self.detector.frames * FRAME_MS / 1000
        await self.send(
            {
                "type": "Metadata",
                "transaction_key": "deprecated",
                "request_id": "bench",
                "sha256": "0" * 64,
                "created": "2026-01-01T00:00:00.000Z",
                "duration": seconds,
                "channels": 1,
            }
        )
        await self.websocket.close()

    def drop(self) -> None:
        for task in self.sending:
            task.cancel()


class FakeDeepgram:
    """The listen endpoint: `endpoint` is a Starlette WebSocket route handler."""

    def __init__(self, api_key: str, draws: DelayDraws, log: VendorLog) -> None:
        self.api_key = api_key
        self.draws = draws
        self.log = log
        self._numbers = itertools.count(1)

    async def endpoint(self, websocket: WebSocket) -> None:
        """Serve one listen socket until the client closes it or sends CloseStream."""
        if websocket.headers.get("authorization") != f"Token {self.api_key}":
            await websocket.close(code=_CLOSE_POLICY)  # before accept: the handshake gets 403
            return
        endpointing = websocket.query_params.get("endpointing", str(DEFAULT_ENDPOINTING_MS))
        if not endpointing.isdigit():
            # Deepgram refuses the handshake (400) over a bad parameter; the bench asks for ms.
            await websocket.close(code=_CLOSE_POLICY, reason=f"endpointing={endpointing!r} is not ms")
            return
        await websocket.accept()
        connection = _Connection(websocket, next(self._numbers), int(endpointing), self.draws, self.log)
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                if message.get("bytes"):
                    await connection.audio(message["bytes"])
                elif message.get("text"):
                    kind = json.loads(message["text"]).get("type")
                    if kind == "Finalize":
                        connection.finalize()
                    elif kind == "CloseStream":
                        await connection.close_stream()
                        break
        except (WebSocketDisconnect, RuntimeError):
            pass  # the platform hung up mid-send: the call is over
        finally:
            connection.drop()
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):  # closed by the client already
                await websocket.close()
