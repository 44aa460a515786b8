"""The native request body as a pydantic model: the canonical request it gives, and each 400's field and reason."""

import pytest
from flama.llm.exceptions import InvalidRequest
from flama.llm.native import NativeBody, parse_request
from flama.llm.prompts import Chat, Conversation, Raw

from tests.llm.doubles import model_factory

__all__ = ["model_factory"]

CALL = {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": {"city": "Paris"}}}
TOOL = {"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}}, "x-extra": 1}


class TestCaseParse:
    def test_every_prompt_kind(self):
        assert parse_request({"prompt": "x"}).source == Raw("x")
        chat = parse_request({"message": "hi", "system": "be brief", "tools": [TOOL], "template": {"a": 1}})
        # Tool definitions reach the template as sent, fields the model does not know included.
        assert chat.source == Chat("hi", "be brief", (TOOL,))
        assert chat.template == {"a": 1}
        conversation = parse_request(
            {
                "messages": [
                    {"role": "user", "content": "weather?", "ignored": True},
                    {"role": "assistant", "tool_calls": [{"name": "weather", "arguments": '{"city": "Paris"}'}]},
                    {"role": "tool", "content": [1, 2], "tool_call_id": "call_1"},
                ],
                "params": {"temperature": 0},
            }
        )
        assert conversation.source == Conversation(
            (
                {"role": "user", "content": "weather?"},
                {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [
                        {"type": "function", "function": {"name": "weather", "arguments": '{"city": "Paris"}'}}
                    ],
                },
                {"role": "tool", "content": [1, 2], "tool_call_id": "call_1"},
            )
        )
        assert conversation.params == {"temperature": 0}
        nested = parse_request({"messages": [{"role": "assistant", "content": None, "tool_calls": [CALL]}]})
        assert isinstance(nested.source, Conversation)
        assert nested.source.messages[0]["tool_calls"] == [CALL]

    @pytest.mark.parametrize(
        ("body", "field", "reason"),
        [
            pytest.param("text", "body", "must be a JSON object", id="not-object"),
            pytest.param({"prompt": None}, "prompt", "must be a string, got null", id="null-prompt"),
            pytest.param({"messages": None}, "messages", "must be a non-empty list of messages", id="null-messages"),
            pytest.param({"prompt": "x", "stream": True}, "stream", "is not a field of a native request", id="extra"),
            pytest.param({"prompt": "x", "tools": []}, "tools", "a raw prompt is sent verbatim", id="raw-tools"),
            pytest.param({"prompt": "x", "params": "hot"}, "params", "must be an object of generation", id="params"),
            pytest.param({"prompt": "x", "template": 1}, "template", "must be an object of chat template", id="tpl"),
            pytest.param(
                {"prompt": "x", "template": {"add_generation_prompt": False}},
                "template.add_generation_prompt",
                "is set by the prompt",
                id="tpl-reserved",
            ),
            pytest.param(
                {"messages": [{"role": "user", "content": "x"}, {"role": "assistant"}]},
                "messages[1].content",
                "is required",
                id="assistant-empty",
            ),
            pytest.param(
                {"messages": [{"role": "assistant", "tool_calls": [{"function": {"name": 1}}]}]},
                "messages[0].tool_calls[0].function.name",
                "must be a string, got int",
                id="nested-call-name",
            ),
            pytest.param(
                {"messages": [{"role": "assistant", "tool_calls": [{"arguments": {}}]}]},
                "messages[0].tool_calls[0].name",
                "is required",
                id="call-without-name",
            ),
            pytest.param(
                {"messages": [{"role": "assistant", "tool_calls": "f"}]},
                "messages[0].tool_calls",
                "must be a list, got str",
                id="calls-type",
            ),
            pytest.param(
                {"messages": [{"role": "user", "content": "x", "reasoning_content": 1}]},
                "messages[0].reasoning_content",
                "must be a string, got int",
                id="reasoning-type",
            ),
            pytest.param({"message": "x", "tools": [1]}, "tools[0]", "must be an object, got int", id="tool-type"),
        ],
    )
    def test_invalid(self, body, field, reason):
        with pytest.raises(InvalidRequest) as raised:
            parse_request(body)
        assert raised.value.field == field
        assert raised.value.reason.startswith(reason), raised.value.reason

    def test_schema(self):
        schema = NativeBody.model_json_schema()
        assert schema["additionalProperties"] is False
        assert set(schema["properties"]) == {"prompt", "message", "system", "messages", "tools", "params", "template"}


class TestCaseRoutes:
    @pytest.mark.parametrize("path", ["/llm/query/", "/llm/stream/"])
    async def test_the_400_names_the_field(self, model_factory, path):
        body = {"messages": [{"role": "assistant", "tool_calls": [{"function": {"name": 1}}]}]}
        async with model_factory() as (client, _):
            response = await client.post(path, json=body)
        assert response.status_code == 400
        assert response.json()["error"] == "InvalidRequest"
        assert response.json()["detail"] == {"messages[0].tool_calls[0].function.name": ["must be a string, got int"]}
