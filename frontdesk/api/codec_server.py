"""The codec server: the HTTP endpoints Temporal's UI (and `temporal --codec-endpoint`) call to
read our encrypted payloads, for operators only.

Temporal's remote codec protocol: POST `<endpoint>/decode` or `<endpoint>/encode` with a
`Payloads` message as protobuf JSON (and the namespace in `X-Namespace`), answered with the
payloads decoded or encoded by the same codec every client and worker uses
(frontdesk.payload_codec).

Histories hold every clinic's patients, so only operators may decode: a signed-in dashboard
operator (the session cookie, which is why the endpoint lives under the dashboard's `/app`
path, where that cookie goes), or an operator API key as `Authorization: Bearer fd_...`
(`temporal workflow show --codec-endpoint ... --codec-auth 'Bearer fd_...'`). A Temporal UI on
another origin reaches it with the cookie when that origin is listed in
`FRONTDESK_CODEC_CORS_ORIGINS` and the UI includes credentials (its `codec.includeCredentials`).
"""

from collections.abc import Awaitable, Callable, Sequence
from typing import Final

from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from google.protobuf.json_format import MessageToJson, Parse, ParseError
from temporalio.api.common.v1 import Payload, Payloads

from frontdesk.api.backends import Backends
from frontdesk.api.errors import ApiError, error_response
from frontdesk.api.v1.access import key_principal
from frontdesk.config import Settings
from frontdesk.dashboard.auth import PREFIX, optional_user
from frontdesk.logs import get_logger
from frontdesk.payload_codec import PayloadKeyError, converter_for

log = get_logger(__name__)

CODEC_PATH: Final = f"{PREFIX}/codec"
# A history page decodes its events in batches; far more than a page needs, far less than a flood.
MAX_BODY_BYTES: Final = 8 * 1024 * 1024


def codec_endpoint(public_base_url: str) -> str:
    """The codec endpoint a Temporal UI is configured with, for the API at `public_base_url`."""
    return public_base_url.rstrip("/") + CODEC_PATH


def _operator(request: Request, backends: Backends) -> str:
    """Who is asking, as `kind:id` for the log line, once they are known to be an operator."""
    authorization = request.headers.get("authorization")
    if authorization is not None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "send an operator API key as 'Authorization: Bearer fd_...'")
        principal = key_principal(backends.engine, token.strip())
        if principal is None:
            raise ApiError(401, "this API key is not valid")
        if not principal.is_operator:
            raise ApiError(403, "only operator keys may decode payloads")
        return f"api_key:{principal.actor.id}"
    user = optional_user(request)
    if user is None:
        raise ApiError(401, "sign in to the dashboard as an operator, or send an operator API key")
    if not user.is_operator:
        raise ApiError(403, "only operators may decode payloads")
    return f"user:{user.user_id}"


async def _payloads(request: Request) -> list[Payload]:
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise ApiError(413, f"send at most {MAX_BODY_BYTES // (1024 * 1024)} MiB of payloads at once")
    try:
        return list(Parse(body or b"{}", Payloads()).payloads)
    except (ParseError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"the body must be a Payloads message as protobuf JSON: {exc}") from None


def codec_app(settings: Settings, backends: Backends) -> FastAPI:
    """The codec endpoints as an app of their own, mounted at CODEC_PATH: their CORS (for a
    Temporal UI elsewhere) stays theirs, and no other route of ours answers another origin."""
    codec = converter_for(settings).payload_codec
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.state.backends = backends  # optional_user finds the database here
    if settings.codec_cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.codec_cors_origins,
            allow_credentials=True,
            allow_methods=["POST"],
            allow_headers=["Content-Type", "X-Namespace", "Authorization"],
        )

    async def convert(
        request: Request, action: str, work: Callable[[Sequence[Payload]], Awaitable[list[Payload]]]
    ) -> Response:
        try:
            actor = _operator(request, backends)
            namespace = request.headers.get("x-namespace")
            if namespace is not None and namespace != settings.temporal_namespace:
                raise ApiError(404, f"this codec serves the namespace {settings.temporal_namespace!r} only")
            payloads = await _payloads(request)
            try:
                converted = await work(payloads)
            except PayloadKeyError as exc:
                raise ApiError(422, str(exc)) from None
        except ApiError as exc:
            return error_response(exc)
        log.info("codec_payloads", action=action, actor=actor, count=len(payloads))
        return Response(MessageToJson(Payloads(payloads=converted)), media_type="application/json")

    async def unchanged(payloads: Sequence[Payload]) -> list[Payload]:
        return list(payloads)

    @app.post("/decode")
    async def decode(request: Request) -> Response:
        return await convert(request, "decode", codec.decode if codec else unchanged)

    @app.post("/encode")
    async def encode(request: Request) -> Response:
        return await convert(request, "encode", codec.encode if codec else unchanged)

    return app
