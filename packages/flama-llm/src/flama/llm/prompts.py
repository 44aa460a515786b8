"""Prompts: the three ways a request says what to generate from, each rendered into the model's prompt text.

- :class:`Raw`: a prompt sent to the model verbatim (no chat template).
- :class:`Chat`: one user message and an optional system message.
- :class:`Conversation`: a list of messages with roles ``system``, ``user``, ``assistant`` (which may carry tool
  calls and its earlier reasoning as ``reasoning_content``) and ``tool`` (a tool's result: text, or a JSON value).

``Chat`` and ``Conversation`` are rendered through the model's own chat template (``Backend.render``), with the tool
definitions and any template keyword arguments (``enable_thinking``, ...) passed through. :class:`PromptBody` is the
pydantic model of a request's prompt fields (the native dialect's request body extends it); :func:`parse_prompt` reads
one from a request body and raises :class:`InvalidRequest` naming the field at fault.
"""

import dataclasses
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal, Protocol

from flama.llm.exceptions import InvalidRequest
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

__all__ = [
    "DEFAULT_MAX_MESSAGES",
    "Chat",
    "Conversation",
    "Message",
    "Prompt",
    "PromptBody",
    "Raw",
    "Renderer",
    "Tool",
    "ToolCall",
    "check_messages",
    "check_template",
    "invalid",
    "parse_prompt",
    "template_kwargs",
    "text_size",
]

ROLES = ("system", "user", "assistant", "tool")
DEFAULT_MAX_MESSAGES = 10_000
"""Messages and content parts one request may hold, and tools, and system blocks (see `check_messages`)."""


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

    @property
    def size(self) -> int:
        """Characters of text it carries."""
        return len(self.prompt)

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

    @property
    def size(self) -> int:
        """Characters of text it carries (tool definitions included)."""
        return len(self.message) + len(self.system or "") + text_size(self.tools)

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

    @property
    def size(self) -> int:
        """Characters of text it carries (tool calls, results and definitions included)."""
        return text_size(self.messages) + text_size(self.tools)

    def render(self, renderer: Renderer, template: Mapping[str, Any]) -> str:
        """The conversation rendered by the model's chat template, ready for the assistant's next turn."""
        tools = None if self.tools is None else list(self.tools)
        return renderer.render(list(self.messages), tools=tools, add_generation_prompt=True, **template)


Prompt = Raw | Chat | Conversation


def text_size(value: Any) -> int:
    """Characters of the strings in a JSON-like value (mapping keys left out)."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, Mapping):
        return sum(text_size(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return sum(text_size(item) for item in value)
    return 0


def check_messages(body: Any, limit: int | None) -> None:
    """Refuse a request body that holds more than ``limit`` messages and content parts together, before validating it.

    Validation runs on the event loop and holds the interpreter: no stream moves meanwhile. A message costs it a
    microsecond or more (10,000 short chat messages: 7 to 27 ms here), so the bound keeps one request from holding
    every other one for long. Counted: the items of ``messages`` (``input`` for the Responses API) and the parts of
    their ``content`` lists together; the same bound holds for the items of ``tools`` and of a ``system`` list
    (Anthropic's system blocks), each on its own.

    Args:
        body: The decoded JSON body.
        limit: The bound, or ``None`` for none.

    Raises:
        InvalidRequest: Naming the list over the bound.
    """
    if limit is None or not isinstance(body, Mapping):
        return
    for field, what, parts in _BOUNDED:
        items = body.get(field)
        if not isinstance(items, list):
            continue
        count = len(items)
        if parts and count <= limit:  # then at most ``limit`` messages' worth of work
            count += sum(len(i["content"]) for i in items if isinstance(i, dict) and isinstance(i.get("content"), list))
        if count > limit:
            raise InvalidRequest(field, f"{count:,} {what}; this server takes at most {limit:,} (max_messages)")


_BOUNDED = (
    ("messages", "messages and content parts", True),
    ("input", "messages and content parts", True),
    ("tools", "tools", False),
    ("system", "system blocks", False),
)
"""The lists `check_messages` bounds, what their items are called in its error, and whether their items' ``content``
lists count too."""


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _fault(reason: str, field: str | None = None) -> PydanticCustomError:
    """A validation error with our own wording; ``field`` names a part of the value validated (``content``)."""
    return PydanticCustomError("native", "{reason}", {"reason": reason, "field": field})


class _Body(BaseModel):
    # Fields of messages and tools that the chat template may read are kept as given.
    model_config = ConfigDict(extra="allow")


class FunctionCall(_Body):
    """The function an assistant called: its name and arguments (an object, or a JSON string)."""

    name: str
    arguments: Annotated[Any, WithJsonSchema({"anyOf": [{"type": "object"}, {"type": "string"}, {"type": "null"}]})] = (
        None
    )


class ToolCall(_Body):
    """A tool call in an assistant message: ``{"id", "type", "function": {"name", "arguments"}}`` or flat."""

    id: str | None = None
    type: str = "function"
    function: FunctionCall | None = None
    name: str | None = None
    arguments: Annotated[Any, WithJsonSchema({"anyOf": [{"type": "object"}, {"type": "string"}, {"type": "null"}]})] = (
        None
    )

    def normalized(self) -> dict[str, Any]:
        """The call in the HuggingFace chat format."""
        function = self.function or FunctionCall(name=self.name or "", arguments=self.arguments)
        arguments = {} if function.arguments is None else function.arguments
        call: dict[str, Any] = {"type": "function", "function": {"name": function.name, "arguments": arguments}}
        if self.id is not None:
            call["id"] = self.id
        return call

    @model_validator(mode="after")
    def _named(self) -> "ToolCall":
        if self.function is None and self.name is None:
            raise _fault("is required", "name")
        arguments = self.arguments if self.function is None else self.function.arguments
        if arguments is not None and not isinstance(arguments, (dict, str)):
            raise _fault(f"must be an object or a JSON string, got {_kind(arguments)}", "arguments")
        return self


Content = Annotated[
    Any,
    WithJsonSchema(
        {"anyOf": [{"type": "string"}, {"type": "object"}, {"type": "array"}, {"type": "null"}]},
    ),
]


class Message(BaseModel):
    """A message of a conversation.

    Text content, and for an assistant its tool calls and earlier reasoning; a tool's result may be a JSON object or
    list (the template renders it).
    """

    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "user", "assistant", "tool"]
    content: Content = None
    reasoning_content: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None
    name: str | None = None

    def normalized(self) -> dict[str, Any]:
        """The message in the HuggingFace chat format."""
        message: dict[str, Any] = {"role": self.role, "content": "" if self.content is None else self.content}
        if self.role == "assistant" and self.reasoning_content is not None:
            message["reasoning_content"] = self.reasoning_content
        if self.tool_calls is not None:
            message["tool_calls"] = [call.normalized() for call in self.tool_calls]
        if self.role == "tool":
            for key in ("tool_call_id", "name"):
                if getattr(self, key) is not None:
                    message[key] = getattr(self, key)
        return message

    @model_validator(mode="after")
    def _consistent(self) -> "Message":
        content = self.content
        if self.role == "tool" and isinstance(content, (dict, list)):
            pass  # a structured tool result
        elif content is not None:
            if not isinstance(content, str):
                raise _fault(f"must be a string, got {_kind(content)}", "content")
        elif self.role != "assistant" or not self.tool_calls:
            raise _fault("is required", "content")
        if self.tool_calls is not None and self.role != "assistant":
            raise _fault("only assistant messages carry tool calls", "tool_calls")
        return self


class Tool(_Body):
    """A tool definition: ``{"type": "function", "function": {"name", "description", "parameters"}}`` (or flat)."""

    @model_validator(mode="after")
    def _named(self) -> "Tool":
        extra = self.model_extra or {}
        function = extra.get("function", extra)
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise _fault("needs a function name (function.name)")
        return self


Template = Annotated[dict[str, Any], Field(description='Chat template arguments, e.g. {"enable_thinking": false}.')]


class PromptBody(BaseModel):
    """What a request generates from: exactly one of ``prompt`` (raw), ``message`` (chat) or ``messages``."""

    model_config = ConfigDict(extra="ignore")

    prompt: str | None = Field(default=None, description="A raw prompt, sent to the model verbatim.")
    message: str | None = Field(default=None, description="One user message, through the chat template.")
    system: str | None = Field(default=None, description="The system message of a chat prompt.")
    messages: list[Message] | None = Field(default=None, min_length=1, description="A whole conversation.")
    tools: list[Tool] | None = Field(default=None, description="Tools the model may call (chat or conversation).")

    @model_validator(mode="after")
    def _one_source(self) -> "PromptBody":
        given = [key for key in ("prompt", "message", "messages") if key in self.model_fields_set]
        if len(given) != 1:
            raise _fault("needs exactly one of 'prompt' (raw), 'message' (chat), 'messages' (conversation)")
        key = given[0]
        if getattr(self, key) is None:
            reason = "must be a non-empty list of messages" if key == "messages" else "must be a string, got null"
            raise _fault(reason, key)
        if key == "prompt":
            for extra in ("system", "tools"):
                if extra in self.model_fields_set:
                    raise _fault("a raw prompt is sent verbatim: put it in the prompt itself", extra)
        if key == "messages" and "system" in self.model_fields_set:
            raise _fault("give the system prompt as the first message of 'messages'", "system")
        return self

    def source(self) -> Prompt:
        """The prompt this body names."""
        tools = None if self.tools is None else tuple(tool.model_dump() for tool in self.tools)
        if self.prompt is not None:
            return Raw(self.prompt)
        if self.message is not None:
            return Chat(self.message, self.system, tools)
        assert self.messages is not None
        return Conversation(tuple(message.normalized() for message in self.messages), tools)


# Our wording for pydantic's error types, by the last field of the path where one differs.
_REASONS: dict[tuple[str, str], str] = {
    ("messages", "list_type"): "must be a non-empty list of messages",
    ("messages", "too_short"): "must be a non-empty list of messages",
    ("tools", "list_type"): "must be a list of tool definitions, got {kind}",
    ("params", "dict_type"): "must be an object of generation parameters",
    ("template", "dict_type"): "must be an object of chat template arguments, got {kind}",
    ("body", "model_type"): "must be a JSON object",
    ("body", "model_attributes_type"): "must be a JSON object",
    ("body", "dict_type"): "must be an object of generation parameters",
}
_GENERIC = {
    "string_type": "must be a string, got {kind}",
    "missing": "is required",
    "model_type": "must be an object, got {kind}",
    "model_attributes_type": "must be an object, got {kind}",
    "dict_type": "must be an object, got {kind}",
    "list_type": "must be a list, got {kind}",
    "bool_type": "must be true or false, got {kind}",
    "extra_forbidden": "is not a field of a native request",
}


def invalid(exc: ValidationError) -> InvalidRequest:
    """The first problem of a failed validation as an :class:`InvalidRequest` naming the field (``messages[1].role``).

    pydantic's messages are reworded in the native dialect's own terms (``must be a string, got int``).
    """
    error = exc.errors(include_url=False)[0]
    path = ""
    for part in error["loc"]:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    context = error.get("ctx") or {}
    if context.get("field"):
        path = f"{path}.{context['field']}" if path else str(context["field"])
    field = path or "body"
    kind = _kind(error.get("input"))
    last = field.rsplit(".", 1)[-1].split("[", 1)[0] if path else "body"
    if error["type"] == "native":
        reason = str(context["reason"])
    elif error["type"] == "literal_error" and last == "role":
        reason = f"must be one of {', '.join(ROLES)}, got {error.get('input')!r}"
    else:
        template = _REASONS.get((last, error["type"])) or _GENERIC.get(error["type"])
        reason = error["msg"] if template is None else template.format(kind=kind)
    return InvalidRequest(field, reason)


def parse_prompt(body: Any) -> Prompt:
    """Read the prompt of a request body: exactly one of ``prompt``, ``message`` or ``messages``.

    Args:
        body: The decoded JSON body (validated by :class:`PromptBody`); ``system`` goes with ``message``, ``tools``
            with ``message`` or ``messages``.

    Returns:
        The prompt.

    Raises:
        InvalidRequest: The body has none or several of the three fields, or one of them is malformed.
    """
    try:
        return PromptBody.model_validate(body).source()
    except ValidationError as exc:
        raise invalid(exc) from None


def check_template(value: dict[str, Any] | None) -> dict[str, Any]:
    """Chat template arguments, without the names the prompt itself sets.

    Raises:
        PydanticCustomError: A reserved name (``messages``, ``tools``, ``add_generation_prompt``) is given.
    """
    reserved = {"messages", "tools", "add_generation_prompt"} & (value or {}).keys()
    if reserved:
        raise _fault("is set by the prompt, not by template arguments", sorted(reserved)[0])
    return dict(value or {})


_TEMPLATE: TypeAdapter[dict[str, Any] | None] = TypeAdapter(
    Annotated[dict[str, Any] | None, AfterValidator(check_template)]
)


def template_kwargs(value: Any) -> dict[str, Any]:
    """Validate the ``template`` field: keyword arguments for the chat template (``{"enable_thinking": false}``).

    Raises:
        InvalidRequest: It is not an object of named values.
    """
    try:
        return dict(_TEMPLATE.validate_python(value) or {})
    except ValidationError as exc:
        error = invalid(exc)
        field = "template" if error.field == "body" else f"template.{error.field}"
        reason = (
            error.reason
            if error.field != "body"
            else f"must be an object of chat template arguments, got {_kind(value)}"
        )
        raise InvalidRequest(field, reason) from None
