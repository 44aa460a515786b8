"""Health and metrics, which every application has: ``app.health`` (``/health``) and ``app.metrics`` (``/metrics``)."""

import re

import pytest
from flama.http import Flama, Route
from flama.http.health import HealthModule
from flama.http.metrics import Metrics, MetricsModule, metrics_of


async def hello() -> dict[str, str]:
    return {"hello": "world"}


def sample(text: str, name: str, labels: str = "") -> float:
    match = re.search(rf"^{re.escape(name)}{re.escape(labels)} (\S+)$", text, re.MULTILINE)
    assert match is not None, f"{name}{labels} not in metrics"
    return float(match.group(1))


class TestCaseHealth:
    async def test_ready_without_probes(self, client_factory):
        async with client_factory(Flama([Route("/", hello)], docs=None)) as client:
            response = await client.get("/health")
        assert (response.status_code, response.json()) == (200, {"status": "ok"})

    @pytest.mark.parametrize(
        ("states", "status_code", "status"),
        [
            pytest.param(("ready", "ready"), 200, "ok", id="ready"),
            pytest.param(("ready", "loading"), 503, "loading", id="loading"),
            pytest.param(("loading", "failed"), 503, "failed", id="failed-wins"),
        ],
    )
    async def test_probes(self, client_factory, states, status_code, status):
        app = Flama(docs=None)
        app.health.add("mcp", "tools", lambda: states[0])
        app.health.add("mcp", "prompts", lambda: states[1])
        async with client_factory(app) as client:
            response = await client.get("/health")
        assert response.status_code == status_code
        assert response.json() == {"status": status, "mcp": {"tools": states[0], "prompts": states[1]}}

    def test_status_is_reserved(self):
        with pytest.raises(ValueError, match="'status'"):
            HealthModule().add("status", "x", lambda: "ready")

    async def test_not_served(self, client_factory):
        app = Flama(docs=None, modules=[HealthModule(path=None)])
        async with client_factory(app) as client:
            assert (await client.get("/health")).status_code == 404


class TestCaseMetrics:
    async def test_http_requests(self, client_factory):
        app = Flama([Route("/", hello)], docs=None)
        async with client_factory(app) as client:
            await client.get("/")
            await client.get("/nowhere")
            response = await client.get("/metrics")
        assert response.headers["content-type"] == "text/plain; version=1.0.0; charset=utf-8"
        assert sample(response.text, "flama_http_requests_total", '{method="GET",status="200"}') == 1
        assert sample(response.text, "flama_http_requests_total", '{method="GET",status="404"}') == 1
        assert sample(response.text, "flama_http_request_duration_seconds_count", '{method="GET"}') == 2

    async def test_one_registry(self, client_factory):
        app = Flama(docs=None)
        metrics = metrics_of(app)
        assert isinstance(metrics, Metrics)
        calls = metrics.counter("flama_dialect_calls", "Calls by dialect", ["dialect"])
        assert metrics.counter("flama_dialect_calls", "Calls by dialect", ["dialect"]) is calls
        calls.labels("openai").inc(2)
        metrics.mcp_call("tools", "tools/call", "ok", 0.01)
        with pytest.raises(ValueError, match="not a histogram"):
            metrics.histogram("flama_dialect_calls", "x")
        async with client_factory(app) as client:
            text = (await client.get("/metrics")).text
        assert sample(text, "flama_dialect_calls_total", '{dialect="openai"}') == 2
        assert sample(text, "flama_mcp_calls_total", '{method="tools/call",outcome="ok",server="tools"}') == 1

    async def test_switches(self, client_factory):
        app = Flama([Route("/", hello)], docs=None, modules=[MetricsModule(path=None, enabled=False)])
        async with client_factory(app) as client:
            await client.get("/")
            assert (await client.get("/metrics")).status_code == 404
        assert "flama_http_requests_total{" not in app.metrics.metrics.render().decode()

    def test_without_module(self):
        assert metrics_of(Flama(docs=None, discover_modules=False)) is None
