"""The native dialect's routes, relative to the model's path ``U``.

- ``GET U/``: inspect the model (name, metadata, capabilities, backend, default parameters).
- ``PUT U/``: replace the default generation parameters (validated; a 400 names the parameter at fault).
- ``POST U/query/``: generate and answer at once: ``{id, created, blocks, stop_reason, usage}``.
- ``POST U/stream/``: start a streamed generation, answered ``{"id": ...}`` once it is admitted (a full queue is a
  429 with ``Retry-After``).
- ``GET U/stream/{id}/``: the stream as server-sent events, each with an ``id:`` so a reconnecting client sends
  ``Last-Event-ID`` and receives only what it missed; heartbeats keep idle connections open.
- ``DELETE U/stream/{id}/``: cancel the generation; the backend stops at once.

A client that disconnects from ``query/`` stops its generation at once; one that leaves a stream stops it once the
stream's resume window passes with no reader (see :mod:`flama.llm.streams`).
"""

import asyncio
import functools
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable
from typing import TYPE_CHECKING, Any

from flama.http import EventSourceResponse, JSONResponse, Request, Response, Route
from flama.http.exceptions import streamed_error
from flama.http.metrics import Metrics, metrics_of
from flama.http.routing import BaseRoute
from flama.llm.backends.params import PARAMETERS_MODEL
from flama.llm.events import Event
from flama.llm.exceptions import (
    ClientGone,
    GenerationStopped,
    InvalidParameter,
    InvalidRequest,
    QueueFull,
    UnknownStream,
)
from flama.llm.generation import Completion, Finish, Prepared, collect
from flama.llm.native.parser import NativeBody, parse_params, parse_request
from flama.llm.native.renderer import completion_body, stream_events
from flama.llm.prompts import check_messages
from flama.llm.serving import unless_disconnected
from flama.llm.streams import Stream

if TYPE_CHECKING:
    from flama.llm.resource import LLMResource

__all__ = ["NativeDialect"]

logger = logging.getLogger("flama.llm")


DIALECT = "native"


def request_id(request: Request) -> str:
    """The request's correlation id (flama-middleware's ``CorrelationIdMiddleware``), else a new one."""
    value = getattr(request.state, "correlation_id", None)
    return value if isinstance(value, str) else secrets.token_hex(8)


class NativeDialect:
    """The native routes of one language model.

    Args:
        model: The model's resource.
    """

    name = DIALECT

    def __init__(self, model: "LLMResource") -> None:
        self.model = model

    def routes(self) -> list[BaseRoute]:
        """The routes, relative to the model's path."""
        return [
            Route("/", self.inspect, methods=["GET"], name="inspect"),
            # The bodies are read and validated by the endpoints (400s naming the field); `body` documents them.
            Route("/", self.set_params, methods=["PUT"], name="params", body=PARAMETERS_MODEL),
            Route("/query/", self.query, methods=["POST"], name="query", body=NativeBody),
            Route("/stream/", self.open_stream, methods=["POST"], name="stream", body=NativeBody),
            Route("/stream/{stream_id}/", self.read_stream, methods=["GET"], name="stream-events"),
            Route("/stream/{stream_id}/", self.cancel_stream, methods=["DELETE"], name="stream-cancel"),
        ]

    async def inspect(self, request: Request) -> dict[str, Any]:
        """Describe the model: name, metadata, capabilities, backend and default parameters."""
        self.model.authorize(request)
        return self.model.inspect()

    async def set_params(self, request: Request) -> dict[str, Any]:
        """Replace the default generation parameters."""
        self.model.authorize(request)
        pipeline = self.model.pipeline
        pipeline.defaults = parse_params(await request.json(), "body")
        return {"params": pipeline.defaults}

    async def prepare(self, body: Any, metrics: Metrics | None, kind: str) -> Prepared:
        """Count the request and validate a native body into a generation ready to run (a long prompt off the loop).

        Raises:
            InvalidRequest: The body is malformed, or holds more messages than ``max_messages``.
            InvalidParameter: A generation parameter is invalid.
            QueueFull: Too many long prompts wait to be prepared.
        """
        if metrics is not None:
            metrics.requested(self.model.name, DIALECT, kind, self.model.scheduler)
        try:
            check_messages(body, self.model.max_messages)
            native = parse_request(body)
            return await self.model.pipeline.prepare_async(native.source, native.params, native.template)
        except (InvalidParameter, InvalidRequest):
            if metrics is not None:
                metrics.failed(self.model.name, "invalid_request")
            raise
        except QueueFull:  # too many long prompts wait to be prepared
            if metrics is not None:
                metrics.failed(self.model.name, "queue_full")
            raise

    async def observe(
        self, rid: str, message_id: str, prepared: Prepared, metrics: Metrics | None
    ) -> AsyncIterator[Event | Finish]:
        """Run a prepared generation: its events passed on, its end logged and measured (a cancelled one's too)."""
        stopped = None if metrics is None else functools.partial(metrics.finished, self.model.name)
        async for event in self.model.pipeline.run(prepared, stopped):
            if isinstance(event, Finish):
                if metrics is not None:
                    metrics.finished(self.model.name, event)
                logger.info(
                    "generation %s finished: %s, %d+%d tokens",
                    message_id,
                    event.stop_reason,
                    event.usage.input_tokens,
                    event.usage.output_tokens,
                    extra={
                        "request_id": rid,
                        "model": self.model.name,
                        "message_id": message_id,
                        "stop_reason": event.stop_reason,
                        "input_tokens": event.usage.input_tokens,
                        "output_tokens": event.usage.output_tokens,
                        "time_to_first_token": event.first_token,
                        "duration": event.duration,
                    },
                )
            yield event

    async def query(self, request: Request) -> Response:
        """Generate a whole answer."""
        self.model.authorize(request)
        metrics = metrics_of(request)
        prepared = await self.prepare(await request.json(), metrics, "query")
        message_id = f"msg_{secrets.token_hex(12)}"
        created = int(time.time())

        async def generate() -> Completion:
            async with self.model.scheduler.slot():
                return await collect(self.observe(request_id(request), message_id, prepared, metrics))

        try:
            completion = await unless_disconnected(request, generate())
        except QueueFull:
            if metrics is not None:
                metrics.failed(self.model.name, "queue_full")
            raise
        except ClientGone:
            if metrics is not None:
                metrics.failed(self.model.name, "disconnected")
            return Response(b"", status_code=499)
        return JSONResponse(completion_body(message_id, created, completion))

    async def open_stream(self, request: Request) -> Response | dict[str, str]:
        """Start a streamed generation; answered once it runs.

        With ``Accept: text/event-stream`` the answer is the stream itself, in one request (its id in the
        ``X-Stream-Id`` header, to resume it with ``GET U/stream/{id}/`` and ``Last-Event-ID``); otherwise
        ``{"id": ...}`` to read from ``GET U/stream/{id}/``.
        """
        self.model.authorize(request)
        metrics = metrics_of(request)
        prepared = await self.prepare(await request.json(), metrics, "stream")
        created = int(time.time())
        rid = request_id(request)
        admitted: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        async def produce(stream: Stream) -> None:
            try:
                async with self.model.scheduler.slot():
                    admitted.set_result(None)
                    generation = self.observe(rid, stream.id, prepared, metrics)
                    events = stream_events(stream.id, created, self.model.name, prepared.input_tokens, generation)
                    async for name, data in events:
                        stream.push(name, data)
                    # Its last event is out: its readers end their responses now, not once the slot is given back.
                    stream.finish()
            except QueueFull as exc:
                admitted.set_exception(exc)
            except Exception as exc:  # a failed generation ends its stream with an error event
                if not admitted.done():  # failed before its turn: the opener answers with the error
                    admitted.set_exception(exc)
                    return
                logger.exception("stream %s failed", stream.id, extra={"model": self.model.name})
                if metrics is not None:
                    metrics.failed(self.model.name, "generation")
                stream.push("error", streamed_error(exc, request.app))
            finally:
                if not admitted.done():  # cancelled before its turn (DELETE, shutdown): the opener still answers
                    admitted.set_exception(GenerationStopped("cancelled"))

        # Nobody can read the stream before its id is answered, once admitted: the window for a first reader starts
        # then, not while the generation waits for its turn (a wait longer than the window would cancel it).
        stream = self.model.streams.open(produce, armed=False)
        try:
            await unless_disconnected(request, _wait(admitted))
        except QueueFull:
            self.model.streams.discard(stream.id)
            if metrics is not None:
                metrics.failed(self.model.name, "queue_full")
            raise
        except ClientGone:
            self.model.streams.discard(stream.id)
            return Response(b"", status_code=499)
        self.model.streams.arm(stream)
        if "text/event-stream" in request.headers.get("accept", ""):
            window = self.model.streams.resume_window
            return EventSourceResponse(
                stream.encoded(0, window), ping=self.model.heartbeat, headers={"X-Stream-Id": stream.id}
            )
        return {"id": stream.id}

    async def read_stream(self, request: Request, stream_id: str) -> EventSourceResponse:
        """The stream's events, from after ``Last-Event-ID`` when the client resumes."""
        self.model.authorize(request)
        stream = self._stream(stream_id)
        start = stream.start_after(request.headers.get("last-event-id"))
        window = self.model.streams.resume_window
        return EventSourceResponse(stream.encoded(start, window), ping=self.model.heartbeat)

    async def cancel_stream(self, request: Request, stream_id: str) -> dict[str, Any]:
        """Cancel a stream's generation."""
        self.model.authorize(request)
        stream = self._stream(stream_id)
        running = not stream.done
        stream.cancel()
        await stream.wait()
        return {"id": stream_id, "cancelled": running}

    def _stream(self, stream_id: str) -> Stream:
        stream = self.model.streams.get(stream_id)
        if stream is None:
            raise UnknownStream(stream_id)
        return stream


async def _wait(future: Awaitable[None]) -> None:
    await future
