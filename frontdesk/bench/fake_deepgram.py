"""A Deepgram listen v1 WebSocket (`/v1/listen`) that transcribes the bench caller by script.

It finds utterances in the audio by energy (`utterances.py`): at an utterance's start it sends
SpeechStarted, every half second of speech an interim Results with the line's first words (so the
fallback chain never takes the provider for stalled), and after its end, plus the profile's
delay, Results is_final + speech_final with the next line of the bench script, then
UtteranceEnd. The i-th utterance on a connection is script line i. KeepAlive is accepted;
CloseStream is answered with Metadata and a normal close, as Deepgram does.
"""

import asyncio
import contextlib
import itertools
import json
import time
from collections import deque
from typing import Any, Final

from starlette.websockets import WebSocket, WebSocketDisconnect

from frontdesk.bench.profiles import DelayDraws
from frontdesk.bench.script import transcript
from frontdesk.bench.utterances import UtteranceDetector
from frontdesk.bench.vendor_log import SttFinal, VendorLog
from frontdesk.realtime.audio.codec import FRAME_MS, MULAW_FRAME_BYTES

LISTEN_PATH: Final = "/v1/listen"
INTERIM_EVERY_FRAMES: Final = 500 // FRAME_MS  # half a second of speech
INTERIM_WORDS: Final = 3
_ARRIVALS_KEPT: Final = 500  # ten seconds of frames: longer than any end-of-speech wait
_CLOSE_POLICY: Final = 1008


def _results(text: str, start: float, end: float, *, final: bool) -> dict[str, Any]:
    """A Results message (without word timings: the platform reads the transcript and its span)."""
    alternative = {"transcript": text, "confidence": 0.98, "words": []}
    return {
        "type": "Results",
        "channel_index": [0, 1],
        "duration": end - start,
        "start": start,
        "is_final": final,
        "speech_final": final,
        "from_finalize": False,
        "channel": {"alternatives": [alternative]},
        "metadata": {
            "request_id": "bench",
            "model_info": {"name": "bench-fake", "version": "1", "arch": "bench"},
            "model_uuid": "00000000-0000-0000-0000-000000000000",
        },
    }


class _Connection:
    """One live socket: its audio position, the utterance in progress and the pending finals."""

    def __init__(self, websocket: WebSocket, number: int, draws: DelayDraws, log: VendorLog) -> None:
        self.websocket = websocket
        self.number = number
        self.draws = draws
        self.log = log
        self.detector = UtteranceDetector()
        self.arrivals: deque[float] = deque(maxlen=_ARRIVALS_KEPT)  # arrival time of each frame
        self.unframed = b""
        self.utterances = 0  # utterances ended so far
        self.speech_frames = 0  # speech frames of the utterance in progress
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
                arrived = self.arrivals[utterance.last_frame - (self.detector.frames - len(self.arrivals))]
                task = asyncio.create_task(
                    self._final(self.utterances, utterance.start_s, utterance.end_s, arrived)
                )
                self.sending.add(task)
                task.add_done_callback(self.sending.discard)
                self.utterances += 1

    async def _interim(self) -> None:
        text = transcript(self.utterances, self.number)
        if text:
            now_s = self.detector.frames * FRAME_MS / 1000
            words = " ".join(text.split()[:INTERIM_WORDS])
            await self.send(_results(words, now_s - self.speech_frames * FRAME_MS / 1000, now_s, final=False))

    async def _final(self, index: int, start_s: float, end_s: float, speech_end_at: float) -> None:
        text = transcript(index, self.number)
        drawn = self.draws.stt_ms()
        await asyncio.sleep(max(0.0, speech_end_at + drawn / 1000 - time.monotonic()))
        if text is None:
            return  # the caller said more than the script: nothing is recognized
        await self.send(_results(text, start_s, end_s, final=True))
        self.log.stt.append(SttFinal(self.number, index, speech_end_at, time.monotonic(), drawn))
        await self.send({"type": "UtteranceEnd", "channel": [0, 1], "last_word_end": end_s})

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
        await websocket.accept()
        connection = _Connection(websocket, next(self._numbers), self.draws, self.log)
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                if message.get("bytes"):
                    await connection.audio(message["bytes"])
                elif message.get("text") and json.loads(message["text"]).get("type") == "CloseStream":
                    await connection.close_stream()
                    break
        except (WebSocketDisconnect, RuntimeError):
            pass  # the platform hung up mid-send: the call is over
        finally:
            connection.drop()
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):  # closed by the client already
                await websocket.close()
