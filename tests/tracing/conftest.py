"""One tracer provider for the whole test session, with an in-memory exporter, switched on per test.

OpenTelemetry lets a process set its global tracer provider once, and the SDK looks it up at
call time, as it would in an application. The provider's sampler is a switch: the ``tracing``
fixture turns recording on for its test and off after it, so the rest of the session (which
shares the process) exports nothing.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Optional

import pytest
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind
from opentelemetry.util.types import Attributes


class SwitchSampler(Sampler):
    """Records every span while ``on``, none otherwise."""

    def __init__(self) -> None:
        self.on = False

    def should_sample(
        self,
        parent_context: Optional[Context],
        trace_id: int,
        name: str,
        kind: Optional[SpanKind] = None,
        attributes: Attributes = None,
        links: Optional[Sequence[Link]] = None,
        trace_state: Any = None,
    ) -> SamplingResult:
        sampler = ALWAYS_ON if self.on else ALWAYS_OFF
        return sampler.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

    def get_description(self) -> str:
        return "SwitchSampler"


@dataclass
class Tracing:
    """The session's provider and exporter, with helpers to read what was exported."""

    provider: TracerProvider
    exporter: InMemorySpanExporter

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def named(self, name: str) -> list[ReadableSpan]:
        return [span for span in self.spans() if span.name == name]

    def one(self, name: str) -> ReadableSpan:
        found = self.named(name)
        assert len(found) == 1, [span.name for span in self.spans()]
        return found[0]

    def children_of(self, parent: ReadableSpan) -> list[ReadableSpan]:
        return [s for s in self.spans() if s.parent is not None and s.parent.span_id == parent.context.span_id]


_SWITCH = SwitchSampler()


@pytest.fixture(scope="session")
def session_tracing() -> Tracing:
    provider = TracerProvider(sampler=_SWITCH, resource=Resource.create({"service.name": "mdnotes-tracing-tests"}))
    trace.set_tracer_provider(provider)
    if trace.get_tracer_provider() is not provider:
        pytest.fail("another tracer provider was set in this process before the tracing tests")
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return Tracing(provider, exporter)


@pytest.fixture
def tracing(session_tracing: Tracing) -> Iterator[Tracing]:
    """Spans are recorded during the test; the exporter starts empty."""
    session_tracing.exporter.clear()
    _SWITCH.on = True
    try:
        yield session_tracing
    finally:
        _SWITCH.on = False
        session_tracing.exporter.clear()
