"""A traced process's tracer provider, and what its spans may carry out of the process.

Our own spans carry ids, timings and enum values only. Instrumentation copies what it meets, so
before export each span loses what may quote a patient: query strings (`/v1/patients?phone=`),
exception messages and stack traces (a vendor's or the database's error can quote a phone number
or a name), and any status description past the error's type (the ASGI instrumentation and
Temporal's interceptor both write "Type: message"). Exception types stay.
"""

from collections.abc import Sequence
from typing import Final

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import Status
from opentelemetry.util.types import Attributes, AttributeValue

# URL attributes of the HTTP semantic conventions, old and stable: kept without their query.
_URL_ATTRIBUTES: Final = frozenset({"http.url", "http.target", "url.full"})
_DROPPED_ATTRIBUTES: Final = frozenset({"url.query", "exception.message", "exception.stacktrace"})


def tracer_provider(service: str, exporter: SpanExporter) -> TracerProvider:
    """The provider of process `frontdesk-{service}`: its spans exported by `exporter` in batches,
    each stripped of what may quote a patient."""
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: f"frontdesk-{service}"}))
    provider.add_span_processor(BatchSpanProcessor(PatientSafeExporter(exporter)))
    return provider


def otlp_exporter(endpoint: str | None) -> OTLPSpanExporter:
    """OTLP over HTTP to the collector at `endpoint` (its /v1/traces); None: where the standard
    OTEL_EXPORTER_OTLP_* variables say, with their headers and timeouts."""
    if endpoint is None:
        return OTLPSpanExporter()
    return OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces")


class PatientSafeExporter(SpanExporter):
    """Exports, through another exporter, copies of the spans without what may quote a patient."""

    def __init__(self, exporter: SpanExporter) -> None:
        self._exporter = exporter

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Export the spans' safe copies."""
        return self._exporter.export([_safe(span) for span in spans])

    def shutdown(self) -> None:
        """Shut the exporter down."""
        self._exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Flush the exporter."""
        return self._exporter.force_flush(timeout_millis)


def _safe(span: ReadableSpan) -> ReadableSpan:
    status = span.status
    if status.description:
        status = Status(status.status_code, status.description.split(":", 1)[0])
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=_safe_attributes(span.attributes),
        events=[
            Event(event.name, _safe_attributes(event.attributes), event.timestamp) for event in span.events
        ],
        links=span.links,
        kind=span.kind,
        status=status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


def _safe_attributes(attributes: Attributes) -> dict[str, AttributeValue]:
    safe: dict[str, AttributeValue] = {}
    for key, value in (attributes or {}).items():
        if key in _DROPPED_ATTRIBUTES:
            continue
        safe[key] = value.split("?", 1)[0] if key in _URL_ATTRIBUTES and isinstance(value, str) else value
    return safe
