"""The OpenAI dialect's routes, mounted at ``U/openai/v1`` (and at ``U/ollama/v1``, as Ollama does).

- ``POST chat/completions``: buffered, or server-sent ``chat.completion.chunk`` events ending with ``data: [DONE]``.
- ``POST completions``: a raw prompt continued, buffered or streamed.
- ``POST responses``: the Responses API, stateless (see :mod:`flama.llm.openai.responses`).
- ``GET models`` and ``GET models/{id}``.

Errors use OpenAI's envelope ``{"error": {"message", "type", "param", "code"}}``, so the SDK raises its matching
exception class; an error in the middle of a stream is sent as a ``data: {"error": …}`` event that ends it.
"""

import secrets
import time
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from flama.http import EventSourceResponse, JSONResponse, Request, Response, Route
from flama.http.routing import BaseRoute
from flama.llm.events import BlockDelta, BlockStart, Event
from flama.llm.generation import Completion, Finish, StopReason, Usage
from flama.llm.openai.choices import (
    TokenLog,
    chat_logprobs,
    complete_all,
    completion_logprobs,
    seeded,
    stream_choices,
    total_usage,
)
from flama.llm.openai.responses import respond
from flama.llm.openai.schemas import (
    AssistantMessage,
    ChatCompletionRequest,
    CompletionRequest,
    Message,
    NamedToolChoice,
    ResponsesRequest,
    SystemMessage,
    TextPart,
    ToolMessage,
    UserMessage,
)
from flama.llm.openai.structured import constraint
from flama.llm.prompts import Conversation, Raw
from flama.llm.serving import (
    DialectError,
    Endpoint,
    Generation,
    accepted_names,
    check_model,
    created,
    guarded,
    json_arguments,
    read_body,
)

if TYPE_CHECKING:
    from flama.llm.resource import LLMResource

__all__ = ["OpenAIDialect", "error_body", "openai_usage"]

DIALECT = "openai"

FINISH: Mapping[StopReason, str] = {
    "end": "stop",
    "stop_sequence": "stop",
    "length": "length",
    "tool_use": "tool_calls",
}

_TYPES = {
    "invalid_request": "invalid_request_error",
    "authentication": "authentication_error",
    "permission": "permission_error",
    "not_found": "not_found_error",
    "rate_limit": "rate_limit_error",
    "overloaded": "server_error",
    "server": "server_error",
}


def error_body(error: DialectError) -> dict[str, Any]:
    """OpenAI's error envelope."""
    code = "model_not_found" if error.kind == "not_found" and error.param == "model" else None
    return {"error": {"message": error.message, "type": _TYPES[error.kind], "param": error.param, "code": code}}


def openai_usage(usage: Usage) -> dict[str, Any]:
    """Usage in OpenAI's chat completions shape."""
    total = usage.input_tokens + usage.output_tokens
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": total,
        "prompt_tokens_details": {"cached_tokens": usage.cached_input_tokens},
    }


def _text(content: str | list[TextPart], field: str) -> str:
    return content if isinstance(content, str) else "".join(part.text for part in content)


def no_vision(model: "LLMResource", field: str) -> DialectError:
    """The 400 an image part gets: the model has no vision."""
    return DialectError(400, f"{field}: model {model.name!r} has no vision; send text only", field)


def _message(model: "LLMResource", message: Message, field: str) -> dict[str, Any]:
    if isinstance(message, SystemMessage):
        return {"role": "system", "content": _text(message.content, f"{field}.content")}
    if isinstance(message, UserMessage):
        if isinstance(message.content, str):
            return {"role": "user", "content": message.content}
        texts = []
        for index, part in enumerate(message.content):
            if not isinstance(part, TextPart):
                raise no_vision(model, f"{field}.content[{index}]")
            texts.append(part.text)
        return {"role": "user", "content": "".join(texts)}
    if isinstance(message, ToolMessage):
        result: dict[str, Any] = {"role": "tool", "content": _text(message.content, f"{field}.content")}
        if message.tool_call_id is not None:
            result["tool_call_id"] = message.tool_call_id
        return result
    assert isinstance(message, AssistantMessage)
    content = "" if message.content is None else _text(message.content, f"{field}.content")
    turn: dict[str, Any] = {"role": "assistant", "content": content}
    reasoning = message.reasoning_content if message.reasoning_content is not None else message.reasoning
    if reasoning is not None:
        turn["reasoning_content"] = reasoning
    if message.tool_calls:
        turn["tool_calls"] = [
            {
                **({} if call.id is None else {"id": call.id}),
                "type": "function",
                "function": {
                    "name": call.function.name,
                    "arguments": json_arguments(
                        call.function.arguments, f"{field}.tool_calls[{index}].function.arguments"
                    ),
                },
            }
            for index, call in enumerate(message.tool_calls)
        ]
    return turn


def thinking(effort: str | None) -> dict[str, Any]:
    """Chat template arguments for a reasoning effort: ``none`` turns thinking off, any other level on."""
    return {} if effort is None else {"enable_thinking": effort != "none"}


def tools_offered(tools: list[dict[str, Any]] | None, choice: str | NamedToolChoice | Any | None) -> Any:
    """The tools the model sees, by ``tool_choice``: none for ``none``, all otherwise."""
    return None if not tools or choice == "none" else tuple(tools)


def sampling(body: ChatCompletionRequest | CompletionRequest, max_tokens: int | None) -> dict[str, Any]:
    """The canonical generation parameters of a chat or completion request."""
    params: dict[str, Any] = {
        "max_tokens": max_tokens,
        "temperature": body.temperature,
        "top_p": body.top_p,
        "stop": body.stop,
        "seed": body.seed,
        "frequency_penalty": body.frequency_penalty,
        "presence_penalty": body.presence_penalty,
        "logit_bias": body.logit_bias,
    }
    return {name: value for name, value in params.items() if value is not None}


class OpenAIDialect:
    """The OpenAI routes of one language model.

    Args:
        model: The model's resource.
        prefix: Where the routes are mounted, relative to the model's path.
    """

    name = DIALECT

    def __init__(self, model: "LLMResource", prefix: str = "/openai/v1") -> None:
        self.model = model
        self.prefix = prefix

    def routes(self) -> list[BaseRoute]:
        """The routes, relative to the model's path."""
        p = self.prefix
        tag = p.strip("/").replace("/", "-")
        return [
            # The bodies are read and validated by the endpoints (errors in OpenAI's envelope); `body` documents them.
            Route(
                f"{p}/chat/completions",
                self._guard(self.chat),
                methods=["POST"],
                name=f"{tag}-chat",
                body=ChatCompletionRequest,
            ),
            Route(
                f"{p}/completions",
                self._guard(self.completions),
                methods=["POST"],
                name=f"{tag}-completions",
                body=CompletionRequest,
            ),
            Route(
                f"{p}/responses",
                self._guard(self.responses),
                methods=["POST"],
                name=f"{tag}-responses",
                body=ResponsesRequest,
            ),
            Route(f"{p}/models", self._guard(self.models), methods=["GET"], name=f"{tag}-models"),
            Route(f"{p}/models/{{model_id}}", self.retrieve_model, methods=["GET"], name=f"{tag}-model"),
        ]

    def _guard(self, endpoint: Endpoint) -> Endpoint:
        return guarded(self.model, endpoint, error_body)

    def _model_entry(self, name: str) -> dict[str, Any]:
        return {"id": name, "object": "model", "created": created(self.model), "owned_by": "flama"}

    async def models(self, request: Request) -> Response:
        """The models served: ``{"object": "list", "data": [...]}``."""
        return JSONResponse({"object": "list", "data": [self._model_entry(n) for n in accepted_names(self.model)]})

    async def retrieve_model(self, request: Request, model_id: str) -> Response:
        """One model by id."""

        async def retrieve(request: Request) -> Response:
            check_model(self.model, model_id, "model_id")
            return JSONResponse(self._model_entry(model_id))

        return await self._guard(retrieve)(request)

    async def chat(self, request: Request) -> Response:
        """Chat completions, buffered or streamed."""
        body = await read_body(request, ChatCompletionRequest, self.model.max_messages)
        check_model(self.model, body.model)
        messages = tuple(_message(self.model, m, f"messages[{i}]") for i, m in enumerate(body.messages))
        tools = [tool.model_dump(exclude_none=True) for tool in body.tools] if body.tools else None
        source = Conversation(messages, tools_offered(tools, body.tool_choice))
        answer = body.response_format
        constrained = constraint(
            None if answer is None else answer.type,
            None if answer is None else (answer.json_schema or {}).get("schema"),
            tools,
            body.tool_choice,
            body.parallel_tool_calls,
        )
        params = sampling(
            body, body.max_completion_tokens if body.max_completion_tokens is not None else body.max_tokens
        )
        if body.top_logprobs is not None and not body.logprobs:
            raise DialectError(400, "top_logprobs: needs logprobs: true", "top_logprobs")
        logprobs = (body.top_logprobs or 0) if body.logprobs else None
        field = "logprobs" if body.top_logprobs is None else "top_logprobs"
        n = body.n or 1
        generations = [Generation(self.model, request, DIALECT, "chat", counted=not i) for i in range(n)]
        for index, generation in enumerate(generations):
            await generation.prepare(
                source,
                seeded(params, index),
                thinking(body.reasoning_effort),
                logprobs=logprobs,
                logprobs_field=field,
                constraint=constrained,
            )
        logs = [TokenLog(generation.prepared) for generation in generations]
        head = {
            "id": f"chatcmpl-{secrets.token_hex(12)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.model,
            "system_fingerprint": None,
        }
        if not body.stream:
            return JSONResponse(_chat_body(head, await complete_all(generations), logs))
        include_usage = body.stream_options is not None and bool(body.stream_options.include_usage)
        head["object"] = "chat.completion.chunk"
        events = await stream_choices(generations)
        return EventSourceResponse(_chat_chunks(head, events, logs, include_usage), ping=self.model.heartbeat)

    async def responses(self, request: Request) -> Response:
        """The Responses API, stateless."""
        return await respond(self.model, request, DIALECT)

    async def completions(self, request: Request) -> Response:
        """Text completions of a raw prompt, buffered or streamed."""
        body = await read_body(request, CompletionRequest)
        check_model(self.model, body.model)
        prompt = body.prompt
        if isinstance(prompt, list):
            if len(prompt) != 1:
                raise DialectError(400, "prompt: one prompt per request is supported", "prompt")
            prompt = prompt[0]
        for name in ("echo", "suffix"):
            if getattr(body, name):
                raise DialectError(400, f"{name}: not supported on this backend", name)
        if body.best_of not in (None, 1):
            raise DialectError(400, "best_of: only one candidate per request is supported", "best_of")
        if isinstance(body.logprobs, bool):
            raise DialectError(400, "logprobs: must be the number of alternatives per token (0 to 20)", "logprobs")
        # OpenAI's legacy default: 16 tokens.
        params = sampling(body, 16 if body.max_tokens is None else body.max_tokens)
        n = body.n or 1
        generations = [Generation(self.model, request, DIALECT, "completions", counted=not i) for i in range(n)]
        for index, generation in enumerate(generations):
            await generation.prepare(Raw(prompt), seeded(params, index), {}, logprobs=body.logprobs)
        logs = [TokenLog(generation.prepared) for generation in generations]
        head = {"id": f"cmpl-{secrets.token_hex(12)}", "object": "text_completion", "created": int(time.time())}
        head["model"] = body.model
        if not body.stream:
            completions = await complete_all(generations)
            choices = [
                {
                    "index": index,
                    "text": completion.text,
                    "logprobs": completion_logprobs(log.take()) if log.asked else None,
                    "finish_reason": FINISH[completion.finish.stop_reason],
                }
                for index, (completion, log) in enumerate(zip(completions, logs, strict=True))
            ]
            usage = total_usage([completion.finish.usage for completion in completions])
            return JSONResponse({**head, "choices": choices, "usage": openai_usage(usage)})
        include_usage = body.stream_options is not None and bool(body.stream_options.include_usage)
        events = await stream_choices(generations)
        return EventSourceResponse(_completion_chunks(head, events, logs, include_usage), ping=self.model.heartbeat)


def _chat_body(head: dict[str, Any], completions: list[Completion], logs: list[TokenLog]) -> dict[str, Any]:
    choices = [
        _chat_choice(index, completion, log)
        for index, (completion, log) in enumerate(zip(completions, logs, strict=True))
    ]
    usage = total_usage([completion.finish.usage for completion in completions])
    return {**head, "choices": choices, "usage": openai_usage(usage)}


def _chat_choice(index: int, completion: Completion, log: TokenLog) -> dict[str, Any]:
    texts, thoughts, calls = [], [], []
    for block in completion.blocks:
        if block.type == "text":
            texts.append(block.text)
        elif block.type == "thinking":
            thoughts.append(block.text)
        else:
            function = {"name": block.name, "arguments": block.text or "{}"}
            calls.append({"id": block.id, "type": "function", "function": function})
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts else None, "refusal": None}
    if thoughts:
        message["reasoning_content"] = message["reasoning"] = "".join(thoughts)
    if calls:
        message["tool_calls"] = calls
    logprobs = chat_logprobs(log.take()) if log.asked else None
    return {
        "index": index,
        "message": message,
        "logprobs": logprobs,
        "finish_reason": FINISH[completion.finish.stop_reason],
    }


def stream_error(exc: Exception) -> dict[str, Any]:
    """The event that ends a stream whose generation failed (or whose later choice found no place in the queue)."""
    if isinstance(exc, DialectError):
        return error_body(exc)
    return error_body(DialectError(500, f"The generation failed: {exc or type(exc).__name__}", None, "server"))


async def _chat_chunks(
    head: dict[str, Any],
    events: AsyncIterator[tuple[int, Event | Finish]],
    logs: list[TokenLog],
    include_usage: bool,
) -> AsyncIterator[Any]:
    def chunk(choice: int, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        log = logs[choice]
        logprobs = chat_logprobs(log.take()) if log.asked else None
        return {**head, "choices": [{"index": choice, "delta": delta, "logprobs": logprobs, "finish_reason": finish}]}

    kinds: dict[tuple[int, int], str] = {}
    calls: dict[tuple[int, int], int] = {}
    usages: list[Usage] = []
    for choice in range(len(logs)):
        yield chunk(choice, {"role": "assistant"})
    try:
        async for choice, event in events:
            if isinstance(event, BlockDelta):
                block = (choice, event.index)
                kind = kinds[block]
                if kind == "text":
                    yield chunk(choice, {"content": event.text})
                elif kind == "thinking":
                    yield chunk(choice, {"reasoning_content": event.text, "reasoning": event.text})
                else:
                    arguments = {"index": calls[block], "function": {"arguments": event.text}}
                    yield chunk(choice, {"tool_calls": [arguments]})
            elif isinstance(event, BlockStart):
                block = (choice, event.index)
                kinds[block] = event.kind
                if event.kind == "tool_call":
                    calls[block] = sum(1 for (other, _) in calls if other == choice)
                    function = {"name": event.tool_name, "arguments": ""}
                    call = {"index": calls[block], "id": event.tool_id, "type": "function", "function": function}
                    yield chunk(choice, {"tool_calls": [call]})
            elif isinstance(event, Finish):
                yield chunk(choice, {}, FINISH[event.stop_reason])
                usages.append(event.usage)
                if include_usage and len(usages) == len(logs):
                    yield {**head, "choices": [], "usage": openai_usage(total_usage(usages))}
    except Exception as exc:  # the stream ends with the error, as OpenAI's does
        yield stream_error(exc)
        return
    yield "[DONE]"


async def _completion_chunks(
    head: dict[str, Any],
    events: AsyncIterator[tuple[int, Event | Finish]],
    logs: list[TokenLog],
    include_usage: bool,
) -> AsyncIterator[Any]:
    offsets = [0] * len(logs)

    def chunk(choice: int, text: str, finish: str | None = None) -> dict[str, Any]:
        logprobs = None
        if logs[choice].asked:
            tokens = logs[choice].take()
            logprobs = completion_logprobs(tokens, offsets[choice])
            offsets[choice] += sum(len(token.token) for token in tokens)
        return {**head, "choices": [{"index": choice, "text": text, "logprobs": logprobs, "finish_reason": finish}]}

    text_blocks: set[tuple[int, int]] = set()
    usages: list[Usage] = []
    try:
        async for choice, event in events:
            if isinstance(event, BlockDelta):
                if (choice, event.index) in text_blocks:
                    yield chunk(choice, event.text)
            elif isinstance(event, BlockStart):
                if event.kind == "text":
                    text_blocks.add((choice, event.index))
            elif isinstance(event, Finish):
                yield chunk(choice, "", FINISH[event.stop_reason])
                usages.append(event.usage)
                if include_usage and len(usages) == len(logs):
                    yield {**head, "choices": [], "usage": openai_usage(total_usage(usages))}
    except Exception as exc:
        yield stream_error(exc)
        return
    yield "[DONE]"
