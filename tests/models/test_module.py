"""``app.models``: discovery, adding models, mounting, OpenAPI, settings and shutdown."""

from pathlib import Path
from typing import Any, cast

import pytest
from flama.http import Flama
from flama.http.health import HealthModule
from flama.models.components import PredictiveModel
from flama.models.module import ModelsModule, resource_class
from flama.models.resources.predictive import PredictiveResource

from tests.models.serving import classifier, models, predictive, served


def app_with_module(**settings: object) -> Flama:
    return Flama(discover_modules=False, modules=[ModelsModule(**settings)], docs=None)  # type: ignore[arg-type]


class TestCaseModelsModule:
    def test_discovered(self):
        app = Flama(docs=None)
        assert isinstance(app.models, ModelsModule)
        assert isinstance(app.health, HealthModule)
        assert app.url_path_for("health") == "/health"

    def test_add_model(self):
        app = app_with_module()
        resource = predictive(models(app).add_model("/fish/", classifier(), "fish"))
        assert isinstance(resource, PredictiveResource)
        assert models(app).resources == {"fish": resource}
        assert [app.url_path_for(f"fish:{name}") for name in ("inspect", "predict", "stream")] == [
            "/fish/",
            "/fish/predict/",
            "/fish/stream/",
        ]

    async def test_model_at_the_root(self, client_factory):
        app = app_with_module()
        models(app).add_model("/", classifier(), "fish")
        assert app.url_path_for("fish:predict") == "/predict/"
        async with client_factory(app) as client:
            response = await client.post("/predict/", json={"input": [[0.0, 0.0]]})
        assert response.status_code == 503  # not loaded: the app was not started
        assert response.headers["retry-after"]

    def test_unset_queue_limit_leaves_the_resource_default(self):
        from flama.llm.resource import LLMResource

        demo = Path(__file__).resolve().parents[2] / "examples" / "models" / "assistant.flm"
        app = app_with_module()
        resource = models(app).add_model("/llm/", demo, "assistant")
        assert isinstance(resource, LLMResource)
        assert resource.scheduler.max_queued == 64
        limited = models(app_with_module(max_queued=3)).add_model("/llm/", demo, "assistant")
        assert isinstance(limited, LLMResource)
        assert limited.scheduler.max_queued == 3

    def test_duplicate_name(self):
        app = app_with_module()
        models(app).add_model("/fish/", classifier(), "fish")
        with pytest.raises(ValueError, match=r"^a model named 'fish' was already added$"):
            models(app).add_model("/other/", classifier(), "fish")

    def test_unknown_family(self):
        app = app_with_module()
        with pytest.raises(ValueError, match=r"^no resource serves models of the family 'vision'$"):
            models(app).add_model("/fish/", classifier(), "fish", family="vision")  # type: ignore[call-overload]
        assert resource_class("ml") is PredictiveResource

    def test_settings(self):
        app = app_with_module(workers=3, max_queued=5)
        shared = predictive(models(app).add_model("/a/", classifier(), "a"))
        own = predictive(models(app).add_model("/b/", classifier(), "b", workers=1, max_queued=0))
        assert (shared.runner.shared.total_tokens, shared.runner.workers, shared.runner.max_queued) == (3, None, 5)
        assert (own.runner.shared is shared.runner.shared, own.runner.workers, own.runner.max_queued) == (True, 1, 0)

    @pytest.mark.parametrize(
        ("settings", "message"),
        [
            pytest.param({"workers": -1}, "workers must be at least 1, got -1", id="workers"),
            pytest.param({"load_concurrency": 0}, "concurrency must be at least 1, got 0", id="loading"),
        ],
    )
    def test_invalid_settings(self, settings, message):
        with pytest.raises(ValueError, match=message):
            ModelsModule(**settings)

    async def test_health_path(self):
        app = Flama(discover_modules=False, modules=[ModelsModule(), HealthModule("/ready")], docs=None)
        models(app).add_model("/fish/", classifier(), "fish")
        async with served(app, ready=False) as client:
            assert (await client.get("/health")).status_code == 404
            assert (await client.get("/ready")).json()["models"] == {"fish": "loading"}

    async def test_no_health(self):
        app = app_with_module()
        models(app).add_model("/fish/", classifier(), "fish")
        async with served(app, ready=False) as client:
            assert (await client.get("/health")).status_code == 404

    async def test_openapi(self):
        app = app_with_module()
        models(app).add_model("/fish/", classifier(), "fish")
        async with served(app) as client:
            schema = (await client.get("/schema/")).json()
        assert list(schema["paths"]) == ["/fish/", "/fish/predict/", "/fish/stream/"]
        predict = schema["paths"]["/fish/predict/"]["post"]
        assert predict["requestBody"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/FishInput"
        }
        assert predict["responses"]["200"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/FishOutput"
        }
        row = {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2}
        assert schema["components"]["schemas"]["FishInput"]["properties"]["input"] == {
            "type": "array",
            "items": row,
            "title": "Input",
            "description": "The rows to predict, one per prediction.",
        }
        assert list(schema["paths"]["/fish/stream/"]["post"]["responses"]["200"]["content"]) == ["application/x-ndjson"]

    async def test_shutdown_unloads(self):
        app = app_with_module()
        resource = predictive(models(app).add_model("/fish/", classifier(), "fish"))
        async with served(app):
            assert resource.ready
        assert (resource.ready, resource.model) == (False, None)


class TestCaseMetrics:
    async def test_predictions_counted(self):
        app = Flama(docs=None)
        models(app).add_model("/fish/", classifier(), "fish")
        async with served(app) as client:
            await client.post("/fish/predict/", json={"input": [[0, 1], [1, 0]]})
            await client.post("/fish/predict/", json={"input": [[0, 1, 2]]})
            text = (await client.get("/metrics")).text
        assert 'flama_model_predictions_total{model="fish"} 2.0' in text
        assert 'flama_model_prediction_seconds_count{model="fish"} 1.0' in text
        assert 'flama_model_errors_total{model="fish",type="ValueError"} 1.0' in text


class TestCaseInjection:
    async def test_by_own_type_and_by_family(self):
        app = Flama(docs=None)
        fish = models(app).add_model("/fish/", classifier(), "fish")
        other = models(app).add_model("/other/", classifier(), "other")
        assert fish.model_type.__name__ == "FishModel"
        fish_type, other_type = fish.model_type, other.model_type

        @app.route("/both/")
        async def both(first: fish_type, second: other_type, any_model: PredictiveModel) -> dict[str, Any]:  # type: ignore[valid-type]
            # The annotations are types made at run time, opaque to mypy: the parameters are read as the base class.
            fish_model, other_model = cast(PredictiveModel, first), cast(PredictiveModel, second)
            return {
                "names": [fish_model.name, other_model.name, any_model.name],
                "predicted": await fish_model.predict([[1, 0], [0, 1]]),
                "streamed": [row async for row in other_model.stream([[0, 0], [1, 1]])],
            }

        async with served(app) as client:
            response = await client.get("/both/")
            text = (await client.get("/metrics")).text
        assert response.json() == {"names": ["fish", "other", "fish"], "predicted": [1, 0], "streamed": [0, 1]}
        assert 'flama_model_predictions_total{model="fish"} 2.0' in text

    async def test_errors_are_the_routes_errors(self):
        app = Flama(docs=None)
        models(app).add_model("/fish/", classifier(), "fish")

        @app.route("/wrong/")
        async def wrong(model: PredictiveModel) -> Any:
            return await model.predict([[1, 2, 3]])

        async with served(app) as client:
            response = await client.get("/wrong/")
        assert (response.status_code, response.json()["error"]) == (400, "InvalidInput")
