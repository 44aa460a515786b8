"""OpenAI's Responses API (``POST U/openai/v1/responses``), stateless: the whole conversation comes in ``input``.

``input`` is text or items (messages, earlier ``function_call`` and ``reasoning`` items, ``function_call_output``
results); ``instructions`` become the system message; ``reasoning.effort`` switches the template's thinking;
``max_output_tokens`` bounds the answer. Nothing is stored, so ``previous_response_id`` is a 400.

The answer's output items follow the generation's blocks: a ``reasoning`` item (its text in ``content``), a
``message`` with one ``output_text`` part, a ``function_call`` per tool call. Streamed, every event carries its
``sequence_number``: ``response.created``, ``response.in_progress``, then per item ``response.output_item.added``,
``response.content_part.added``, the deltas (``response.output_text.delta``, ``response.reasoning_text.delta``,
``response.function_call_arguments.delta``), their ``.done`` events, ``response.content_part.done`` and
``response.output_item.done``, and finally ``response.completed`` (``response.incomplete`` when
``max_output_tokens`` ran out). A failure ends the stream with an ``error`` event.
"""

import secrets
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from flama.http import EventSourceResponse, JSONResponse, Request, Response, ServerSentEvent
from flama.llm.events import BlockDelta, BlockStart, BlockStop, Event
from flama.llm.generation import Completion, Finish, Usage
from flama.llm.openai.schemas import (
    FunctionCallItem,
    FunctionCallOutputItem,
    InputMessage,
    InputText,
    ReasoningItem,
    ResponsesRequest,
)
from flama.llm.openai.structured import constraint
from flama.llm.prompts import Conversation
from flama.llm.serving import DialectError, Generation, check_model, json_arguments, read_body

if TYPE_CHECKING:
    from flama.llm.resource import LLMResource

__all__ = ["respond"]

_PREFIX = {"text": "msg", "thinking": "rs", "tool_call": "fc"}


def _content(content: str | list[Any], model: "LLMResource", field: str) -> str:
    if isinstance(content, str):
        return content
    texts = []
    for index, part in enumerate(content):
        if not isinstance(part, InputText):
            where = f"{field}.content[{index}]"
            raise DialectError(400, f"{where}: model {model.name!r} has no vision; send text only", where)
        texts.append(part.text)
    return "".join(texts)


def _messages(body: ResponsesRequest, model: "LLMResource") -> tuple[dict[str, Any], ...]:
    messages: list[dict[str, Any]] = []
    if body.instructions:
        messages.append({"role": "system", "content": body.instructions})
    if isinstance(body.input, str):
        return (*messages, {"role": "user", "content": body.input})
    reasoning: list[str] = []
    for index, item in enumerate(body.input):
        field = f"input[{index}]"
        if isinstance(item, ReasoningItem):
            reasoning += [part.text for part in item.summary]
            reasoning += [str(part.get("text", "")) for part in item.content or []]
        elif isinstance(item, InputMessage):
            role = "system" if item.role == "developer" else item.role
            message = {"role": role, "content": _content(item.content, model, field)}
            if role == "assistant" and reasoning:
                message["reasoning_content"], reasoning = "".join(reasoning), []
            messages.append(message)
        elif isinstance(item, FunctionCallItem):
            last = messages[-1] if messages else None
            if last is None or last["role"] != "assistant":
                last = {"role": "assistant", "content": ""}
                messages.append(last)
            if reasoning:
                last["reasoning_content"], reasoning = "".join(reasoning), []
            call = {"name": item.name, "arguments": json_arguments(item.arguments, f"{field}.arguments")}
            last.setdefault("tool_calls", []).append({"id": item.call_id, "type": "function", "function": call})
        else:
            assert isinstance(item, FunctionCallOutputItem)
            output = item.output if isinstance(item.output, str) else "".join(part.text for part in item.output)
            messages.append({"role": "tool", "content": output, "tool_call_id": item.call_id})
    return tuple(messages)


def _tools(body: ResponsesRequest) -> tuple[dict[str, Any], ...] | None:
    if not body.tools or body.tool_choice == "none":
        return None
    return tuple(
        {"type": "function", "function": tool.model_dump(exclude_none=True, exclude={"type", "strict"})}
        for tool in body.tools
    )


def _format(body: ResponsesRequest) -> dict[str, Any]:
    """The ``text.format`` the response echoes: the request's, or plain text."""
    if body.text is None or body.text.format is None:
        return {"type": "text"}
    return body.text.format.model_dump(by_alias=True, exclude_none=True)


def _tool_choice(body: ResponsesRequest) -> str | dict[str, Any]:
    """The ``tool_choice`` the response echoes (``auto`` when the request left it out)."""
    choice = body.tool_choice
    if choice is None:
        return "auto"
    return choice if isinstance(choice, str) else choice.model_dump()


def _usage(usage: Usage) -> dict[str, Any]:
    return {
        "input_tokens": usage.input_tokens,
        "input_tokens_details": {"cached_tokens": usage.cached_input_tokens},
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": usage.input_tokens + usage.output_tokens,
    }


def _item(kind: str, item_id: str, text: str, done: bool, tool_id: str | None, name: str | None) -> dict[str, Any]:
    status = "completed" if done else "in_progress"
    if kind == "text":
        content = [_part("output_text", text)] if done else []
        return {"id": item_id, "type": "message", "status": status, "role": "assistant", "content": content}
    if kind == "thinking":
        content = [_part("reasoning_text", text)] if done else []
        return {"id": item_id, "type": "reasoning", "summary": [], "content": content, "status": status}
    arguments = (text or "{}") if done else ""
    return {"id": item_id, "type": "function_call", "status": status, "call_id": tool_id, "name": name} | {
        "arguments": arguments
    }


def _part(kind: str, text: str) -> dict[str, Any]:
    part: dict[str, Any] = {"type": kind, "text": text}
    if kind == "output_text":
        part |= {"annotations": [], "logprobs": []}
    return part


class _Rendering:
    """One response's shape: its head fields, and its output items as the blocks come."""

    def __init__(self, body: ResponsesRequest) -> None:
        self.head: dict[str, Any] = {
            "id": f"resp_{secrets.token_hex(12)}",
            "object": "response",
            "created_at": int(time.time()),
            "model": body.model,
            "instructions": body.instructions,
            "max_output_tokens": body.max_output_tokens,
            "parallel_tool_calls": body.parallel_tool_calls is not False,
            "previous_response_id": None,
            "reasoning": {"effort": None if body.reasoning is None else body.reasoning.effort, "summary": None},
            "store": False,
            "temperature": body.temperature,
            "text": {"format": _format(body)},
            "tool_choice": _tool_choice(body),
            "tools": [tool.model_dump(exclude_none=True) for tool in body.tools or []],
            "top_p": body.top_p,
            "truncation": "disabled",
            "metadata": body.metadata or {},
        }

    def response(self, status: str, output: list[dict[str, Any]], finish: Finish | None) -> dict[str, Any]:
        """The response object at some point of its life."""
        incomplete = finish is not None and finish.stop_reason == "length"
        return {
            **self.head,
            "status": "incomplete" if incomplete else status,
            "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
            "error": None,
            "output": output,
            "usage": None if finish is None else _usage(finish.usage),
        }


def item_of(kind: str, item_id: str, text: str, tool_id: str | None, name: str | None) -> dict[str, Any]:
    """A finished output item."""
    return _item(kind, item_id, text, True, tool_id, name)


async def respond(model: "LLMResource", request: Request, dialect: str) -> Response:
    """Answer ``POST …/responses``, buffered or streamed.

    Raises:
        DialectError: The request is invalid or cannot be served.
    """
    body = await read_body(request, ResponsesRequest, model.max_messages)
    check_model(model, body.model)
    if body.previous_response_id is not None:
        raise DialectError(
            400,
            "previous_response_id: this server stores nothing; send the whole conversation in input",
            "previous_response_id",
        )
    answer = None if body.text is None else body.text.format
    tools = _tools(body)
    constrained = constraint(
        None if answer is None else answer.type,
        None if answer is None else answer.json_schema,
        None if tools is None else list(tools),
        body.tool_choice,
        body.parallel_tool_calls,
        "text.format",
        "text.format.schema",
    )
    source = Conversation(_messages(body, model), tools)
    params = {"max_tokens": body.max_output_tokens, "temperature": body.temperature, "top_p": body.top_p}
    effort = None if body.reasoning is None else body.reasoning.effort
    template = {} if effort is None else {"enable_thinking": effort != "none"}
    generation = Generation(model, request, dialect, "responses")
    await generation.prepare(
        source, {k: v for k, v in params.items() if v is not None}, template, constraint=constrained
    )
    rendering = _Rendering(body)
    if not body.stream:
        return JSONResponse(_buffered(rendering, await generation.complete()))
    events = await generation.stream()
    return EventSourceResponse(_stream(rendering, events), ping=model.heartbeat)


def _buffered(rendering: _Rendering, completion: Completion) -> dict[str, Any]:
    output = [
        item_of(block.type, f"{_PREFIX[block.type]}_{secrets.token_hex(12)}", block.text, block.id, block.name)
        for block in completion.blocks
    ]
    return rendering.response("completed", output, completion.finish)


async def _stream(rendering: _Rendering, events: AsyncIterator[Event | Finish]) -> AsyncIterator[ServerSentEvent]:
    number = 0

    def event(name: str, data: dict[str, Any]) -> ServerSentEvent:
        nonlocal number
        number += 1
        return ServerSentEvent({"type": name, **data, "sequence_number": number - 1}, event=name)

    yield event("response.created", {"response": rendering.response("in_progress", [], None)})
    yield event("response.in_progress", {"response": rendering.response("in_progress", [], None)})
    done: list[dict[str, Any]] = []
    # Per open block: its kind, item id, tool id and name, and its text so far.
    blocks: dict[int, tuple[str, str, str | None, str | None, list[str]]] = {}
    try:
        async for item in events:
            if isinstance(item, BlockDelta):
                kind, item_id, _, _, texts = blocks[item.index]
                texts.append(item.text)
                where = {"item_id": item_id, "output_index": len(done)}
                if kind == "tool_call":
                    yield event("response.function_call_arguments.delta", {**where, "delta": item.text})
                else:
                    delta: dict[str, Any] = {**where, "content_index": 0, "delta": item.text}
                    if kind == "text":
                        yield event("response.output_text.delta", {**delta, "logprobs": []})
                    else:
                        yield event("response.reasoning_text.delta", delta)
            elif isinstance(item, BlockStart):
                item_id = f"{_PREFIX[item.kind]}_{secrets.token_hex(12)}"
                blocks[item.index] = (item.kind, item_id, item.tool_id, item.tool_name, [])
                added = _item(item.kind, item_id, "", False, item.tool_id, item.tool_name)
                yield event("response.output_item.added", {"output_index": len(done), "item": added})
                if item.kind != "tool_call":
                    part = _part("output_text" if item.kind == "text" else "reasoning_text", "")
                    where = {"item_id": item_id, "output_index": len(done), "content_index": 0}
                    yield event("response.content_part.added", {**where, "part": part})
            elif isinstance(item, BlockStop):
                kind, item_id, tool_id, tool_name, texts = blocks.pop(item.index)
                text = "".join(texts)
                finished = item_of(kind, item_id, text, tool_id, tool_name)
                where = {"item_id": item_id, "output_index": len(done)}
                if kind == "tool_call":
                    yield event("response.function_call_arguments.done", {**where, "arguments": finished["arguments"]})
                else:
                    name_done = "response.output_text.done" if kind == "text" else "response.reasoning_text.done"
                    extra: dict[str, Any] = {"logprobs": []} if kind == "text" else {}
                    yield event(name_done, {**where, "content_index": 0, "text": text, **extra})
                    part = finished["content"][0]
                    yield event("response.content_part.done", {**where, "content_index": 0, "part": part})
                yield event("response.output_item.done", {"output_index": len(done), "item": finished})
                done.append(finished)
            else:
                final = rendering.response("completed", done, item)
                name = "response.incomplete" if final["status"] == "incomplete" else "response.completed"
                yield event(name, {"response": final})
    except Exception as exc:  # the stream ends with the error, as OpenAI's does
        message = f"The generation failed: {exc or type(exc).__name__}"
        yield event("error", {"code": "server_error", "message": message, "param": None})
