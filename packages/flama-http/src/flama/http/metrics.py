"""One Prometheus registry per application, served at ``/metrics``: HTTP, predictive models, LLMs and MCP.

Every application has a :class:`MetricsModule` (``app.metrics``; registered through the ``flama.modules`` entry
points, so an application built in Python has it as ``flama serve``'s does). It measures every HTTP request and
serves the text format at ``/metrics``; build the application with ``Flama(modules=[MetricsModule(path=None)])`` to
keep measuring without serving them, or ``MetricsModule(enabled=False)`` to measure nothing. Series:

- ``flama_http_requests_total{method,status}`` and ``flama_http_request_duration_seconds{method}`` (histogram, to
  the response's start).
- ``flama_model_predictions_total{model}`` (rows predicted) and ``flama_model_prediction_seconds{model}``.
- ``flama_model_errors_total{model,type}``: requests to a served model that failed.
- ``flama_llm_requests_total{model,dialect,kind}``, ``flama_llm_errors_total{model,type}`` (``invalid_request``,
  ``queue_full``, ``disconnected``, ``generation``), ``flama_llm_queue_depth{model}`` and
  ``flama_llm_running{model}`` (read when scraped), ``flama_llm_time_to_first_token_seconds{model}``,
  ``flama_llm_tokens_per_second{model}``, ``flama_llm_input_tokens_total{model}``,
  ``flama_llm_output_tokens_total{model}``.
- ``flama_mcp_calls_total{server,method,outcome}`` and ``flama_mcp_call_seconds{server,method}``.

Other parts add their own series with :meth:`Metrics.counter` and :meth:`Metrics.histogram` (one registry: a name is
created once and returned after).
"""

import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from flama.http.modules import Module
from flama.http.responses import Response
from flama.http.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from flama.http.applications import Flama
    from flama.http.requests import HTTPConnection

__all__ = ["Generated", "Metrics", "MetricsModule", "Occupancy", "metrics_of"]

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
RATE_BUCKETS = (1.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0)


class Occupancy(Protocol):
    """What the queue gauges read: an admission limit's counts."""

    @property
    def running(self) -> int:
        """Requests being served."""

    @property
    def queued(self) -> int:
        """Requests waiting."""


class Usage(Protocol):
    """Token counts of a generation."""

    @property
    def input_tokens(self) -> int:
        """Prompt tokens read."""

    @property
    def output_tokens(self) -> int:
        """Tokens generated."""


class Generated(Protocol):
    """What a finished generation reports: its tokens and timings."""

    @property
    def usage(self) -> Usage:
        """The generation's token counts."""

    @property
    def first_token(self) -> float | None:
        """Seconds to the first token, when one came."""

    @property
    def duration(self) -> float:
        """Seconds the generation took."""


class _Queues(Collector):
    def __init__(self) -> None:
        self.limits: dict[str, Occupancy] = {}

    def collect(self) -> Iterator[GaugeMetricFamily]:
        queued = GaugeMetricFamily("flama_llm_queue_depth", "Requests waiting for a model", labels=["model"])
        running = GaugeMetricFamily("flama_llm_running", "Requests a model is generating", labels=["model"])
        for model, limit in self.limits.items():
            queued.add_metric([model], limit.queued)
            running.add_metric([model], limit.running)
        yield queued
        yield running


class Metrics:
    """The metrics of one application.

    Args:
        registry: Where they are registered; a new registry by default.
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = CollectorRegistry() if registry is None else registry
        self._families: dict[str, Counter | Histogram] = {}
        self.http_requests = self.counter("flama_http_requests", "HTTP requests answered", ["method", "status"])
        self.http_latency = self.histogram(
            "flama_http_request_duration_seconds", "Seconds to the start of the response", ["method"]
        )
        self.predictions = self.counter("flama_model_predictions", "Rows predicted", ["model"])
        self.prediction_time = self.histogram(
            "flama_model_prediction_seconds", "Seconds a prediction call took", ["model"]
        )
        self.model_errors = self.counter("flama_model_errors", "Failed model requests", ["model", "type"])
        self.requests = self.counter("flama_llm_requests", "Generation requests", ["model", "dialect", "kind"])
        self.errors = self.counter("flama_llm_errors", "Failed generation requests", ["model", "type"])
        self.first_token = self.histogram(
            "flama_llm_time_to_first_token_seconds",
            "Seconds from the start of a generation to its first token",
            ["model"],
        )
        self.rate = self.histogram(
            "flama_llm_tokens_per_second", "Output tokens per second of each generation", ["model"], RATE_BUCKETS
        )
        self.input_tokens = self.counter("flama_llm_input_tokens", "Prompt tokens read", ["model"])
        self.output_tokens = self.counter("flama_llm_output_tokens", "Tokens generated", ["model"])
        self.mcp_calls = self.counter("flama_mcp_calls", "MCP requests handled", ["server", "method", "outcome"])
        self.mcp_time = self.histogram("flama_mcp_call_seconds", "Seconds an MCP request took", ["server", "method"])
        self._queues = _Queues()
        self.registry.register(self._queues)

    def counter(self, name: str, documentation: str, labels: Sequence[str] = ()) -> Counter:
        """The counter called ``name`` (``_total`` is appended when exposed), created on first use.

        Raises:
            ValueError: ``name`` is already a histogram.
        """
        family = self._families.get(name)
        if family is None:
            family = self._families[name] = Counter(name, documentation, list(labels), registry=self.registry)
        if not isinstance(family, Counter):
            raise ValueError(f"the metric {name!r} is not a counter")
        return family

    def histogram(
        self, name: str, documentation: str, labels: Sequence[str] = (), buckets: Sequence[float] = LATENCY_BUCKETS
    ) -> Histogram:
        """The histogram called ``name``, created on first use.

        Raises:
            ValueError: ``name`` is already a counter.
        """
        family = self._families.get(name)
        if family is None:
            family = self._families[name] = Histogram(
                name, documentation, list(labels), buckets=tuple(buckets), registry=self.registry
            )
        if not isinstance(family, Histogram):
            raise ValueError(f"the metric {name!r} is not a histogram")
        return family

    def predicted(self, model: str, rows: int, seconds: float) -> None:
        """Count a prediction call of a predictive model."""
        self.predictions.labels(model).inc(rows)
        self.prediction_time.labels(model).observe(seconds)

    def model_failed(self, model: str, kind: str) -> None:
        """Count a failed request to a predictive model (``kind``: the error's class name)."""
        self.model_errors.labels(model, kind).inc()

    def requested(self, model: str, dialect: str, kind: str, occupancy: Occupancy | None = None) -> None:
        """Count a generation request (and watch its model's admission limit)."""
        self.requests.labels(model, dialect, kind).inc()
        if occupancy is not None:
            self._queues.limits.setdefault(model, occupancy)

    def failed(self, model: str, kind: str) -> None:
        """Count a failed generation request."""
        self.errors.labels(model, kind).inc()

    def finished(self, model: str, finish: Generated) -> None:
        """Record a finished generation's timings and tokens."""
        self.input_tokens.labels(model).inc(finish.usage.input_tokens)
        self.output_tokens.labels(model).inc(finish.usage.output_tokens)
        if finish.first_token is not None:
            self.first_token.labels(model).observe(finish.first_token)
        if finish.duration > 0 and finish.usage.output_tokens:
            self.rate.labels(model).observe(finish.usage.output_tokens / finish.duration)

    def mcp_call(self, server: str, method: str, outcome: str, seconds: float) -> None:
        """Count an MCP request (``outcome``: ``ok`` or the JSON-RPC error's name)."""
        self.mcp_calls.labels(server, method, outcome).inc()
        self.mcp_time.labels(server, method).observe(seconds)

    def render(self) -> bytes:
        """The metrics in the Prometheus text format."""
        return generate_latest(self.registry)


class _Measured:
    """Count every HTTP request and time it to the start of its response."""

    __slots__ = ("app", "latency", "requests")

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.requests = metrics.http_requests
        self.latency = metrics.http_latency

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        start = time.perf_counter()
        status = 500

        async def measured_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                self.latency.labels(method).observe(time.perf_counter() - start)
            await send(message)

        try:
            await self.app(scope, receive, measured_send)
        finally:
            self.requests.labels(method, str(status)).inc()


class MetricsModule(Module):
    """The application's :class:`Metrics` (``app.metrics.metrics``), served at ``path``.

    Args:
        path: Where the metrics are served; ``None`` to not serve them.
        enabled: Measure HTTP requests; ``False`` leaves the request path untouched.
    """

    name = "metrics"

    def __init__(self, path: str | None = "/metrics", *, enabled: bool = True) -> None:
        self.path = path
        self.enabled = enabled
        self.metrics = Metrics()

    def bind(self, app: "Flama") -> None:
        """Add the metrics route and the measuring middleware."""
        super().bind(app)
        if self.path is not None:
            app.add_route(self.path, self.endpoint, methods=["GET"], name="metrics", include_in_schema=False)
        if self.enabled:
            app.add_middleware(_Measured, metrics=self.metrics)

    async def endpoint(self) -> Response:
        """The metrics in the Prometheus text format."""
        return Response(self.metrics.render(), headers={"content-type": CONTENT_TYPE_LATEST})


def metrics_of(app_or_connection: "Flama | HTTPConnection | Any") -> Metrics | None:
    """The metrics of an application (or of the one serving a connection), ``None`` without a :class:`MetricsModule`."""
    app = getattr(app_or_connection, "app", app_or_connection)
    modules = getattr(app, "modules", None)
    module = None if modules is None else modules.get(MetricsModule.name)
    return module.metrics if isinstance(module, MetricsModule) else None
