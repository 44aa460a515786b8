"""A request holding more messages than ``max_messages`` is refused before validation, in every dialect's shape.

Over real HTTP with the demo model (transformers), read by the official SDKs where a dialect has one.
"""

from typing import Any

import anthropic
import httpx
import ollama
import openai
import pytest
from flama.llm.prompts import check_messages
from flama.llm.resource import LLMResource

from tests.e2e.dialects import anthropic_client, ollama_client, openai_client
from tests.e2e.test_llm_server import serve_demo, wait_ready
from tests.servers import ServerFactory

LIMIT = 3


def _messages(count: int) -> list[dict[str, Any]]:
    return [{"role": "user" if index % 2 == 0 else "assistant", "content": "hi"} for index in range(count)]


@pytest.fixture
async def url(server_factory: ServerFactory) -> str:
    served, _ = serve_demo(server_factory, "transformers", max_messages=LIMIT)
    async with httpx.AsyncClient(base_url=served, timeout=120) as client:
        await wait_ready(client)
    return served


class TestMaxMessages:
    async def test_the_native_dialect_answers_400_naming_messages(self, url: str) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            params = {"max_tokens": 1}
            over = await client.post("/llm/query/", json={"messages": _messages(LIMIT + 1), "params": params})
            parts = [{"role": "user", "content": [{"type": "text", "text": "hi"}] * 2}]  # 1 message + 2 parts
            too_many_parts = await client.post("/llm/query/", json={"messages": parts * 2, "params": params})
            within = await client.post("/llm/query/", json={"messages": _messages(LIMIT), "params": params})
        for response in (over, too_many_parts):
            assert response.status_code == 400, response.text
            assert response.json()["error"] == "InvalidRequest", response.text
        assert over.json()["detail"] == {
            "messages": ["4 messages and content parts; this server takes at most 3 (max_messages)"]
        }
        assert too_many_parts.json()["detail"] == {
            "messages": ["6 messages and content parts; this server takes at most 3 (max_messages)"]
        }
        assert within.status_code == 200, within.text

    async def test_the_openai_sdk_gets_a_bad_request_error(self, url: str) -> None:
        async with openai_client(url) as client:
            with pytest.raises(openai.BadRequestError, match="max_messages") as raised:
                await client.chat.completions.create(model="assistant", messages=_messages(LIMIT + 1), max_tokens=1)  # type: ignore[arg-type]
            assert raised.value.param == "messages"
            with pytest.raises(openai.BadRequestError, match="max_messages"):
                await client.responses.create(model="assistant", input=_messages(LIMIT + 1), max_output_tokens=16)  # type: ignore[arg-type]
            tools = [{"type": "function", "function": {"name": f"f{index}", "parameters": {}}} for index in range(4)]
            with pytest.raises(openai.BadRequestError, match="4 tools") as raised:
                await client.chat.completions.create(
                    model="assistant",
                    messages=_messages(1),  # type: ignore[arg-type]
                    tools=tools,  # type: ignore[arg-type]
                    max_tokens=1,
                )
            assert raised.value.param == "tools"
            reply = await client.chat.completions.create(model="assistant", messages=_messages(LIMIT), max_tokens=1)  # type: ignore[arg-type]
        assert reply.choices[0].finish_reason == "length"

    async def test_the_anthropic_sdk_gets_a_bad_request_error(self, url: str) -> None:
        async with anthropic_client(url) as client:
            with pytest.raises(anthropic.BadRequestError, match="max_messages"):
                await client.messages.create(model="assistant", messages=_messages(LIMIT + 1), max_tokens=1)  # type: ignore[arg-type]
            with pytest.raises(anthropic.BadRequestError, match="max_messages"):
                await client.messages.count_tokens(model="assistant", messages=_messages(LIMIT + 1))  # type: ignore[arg-type]
            with pytest.raises(anthropic.BadRequestError, match="4 system blocks"):
                await client.messages.create(
                    model="assistant",
                    system=[{"type": "text", "text": "Be brief."}] * 4,
                    messages=_messages(1),  # type: ignore[arg-type]
                    max_tokens=1,
                )

    async def test_the_ollama_client_gets_a_response_error(self, url: str) -> None:
        async with ollama_client(url) as client:
            with pytest.raises(ollama.ResponseError, match="max_messages") as raised:
                await client.chat(model="assistant", messages=_messages(LIMIT + 1))
        assert raised.value.status_code == 400


class TestCheckMessages:
    @pytest.mark.parametrize(
        ("body", "refused"),
        [
            pytest.param({"messages": _messages(3)}, None, id="at-the-bound"),
            pytest.param({"messages": _messages(4)}, "messages", id="messages"),
            pytest.param({"input": _messages(4)}, "input", id="responses-input"),
            pytest.param({"messages": [{"role": "user", "content": [{"text": "a"}] * 3}]}, "messages", id="parts"),
            pytest.param({"messages": [{"role": "user", "content": [{"text": "a"}] * 2}]}, None, id="parts-within"),
            pytest.param({"tools": [{"name": "f"}] * 4}, "tools", id="tools"),
            pytest.param({"tools": [{"name": "f"}] * 3, "messages": _messages(3)}, None, id="tools-apart"),
            pytest.param({"system": [{"type": "text", "text": "a"}] * 4}, "system", id="system-blocks"),
            pytest.param({"input": "a text", "messages": "not a list", "system": "a text"}, None, id="not-lists"),
            pytest.param(["not", "an", "object", "at", "all"], None, id="not-an-object"),
        ],
    )
    def test_messages_and_their_parts_are_counted_together_tools_and_system_blocks_apart(
        self, body: Any, refused: str | None
    ) -> None:
        if refused is None:
            check_messages(body, LIMIT)
            return
        with pytest.raises(Exception, match="max_messages") as raised:
            check_messages(body, LIMIT)
        assert getattr(raised.value, "field", None) == refused

    def test_none_is_no_bound(self) -> None:
        check_messages({"messages": _messages(100_000)}, None)

    def test_a_negative_bound_is_refused(self) -> None:
        with pytest.raises(ValueError, match="max_messages must be a non-negative"):
            LLMResource(path="/llm/", name="a", source="unused.flm", max_messages=-1)
