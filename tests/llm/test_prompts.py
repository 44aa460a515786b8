from typing import Any

import pytest
from flama.llm.exceptions import InvalidRequest
from flama.llm.prompts import Chat, Conversation, Raw, parse_prompt, template_kwargs


class RecordingRenderer:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def render(self, messages, *, tools=None, add_generation_prompt=True, **template_kwargs):
        self.calls.append({"messages": messages, "tools": tools, "add": add_generation_prompt, **template_kwargs})
        return "|".join(f"{m['role']}:{m['content']}" for m in messages)


TOOL = {"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}}}


class TestCaseParseTransport:
    @pytest.mark.parametrize(
        ("body", "expected"),
        [
            pytest.param({"prompt": "Once"}, Raw("Once"), id="raw"),
            pytest.param({"message": "Hi"}, Chat("Hi"), id="chat"),
            pytest.param(
                {"message": "Hi", "system": "Be kind", "tools": [TOOL]},
                Chat("Hi", "Be kind", (TOOL,)),
                id="chat-system-tools",
            ),
            pytest.param(
                {"messages": [{"role": "user", "content": "Hi"}]},
                Conversation(({"role": "user", "content": "Hi"},)),
                id="conversation",
            ),
            pytest.param(
                {
                    "messages": [
                        {"role": "user", "content": "Weather?"},
                        {
                            "role": "assistant",
                            "tool_calls": [{"id": "c1", "name": "weather", "arguments": {"city": "Paris"}}],
                        },
                        {"role": "tool", "tool_call_id": "c1", "name": "weather", "content": "sunny"},
                    ],
                    "tools": [TOOL],
                },
                Conversation(
                    (
                        {"role": "user", "content": "Weather?"},
                        {
                            "role": "assistant",
                            "content": "",
                            "tool_calls": [
                                {
                                    "type": "function",
                                    "function": {"name": "weather", "arguments": {"city": "Paris"}},
                                    "id": "c1",
                                }
                            ],
                        },
                        {"role": "tool", "content": "sunny", "tool_call_id": "c1", "name": "weather"},
                    ),
                    (TOOL,),
                ),
                id="conversation-tools",
            ),
            pytest.param(
                {
                    "messages": [
                        {"role": "user", "content": "Weather?"},
                        {"role": "assistant", "content": "Sunny.", "reasoning_content": "Look it up."},
                        {"role": "tool", "content": {"sky": "clear"}},
                    ]
                },
                Conversation(
                    (
                        {"role": "user", "content": "Weather?"},
                        {"role": "assistant", "content": "Sunny.", "reasoning_content": "Look it up."},
                        {"role": "tool", "content": {"sky": "clear"}},
                    )
                ),
                id="reasoning-and-structured-result",
            ),
        ],
    )
    def test_valid(self, body, expected):
        assert parse_prompt(body) == expected

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            pytest.param({}, r"body: needs exactly one of 'prompt' \(raw\), 'message' \(chat\)", id="none"),
            pytest.param({"prompt": "a", "message": "b"}, "body: needs exactly one of", id="two"),
            pytest.param({"prompt": 1}, "prompt: must be a string, got int", id="prompt-type"),
            pytest.param({"prompt": "a", "system": "s"}, "system: a raw prompt is sent verbatim", id="raw-system"),
            pytest.param({"message": None}, "message: must be a string, got null", id="message-null"),
            pytest.param({"message": "a", "system": 3}, "system: must be a string, got int", id="system-type"),
            pytest.param(
                {"message": "a", "tools": {}}, "tools: must be a list of tool definitions, got dict", id="tools-type"
            ),
            pytest.param({"message": "a", "tools": [{"x": 1}]}, r"tools\[0\]: needs a function name", id="tool-name"),
            pytest.param({"messages": []}, "messages: must be a non-empty list of messages", id="empty"),
            pytest.param({"messages": "hi"}, "messages: must be a non-empty list", id="messages-type"),
            pytest.param(
                {"messages": [{"role": "robot", "content": "x"}]},
                r"messages\[0\].role: must be one of system, user, assistant, tool, got 'robot'",
                id="role",
            ),
            pytest.param({"messages": [{"role": "user"}]}, r"messages\[0\].content: is required", id="content"),
            pytest.param(
                {"messages": [{"role": "user", "content": {"a": 1}}]},
                r"messages\[0\].content: must be a string, got dict",
                id="user-content-object",
            ),
            pytest.param({"messages": ["x"]}, r"messages\[0\]: must be an object, got str", id="message-type"),
            pytest.param(
                {"messages": [{"role": "user", "content": "x", "tool_calls": []}]},
                r"messages\[0\].tool_calls: only assistant",
                id="user-calls",
            ),
            pytest.param(
                {"messages": [{"role": "assistant", "tool_calls": [{"name": 3}]}]},
                r"messages\[0\].tool_calls\[0\].name: must be a string",
                id="call-name",
            ),
            pytest.param(
                {"messages": [{"role": "assistant", "tool_calls": [{"name": "f", "arguments": 3}]}]},
                r"messages\[0\].tool_calls\[0\].arguments: must be an object or a JSON string",
                id="call-args",
            ),
            pytest.param(
                {"messages": [{"role": "user", "content": "x"}], "system": "s"},
                "system: give the system prompt as the first message",
                id="conversation-system",
            ),
        ],
    )
    def test_invalid(self, body, message):
        with pytest.raises(InvalidRequest, match=message):
            parse_prompt(body)


class TestCaseRender:
    def test_raw_is_verbatim(self):
        renderer = RecordingRenderer()
        assert Raw("<s>exact").render(renderer, {"enable_thinking": True}) == "<s>exact"
        assert renderer.calls == []

    def test_chat_goes_through_the_template(self):
        renderer = RecordingRenderer()
        prompt = Chat("Hi", "Be kind", (TOOL,)).render(renderer, {"enable_thinking": False})
        assert prompt == "system:Be kind|user:Hi"
        assert renderer.calls == [
            {
                "messages": [{"role": "system", "content": "Be kind"}, {"role": "user", "content": "Hi"}],
                "tools": [TOOL],
                "add": True,
                "enable_thinking": False,
            }
        ]

    def test_conversation_goes_through_the_template(self):
        renderer = RecordingRenderer()
        messages = (
            {"role": "user", "content": "a"},
            {"role": "assistant", "content": "b"},
            {"role": "user", "content": "c"},
        )
        assert Conversation(messages).render(renderer, {}) == "user:a|assistant:b|user:c"
        assert renderer.calls[0]["tools"] is None


class TestCaseTemplateKwargs:
    def test_valid(self):
        assert template_kwargs({"enable_thinking": False}) == {"enable_thinking": False}
        assert template_kwargs(None) == {}

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            pytest.param([1], "template: must be an object of chat template arguments, got list", id="type"),
            pytest.param(
                {"tools": []}, "template.tools: is set by the prompt, not by template arguments", id="reserved"
            ),
        ],
    )
    def test_invalid(self, value, message):
        with pytest.raises(InvalidRequest, match=message):
            template_kwargs(value)
