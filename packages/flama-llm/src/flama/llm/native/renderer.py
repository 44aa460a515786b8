"""The native dialect's answers: a buffered completion body, and the events of a stream.

A stream is ``message.start``, then per block ``block.start``, ``block.delta``… and ``block.stop``, then
``message.delta`` (stop reason and usage) and ``message.stop``; a failure ends it with ``error``.
"""

from collections.abc import AsyncIterator
from typing import Any

from flama.llm.events import BlockDelta, BlockStart, BlockStop, Event
from flama.llm.generation import Completion, Finish, Usage

__all__ = ["completion_body", "native_usage", "stream_events"]


def native_usage(usage: Usage) -> dict[str, int]:
    """The native form of a usage: input and output tokens, and the input tokens read from the prefix cache."""
    return {**usage.to_dict(), "cached_input_tokens": usage.cached_input_tokens}


def completion_body(message_id: str, created: int, completion: Completion) -> dict[str, Any]:
    """The body of ``POST …/query/``: ``{id, created, blocks, stop_reason, usage}``."""
    return {
        "id": message_id,
        "created": created,
        "blocks": [block.to_dict() for block in completion.blocks],
        "stop_reason": completion.finish.stop_reason,
        "usage": native_usage(completion.finish.usage),
    }


def _block_start(event: BlockStart) -> dict[str, Any]:
    data: dict[str, Any] = {"index": event.index, "type": event.kind}
    if event.kind == "tool_call":
        data["id"] = event.tool_id
        data["name"] = event.tool_name
    return data


async def stream_events(
    message_id: str, created: int, model: str, input_tokens: int, events: AsyncIterator[Event | Finish]
) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """The ``(event name, payload)`` pairs of a stream, from a generation's events."""
    yield (
        "message.start",
        {"id": message_id, "created": created, "model": model, "usage": {"input_tokens": input_tokens}},
    )
    async for event in events:
        if isinstance(event, BlockDelta):
            yield "block.delta", {"index": event.index, "text": event.text}
        elif isinstance(event, BlockStart):
            yield "block.start", _block_start(event)
        elif isinstance(event, BlockStop):
            yield "block.stop", {"index": event.index}
        else:
            yield "message.delta", {"stop_reason": event.stop_reason, "usage": native_usage(event.usage)}
            yield "message.stop", {}
