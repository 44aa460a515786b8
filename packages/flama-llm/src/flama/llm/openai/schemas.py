"""The OpenAI dialect's request bodies (chat completions, completions, responses) as pydantic models.

Fields OpenAI defines that change nothing here (``user``, ``metadata``, ``store``, ``service_tier``) are accepted and
ignored; fields this server cannot honour are declared so that a request using them gets a 400 that says why.
"""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AssistantMessage",
    "ChatCompletionRequest",
    "CompletionRequest",
    "FunctionDefinition",
    "ImagePart",
    "Message",
    "NamedToolChoice",
    "ResponseFormat",
    "ResponsesRequest",
    "SystemMessage",
    "TextPart",
    "Tool",
    "ToolCall",
    "ToolMessage",
    "UserMessage",
]

ReasoningEffort = Literal["none", "minimal", "low", "medium", "high", "xhigh"]


class _Wire(BaseModel):
    # Vendors add fields often: unknown ones are ignored, as OpenAI's own server does with some of its own.
    model_config = ConfigDict(extra="ignore")


class TextPart(_Wire):
    """A text part of a message's content."""

    type: Literal["text"]
    text: str


class ImagePart(_Wire):
    """An image part of a user message's content."""

    type: Literal["image_url"]
    image_url: dict[str, Any]


UserPart = Annotated[TextPart | ImagePart, Field(discriminator="type")]


class FunctionCall(_Wire):
    """The function an assistant called: its name and arguments (a JSON string, or an object)."""

    name: str
    arguments: str | dict[str, Any] = "{}"


class ToolCall(_Wire):
    """A tool call in an assistant message of the history."""

    id: str | None = None
    type: Literal["function"] = "function"
    function: FunctionCall


class SystemMessage(_Wire):
    """Instructions: a ``system`` or ``developer`` message."""

    role: Literal["system", "developer"]
    content: str | list[TextPart]
    name: str | None = None


class UserMessage(_Wire):
    """A user's turn: text, or text and image parts."""

    role: Literal["user"]
    content: str | list[UserPart]
    name: str | None = None


class AssistantMessage(_Wire):
    """An earlier assistant turn: text, tool calls and the reasoning that led to them."""

    role: Literal["assistant"]
    content: str | list[TextPart] | None = None
    tool_calls: list[ToolCall] | None = None
    reasoning_content: str | None = None
    reasoning: str | None = None
    name: str | None = None


class ToolMessage(_Wire):
    """A tool's result, answering one tool call."""

    role: Literal["tool"]
    content: str | list[TextPart]
    tool_call_id: str | None = None


Message = Annotated[SystemMessage | UserMessage | AssistantMessage | ToolMessage, Field(discriminator="role")]


class FunctionDefinition(_Wire):
    """A function the model may call."""

    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class Tool(_Wire):
    """A tool definition."""

    type: Literal["function"]
    function: FunctionDefinition


class _FunctionName(_Wire):
    name: str


class NamedToolChoice(_Wire):
    """``tool_choice`` naming one function."""

    type: Literal["function"]
    function: _FunctionName


class StreamOptions(_Wire):
    """Options of a streamed answer."""

    include_usage: bool | None = None


class ResponseFormat(_Wire):
    """The answer's format: text, any JSON object, or JSON following a schema."""

    type: Literal["text", "json_object", "json_schema"]
    json_schema: dict[str, Any] | None = None


class _Sampling(_Wire):
    """Sampling fields shared by chat completions and completions."""

    model: str
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: str | list[str] | None = None
    seed: int | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    logit_bias: dict[str, float] | None = None
    n: int | None = Field(default=None, ge=1, le=128)
    logprobs: bool | int | None = None
    user: str | None = None


class ChatCompletionRequest(_Sampling):
    """``POST /v1/chat/completions``."""

    messages: list[Message] = Field(min_length=1)
    max_completion_tokens: int | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    tools: list[Tool] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: bool | None = None
    reasoning_effort: ReasoningEffort | None = None
    response_format: ResponseFormat | None = None
    metadata: dict[str, str] | None = None
    store: bool | None = None
    service_tier: str | None = None


class CompletionRequest(_Sampling):
    """``POST /v1/completions``: a raw prompt, continued."""

    prompt: str | list[str]
    echo: bool | None = None
    suffix: str | None = None
    best_of: int | None = None


class InputText(_Wire):
    """A text part of a Responses input message."""

    type: Literal["input_text", "output_text"]
    text: str


class InputImage(_Wire):
    """An image part of a Responses input message."""

    type: Literal["input_image"]
    image_url: str | None = None
    file_id: str | None = None


InputPart = Annotated[InputText | InputImage, Field(discriminator="type")]


class InputMessage(_Wire):
    """A message of a Responses input."""

    type: Literal["message"] = "message"
    role: Literal["user", "assistant", "system", "developer"]
    content: str | list[InputPart]


class FunctionCallItem(_Wire):
    """An earlier function call, sent back in a Responses input."""

    type: Literal["function_call"]
    call_id: str
    name: str
    arguments: str
    id: str | None = None


class FunctionCallOutputItem(_Wire):
    """A function's result, answering a call in a Responses input."""

    type: Literal["function_call_output"]
    call_id: str
    output: str | list[InputText]


class _Summary(_Wire):
    type: Literal["summary_text"]
    text: str


class ReasoningItem(_Wire):
    """Earlier reasoning, sent back in a Responses input."""

    type: Literal["reasoning"]
    summary: list[_Summary] = []
    content: list[dict[str, Any]] | None = None
    id: str | None = None


class ResponsesTool(_Wire):
    """A function tool of the Responses API (flat: name, description, parameters)."""

    type: Literal["function"]
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class Reasoning(_Wire):
    """The Responses API's reasoning options."""

    effort: ReasoningEffort | None = None
    summary: str | None = None


class _ResponsesFunctionChoice(_Wire):
    type: Literal["function"]
    name: str


class _TextFormat(_Wire):
    type: Literal["text", "json_object", "json_schema"]
    name: str | None = None
    json_schema: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: bool | None = None


class _TextOptions(_Wire):
    format: _TextFormat | None = None


InputItem = InputMessage | FunctionCallItem | FunctionCallOutputItem | ReasoningItem


class ResponsesRequest(_Wire):
    """``POST /v1/responses`` (stateless: the whole conversation comes in ``input``)."""

    model: str
    input: str | list[InputItem]
    instructions: str | None = None
    stream: bool = False
    max_output_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    tools: list[ResponsesTool] | None = None
    tool_choice: Literal["none", "auto", "required"] | _ResponsesFunctionChoice | None = None
    parallel_tool_calls: bool | None = None
    reasoning: Reasoning | None = None
    text: _TextOptions | None = None
    previous_response_id: str | None = None
    store: bool | None = None
    metadata: dict[str, str] | None = None
    user: str | None = None
