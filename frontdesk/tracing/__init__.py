"""OpenTelemetry tracing: each call one trace, from the voice webhook through the media session's
turns and the CallWorkflow's Updates to the post-call activities.

Off unless an OTLP endpoint is configured (`FRONTDESK_OTLP_ENDPOINT`, else the standard
`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`). Off, nothing is installed
and nothing of OpenTelemetry's SDK is even imported: Temporal clients get no interceptor, apps no
middleware, and our own spans come from the no-op tracer.

On, each process (`frontdesk api`, `realtime`, `worker`; `frontdesk dev`'s one web process is
`web`) has one tracer provider, kept here and handed explicitly to what traces: OpenTelemetry's
global provider is never set, so libraries that trace through it (the Anthropic SDK would trace
each request to Claude) stay silent. Spans leave in batches, from a thread of their own, over
OTLP/HTTP; what they may carry is in `frontdesk.tracing.export`.

`install` is also the tests' hook: a provider exporting to memory, then None.
"""

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Final
from uuid import UUID

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from frontdesk.config import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI
    from opentelemetry.sdk.trace import TracerProvider
    from temporalio.client import Interceptor

# Span attributes that say which call a span belongs to (ids only, never who called).
CALL_SID: Final = "frontdesk.call.sid"
CLINIC_ID: Final = "frontdesk.clinic.id"
# The standard variables the OTLP exporter reads by itself.
_OTEL_ENDPOINT_VARIABLES: Final = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
_TRACEPARENT: Final = "traceparent"
_PROPAGATOR: Final = TraceContextTextMapPropagator()
_NO_OP: Final = trace.NoOpTracer()

_provider: "TracerProvider | None" = None


def configure_tracing(settings: Settings, service: str) -> bool:
    """Trace this process as `frontdesk-{service}` when an OTLP endpoint is configured (whether
    one is). Each process's entry point calls it once, before it connects or serves anything."""
    endpoint = settings.otlp_endpoint or None  # compose passes an empty value for "not set"
    if endpoint is None and not any(os.environ.get(name) for name in _OTEL_ENDPOINT_VARIABLES):
        return False
    from frontdesk.tracing.export import otlp_exporter, tracer_provider

    install(tracer_provider(service, otlp_exporter(endpoint)))
    return True


def install(provider: "TracerProvider | None") -> None:
    """Make `provider` this process's tracer provider; None turns tracing off."""
    global _provider
    _provider = provider


def shutdown_tracing() -> None:
    """Export the spans still buffered: the process is about to exit."""
    if _provider is not None:
        _provider.shutdown()


def tracer() -> trace.Tracer:
    """Frontdesk's own tracer (the media session, its turns): the no-op one while tracing is off."""
    return _provider.get_tracer("frontdesk") if _provider is not None else _NO_OP


def temporal_interceptors() -> "list[Interceptor]":
    """The interceptors of every Temporal client of ours, which its workers inherit: while tracing
    is on, Temporal's own TracingInterceptor, so a workflow start, Update or signal carries the
    caller's trace context to the workflow, and on to its activities and child workflows."""
    if _provider is None:
        return []
    from temporalio.contrib.opentelemetry import TracingInterceptor

    # Its workflow spans are made outside the sandbox (an extern function), at workflow time,
    # and not again on replay: nothing for the sandbox to pass through.
    return [TracingInterceptor(_provider.get_tracer("temporalio"))]


def instrument_app(app: "FastAPI") -> None:
    """A server span for each HTTP request to `app` while tracing is on (no per-message spans).

    Probes and metrics scrapes are left out, and so are the media sockets: the media session's
    own span carries each call, in the call's trace rather than one of the socket's own."""
    if _provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    from frontdesk.telephony.browser.protocol import BROWSER_STREAM_PATH
    from frontdesk.telephony.twilio.protocol import MEDIA_PATH

    untraced = ("/healthz", "/readyz", "/metrics", MEDIA_PATH, BROWSER_STREAM_PATH)
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=_provider,
        excluded_urls=",".join(f"{path}$" for path in untraced),
        exclude_spans=["receive", "send"],
    )


def call_attributes(call_sid: str, clinic_id: UUID | None = None) -> Mapping[str, str]:
    """The attributes naming a call (and its clinic, when known)."""
    return {CALL_SID: call_sid} | ({CLINIC_ID: str(clinic_id)} if clinic_id is not None else {})


def current_traceparent() -> str | None:
    """The current span's W3C traceparent, for a hop no instrumentation carries (the voice
    webhook's TwiML to the media socket); None when nothing is traced."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get(_TRACEPARENT)


@contextmanager
def span_in(
    name: str, traceparent: str | None, kind: SpanKind, attributes: Mapping[str, str]
) -> Iterator[Span]:
    """A span of ours, current in the block, continuing the trace `traceparent` names (None: the
    current one). A failure marks it failed with the error's type alone: a message may quote a
    patient."""
    parent: Context | None = _PROPAGATOR.extract({_TRACEPARENT: traceparent}) if traceparent else None
    with tracer().start_as_current_span(
        name, parent, kind, attributes, record_exception=False, set_status_on_exception=False
    ) as span:
        try:
            yield span
        except Exception as error:
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
            raise
