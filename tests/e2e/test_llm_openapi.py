"""The OpenAPI document of an application serving the demo model in all four dialects, fetched over loopback."""

from typing import Any

import httpx
import pydantic
import pytest
from flama.http import Flama
from flama.llm.anthropic.schemas import CountTokensRequest, MessagesRequest
from flama.llm.native import NativeBody
from flama.llm.ollama.schemas import ChatRequest, GenerateRequest, ShowRequest
from flama.llm.openai.schemas import ChatCompletionRequest, CompletionRequest, ResponsesRequest
from flama.models.module import ModelsModule
from openapi_spec_validator import validate

from tests.e2e.test_llm_server import DEMO

REF = "#/components/schemas/"
BODIES: dict[str, type[pydantic.BaseModel]] = {
    "/llm/query/": NativeBody,
    "/llm/stream/": NativeBody,
    "/llm/openai/v1/chat/completions": ChatCompletionRequest,
    "/llm/openai/v1/completions": CompletionRequest,
    "/llm/openai/v1/responses": ResponsesRequest,
    "/llm/anthropic/v1/messages": MessagesRequest,
    "/llm/anthropic/v1/messages/count_tokens": CountTokensRequest,
    "/llm/ollama/api/chat": ChatRequest,
    "/llm/ollama/api/generate": GenerateRequest,
    "/llm/ollama/api/show": ShowRequest,
    "/llm/ollama/v1/chat/completions": ChatCompletionRequest,
    "/llm/ollama/v1/completions": CompletionRequest,
}


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema["$ref"]
    assert ref.startswith(REF)
    component: dict[str, Any] = document["components"]["schemas"][ref[len(REF) :]]
    return component


def tool_items(document: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
    """The component a request's ``tools`` list holds (``tools`` is a nullable list)."""
    tools = request["properties"]["tools"]
    (listed,) = [option for option in tools.get("anyOf", [tools]) if option.get("type") == "array"]
    return resolve(document, listed["items"])


@pytest.fixture
async def document(server_factory) -> dict[str, Any]:
    app = Flama(openapi={"title": "Assistant", "version": "1.0.0", "description": "The demo model."})
    models = app.modules.get("models")
    assert isinstance(models, ModelsModule)
    models.add_model(
        path="/llm/",
        model=DEMO,
        name="assistant",
        backend="mlx",
        serving=("native", "openai", "anthropic", "ollama"),
    )
    url = server_factory(app, lifespan="on")
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        response = await client.get("/schema/")
    assert response.status_code == 200
    schema: dict[str, Any] = response.json()
    return schema


async def test_every_dialect_route_describes_its_body(document):
    validate(document)  # a valid OpenAPI 3.1 document
    assert document["info"]["title"] == "Assistant"
    paths = document["paths"]
    for path, model in BODIES.items():
        body = paths[path]["post"]["requestBody"]
        assert body["required"] is True
        component = resolve(document, body["content"]["application/json"]["schema"])
        # The component is the request model's own schema: the same fields, the same required ones.
        own = model.model_json_schema()
        assert set(component["properties"]) == set(own["properties"]), path
        assert set(component.get("required", [])) == set(own.get("required", [])), path
    # The default parameters' body is the parameters' own model, with their bounds.
    defaults = resolve(document, paths["/llm/"]["put"]["requestBody"]["content"]["application/json"]["schema"])
    assert defaults["additionalProperties"] is False
    assert defaults["properties"]["top_p"]["anyOf"][0] == {"exclusiveMinimum": 0.0, "maximum": 1.0, "type": "number"}
    # Routes without a body describe none.
    for path in ("/llm/openai/v1/models", "/llm/ollama/api/tags", "/llm/anthropic/v1/models"):
        assert "requestBody" not in paths[path]["get"]


async def test_same_named_models_of_two_dialects_stay_apart(document):
    # OpenAI, Anthropic and the native dialect each have a Tool model: each request refers to its own.
    components = document["components"]["schemas"]
    openai_tool = tool_items(document, components["ChatCompletionRequest"])
    anthropic_tool = tool_items(document, components["MessagesRequest"])
    native_tool = tool_items(document, components["NativeBody"])
    assert "function" in openai_tool["properties"]
    assert "input_schema" in anthropic_tool["properties"]
    assert openai_tool != anthropic_tool != native_tool


async def test_native_body_documents_the_prompt_fields(document):
    native = document["components"]["schemas"]["NativeBody"]
    assert set(native["properties"]) == {"prompt", "message", "system", "messages", "tools", "params", "template"}
    assert native["additionalProperties"] is False
    message = resolve(document, native["properties"]["messages"]["anyOf"][0]["items"])
    assert message["properties"]["role"]["enum"] == ["system", "user", "assistant", "tool"]
