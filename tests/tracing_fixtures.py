"""Tracing on for one test, as a process with an OTLP endpoint has it (frontdesk.tracing), its
spans exported to memory through the same processor and redaction instead of over OTLP.

Import the fixture into a test module: `from tests.tracing_fixtures import traced`.
"""

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from frontdesk.tracing import install
from frontdesk.tracing.export import tracer_provider

POLL_SECONDS = 0.05


@dataclass(frozen=True)
class Traced:
    """The test's tracer provider and the spans it exported."""

    provider: TracerProvider
    exporter: InMemorySpanExporter

    def spans(self) -> tuple[ReadableSpan, ...]:
        """Every span ended so far, exported (the batch flushed first)."""
        self.provider.force_flush()
        return self.exporter.get_finished_spans()

    async def spans_once(
        self, condition: Callable[[tuple[ReadableSpan, ...]], bool], what: str, within: float = 30.0
    ) -> tuple[ReadableSpan, ...]:
        """The spans exported once `condition` holds for them (`within` s guards a hang)."""
        deadline = time.monotonic() + within
        while not condition(spans := await asyncio.to_thread(self.spans)):
            assert time.monotonic() < deadline, f"no {what} within {within:g}s"
            await asyncio.sleep(POLL_SECONDS)
        return spans


@pytest.fixture
def traced() -> Iterator[Traced]:
    """Tracing on for the test, exporting to memory; off again after it."""
    exporter = InMemorySpanExporter()
    provider = tracer_provider("test", exporter)
    install(provider)
    try:
        yield Traced(provider, exporter)
    finally:
        install(None)
        provider.shutdown()
