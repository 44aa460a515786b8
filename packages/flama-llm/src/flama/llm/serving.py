"""What the vendor dialects (OpenAI, Anthropic, Ollama) share: one request's generation and its errors.

A dialect reads its wire body into a pydantic model, translates it into the canonical request (a source, the
generation parameters, the chat template's arguments) and hands that to a :class:`Generation`, which checks it with
the model's :class:`~flama.llm.generation.Pipeline`, holds a scheduler slot while it runs, stops the backend when
the client goes away and counts it in ``/metrics``. Every problem is raised as a :class:`DialectError`: a status, a
message, the field at fault and a kind, which each dialect renders in its vendor's own error envelope.

These dialects have no resume: a client that closes its stream stops the generation at once.
"""

import asyncio
import contextlib
import dataclasses
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Coroutine, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import pydantic
from flama.http import HTTPException, JSONResponse, Request, Response
from flama.http.metrics import Metrics, metrics_of
from flama.llm.events import Event
from flama.llm.exceptions import ClientGone, InvalidParameter, InvalidRequest, QueueFull
from flama.llm.generation import Completion, Finish, Prepared, PrepareOptions, collect
from flama.llm.prompts import Prompt, check_messages

if TYPE_CHECKING:  # typing.Unpack is 3.11+; only type checkers read it here
    from flama.llm.resource import LLMResource
    from typing_extensions import Unpack

__all__ = [
    "DialectError",
    "Endpoint",
    "ErrorKind",
    "Generation",
    "accepted_names",
    "check_model",
    "created",
    "guarded",
    "json_arguments",
    "parse_body",
    "read_body",
    "unless_disconnected",
]

logger = logging.getLogger("flama.llm")

T = TypeVar("T")
M = TypeVar("M", bound=pydantic.BaseModel)

Endpoint = Callable[[Request], Awaitable[Response]]

ErrorKind = Literal[
    "invalid_request", "authentication", "permission", "not_found", "rate_limit", "overloaded", "server"
]

_KINDS: Mapping[int, ErrorKind] = {
    400: "invalid_request",
    401: "authentication",
    403: "permission",
    404: "not_found",
    413: "invalid_request",
    422: "invalid_request",
    429: "rate_limit",
    503: "overloaded",
}


@dataclasses.dataclass
class DialectError(Exception):
    """A request that cannot be served, rendered by each dialect in its vendor's error envelope.

    Attributes:
        status: The HTTP status.
        message: What the client is told.
        param: The request field at fault (``messages[0].role``), when one is.
        kind: What went wrong, in words every vendor has one for.
        headers: Extra response headers (``Retry-After``, ``WWW-Authenticate``).
    """

    status: int
    message: str
    param: str | None = None
    kind: ErrorKind = "invalid_request"
    headers: dict[str, str] | None = None

    def __str__(self) -> str:
        return self.message

    @classmethod
    def of(cls, exc: Exception) -> "DialectError":
        """The error a failed request gets, from what the canonical pipeline raised."""
        if isinstance(exc, DialectError):
            return exc
        if isinstance(exc, InvalidParameter):
            return cls(400, str(exc), exc.name)
        if isinstance(exc, InvalidRequest):
            return cls(400, str(exc), exc.field)
        if isinstance(exc, QueueFull):
            retry_after = str(max(1, round(exc.retry_after + 0.5)))
            return cls(
                429, "Too many requests are waiting for this model", None, "rate_limit", {"Retry-After": retry_after}
            )
        if isinstance(exc, HTTPException):
            message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
            return cls(exc.status_code, message, None, _KINDS.get(exc.status_code, "server"), exc.headers)
        return cls(500, str(exc) or type(exc).__name__, None, "server")


def _path(loc: tuple[int | str, ...], body: Any) -> str:
    # pydantic's location, walked along the body so union tags ("user", "str", "list[TextPart]") drop out.
    path = ""
    data = body
    for position, part in enumerate(loc):
        if isinstance(part, int) and isinstance(data, list):
            path += f"[{part}]"
            data = data[part] if 0 <= part < len(data) else None
        elif isinstance(data, dict) and (part in data or position == len(loc) - 1):
            path += f".{part}" if path else str(part)
            data = data.get(part)
    return path or "body"


def parse_body(model: type[M], body: Any) -> M:
    """Validate a request body with its pydantic model.

    Raises:
        DialectError: 400 naming the first field at fault.
    """
    try:
        return model.model_validate(body)
    except pydantic.ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        field = _path(tuple(error["loc"]), body)
        if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
            field += "." + str(error.get("ctx", {}).get("discriminator", "type")).strip("'")
        raise DialectError(400, f"{field}: {error['msg']}", field) from exc


async def read_body(request: Request, model: type[M], max_messages: int | None = None) -> M:
    """Read and validate a request's JSON body.

    Args:
        request: The request.
        model: The body's pydantic model.
        max_messages: The most messages and content parts the body may hold (`check_messages`), or ``None``.

    Raises:
        DialectError: 400 when the body is not JSON, holds too many messages, or is not a valid request.
    """
    try:
        body = await request.json()
    except HTTPException as exc:
        raise DialectError(400, f"The body is not valid JSON: {exc.detail}", "body") from exc
    try:
        check_messages(body, max_messages)
    except InvalidRequest as exc:
        raise DialectError.of(exc) from exc
    return parse_body(model, body)


def accepted_names(model: "LLMResource") -> list[str]:
    """The model names a request may give: the served name (any name when the model is lenient)."""
    return [model.name]


def check_model(model: "LLMResource", name: str | None, field: str = "model") -> None:
    """Check the model a request names against the served one.

    Raises:
        DialectError: 404 for another name, unless the model accepts any name.
    """
    if name is None or name in accepted_names(model) or getattr(model, "any_model_name", False):
        return
    served = ", ".join(repr(accepted) for accepted in accepted_names(model))
    raise DialectError(404, f"The model {name!r} does not exist; this server serves {served}", field, "not_found")


def json_arguments(arguments: str | dict[str, Any], field: str) -> dict[str, Any]:
    """A tool call's arguments sent back by a client as JSON text (or already an object).

    Raises:
        DialectError: 400 naming ``field`` when the text is not a JSON object.
    """
    if isinstance(arguments, dict):
        return arguments
    try:
        value = json.loads(arguments) if arguments.strip() else {}
    except ValueError as exc:
        raise DialectError(400, f"{field}: is not valid JSON ({exc})", field) from exc
    if not isinstance(value, dict):
        raise DialectError(400, f"{field}: must be a JSON object", field)
    return value


def guarded(model: "LLMResource", endpoint: Endpoint, envelope: Callable[[DialectError], dict[str, Any]]) -> Endpoint:
    """``endpoint`` behind the model's key check, every error (the key's included) answered in the dialect's shape.

    Args:
        model: The served model, whose key guards the endpoint.
        endpoint: The dialect's endpoint.
        envelope: The dialect's error body for a `DialectError`.
    """

    async def guard(request: Request) -> Response:
        try:
            model.authorize(request)
            return await endpoint(request)
        except (DialectError, HTTPException) as exc:
            error = DialectError.of(exc)
            return JSONResponse(envelope(error), status_code=error.status, headers=error.headers)

    guard.__doc__ = endpoint.__doc__
    guard.__name__ = endpoint.__name__
    return guard


async def _disconnected(request: Request) -> None:
    receive = request.receive  # once: each read of the property replays the body from the start
    while (await receive())["type"] != "http.disconnect":
        pass


async def unless_disconnected(request: Request, work: Coroutine[Any, Any, T]) -> T:
    """Await ``work``, cancelling it at once when the client disconnects.

    Raises:
        ClientGone: The client disconnected first.
    """
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait((task, watcher), return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    if task.cancelled():
        raise ClientGone
    return task.result()


class Generation:
    """One request's generation through a model, for a vendor dialect.

    Args:
        model: The model's resource.
        request: The HTTP request.
        dialect: The dialect's name, for metrics and logs.
        kind: The route's kind (``chat``, ``messages``, ``generate``, ...), for metrics.
        counted: Whether it counts as a request in ``/metrics`` (the later choices of a request with several do not;
            their tokens and failures are counted).
    """

    __slots__ = ("counted", "dialect", "kind", "metrics", "model", "prepared", "request")

    def __init__(
        self, model: "LLMResource", request: Request, dialect: str, kind: str, *, counted: bool = True
    ) -> None:
        self.model = model
        self.counted = counted
        self.request = request
        self.dialect = dialect
        self.kind = kind
        self.metrics: Metrics | None = metrics_of(request)
        self.prepared: Prepared | None = None

    def failed(self, reason: str) -> None:
        """Count a failed request in ``/metrics`` (``flama_llm_errors_total``, and per dialect)."""
        if self.metrics is not None:
            self.metrics.failed(self.model.name, reason)
            errors = self.metrics.counter(
                "flama_llm_dialect_errors", "Failed generation requests per dialect", ["model", "dialect", "type"]
            )
            errors.labels(self.model.name, self.dialect, reason).inc()

    def _finished(self, finish: Finish) -> None:
        # A generation's timings and tokens, and its tokens per dialect.
        if self.metrics is not None:
            self.metrics.finished(self.model.name, finish)
            tokens = self.metrics.counter(
                "flama_llm_dialect_tokens", "Tokens read and generated per dialect", ["model", "dialect", "direction"]
            )
            tokens.labels(self.model.name, self.dialect, "input").inc(finish.usage.input_tokens)
            tokens.labels(self.model.name, self.dialect, "output").inc(finish.usage.output_tokens)

    async def prepare(
        self,
        source: Prompt,
        params: Mapping[str, Any],
        template: Mapping[str, Any],
        **options: "Unpack[PrepareOptions]",
    ) -> Prepared:
        """Count the request and check it: render the prompt and validate the parameters.

        ``options`` are `Pipeline.prepare`'s (log probabilities, a constraint on the output). A long prompt is prepared
        off the event loop (`Pipeline.prepare_async`).

        Raises:
            DialectError: The model is loading (503), the request is invalid (400, naming the field), or too many long
                prompts wait to be prepared (429).
        """
        if self.metrics is not None and self.counted:
            self.metrics.requested(self.model.name, self.dialect, self.kind, self.model.scheduler)
        try:
            self.prepared = await self.model.pipeline.prepare_async(source, params, template, **options)
        except (InvalidParameter, InvalidRequest, HTTPException) as exc:
            self.failed("invalid_request")
            raise DialectError.of(exc) from exc
        except QueueFull as exc:  # too many long prompts wait to be prepared
            self.failed("queue_full")
            raise DialectError.of(exc) from exc
        return self.prepared

    async def _observed(self) -> AsyncGenerator[Event | Finish, None]:
        assert self.prepared is not None, "prepare() first"
        # A generation stopped before its end is measured too (its tokens were made).
        events = self.model.pipeline.run(self.prepared, self._finished)
        try:
            async for event in events:
                if isinstance(event, Finish):
                    self._finished(event)
                yield event
        finally:
            await events.aclose()

    async def complete(self) -> Completion:
        """Generate the whole answer, in a scheduler slot; the backend stops if the client disconnects.

        Raises:
            DialectError: 429 when the queue is full; 499 when the client went away.
        """

        async def generate() -> Completion:
            async with self.model.scheduler.slot():
                return await collect(self._observed())

        with self._admission():
            return await unless_disconnected(self.request, generate())

    async def stream(self) -> AsyncIterator[Event | Finish]:
        """Wait for a scheduler slot, then return the generation's events; the slot is held until they end.

        Iterate the result at once (it is what a streamed response sends): closing it, as a response does when its
        client disconnects, stops the backend and frees the slot.

        Raises:
            DialectError: 429 when the queue is full; 499 when the client went away while waiting.
        """
        stack = contextlib.AsyncExitStack()
        with self._admission():
            await unless_disconnected(self.request, stack.enter_async_context(self.model.scheduler.slot()))
        return self._held(stack)

    @contextlib.contextmanager
    def _admission(self) -> Iterator[None]:
        """A full queue (429) or a client gone while waiting (499) as a counted `DialectError`."""
        try:
            yield
        except QueueFull as exc:
            self.failed("queue_full")
            raise DialectError.of(exc) from exc
        except ClientGone as exc:
            self.failed("disconnected")
            raise DialectError(499, "The client closed the request") from exc

    async def _held(self, stack: contextlib.AsyncExitStack) -> AsyncGenerator[Event | Finish, None]:
        async with stack:
            finished = False
            try:
                async for event in self._observed():
                    finished = isinstance(event, Finish)
                    yield event
            except Exception:
                finished = True  # counted as failed, not as disconnected
                logger.exception("%s generation failed", self.dialect, extra={"model": self.model.name})
                self.failed("generation")
                raise
            finally:
                if not finished:
                    self.failed("disconnected")


def created(model: "LLMResource") -> int:
    """When the model's file was written, in seconds since the epoch (0 when unknown)."""
    return 0 if model.meta is None else int(model.meta.timestamp.timestamp())
