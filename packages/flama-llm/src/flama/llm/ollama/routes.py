"""The Ollama dialect's routes, mounted at ``U/ollama`` (the SDK's ``Client(host="…/U/ollama")``).

- ``POST api/chat`` and ``POST api/generate``: NDJSON streamed by default, buffered with ``"stream": false``; the
  last frame carries ``done``, ``done_reason``, token counts and durations in nanoseconds.
- ``GET api/tags``, ``POST api/show``, ``GET api/ps``, ``GET api/version``; ``GET``/``HEAD`` on ``U/ollama`` answer
  ``Ollama is running``.
- The OpenAI routes mirrored under ``U/ollama/v1`` (given as ``mirror`` by the resource), as Ollama does.

Errors use Ollama's envelope ``{"error": "…"}``; an error in a stream is sent as such a line and ends it.
"""

import datetime
import importlib.metadata
import json
import pathlib
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, Protocol

from flama.http import JSONResponse, NDJSONResponse, PlainTextResponse, Request, Response, Route
from flama.http.routing import BaseRoute
from flama.llm.backends.base import TokenLogprob
from flama.llm.constraints import Constraint
from flama.llm.events import BlockDelta, BlockStart, BlockStop, Event
from flama.llm.exceptions import InvalidParameter
from flama.llm.generation import Completion, Finish
from flama.llm.ollama.schemas import ChatRequest, GenerateRequest, Message, Options, ShowRequest
from flama.llm.prompts import Chat, Conversation, Prompt, Raw
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

__all__ = ["OllamaDialect", "error_body"]

DIALECT = "ollama"


class Mirror(Protocol):
    """Routes served beside Ollama's own (the OpenAI dialect under ``U/ollama/v1``)."""

    def routes(self) -> list[BaseRoute]:
        """The routes, relative to the model's path."""
        ...


def error_body(error: DialectError) -> dict[str, Any]:
    """Ollama's error envelope."""
    return {"error": error.message}


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


def _ns(seconds: float | None) -> int:
    return 0 if seconds is None else int(seconds * 1e9)


def _thinking(think: bool | str | None) -> dict[str, Any]:
    # A level ("low", "medium", "high") turns thinking on; this template has no levels.
    return {} if think is None else {"enable_thinking": think is not False}


def _params(options: Options | None, field: str = "options") -> dict[str, Any]:
    if options is None:
        return {}
    params = {
        "max_tokens": options.num_predict if options.num_predict is None or options.num_predict > 0 else None,
        "temperature": options.temperature,
        "top_p": options.top_p,
        "top_k": options.top_k,
        "min_p": options.min_p,
        "seed": options.seed,
        "stop": options.stop or None,
        "repetition_penalty": options.repeat_penalty,
        "presence_penalty": options.presence_penalty,
        "frequency_penalty": options.frequency_penalty,
    }
    return {name: value for name, value in params.items() if value is not None}


def _constraint(value: str | dict[str, Any] | None) -> Constraint | None:
    """``format``: ``"json"`` for any JSON object, or a JSON schema the answer must follow."""
    if not value:
        return None
    if value != "json" and not isinstance(value, dict):
        raise DialectError(400, 'format: must be "json" or a JSON schema', "format")
    try:
        return Constraint.json(None if value == "json" else value, field="format")
    except InvalidParameter as exc:
        raise DialectError.of(exc) from exc


def _finish_fields(finish: Finish) -> dict[str, Any]:
    first = finish.first_token or 0.0
    return {
        "done": True,
        "done_reason": "length" if finish.stop_reason == "length" else "stop",
        "total_duration": _ns(finish.duration),
        "load_duration": 0,
        "prompt_eval_count": finish.usage.input_tokens,
        "prompt_eval_duration": _ns(first),
        "eval_count": finish.usage.output_tokens,
        "eval_duration": _ns(max(0.0, finish.duration - first)),
    }


_SCHEMA_ORDER = ("type", "description", "properties", "required")


def _tool(tool: dict[str, Any]) -> dict[str, Any]:
    # The ollama SDK writes a function's parameters with "required" before "properties"; in the order other clients
    # use, the same tools render the same prompt in every dialect.
    function = tool.get("function")
    if not isinstance(function, dict) or not isinstance(parameters := function.get("parameters"), dict):
        return tool
    ordered = {key: parameters[key] for key in _SCHEMA_ORDER if key in parameters}
    ordered.update((key, value) for key, value in parameters.items() if key not in ordered)
    return {**tool, "function": {**function, "parameters": ordered}}


def _call(block_id: str | None, name: str | None, arguments: str) -> dict[str, Any]:
    try:
        parsed = json.loads(arguments) if arguments else {}
    except ValueError:
        parsed = {}
    return {"id": block_id, "function": {"name": name, "arguments": parsed}}


class OllamaDialect:
    """The Ollama routes of one language model.

    Args:
        model: The model's resource.
        mirror: Routes mounted beside Ollama's own (the OpenAI dialect under ``U/ollama/v1``).
    """

    name = DIALECT

    def __init__(self, model: "LLMResource", mirror: Mirror | None = None) -> None:
        self.model = model
        self.mirror = mirror

    def routes(self) -> list[BaseRoute]:
        """The routes, relative to the model's path."""
        p = "/ollama"
        routes: list[BaseRoute] = [
            Route(p, self.running, methods=["GET", "HEAD"], name="ollama-root"),
            Route(f"{p}/", self.running, methods=["GET", "HEAD"], name="ollama-root-slash"),
            Route(f"{p}/api/chat", self._guard(self.chat), methods=["POST"], name="ollama-chat", body=ChatRequest),
            Route(
                f"{p}/api/generate",
                self._guard(self.generate),
                methods=["POST"],
                name="ollama-generate",
                body=GenerateRequest,
            ),
            Route(f"{p}/api/tags", self._guard(self.tags), methods=["GET"], name="ollama-tags"),
            Route(f"{p}/api/show", self._guard(self.show), methods=["POST"], name="ollama-show", body=ShowRequest),
            Route(f"{p}/api/ps", self._guard(self.ps), methods=["GET"], name="ollama-ps"),
            Route(f"{p}/api/version", self.version, methods=["GET"], name="ollama-version"),
        ]
        return routes if self.mirror is None else routes + self.mirror.routes()

    def _guard(self, endpoint: Endpoint) -> Endpoint:
        return guarded(self.model, endpoint, error_body)

    async def running(self, request: Request) -> Response:
        """``Ollama is running``, as an Ollama server answers."""
        return PlainTextResponse("Ollama is running")

    async def version(self, request: Request) -> Response:
        """The server's version: flama-llm's."""
        return JSONResponse({"version": importlib.metadata.version("flama-llm")})

    def _check(self, name: str) -> None:
        try:
            check_model(self.model, name)
        except DialectError as exc:
            raise DialectError(404, f"model '{name}' not found", "model", "not_found") from exc

    async def chat(self, request: Request) -> Response:
        """A chat turn, streamed as NDJSON or buffered."""
        body = await read_body(request, ChatRequest, self.model.max_messages)
        self._check(body.model)
        constraint = _constraint(body.format)
        if not body.messages:  # Ollama's way to load a model
            return self._loaded(body.model, {"message": {"role": "assistant", "content": ""}}, body.stream)
        messages = tuple(self._message(m, f"messages[{i}]") for i, m in enumerate(body.messages))
        source = Conversation(messages, None if not body.tools else tuple(_tool(tool) for tool in body.tools))
        logprobs = _asked(body.logprobs, body.top_logprobs)
        return await self._run(
            request, "chat", body.model, source, body.options, body.think, body.stream, constraint, logprobs
        )

    async def generate(self, request: Request) -> Response:
        """A completion of a prompt, streamed as NDJSON or buffered."""
        body = await read_body(request, GenerateRequest)
        self._check(body.model)
        constraint = _constraint(body.format)
        for name in ("suffix", "template", "images", "context"):
            if getattr(body, name):
                raise DialectError(400, f"{name}: not supported on this backend", name)
        if not body.prompt:
            return self._loaded(body.model, {"response": ""}, body.stream)
        source: Prompt
        if body.raw:
            if body.system is not None:
                raise DialectError(400, "system: a raw prompt is sent verbatim; put it in the prompt", "system")
            source = Raw(body.prompt)
        else:
            source = Chat(body.prompt, body.system)
        logprobs = _asked(body.logprobs, body.top_logprobs)
        return await self._run(
            request, "generate", body.model, source, body.options, body.think, body.stream, constraint, logprobs
        )

    def _loaded(self, model: str, content: dict[str, Any], stream: bool) -> Response:
        frame = {"model": model, "created_at": _now(), **content, "done": True, "done_reason": "load"}
        return NDJSONResponse([frame]) if stream else JSONResponse(frame)

    def _message(self, message: Message, field: str) -> dict[str, Any]:
        if message.images:
            raise DialectError(400, f"{field}.images: model {self.model.name!r} has no vision", f"{field}.images")
        turn: dict[str, Any] = {"role": message.role, "content": message.content}
        if message.role == "assistant":
            if message.thinking:
                turn["reasoning_content"] = message.thinking
            if message.tool_calls:
                turn["tool_calls"] = [
                    {
                        **({} if call.id is None else {"id": call.id}),
                        "type": "function",
                        "function": {"name": call.function.name, "arguments": call.function.arguments},
                    }
                    for call in message.tool_calls
                ]
        elif message.tool_calls:
            raise DialectError(400, f"{field}.tool_calls: only assistant messages carry tool calls", field)
        if message.role == "tool":
            if message.tool_name is not None:
                turn["name"] = message.tool_name
            if message.tool_call_id is not None:
                turn["tool_call_id"] = message.tool_call_id
        return turn

    async def _run(
        self,
        request: Request,
        kind: str,
        model: str,
        source: Prompt,
        options: Options | None,
        think: bool | str | None,
        stream: bool,
        constraint: Constraint | None = None,
        logprobs: int | None = None,
    ) -> Response:
        generation = Generation(self.model, request, DIALECT, kind)
        field = "top_logprobs" if logprobs else "logprobs"
        await generation.prepare(
            source, _params(options), _thinking(think), constraint=constraint, logprobs=logprobs, logprobs_field=field
        )
        if not stream:
            completion = await generation.complete()
            body = _chat_body(completion) if kind == "chat" else _generate_body(completion)
            if logprobs is not None:
                body["logprobs"] = _logprobs(_taken(generation)())
            return JSONResponse({"model": model, "created_at": _now(), **body, **_finish_fields(completion.finish)})
        events = await generation.stream()
        taken = None if logprobs is None else _taken(generation)
        return NDJSONResponse(_frames(model, kind == "chat", events, taken))

    def _details(self) -> dict[str, Any]:
        family = self._architecture()
        return {
            "parent_model": "",
            "format": "safetensors",
            "family": family,
            "families": [family],
            "parameter_size": "",
            "quantization_level": "",
        }

    def _architecture(self) -> str:
        model_file = self.model.model_file
        directory = None if model_file is None else model_file.directory
        config = None if directory is None else pathlib.Path(directory) / "config.json"
        if config is not None and config.is_file():
            return str(json.loads(config.read_text()).get("model_type", "unknown"))
        return "unknown"

    def _entry(self, name: str) -> dict[str, Any]:
        source = self.model.source
        is_file = isinstance(source, (str, pathlib.Path)) and pathlib.Path(source).is_file()
        meta = self.model.meta
        digest = "" if meta is None else meta.checksums.get("model", meta.id)
        stamp = datetime.datetime.fromtimestamp(created(self.model), datetime.timezone.utc).isoformat()
        return {
            "name": name,
            "model": name,
            "modified_at": stamp,
            "size": pathlib.Path(source).stat().st_size if is_file else 0,
            "digest": digest,
            "details": self._details(),
        }

    async def tags(self, request: Request) -> Response:
        """The models served."""
        return JSONResponse({"models": [self._entry(name) for name in accepted_names(self.model)]})

    async def ps(self, request: Request) -> Response:
        """The models loaded now."""
        backend = self.model.backend
        if backend is None:
            return JSONResponse({"models": []})
        running = [
            {**self._entry(name), "expires_at": "2999-01-01T00:00:00Z", "size_vram": 0}
            | {"context_length": backend.context_length}
            for name in accepted_names(self.model)
        ]
        return JSONResponse({"models": running})

    async def show(self, request: Request) -> Response:
        """The model's details: capabilities, context length, template and default parameters."""
        body = await read_body(request, ShowRequest)
        name = body.model or body.name
        if name is None:
            raise DialectError(400, "model: is required", "model")
        self._check(name)
        pipeline = self.model.pipeline
        capabilities = ["completion"]
        given = {} if self.model.meta is None else self.model.meta.capabilities
        capabilities += [ours for theirs, ours in (("tools", "tools"), ("reasoning", "thinking")) if given.get(theirs)]
        if given.get("vision"):
            capabilities.append("vision")
        architecture = self._architecture()
        parameters = "\n".join(f"{key} {value}" for key, value in pipeline.defaults.items())
        return JSONResponse(
            {
                "modelfile": "",
                "parameters": parameters,
                "template": pipeline.backend.tokenizer_template or "",
                "details": self._details(),
                "model_info": {
                    "general.architecture": architecture,
                    f"{architecture}.context_length": pipeline.backend.context_length,
                },
                "capabilities": capabilities,
                "modified_at": self._entry(name)["modified_at"],
            }
        )


def _chat_body(completion: Completion) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": ""}
    calls = []
    for block in completion.blocks:
        if block.type == "text":
            message["content"] += block.text
        elif block.type == "thinking":
            message["thinking"] = message.get("thinking", "") + block.text
        else:
            calls.append(_call(block.id, block.name, block.text))
    if calls:
        message["tool_calls"] = calls
    return {"message": message}


def _generate_body(completion: Completion) -> dict[str, Any]:
    body: dict[str, Any] = {"response": "".join(b.text for b in completion.blocks if b.type == "text")}
    thinking = "".join(b.text for b in completion.blocks if b.type == "thinking")
    if thinking:
        body["thinking"] = thinking
    return body


def _asked(logprobs: bool | None, top: int | None) -> int | None:
    """How many alternatives per token the request asks for (``None``: no log probabilities).

    Raises:
        DialectError: ``top_logprobs`` without ``logprobs``.
    """
    if top is not None and not logprobs:
        raise DialectError(400, "top_logprobs: needs logprobs: true", "top_logprobs")
    return (top or 0) if logprobs else None


def _taken(generation: Generation) -> Callable[[], list[TokenLogprob]]:
    """Hands out the generation's token log probabilities not handed out yet."""
    tokens = [] if generation.prepared is None or generation.prepared.logprobs is None else generation.prepared.logprobs
    sent = [0]

    def take() -> list[TokenLogprob]:
        new = tokens[sent[0] :]
        sent[0] = len(tokens)
        return new

    return take


def _logprobs(tokens: list[TokenLogprob]) -> list[dict[str, Any]]:
    """Ollama's ``logprobs``: ``[{token, logprob, top_logprobs: [{token, logprob}]}]``."""
    return [
        {
            "token": token.token,
            "logprob": token.logprob,
            "top_logprobs": [{"token": text, "logprob": value} for text, value in token.top],
        }
        for token in tokens
    ]


async def _frames(
    model: str,
    chat: bool,
    events: AsyncIterator[Event | Finish],
    taken: Callable[[], list[TokenLogprob]] | None = None,
) -> AsyncIterator[dict[str, Any]]:
    def frame(
        content: str = "", thinking: str | None = None, calls: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"model": model, "created_at": _now()}
        if chat:
            message: dict[str, Any] = {"role": "assistant", "content": content}
            if thinking is not None:
                message["thinking"] = thinking
            if calls is not None:
                message["tool_calls"] = calls
            body["message"] = message
        else:
            body["response"] = content
            if thinking is not None:
                body["thinking"] = thinking
        if taken is not None:
            body["logprobs"] = _logprobs(taken())
        body["done"] = False
        return body

    kinds: dict[int, str] = {}
    calls: dict[int, tuple[str | None, str | None, list[str]]] = {}
    try:
        async for event in events:
            if isinstance(event, BlockDelta):
                kind = kinds[event.index]
                if kind == "text":
                    yield frame(event.text)
                elif kind == "thinking":
                    yield frame(thinking=event.text)
                else:
                    calls[event.index][2].append(event.text)
            elif isinstance(event, BlockStart):
                kinds[event.index] = event.kind
                if event.kind == "tool_call":
                    calls[event.index] = (event.tool_id, event.tool_name, [])
            elif isinstance(event, BlockStop):
                if event.index in calls and chat:  # Ollama sends each tool call whole
                    tool_id, name, pieces = calls.pop(event.index)
                    yield frame(calls=[_call(tool_id, name, "".join(pieces))])
            else:
                last = frame()
                last["done"] = True
                last.update(_finish_fields(event))
                yield last
    except Exception as exc:  # the stream ends with the error, as Ollama's does
        yield {"error": f"The generation failed: {exc or type(exc).__name__}"}
