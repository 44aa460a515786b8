"""The exceptions of Flama, the one JSON body every HTTP error is rendered in, and the one streamed-error shape.

Every exception Flama raises on purpose derives from :class:`FlamaError`; each distribution has one root below it
(``HTTPError`` here, ``flama.models.ModelsError``, ``flama.llm.LLMError``, ...). Within ``flama.http``:
:class:`HTTPException` (and :class:`ValidationError`) and :class:`WebSocketException` are protocol errors an endpoint
raises on purpose: they carry what the client is told. :class:`WebSocketDisconnect` reports that the peer went away.
:class:`WebSocketStateError` (a WebSocket used out of order) and :class:`StreamConsumed` (a body read twice through
``stream()``) are misuses by the application itself. :class:`Overloaded` is the domain error of admission control
(a queue or rate limit is full), answered 429 with ``Retry-After`` by every application.

Routes raise domain errors; each module registers how its errors are answered with :class:`ErrorStatus`
(``app.add_exception_handler(ModelNotReady, ErrorStatus(503, headers=retry_after))``), so no route builds an error
response itself. An HTTP error is always answered with the same body (Flama 2.x's)::

    {"detail": <any JSON value>, "error": "<exception class name>", "status_code": <int>}

An error after a streamed response started ends the stream with that same body: as an SSE event named ``error``
(:func:`error_event`), or as an NDJSON line ``{"error": <body>}`` (:func:`error_line`).
"""

import http
import logging
import math
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from flama.http.responses import JSONResponse
from flama.http.sse import ServerSentEvent

__all__ = [
    "ErrorStatus",
    "FlamaError",
    "HTTPError",
    "HTTPException",
    "Overloaded",
    "StreamConsumed",
    "ValidationError",
    "WebSocketDisconnect",
    "WebSocketException",
    "WebSocketStateError",
    "error_body",
    "error_event",
    "error_line",
    "error_response",
    "retry_after",
    "streamed_error",
    "to_http_exception",
]

logger = logging.getLogger("flama.http")

E = TypeVar("E", bound=BaseException)

# Reason phrases looked up once (an HTTPStatus lookup per error is slow), with RFC 9110's names, which Python adopted
# only in 3.13: the error body must not depend on the interpreter.
_PHRASES = {status.value: status.phrase for status in http.HTTPStatus} | {
    413: "Content Too Large",
    414: "URI Too Long",
    416: "Range Not Satisfiable",
    422: "Unprocessable Content",
}


def _reason(status_code: int) -> str:
    return _PHRASES.get(status_code, "Unknown Status")


class FlamaError(Exception):
    """Root of every exception the Flama framework raises on purpose, whichever distribution raises it."""


class HTTPError(FlamaError):
    """Root of every exception raised by ``flama.http``."""


class HTTPException(HTTPError):
    """An HTTP error response, raised from anywhere an endpoint runs.

    Args:
        status_code: The response status, 4xx or 5xx.
        detail: What the client is told: any JSON value (a message, or fields and their errors). Defaults to the
            status's reason phrase.
        headers: Extra response headers (``WWW-Authenticate``, ``Allow``, ``Retry-After``, ...).
        error: The body's ``error`` field; the exception's class name by default (a domain error rendered through
            :class:`ErrorStatus` passes its own class name).
    """

    def __init__(
        self,
        status_code: int,
        detail: Any = None,
        headers: Mapping[str, str] | None = None,
        *,
        error: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.detail = _reason(status_code) if detail is None else detail
        self.headers = dict(headers) if headers else None
        self.error = type(self).__name__ if error is None else error
        super().__init__(status_code, self.detail)

    def __str__(self) -> str:
        return f"{self.status_code}: {self.detail}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status_code={self.status_code!r}, detail={self.detail!r})"


class ValidationError(HTTPException):
    """Invalid input: a 400 whose ``detail`` maps each field at fault to its messages, as Flama 2.x answers.

    A field is named by its dotted path inside its part of the request: ``input``, ``messages.0.content``, a query
    parameter's name. Every route validating input (parameters, bodies, model inputs, generation parameters) raises
    this one error.

    Args:
        errors: The messages of each field.
    """

    def __init__(self, errors: Mapping[str, list[str]]) -> None:
        super().__init__(400, {field: list(messages) for field, messages in errors.items()})

    @classmethod
    def of(cls, field: str, message: str) -> "ValidationError":
        """The error of one field."""
        return cls({field: [message]})


class Overloaded(FlamaError):
    """The server admits no more work for now (a queue or a rate limit is full): answered 429 with ``Retry-After``.

    Admission control raises it (or a subclass); every application renders it, so no route maps it by hand.

    Args:
        message: What the client is told.
        retry_after: Seconds after which a retry has a fair chance.
    """

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class WebSocketException(HTTPError):
    """Close a WebSocket with a code, raised from a WebSocket endpoint.

    Args:
        code: The close code, e.g. 1008 (policy violation) or an application code in 4000-4999.
        reason: A short text sent with the close frame (at most 123 bytes once encoded).
    """

    def __init__(self, code: int, reason: str | None = None) -> None:
        self.code = code
        self.reason = reason or ""
        super().__init__(code, self.reason)

    def __str__(self) -> str:
        return f"{self.code}: {self.reason}"


class WebSocketDisconnect(HTTPError):
    """The peer closed the WebSocket (or the connection dropped) while the application was receiving.

    Args:
        code: The close code the peer sent, 1005 when it sent none.
        reason: The close reason the peer sent.
    """

    def __init__(self, code: int = 1000, reason: str | None = None) -> None:
        self.code = code
        self.reason = reason or ""
        super().__init__(code, self.reason)


class WebSocketStateError(HTTPError, RuntimeError):
    """The application used a WebSocket out of order: e.g. sent before accepting or received after closing."""


class StreamConsumed(HTTPError, RuntimeError):
    """The request body was already consumed through ``stream()`` and was not kept, so it cannot be read again."""


def retry_after(exc: Any) -> dict[str, str]:
    """The ``Retry-After`` header of an exception carrying ``retry_after`` seconds (whole seconds, at least 1)."""
    return {"Retry-After": str(max(1, math.ceil(float(exc.retry_after))))}


class ErrorStatus(Generic[E]):
    """How a domain exception is answered over HTTP: an exception handler for ``Flama.add_exception_handler``.

    Its response carries the one error body, with ``error`` the exception's class name.

    Args:
        status_code: The status.
        detail: The body's ``detail`` for an exception; its text (``str(exc)``) by default.
        headers: Extra headers for an exception (:func:`retry_after` for ``Retry-After``).
    """

    __slots__ = ("detail", "headers", "status_code")

    def __init__(
        self,
        status_code: int,
        *,
        detail: Callable[[E], Any] = str,
        headers: Callable[[E], Mapping[str, str]] | None = None,
    ) -> None:
        self.status_code = status_code
        self.detail = detail
        self.headers = headers

    def http_exception(self, exc: E) -> HTTPException:
        """``exc`` as the HTTP error the client receives."""
        headers = None if self.headers is None else self.headers(exc)
        return HTTPException(self.status_code, self.detail(exc), headers, error=type(exc).__name__)

    def __call__(self, connection: Any, exc: E) -> JSONResponse:
        """The error response for ``exc``."""
        return error_response(self.http_exception(exc))

    def __repr__(self) -> str:
        return f"ErrorStatus({self.status_code})"


# What every application answers without being told: admission control's error.
DEFAULT_HANDLERS: Mapping[type[Exception], ErrorStatus[Any]] = {Overloaded: ErrorStatus(429, headers=retry_after)}


def to_http_exception(exc: BaseException, handlers: Mapping[Any, Any] | None = None) -> HTTPException:
    """``exc`` as the HTTP error a client is told about.

    An :class:`HTTPException` is itself; an exception whose class (or a base) has an :class:`ErrorStatus` in
    ``handlers`` (or in the defaults) is rendered by it; anything else is a 500 whose ``error`` names the class and
    whose ``detail`` says no more than the reason phrase, so nothing internal leaks (it is logged).
    """
    if isinstance(exc, HTTPException):
        return exc
    for cls in type(exc).__mro__:
        handler = (handlers or {}).get(cls) or DEFAULT_HANDLERS.get(cls)
        if isinstance(handler, ErrorStatus):
            return handler.http_exception(exc)
    return HTTPException(500, error=type(exc).__name__)


def error_body(exc: HTTPException) -> dict[str, Any]:
    """The one JSON error body: ``{"detail": ..., "error": ..., "status_code": ...}``."""
    return {"detail": exc.detail, "error": exc.error, "status_code": exc.status_code}


def error_response(exc: BaseException) -> JSONResponse:
    """Render any exception as the JSON error response (see :func:`to_http_exception`).

    Args:
        exc: The exception to render.

    Returns:
        The response to send.
    """
    error = to_http_exception(exc)
    return JSONResponse(error_body(error), status_code=error.status_code, headers=error.headers)


def streamed_error(exc: BaseException, app: Any = None) -> dict[str, Any]:
    """The error body of an exception raised after a streamed response started.

    Args:
        exc: The exception.
        app: The application serving the stream (``request.app``); its exception handlers are consulted.
    """
    handlers = getattr(app, "exception_handlers", None)
    error = to_http_exception(exc, handlers)
    if error.status_code >= 500 and not isinstance(exc, HTTPException):
        logger.error("Unhandled exception while streaming", exc_info=exc)
    return error_body(error)


def error_event(body: Mapping[str, Any]) -> ServerSentEvent:
    """The server-sent event that ends a stream with an error: named ``error``, its data the error body."""
    return ServerSentEvent(dict(body), event="error")


def error_line(body: Mapping[str, Any]) -> dict[str, Any]:
    """The NDJSON line that ends a stream with an error: ``{"error": <the error body>}``."""
    return {"error": dict(body)}
