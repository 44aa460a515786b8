"""The Ollama dialect's request bodies (chat, generate, show) as pydantic models."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ChatRequest", "GenerateRequest", "Message", "Options", "ShowRequest", "ToolCall"]

Think = bool | Literal["low", "medium", "high"]


class _Wire(BaseModel):
    # Unknown fields are ignored, as Ollama does.
    model_config = ConfigDict(extra="ignore")


class _Function(_Wire):
    name: str
    arguments: dict[str, Any] = {}


class ToolCall(_Wire):
    """A tool call of an earlier assistant message."""

    function: _Function
    id: str | None = None


class Message(_Wire):
    """A chat message."""

    role: Literal["system", "user", "assistant", "tool"]
    content: str = ""
    thinking: str | None = None
    images: list[str] | None = None
    tool_calls: list[ToolCall] | None = None
    tool_name: str | None = None
    tool_call_id: str | None = None


class Options(_Wire):
    """Model options, unpacked into generation parameters (``num_ctx`` cannot grow the model's context)."""

    num_predict: int | None = None
    num_ctx: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    min_p: float | None = None
    seed: int | None = None
    stop: list[str] | None = None
    repeat_penalty: float | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None


class _Generation(_Wire):
    model: str
    format: str | dict[str, Any] | None = None
    options: Options | None = None
    stream: bool = True
    think: Think | None = None
    keep_alive: str | int | float | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=20)


class ChatRequest(_Generation):
    """``POST /api/chat``."""

    messages: list[Message] = []
    tools: list[dict[str, Any]] | None = None


class GenerateRequest(_Generation):
    """``POST /api/generate``."""

    prompt: str = ""
    suffix: str | None = None
    system: str | None = None
    template: str | None = None
    raw: bool = False
    images: list[str] | None = None
    context: list[int] | None = None


class ShowRequest(_Wire):
    """``POST /api/show``."""

    model: str | None = None
    name: str | None = None
    verbose: bool | None = None
