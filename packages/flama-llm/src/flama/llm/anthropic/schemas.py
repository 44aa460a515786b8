"""The Anthropic dialect's request bodies (messages, count_tokens) as pydantic models."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Block",
    "CountTokensRequest",
    "ImageBlock",
    "MessageParam",
    "MessagesRequest",
    "RedactedThinkingBlock",
    "TextBlock",
    "ThinkingBlock",
    "Tool",
    "ToolChoice",
    "ToolResultBlock",
    "ToolUseBlock",
]


class _Wire(BaseModel):
    # Unknown fields (cache_control, citations, newer options) are ignored, as vendors add them often.
    model_config = ConfigDict(extra="ignore")


class TextBlock(_Wire):
    """Text."""

    type: Literal["text"]
    text: str


class ImageBlock(_Wire):
    """An image (base64 or URL source)."""

    type: Literal["image"]
    source: dict[str, Any]


class ToolUseBlock(_Wire):
    """An earlier tool call of the assistant."""

    type: Literal["tool_use"]
    id: str
    name: str
    input: dict[str, Any]


class ToolResultBlock(_Wire):
    """A tool's result, answering a ``tool_use`` block by its id."""

    type: Literal["tool_result"]
    tool_use_id: str
    content: str | list[Annotated[TextBlock | ImageBlock, Field(discriminator="type")]] | None = None
    is_error: bool | None = None


class ThinkingBlock(_Wire):
    """Earlier reasoning, sent back with the signature this server gave it."""

    type: Literal["thinking"]
    thinking: str
    signature: str


class RedactedThinkingBlock(_Wire):
    """Reasoning another server redacted: this server never produces it."""

    type: Literal["redacted_thinking"]
    data: str


Block = Annotated[
    TextBlock | ImageBlock | ToolUseBlock | ToolResultBlock | ThinkingBlock | RedactedThinkingBlock,
    Field(discriminator="type"),
]


class MessageParam(_Wire):
    """A turn of the conversation."""

    role: Literal["user", "assistant"]
    content: str | list[Block]


class Tool(_Wire):
    """A tool the model may call."""

    name: str
    description: str | None = None
    input_schema: dict[str, Any]


class ToolChoice(_Wire):
    """How the model uses the tools."""

    type: Literal["auto", "any", "tool", "none"]
    name: str | None = None
    disable_parallel_tool_use: bool | None = None


class ThinkingEnabled(_Wire):
    """Extended thinking on, with a budget of tokens."""

    type: Literal["enabled"]
    budget_tokens: int = Field(ge=1)


class ThinkingDisabled(_Wire):
    """Extended thinking off."""

    type: Literal["disabled"]


Thinking = Annotated[ThinkingEnabled | ThinkingDisabled, Field(discriminator="type")]


class CountTokensRequest(_Wire):
    """``POST /v1/messages/count_tokens``."""

    model: str
    messages: list[MessageParam] = Field(min_length=1)
    system: str | list[TextBlock] | None = None
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None
    thinking: Thinking | None = None


class MessagesRequest(CountTokensRequest):
    """``POST /v1/messages``."""

    max_tokens: int
    stream: bool = False
    stop_sequences: list[str] | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    metadata: dict[str, Any] | None = None
    service_tier: str | None = None
