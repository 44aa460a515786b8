import re

from flama.http import Flama
from flama.http.metrics import Metrics, MetricsModule
from flama.llm.generation import Finish, Usage

from tests.llm.doubles import model_factory

__all__ = ["model_factory"]


class Occupied:
    running = 2
    queued = 5


def sample(text: str, name: str, labels: str = "") -> float:
    match = re.search(rf"^{re.escape(name)}{re.escape(labels)} (\S+)$", text, re.MULTILINE)
    assert match is not None, f"{name}{labels} not in metrics"
    return float(match.group(1))


class TestCaseMetrics:
    def test_records(self):
        metrics = Metrics()
        metrics.requested("m", "native", "query", Occupied())
        metrics.failed("m", "queue_full")
        metrics.finished("m", Finish("end", Usage(3, 10), 0.02, 0.5))
        text = metrics.render().decode()
        assert sample(text, "flama_llm_requests_total", '{dialect="native",kind="query",model="m"}') == 1
        assert sample(text, "flama_llm_errors_total", '{model="m",type="queue_full"}') == 1
        assert sample(text, "flama_llm_queue_depth", '{model="m"}') == 5
        assert sample(text, "flama_llm_running", '{model="m"}') == 2
        assert sample(text, "flama_llm_input_tokens_total", '{model="m"}') == 3
        assert sample(text, "flama_llm_output_tokens_total", '{model="m"}') == 10
        assert sample(text, "flama_llm_time_to_first_token_seconds_sum", '{model="m"}') == 0.02
        assert sample(text, "flama_llm_tokens_per_second_sum", '{model="m"}') == 20
        assert sample(text, "flama_llm_tokens_per_second_count", '{model="m"}') == 1

    def test_registries_are_separate(self):
        first, second = Metrics(), Metrics()
        first.failed("m", "x")
        assert "flama_llm_errors_total{" not in second.render().decode()


class TestCaseMetricsModule:
    async def test_endpoint(self, client_factory):
        app = Flama(schema=None, docs=None, modules=[MetricsModule()])
        async with client_factory(app) as client:
            response = await client.get("/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/plain; version=1.0.0; charset=utf-8"
        assert "# TYPE flama_llm_requests_total counter" in response.text

    async def test_model_requests_are_measured(self, model_factory):
        async with model_factory() as (client, _):
            await client.post("/llm/query/", json={"prompt": "a b"})
            await client.post("/llm/query/", json={"prompt": "a", "params": {"top_k": 1}})
            text = (await client.get("/metrics")).text
        assert sample(text, "flama_llm_requests_total", '{dialect="native",kind="query",model="assistant"}') == 2
        assert sample(text, "flama_llm_errors_total", '{model="assistant",type="invalid_request"}') == 1
        assert sample(text, "flama_llm_output_tokens_total", '{model="assistant"}') == 5
        assert sample(text, "flama_llm_time_to_first_token_seconds_count", '{model="assistant"}') == 1
        assert sample(text, "flama_llm_queue_depth", '{model="assistant"}') == 0
