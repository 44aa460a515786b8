"""Prompts: the three ways a request says what to generate from, each rendered into the model's prompt text.

- :class:`Raw`: a prompt sent to the model verbatim (no chat template).
- :class:`Chat`: one user message and an optional system message.
- :class:`Conversation`: a list of messages with roles ``system``, ``user``, ``assistant`` (which may carry tool
  calls and its earlier reasoning as ``reasoning_content``) and ``tool`` (a tool's result: text, or a JSON value).

``Chat`` and ``Conversation`` are rendered through the model's own chat template (``Backend.render``), with the tool
definitions and any template keyword arguments (``enable_thinking``, ...) passed through. :func:`parse_prompt` reads
one from a request body and raises :class:`InvalidRequest` naming the field at fault.
"""

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar, Protocol

from flama.llm.exceptions import InvalidRequest

__all__ = [
    "Chat",
    "Conversation",
    "Prompt",
    "Raw",
    "Renderer",
    "parse_prompt",
    "template_kwargs",
]

ROLES = ("system", "user", "assistant", "tool")


class Renderer(Protocol):
    """What a prompt needs from a backend: its chat template."""

    def render(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: list[dict[str, Any]] | None = None,
        add_generation_prompt: bool = True,
        **template_kwargs: Any,
    ) -> str:
        """The prompt for ``messages`` by the model's chat template."""
        ...


@dataclasses.dataclass(frozen=True, slots=True)
class Raw:
    """A prompt given verbatim."""

    prompt: str
    field: ClassVar[str] = "prompt"

    def render(self, renderer: Renderer, template: Mapping[str, Any]) -> str:
        """The prompt itself (the template is not used)."""
        return self.prompt


@dataclasses.dataclass(frozen=True, slots=True)
class Chat:
    """One user message, an optional system message and optional tool definitions."""

    message: str
    system: str | None = None
    tools: tuple[dict[str, Any], ...] | None = None
    field: ClassVar[str] = "message"

    def render(self, renderer: Renderer, template: Mapping[str, Any]) -> str:
        """The two-message conversation rendered by the model's chat template."""
        messages = [] if self.system is None else [{"role": "system", "content": self.system}]
        messages.append({"role": "user", "content": self.message})
        tools = None if self.tools is None else list(self.tools)
        return renderer.render(messages, tools=tools, add_generation_prompt=True, **template)


@dataclasses.dataclass(frozen=True, slots=True)
class Conversation:
    """Messages in the HuggingFace chat format (``tool_calls[].function.{name, arguments}``) and tool definitions."""

    messages: tuple[dict[str, Any], ...]
    tools: tuple[dict[str, Any], ...] | None = None
    field: ClassVar[str] = "messages"

    def render(self, renderer: Renderer, template: Mapping[str, Any]) -> str:
        """The conversation rendered by the model's chat template, ready for the assistant's next turn."""
        tools = None if self.tools is None else list(self.tools)
        return renderer.render(list(self.messages), tools=tools, add_generation_prompt=True, **template)


Prompt = Raw | Chat | Conversation


def _string(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise InvalidRequest(field, f"must be a string, got {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _tools(body: Mapping[str, Any]) -> tuple[dict[str, Any], ...] | None:
    tools = body.get("tools")
    if tools is None:
        return None
    if not isinstance(tools, list):
        raise InvalidRequest("tools", f"must be a list of tool definitions, got {_kind(tools)}")
    for index, tool in enumerate(tools):
        if not isinstance(tool, dict):
            raise InvalidRequest(f"tools[{index}]", f"must be an object, got {_kind(tool)}")
        function = tool.get("function", tool)
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise InvalidRequest(f"tools[{index}]", "needs a function name (function.name)")
    return tuple(tools)


def _tool_call(call: Any, field: str) -> dict[str, Any]:
    if not isinstance(call, dict):
        raise InvalidRequest(field, f"must be an object, got {_kind(call)}")
    function = call.get("function", call)
    if not isinstance(function, dict):
        raise InvalidRequest(f"{field}.function", f"must be an object, got {_kind(function)}")
    name = _string(function.get("name"), f"{field}.name")
    arguments = function.get("arguments", {})
    if not isinstance(arguments, (dict, str)):
        raise InvalidRequest(f"{field}.arguments", f"must be an object or a JSON string, got {_kind(arguments)}")
    normalized: dict[str, Any] = {"type": "function", "function": {"name": name, "arguments": arguments}}
    if call.get("id") is not None:
        normalized["id"] = _string(call["id"], f"{field}.id")
    return normalized


def _message(message: Any, field: str) -> dict[str, Any]:
    if not isinstance(message, dict):
        raise InvalidRequest(field, f"must be an object, got {_kind(message)}")
    role = message.get("role")
    if role not in ROLES:
        raise InvalidRequest(f"{field}.role", f"must be one of {', '.join(ROLES)}, got {role!r}")
    content = message.get("content")
    calls = message.get("tool_calls")
    normalized: dict[str, Any] = {"role": role, "content": ""}
    if role == "tool" and isinstance(content, (dict, list)):
        normalized["content"] = content  # a structured tool result: the template renders it (as JSON, usually)
    elif content is not None:
        normalized["content"] = _string(content, f"{field}.content")
    elif role != "assistant" or not calls:
        raise InvalidRequest(f"{field}.content", "is required")
    if role == "assistant" and message.get("reasoning_content") is not None:
        normalized["reasoning_content"] = _string(message["reasoning_content"], f"{field}.reasoning_content")
    if calls is not None:
        if role != "assistant":
            raise InvalidRequest(f"{field}.tool_calls", "only assistant messages carry tool calls")
        if not isinstance(calls, list):
            raise InvalidRequest(f"{field}.tool_calls", f"must be a list, got {_kind(calls)}")
        normalized["tool_calls"] = [_tool_call(call, f"{field}.tool_calls[{i}]") for i, call in enumerate(calls)]
    if role == "tool":
        for key in ("tool_call_id", "name"):
            if message.get(key) is not None:
                normalized[key] = _string(message[key], f"{field}.{key}")
    return normalized


def parse_prompt(body: Mapping[str, Any]) -> Prompt:
    """Read the prompt of a request body: exactly one of ``prompt``, ``message`` or ``messages``.

    Args:
        body: The decoded JSON body; ``system`` goes with ``message``, ``tools`` with ``message`` or ``messages``.

    Returns:
        The prompt.

    Raises:
        InvalidRequest: The body has none or several of the three fields, or one of them is malformed.
    """
    given = [key for key in ("prompt", "message", "messages") if key in body]
    if len(given) != 1:
        raise InvalidRequest("body", "needs exactly one of 'prompt' (raw), 'message' (chat), 'messages' (conversation)")
    key = given[0]
    if key == "prompt":
        for extra in ("system", "tools"):
            if extra in body:
                raise InvalidRequest(extra, "a raw prompt is sent verbatim: put it in the prompt itself")
        return Raw(_string(body["prompt"], "prompt"))
    if key == "message":
        system = body.get("system")
        return Chat(
            _string(body["message"], "message"),
            None if system is None else _string(system, "system"),
            _tools(body),
        )
    if "system" in body:
        raise InvalidRequest("system", "give the system prompt as the first message of 'messages'")
    messages = body["messages"]
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("messages", "must be a non-empty list of messages")
    return Conversation(tuple(_message(m, f"messages[{i}]") for i, m in enumerate(messages)), _tools(body))


def template_kwargs(value: Any) -> dict[str, Any]:
    """Validate the ``template`` field: keyword arguments for the chat template (``{"enable_thinking": false}``).

    Raises:
        InvalidRequest: It is not an object of named values.
    """
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidRequest("template", f"must be an object of chat template arguments, got {_kind(value)}")
    reserved = {"messages", "tools", "add_generation_prompt"} & value.keys()
    if reserved:
        raise InvalidRequest(f"template.{sorted(reserved)[0]}", "is set by the prompt, not by template arguments")
    return dict(value)
