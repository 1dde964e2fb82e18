"""The three vendor fakes served together on one port of 127.0.0.1, in the benchmark's event loop,
and the stack settings that point a stack's real SDK clients at them."""

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Final

import uvicorn
from starlette.applications import Starlette
from starlette.routing import Route, WebSocketRoute

from frontdesk.bench.fake_anthropic import MESSAGES_PATH, FakeAnthropic
from frontdesk.bench.fake_deepgram import LISTEN_PATH, FakeDeepgram
from frontdesk.bench.fake_elevenlabs import MODELS_PATH, SPEECH_PATH, FakeElevenLabs
from frontdesk.bench.profiles import DelayDraws, LatencyProfile
from frontdesk.bench.slots import WindowPlan
from frontdesk.bench.vendor_log import VendorLog

API_KEY: Final = "bench-vendor-key"
STARTUP_SECONDS: Final = 10.0


@dataclass(frozen=True)
class VendorFakes:
    """The running fakes: their base URL, what they recorded, and the windows left to book."""

    url: str
    log: VendorLog
    windows: WindowPlan

    def stack_overrides(self) -> dict[str, str]:
        """FRONTDESK_* settings that make a stack use these fakes as its vendors."""
        return {
            f"FRONTDESK_{vendor}_{setting}": value
            for vendor in ("DEEPGRAM", "ANTHROPIC", "ELEVENLABS")
            for setting, value in (("API_KEY", API_KEY), ("BASE_URL", self.url))
        }


@asynccontextmanager
async def vendor_fakes(profile: LatencyProfile, seed: int) -> AsyncIterator[VendorFakes]:
    """Serve the fakes replaying `profile` (delays drawn from `seed`) until the block ends."""
    draws, log, windows = DelayDraws(profile, seed), VendorLog(), WindowPlan()
    deepgram = FakeDeepgram(API_KEY, draws, log)
    anthropic = FakeAnthropic(API_KEY, draws, log, windows.take)
    elevenlabs = FakeElevenLabs(API_KEY, draws, log)
    app = Starlette(
        routes=[
            WebSocketRoute(LISTEN_PATH, deepgram.endpoint),
            Route(MESSAGES_PATH, anthropic.endpoint, methods=["POST"]),
            Route(SPEECH_PATH, elevenlabs.speech, methods=["POST"]),
            Route(MODELS_PATH, elevenlabs.models, methods=["GET"]),
        ]
    )
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", ws_ping_interval=None)
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[listener]), name="vendor-fakes")
    try:
        async with asyncio.timeout(STARTUP_SECONDS):
            while not server.started:
                if serving.done():
                    serving.result()  # raises what stopped it
                    raise RuntimeError("the vendor fakes stopped while starting")
                await asyncio.sleep(0.02)
        yield VendorFakes(f"http://127.0.0.1:{port}", log, windows)
    finally:
        server.should_exit = True
        await serving
        listener.close()
