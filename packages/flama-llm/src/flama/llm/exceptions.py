"""Errors raised by flama-llm, and how the native routes answer them.

Everything derives from :class:`LLMError`, itself a :class:`flama.http.FlamaError`. :class:`BackendUnavailable` is a
configuration error met when a model is loaded. The others happen per request, are raised by the routes and the
pipeline, and are answered through :data:`ERRORS` (which ``app.models`` registers on the application when a language
model is added) with the one error body: :class:`InvalidRequest` and :class:`InvalidParameter` are 400s keyed by the
field at fault, as every validation error; :class:`QueueFull` (flama-models' admission error, re-exported here) is
an :class:`~flama.http.exceptions.Overloaded` (429 with ``Retry-After``); :class:`UnknownStream` is a 404 and
:class:`UnknownEventId` a 400. A stream that ends early carries :class:`GenerationStopped`'s body in its ``error``
event. Vendor dialects render the same errors in their vendor's own envelope.
"""

from typing import Any

from flama.http.exceptions import ErrorStatus, FlamaError
from flama.models.admission import QueueFull

__all__ = [
    "ERRORS",
    "BackendUnavailable",
    "ClientGone",
    "GenerationStopped",
    "InvalidParameter",
    "InvalidRequest",
    "LLMError",
    "QueueFull",
    "UnknownEventId",
    "UnknownStream",
]


class LLMError(FlamaError):
    """Root of every error flama-llm raises on purpose."""


class InvalidRequest(LLMError, ValueError):
    """A request body that does not have the expected shape.

    Args:
        field: Where the problem is, as a path (``messages[2].role``).
        reason: What is wrong.
    """

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class InvalidParameter(LLMError, ValueError):
    """A generation parameter is malformed, out of range, or not honoured by the model's backend.

    Attributes:
        name: The parameter as the user spelled it (``temperature``, ``max_tokens``, ...).
        reason: What is wrong with it, in words a client can show.
    """

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"Invalid parameter '{name}': {reason}")
        self.name = name
        self.reason = reason


class UnknownStream(LLMError):
    """A stream id that is not (or no longer) a stream of the model."""

    def __init__(self, stream_id: str) -> None:
        super().__init__(f"No stream {stream_id!r} (unknown, or expired)")
        self.stream_id = stream_id


class UnknownEventId(LLMError, ValueError):
    """A ``Last-Event-ID`` that is not an event of the stream."""


class GenerationStopped(LLMError):
    """A generation ended before its answer was complete: ``cancelled`` by the client, or its reader ``disconnected``.

    Attributes:
        reason: ``cancelled`` or ``disconnected``.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(f"The generation was {reason}.")
        self.reason = reason


class ClientGone(LLMError):
    """The client disconnected before its answer was ready."""


class BackendUnavailable(LLMError):
    """No backend can run the model: the one asked for is unknown or its libraries or hardware are missing.

    Attributes:
        backend: The backend asked for, or ``None`` when none was forced and none is available.
        reason: What is missing.
    """

    def __init__(self, backend: str | None, reason: str) -> None:
        super().__init__(f"Backend '{backend}' is unavailable: {reason}" if backend else f"No backend: {reason}")
        self.backend = backend
        self.reason = reason


# How the errors of language model routes are answered (QueueFull needs no entry: every application answers
# an Overloaded with 429 and Retry-After).
ERRORS: dict[type[Exception], ErrorStatus[Any]] = {
    InvalidRequest: ErrorStatus(400, detail=lambda exc: {exc.field: [exc.reason]}),
    InvalidParameter: ErrorStatus(400, detail=lambda exc: {exc.name: [exc.reason]}),
    UnknownStream: ErrorStatus(404),
    UnknownEventId: ErrorStatus(400, detail=lambda exc: {"last-event-id": [str(exc)]}),
    # 499: the client closed the request (nginx's code); only ever seen inside a stream's last event.
    GenerationStopped: ErrorStatus(499),
}
