"""Request limits of the admin API: a per-key rate limit and a request body size limit.

The rate limit is an in-process token bucket per API key: each key may burst `burst` requests
and then `rate` per second. Each API process keeps its own buckets, so with N processes a key
gets up to N times the rate; put a shared limiter (the load balancer, Redis) in front when that
matters. The body limit reads at most `max_bytes` + 1 bytes of a request before refusing it.
"""

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_RATE_PER_SECOND: Final = 20.0
DEFAULT_BURST: Final = 100
DEFAULT_MAX_BODY_BYTES: Final = 1024 * 1024


@dataclass
class TokenBuckets:
    """Token buckets per key: `take` says whether a request may go ahead, else how long to wait."""

    rate: float = DEFAULT_RATE_PER_SECOND
    burst: int = DEFAULT_BURST
    _buckets: dict[uuid.UUID, tuple[float, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, key: uuid.UUID) -> float:
        """Spend one token of `key`'s bucket: 0.0 when allowed, else the seconds until one is free."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                return (1.0 - tokens) / self.rate
            self._buckets[key] = (tokens - 1.0, now)
            return 0.0


class BodySizeLimit:
    """ASGI middleware: a request under `prefix` with a body over `max_bytes` gets 413."""

    def __init__(self, app: ASGIApp, *, prefix: str, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.prefix = prefix
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body.extend(message.get("body", b""))
            more = message.get("more_body", False)
            if len(body) > self.max_bytes:
                await self._refuse(send)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send) -> None:
        payload = json.dumps(
            {
                "error": {
                    "code": "body_too_large",
                    "message": f"the request body is larger than {self.max_bytes} bytes",
                    "details": None,
                }
            }
        ).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": payload})
