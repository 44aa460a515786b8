"""Prometheus metrics of language model serving, exposed at ``/metrics``.

Add :class:`MetricsModule` to an application (``Flama(modules=[MetricsModule()])``; ``flama serve`` does) to serve
them; without it nothing is measured. Each application has its own registry. Per model:

- ``flama_llm_requests_total{model,dialect,kind}``: generation requests received.
- ``flama_llm_errors_total{model,type}``: requests that failed (``invalid_request``, ``queue_full``,
  ``disconnected``, ``generation``).
- ``flama_llm_queue_depth{model}`` and ``flama_llm_running{model}``: requests waiting and generating, read from the
  model's scheduler when scraped.
- ``flama_llm_time_to_first_token_seconds{model}``: histogram.
- ``flama_llm_tokens_per_second{model}``: histogram of output tokens per second of each generation.
- ``flama_llm_input_tokens_total{model}`` and ``flama_llm_output_tokens_total{model}``.
"""

from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol

from flama.http import Module, Request, Response
from flama.llm.generation import Finish
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from flama.http import Flama

__all__ = ["LLMMetrics", "MetricsModule", "metrics_of"]

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_RATE_BUCKETS = (1.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0)


class Occupancy(Protocol):
    """What the queue gauges read: a scheduler's counts."""

    @property
    def running(self) -> int: ...

    @property
    def queued(self) -> int: ...


class _Queues(Collector):
    def __init__(self) -> None:
        self.schedulers: dict[str, Occupancy] = {}

    def collect(self) -> Iterator[GaugeMetricFamily]:
        queued = GaugeMetricFamily("flama_llm_queue_depth", "Requests waiting for a model", labels=["model"])
        running = GaugeMetricFamily("flama_llm_running", "Requests a model is generating", labels=["model"])
        for model, scheduler in self.schedulers.items():
            queued.add_metric([model], scheduler.queued)
            running.add_metric([model], scheduler.running)
        yield queued
        yield running


class LLMMetrics:
    """The metrics of one application.

    Args:
        registry: Where they are registered; a new registry by default.
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = CollectorRegistry() if registry is None else registry
        self.requests = Counter(
            "flama_llm_requests", "Generation requests", ["model", "dialect", "kind"], registry=self.registry
        )
        self.errors = Counter(
            "flama_llm_errors", "Failed generation requests", ["model", "type"], registry=self.registry
        )
        self.first_token = Histogram(
            "flama_llm_time_to_first_token_seconds",
            "Seconds from the start of a generation to its first token",
            ["model"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.rate = Histogram(
            "flama_llm_tokens_per_second",
            "Output tokens per second of each generation",
            ["model"],
            buckets=_RATE_BUCKETS,
            registry=self.registry,
        )
        self.input_tokens = Counter("flama_llm_input_tokens", "Prompt tokens read", ["model"], registry=self.registry)
        self.output_tokens = Counter("flama_llm_output_tokens", "Tokens generated", ["model"], registry=self.registry)
        self._queues = _Queues()
        self.registry.register(self._queues)

    def requested(self, model: str, dialect: str, kind: str, scheduler: Occupancy) -> None:
        """Count a generation request (and watch its model's scheduler)."""
        self.requests.labels(model, dialect, kind).inc()
        self._queues.schedulers.setdefault(model, scheduler)

    def failed(self, model: str, kind: str) -> None:
        """Count a failed request."""
        self.errors.labels(model, kind).inc()

    def finished(self, model: str, finish: Finish) -> None:
        """Record a finished generation's timings and tokens."""
        self.input_tokens.labels(model).inc(finish.usage.input_tokens)
        self.output_tokens.labels(model).inc(finish.usage.output_tokens)
        if finish.first_token is not None:
            self.first_token.labels(model).observe(finish.first_token)
        if finish.duration > 0 and finish.usage.output_tokens:
            self.rate.labels(model).observe(finish.usage.output_tokens / finish.duration)

    def render(self) -> bytes:
        """The metrics in the Prometheus text format."""
        return generate_latest(self.registry)


class MetricsModule(Module):
    """Serve the application's :class:`LLMMetrics` at ``path`` (``app.metrics``).

    Args:
        path: Where the metrics are served.
    """

    name = "metrics"

    def __init__(self, path: str = "/metrics") -> None:
        self.path = path
        self.metrics = LLMMetrics()

    def bind(self, app: "Flama") -> None:
        """Add the metrics route."""
        super().bind(app)
        app.add_route(self.path, self.endpoint, methods=["GET"], name="metrics", include_in_schema=False)

    async def endpoint(self) -> Response:
        """The metrics in the Prometheus text format."""
        return Response(self.metrics.render(), headers={"content-type": CONTENT_TYPE_LATEST})


def metrics_of(request: Request) -> LLMMetrics | None:
    """The metrics of the application serving ``request``, ``None`` when it has no :class:`MetricsModule`."""
    modules = getattr(request.scope.get("app"), "modules", None)
    module = None if modules is None else modules.get(MetricsModule.name)
    return module.metrics if isinstance(module, MetricsModule) else None
