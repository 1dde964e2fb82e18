"""Tracing's switch and its edges: off, a process installs nothing, not even OpenTelemetry's SDK;
on, its spans reach an OTLP collector; and what instrumentation copies from a request never
carries a patient's details out of the process."""

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Literal

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.trace import StatusCode

from frontdesk.config import Settings
from frontdesk.tracing import configure_tracing, install, instrument_app, shutdown_tracing, tracer
from tests.realtime.served import serve
from tests.tracing_fixtures import Traced, traced

__all__ = ["traced"]

NUMBER = "+15550199001"
ENDPOINT_VARIABLES = (
    "FRONTDESK_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
)

# A process that starts as `frontdesk api` and `frontdesk realtime` do, with no endpoint.
UNTRACED_PROCESS = """
import json, sys
from opentelemetry import trace
from frontdesk.api.service_app import create_service_app
from frontdesk.config import Settings
from frontdesk.realtime import call_session
from frontdesk.tracing import configure_tracing, temporal_interceptors, tracer

settings = Settings(database_url="sqlite://")
configured = configure_tracing(settings, "api")
create_service_app("untraced", settings)
loaded = sorted(
    name for name in sys.modules
    if name.startswith(("opentelemetry.sdk", "opentelemetry.instrumentation", "opentelemetry.exporter",
                        "temporalio.contrib.opentelemetry"))
)
print(json.dumps({
    "configured": configured,
    "global_provider": type(trace.get_tracer_provider()).__name__,
    "tracer": type(tracer()).__name__,
    "interceptors": len(temporal_interceptors()),
    "loaded": loaded,
}))
"""


def test_without_an_endpoint_a_process_installs_nothing(tmp_path: Path) -> None:
    environment = {name: value for name, value in os.environ.items() if name not in ENDPOINT_VARIABLES}
    environment["FRONTDESK_OTLP_ENDPOINT"] = ""  # as docker-compose.yml passes it when not set
    done = subprocess.run(
        [sys.executable, "-c", UNTRACED_PROCESS],
        cwd=tmp_path,  # no .env to read
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(done.stdout.splitlines()[-1]) == {
        "configured": False,
        "global_provider": "ProxyTracerProvider",
        "tracer": "NoOpTracer",
        "interceptors": 0,
        "loaded": [],
    }


@pytest.mark.parametrize("configured_by", ["setting", "OTEL_EXPORTER_OTLP_ENDPOINT"])
async def test_with_an_endpoint_spans_reach_the_collector_over_otlp(
    configured_by: Literal["setting", "OTEL_EXPORTER_OTLP_ENDPOINT"], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ENDPOINT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    received: list[ExportTraceServiceRequest] = []

    def collector(_url: str) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/traces")
        async def traces(request: Request) -> Response:
            export = ExportTraceServiceRequest()
            export.ParseFromString(await request.body())
            received.append(export)
            return Response(
                ExportTraceServiceResponse().SerializeToString(), media_type="application/x-protobuf"
            )

        return app

    async with serve(collector) as url:
        if configured_by == "setting":
            settings = Settings(otlp_endpoint=url)
        else:
            monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", url)
            settings = Settings()
        try:
            assert configure_tracing(settings, "worker")
            with tracer().start_as_current_span("probe"):
                pass
            # The exporter posts synchronously: off the event loop that serves the collector.
            await asyncio.to_thread(shutdown_tracing)
        finally:
            install(None)

    [export] = received
    [resource_spans] = export.resource_spans
    service = {a.key: a.value.string_value for a in resource_spans.resource.attributes}["service.name"]
    assert service == "frontdesk-worker"
    assert [span.name for scope in resource_spans.scope_spans for span in scope.spans] == ["probe"]


def request_app() -> FastAPI:
    """An app whose routes take a phone number in the query, one of them failing with it."""
    app = FastAPI()

    @app.get("/v1/patients")
    async def patients(phone: str) -> list[str]:
        return []

    @app.get("/v1/fails")
    async def fails(phone: str) -> None:
        raise RuntimeError(f"no patient with the number {phone}")

    @app.get("/healthz")
    async def healthz() -> str:
        return "ok"

    instrument_app(app)
    return app


async def test_no_detail_of_a_request_that_may_name_a_patient_leaves_the_process(traced: Traced) -> None:
    transport = httpx.ASGITransport(request_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://clinic.test") as client:
        assert (await client.get("/v1/patients", params={"phone": NUMBER})).status_code == 200
        assert (await client.get("/v1/fails", params={"phone": NUMBER})).status_code == 500
        assert (await client.get("/healthz")).status_code == 200
    # A failure as Temporal's interceptor and the SDK record one: "Type: message" in the status.
    with pytest.raises(RuntimeError), tracer().start_as_current_span("vendor call"):
        raise RuntimeError(f"{NUMBER} is not a valid phone number")

    spans = {span.name: span for span in traced.spans()}
    assert set(spans) == {"GET /v1/patients", "GET /v1/fails", "vendor call"}  # probes are not traced
    lookup = spans["GET /v1/patients"].attributes
    assert (lookup["http.target"], lookup["http.url"]) == ("/v1/patients", "http://clinic.test/v1/patients")
    assert spans["vendor call"].status.description == "RuntimeError"
    for failed in (spans["GET /v1/fails"], spans["vendor call"]):
        assert failed.status.status_code is StatusCode.ERROR
        # The exception's type is kept, its message and stack trace are not.
        assert [
            set(event.attributes or {}) & {"exception.type", "exception.message"} for event in failed.events
        ] == [{"exception.type"}]
    for span in spans.values():
        said = [str(value) for value in span.attributes.values()]
        said += [str(value) for event in span.events for value in (event.attributes or {}).values()]
        said.append(span.status.description or "")
        assert not any("5550199001" in text for text in said), span.name
