"""`frontdesk dev`'s Temporal UI, served by the API under /temporal/.

The embedded UI (from the temporal CLI) can be told its codec endpoint but not to send
credentials to it, so on its own origin it could only ever show ciphertext. Served from the
API's own origin, its calls to the codec server (/app/codec) carry the dashboard's session
cookie like any same-origin request: a signed-in operator reads decoded payloads, anyone else
the ciphertext. Only the embedded stack sets `temporal_ui_upstream`; in production the Temporal
UI server is configured with `codec.includeCredentials` and FRONTDESK_CODEC_CORS_ORIGINS instead.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final

import httpx
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import RedirectResponse, StreamingResponse
from starlette.background import BackgroundTask

UI_PATH: Final = "/temporal"
# Hop-by-hop headers belong to one connection and are never forwarded (RFC 9110, section 7.6.1).
_HOP_BY_HOP: Final = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
     "transfer-encoding", "upgrade", "host", "content-length"}
)  # fmt: skip
_METHODS: Final = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def install_temporal_ui_proxy(app: FastAPI, upstream: str) -> None:
    """Serve the Temporal UI at `upstream` (started with the public path /temporal) under /temporal/."""
    client = httpx.AsyncClient(base_url=upstream.rstrip("/"), timeout=httpx.Timeout(30.0, connect=5.0))
    router = APIRouter(include_in_schema=False)

    @router.get(UI_PATH)
    def without_slash() -> Response:
        return RedirectResponse(f"{UI_PATH}/", status_code=307)

    @router.api_route(UI_PATH + "/{path:path}", methods=_METHODS)
    async def forward(request: Request) -> Response:
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP]
        upstream_request = client.build_request(
            request.method,
            request.url.path,
            params=request.url.query,
            headers=headers,
            content=request.stream(),
        )
        try:
            answer = await client.send(upstream_request, stream=True)
        except httpx.HTTPError as exc:
            return Response(f"the Temporal UI did not answer: {exc}", status_code=502)
        response = StreamingResponse(
            answer.aiter_raw(), status_code=answer.status_code, background=BackgroundTask(answer.aclose)
        )
        # Raw bytes go through as they came (compressed or not), with every header but the
        # connection's own, Set-Cookie repeated as the UI sent it.
        response.raw_headers = [
            (k.encode("latin-1"), v.encode("latin-1"))
            for k, v in answer.headers.multi_items()
            if k.lower() not in _HOP_BY_HOP
        ]
        return response

    app.include_router(router)
    previous = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(inner: FastAPI) -> AsyncIterator[None]:
        async with previous(inner):
            yield
        await client.aclose()

    app.router.lifespan_context = lifespan
