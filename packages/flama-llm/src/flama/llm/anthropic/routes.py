"""The Anthropic dialect's routes, mounted at ``U/anthropic/v1`` (the SDK's base URL is ``U/anthropic``).

- ``POST messages``: buffered, or streamed as named server-sent events: ``message_start``, ``ping``, per block
  ``content_block_start``, ``content_block_delta`` (``text_delta``, ``thinking_delta``, ``signature_delta``,
  ``input_json_delta``) and ``content_block_stop``, then ``message_delta`` (stop reason, usage) and
  ``message_stop``; a failure ends the stream with an ``error`` event.
- ``POST messages/count_tokens``: ``{"input_tokens"}`` of the rendered prompt.
- ``GET models`` and ``GET models/{id}`` (with ``has_more``, ``first_id``, ``last_id``).

Thinking blocks carry a signature: an HMAC-SHA256 of their text under a secret of the serving process, so a
thinking block sent back in the history is checked (a forged or altered one is a 400). Errors use Anthropic's
envelope ``{"type": "error", "error": {"type", "message"}}``.
"""

import base64
import datetime
import hashlib
import hmac
import json
import secrets
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from flama.http import EventSourceResponse, JSONResponse, Request, Response, Route, ServerSentEvent
from flama.http.routing import BaseRoute
from flama.llm.anthropic.schemas import (
    CountTokensRequest,
    ImageBlock,
    MessageParam,
    MessagesRequest,
    RedactedThinkingBlock,
    TextBlock,
    ThinkingBlock,
    ThinkingEnabled,
    ToolResultBlock,
    ToolUseBlock,
)
from flama.llm.constraints import Constraint
from flama.llm.events import BlockDelta, BlockStart, BlockStop, Event
from flama.llm.exceptions import InvalidParameter, InvalidRequest, QueueFull
from flama.llm.generation import Completion, Finish, StopReason, Usage
from flama.llm.prompts import Conversation
from flama.llm.serving import (
    DialectError,
    Endpoint,
    Generation,
    accepted_names,
    check_model,
    created,
    guarded,
    read_body,
)

if TYPE_CHECKING:
    from flama.llm.resource import LLMResource

__all__ = ["AnthropicDialect", "Signer", "anthropic_usage", "error_body"]

DIALECT = "anthropic"

STOP: Mapping[StopReason, str] = {
    "end": "end_turn",
    "length": "max_tokens",
    "stop_sequence": "stop_sequence",
    "tool_use": "tool_use",
}

_TYPES = {
    "invalid_request": "invalid_request_error",
    "authentication": "authentication_error",
    "permission": "permission_error",
    "not_found": "not_found_error",
    "rate_limit": "rate_limit_error",
    "overloaded": "overloaded_error",
    "server": "api_error",
}


def error_body(error: DialectError) -> dict[str, Any]:
    """Anthropic's error envelope."""
    return {"type": "error", "error": {"type": _TYPES[error.kind], "message": error.message}}


def constraint(body: MessagesRequest, budgets: bool = True) -> Constraint | None:
    """What constrained decoding enforces: ``tool_choice`` ``any`` / ``tool``, one call, the thinking budget.

    Args:
        body: The request.
        budgets: Whether the backend enforces constraints: Anthropic's clients send a budget with every thinking
            request, so a backend without constraints keeps thinking, bounded by ``max_tokens`` only, rather than
            refusing them (a forced tool call, which it cannot honour, is still refused).

    Raises:
        DialectError: A tool named that is not offered, a bad input schema (400, naming the field).
    """
    choice, tools = body.tool_choice, body.tools or []
    budget = body.thinking.budget_tokens if budgets and isinstance(body.thinking, ThinkingEnabled) else None
    single = choice is not None and bool(choice.disable_parallel_tool_use) and choice.type != "none"
    try:
        if choice is not None and choice.type in ("any", "tool"):
            forced = [(i, tool) for i, tool in enumerate(tools) if choice.type == "any" or tool.name == choice.name]
            if choice.type == "tool" and not forced:
                raise InvalidParameter("tool_choice.name", f"names {choice.name!r}, which is not among the tools")
            calls = [(tool.name, tool.input_schema, f"tools[{i}].input_schema") for i, tool in forced]
            return Constraint.tool_call(calls, single=single, field="tool_choice").also(thinking_budget=budget)
        if budget is not None or (single and tools):
            return Constraint(single=single and bool(tools), thinking_budget=budget, field="thinking")
    except InvalidParameter as exc:
        raise DialectError.of(exc) from exc
    return None


class Signer:
    """Signs thinking blocks and checks the signatures sent back.

    Args:
        secret: The HMAC key; a random one per process by default (signatures then hold until the server restarts).
    """

    __slots__ = ("_secret",)

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secrets.token_bytes(32) if secret is None else secret

    def sign(self, thinking: str) -> str:
        """The signature of a thinking block's text."""
        digest = hmac.new(self._secret, thinking.encode("utf-8"), hashlib.sha256).digest()
        return base64.b64encode(digest).decode("ascii")

    def verify(self, thinking: str, signature: str) -> bool:
        """Whether ``signature`` is this server's signature of ``thinking``."""
        return hmac.compare_digest(self.sign(thinking), signature)


def _text(blocks: list[TextBlock] | str | None) -> str:
    if blocks is None:
        return ""
    return blocks if isinstance(blocks, str) else "".join(block.text for block in blocks)


class AnthropicDialect:
    """The Anthropic routes of one language model.

    Args:
        model: The model's resource.
        signer: Signs and verifies thinking blocks; a random secret per process by default.
    """

    name = DIALECT

    def __init__(self, model: "LLMResource", signer: Signer | None = None) -> None:
        self.model = model
        self.signer = Signer() if signer is None else signer

    def routes(self) -> list[BaseRoute]:
        """The routes, relative to the model's path."""
        p = "/anthropic/v1"
        return [
            Route(
                f"{p}/messages",
                self._guard(self.messages),
                methods=["POST"],
                name="anthropic-messages",
                body=MessagesRequest,
            ),
            Route(
                f"{p}/messages/count_tokens",
                self._guard(self.count_tokens),
                methods=["POST"],
                name="anthropic-count",
                body=CountTokensRequest,
            ),
            Route(f"{p}/models", self._guard(self.models), methods=["GET"], name="anthropic-models"),
            Route(f"{p}/models/{{model_id}}", self.retrieve_model, methods=["GET"], name="anthropic-model"),
        ]

    def _guard(self, endpoint: Endpoint) -> Endpoint:
        return guarded(self.model, endpoint, error_body)

    def _model_entry(self, name: str) -> dict[str, Any]:
        stamp = datetime.datetime.fromtimestamp(created(self.model), datetime.timezone.utc)
        return {"type": "model", "id": name, "display_name": name, "created_at": stamp.isoformat()}

    async def models(self, request: Request) -> Response:
        """The models served, in one page."""
        names = accepted_names(self.model)
        data = [self._model_entry(name) for name in names]
        return JSONResponse({"data": data, "has_more": False, "first_id": names[0], "last_id": names[-1]})

    async def retrieve_model(self, request: Request, model_id: str) -> Response:
        """One model by id."""

        async def retrieve(request: Request) -> Response:
            check_model(self.model, model_id, "model_id")
            return JSONResponse(self._model_entry(model_id))

        return await self._guard(retrieve)(request)

    def _conversation(self, body: CountTokensRequest) -> tuple[Conversation, dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        if body.system:
            messages.append({"role": "system", "content": _text(body.system)})
        for index, message in enumerate(body.messages):
            messages.extend(self._turn(message, f"messages[{index}]"))
        tools = None
        if body.tools:
            tools = tuple(
                {
                    "type": "function",
                    "function": {
                        "name": tool.name,
                        **({} if tool.description is None else {"description": tool.description}),
                        "parameters": tool.input_schema,
                    },
                }
                for tool in body.tools
            )
        choice = body.tool_choice
        if choice is not None and choice.type == "none":
            tools = None
        # Anthropic's thinking is off unless asked for.
        template = {"enable_thinking": isinstance(body.thinking, ThinkingEnabled)}
        return Conversation(tuple(messages), tools), template

    def _turn(self, message: MessageParam, field: str) -> list[dict[str, Any]]:
        if isinstance(message.content, str):
            return [{"role": message.role, "content": message.content}]
        texts: list[str] = []
        results: list[dict[str, Any]] = []
        calls: list[dict[str, Any]] = []
        reasoning: list[str] = []
        for index, block in enumerate(message.content):
            where = f"{field}.content[{index}]"
            if isinstance(block, TextBlock):
                texts.append(block.text)
            elif isinstance(block, ImageBlock):
                raise DialectError(400, f"{where}: model {self.model.name!r} has no vision; send text only", where)
            elif isinstance(block, ToolResultBlock):
                if message.role != "user":
                    raise DialectError(400, f"{where}: tool results belong in user turns", where)
                results.append(self._tool_result(block, where))
            elif isinstance(block, ToolUseBlock):
                if message.role != "assistant":
                    raise DialectError(400, f"{where}: tool calls belong in assistant turns", where)
                function = {"name": block.name, "arguments": block.input}
                calls.append({"id": block.id, "type": "function", "function": function})
            elif isinstance(block, ThinkingBlock):
                if not self.signer.verify(block.thinking, block.signature):
                    raise DialectError(
                        400, f"{where}.signature: invalid signature for this thinking block", f"{where}.signature"
                    )
                reasoning.append(block.thinking)
            else:
                assert isinstance(block, RedactedThinkingBlock)
                raise DialectError(400, f"{where}: this server never redacts thinking; it cannot read one", where)
        if message.role == "user":
            return results + ([{"role": "user", "content": "".join(texts)}] if texts or not results else [])
        turn: dict[str, Any] = {"role": "assistant", "content": "".join(texts)}
        if reasoning:
            turn["reasoning_content"] = "".join(reasoning)
        if calls:
            turn["tool_calls"] = calls
        return [turn]

    def _tool_result(self, block: ToolResultBlock, where: str) -> dict[str, Any]:
        content = block.content
        if isinstance(content, list):
            for index, part in enumerate(content):
                if isinstance(part, ImageBlock):
                    raise DialectError(400, f"{where}.content[{index}]: model {self.model.name!r} has no vision", where)
            content = "".join(part.text for part in content if isinstance(part, TextBlock))
        text = content or ""
        return {
            "role": "tool",
            "content": f"Error: {text}" if block.is_error else text,
            "tool_call_id": block.tool_use_id,
        }

    async def count_tokens(self, request: Request) -> Response:
        """Tokens of the prompt a messages request renders."""
        body = await read_body(request, CountTokensRequest, self.model.max_messages)
        check_model(self.model, body.model)
        source, template = self._conversation(body)
        try:
            prepared = await self.model.pipeline.prepare_async(source, {}, template)
        except (InvalidParameter, InvalidRequest, QueueFull) as exc:
            raise DialectError.of(exc) from exc
        return JSONResponse({"input_tokens": prepared.input_tokens})

    async def messages(self, request: Request) -> Response:
        """A message, buffered or streamed."""
        body = await read_body(request, MessagesRequest, self.model.max_messages)
        check_model(self.model, body.model)
        source, template = self._conversation(body)
        params = {
            "max_tokens": body.max_tokens,
            "temperature": body.temperature,
            "top_p": body.top_p,
            "top_k": body.top_k,
            "stop": body.stop_sequences or None,
        }
        backend = self.model.backend
        budgets = backend is None or "constraint" in backend.supported
        generation = Generation(self.model, request, DIALECT, "messages")
        prepared = await generation.prepare(
            source, {k: v for k, v in params.items() if v is not None}, template, constraint=constraint(body, budgets)
        )
        # The stop sequence met is named when only one was given (the pipeline says that one was met, not which).
        stops = body.stop_sequences or []
        head = {
            "id": f"msg_{secrets.token_hex(12)}",
            "type": "message",
            "role": "assistant",
            "model": body.model,
        }
        if not body.stream:
            return JSONResponse(self._message_body(head, await generation.complete(), stops))
        events = await generation.stream()
        frames = self._frames(head, prepared.input_tokens, events, stops)
        return EventSourceResponse(frames, ping=self.model.heartbeat)

    def _message_body(self, head: dict[str, Any], completion: Completion, stops: list[str]) -> dict[str, Any]:
        content: list[dict[str, Any]] = []
        for block in completion.blocks:
            if block.type == "text":
                content.append({"type": "text", "text": block.text})
            elif block.type == "thinking":
                content.append({"type": "thinking", "thinking": block.text, "signature": self.signer.sign(block.text)})
            else:
                content.append({"type": "tool_use", "id": block.id, "name": block.name, "input": _input(block.text)})
        finish = completion.finish
        return {
            **head,
            "content": content,
            "stop_reason": STOP[finish.stop_reason],
            "stop_sequence": _stop_sequence(finish, stops),
            "usage": anthropic_usage(finish.usage),
        }

    async def _frames(
        self, head: dict[str, Any], input_tokens: int, events: AsyncIterator[Event | Finish], stops: list[str]
    ) -> AsyncIterator[ServerSentEvent]:
        def frame(name: str, data: dict[str, Any]) -> ServerSentEvent:
            return ServerSentEvent({"type": name, **data}, event=name)

        start = {**head, "content": [], "stop_reason": None, "stop_sequence": None}
        start["usage"] = {"input_tokens": input_tokens, "output_tokens": 0}
        yield frame("message_start", {"message": start})
        yield frame("ping", {})
        kinds: dict[int, str] = {}
        thoughts: dict[int, list[str]] = {}
        delta: dict[str, Any]
        try:
            async for event in events:
                if isinstance(event, BlockDelta):
                    kind = kinds[event.index]
                    if kind == "text":
                        delta = {"type": "text_delta", "text": event.text}
                    elif kind == "thinking":
                        thoughts[event.index].append(event.text)
                        delta = {"type": "thinking_delta", "thinking": event.text}
                    else:
                        delta = {"type": "input_json_delta", "partial_json": event.text}
                    yield frame("content_block_delta", {"index": event.index, "delta": delta})
                elif isinstance(event, BlockStart):
                    kinds[event.index] = event.kind
                    block: dict[str, Any]
                    if event.kind == "text":
                        block = {"type": "text", "text": ""}
                    elif event.kind == "thinking":
                        thoughts[event.index] = []
                        block = {"type": "thinking", "thinking": "", "signature": ""}
                    else:
                        block = {"type": "tool_use", "id": event.tool_id, "name": event.tool_name, "input": {}}
                    yield frame("content_block_start", {"index": event.index, "content_block": block})
                elif isinstance(event, BlockStop):
                    if event.index in thoughts:
                        signature = self.signer.sign("".join(thoughts.pop(event.index)))
                        delta = {"type": "signature_delta", "signature": signature}
                        yield frame("content_block_delta", {"index": event.index, "delta": delta})
                    yield frame("content_block_stop", {"index": event.index})
                else:
                    delta = {"stop_reason": STOP[event.stop_reason], "stop_sequence": _stop_sequence(event, stops)}
                    yield frame("message_delta", {"delta": delta, "usage": anthropic_usage(event.usage)})
                    yield frame("message_stop", {})
        except Exception as exc:  # the stream ends with the error, as Anthropic's does
            error = DialectError(500, f"The generation failed: {exc or type(exc).__name__}", None, "server")
            yield ServerSentEvent(error_body(error), event="error")


def anthropic_usage(usage: Usage) -> dict[str, int]:
    """Usage in Anthropic's shape: ``input_tokens`` excludes what was read from the prompt cache."""
    return {
        "input_tokens": usage.input_tokens - usage.cached_input_tokens,
        "cache_read_input_tokens": usage.cached_input_tokens,
        "cache_creation_input_tokens": 0,
        "output_tokens": usage.output_tokens,
    }


def _input(arguments: str) -> Any:
    try:
        return json.loads(arguments) if arguments else {}
    except ValueError:
        return {}


def _stop_sequence(finish: Finish, stops: list[str]) -> str | None:
    return stops[0] if finish.stop_reason == "stop_sequence" and len(stops) == 1 else None
