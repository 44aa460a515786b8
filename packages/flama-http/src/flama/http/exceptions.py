"""The exceptions of ``flama.http`` and the one JSON shape every HTTP error is rendered in.

Every exception derives from :class:`HTTPError`. :class:`HTTPException` and :class:`WebSocketException` are protocol
errors an endpoint raises on purpose: they carry what the client is told. :class:`WebSocketDisconnect` reports that the
peer went away. :class:`WebSocketStateError` (a WebSocket used out of order: sending before accepting, receiving after
closing) and :class:`StreamConsumed` (a body read twice through ``stream()``) are misuses by the application itself.

An HTTP error is always answered with the same body::

    {"detail": <any JSON value>, "error": "<HTTP reason phrase or exception class name>", "status_code": <int>}
"""

import http
from collections.abc import Mapping
from typing import Any

from flama.http.responses import JSONResponse

__all__ = [
    "HTTPError",
    "HTTPException",
    "StreamConsumed",
    "WebSocketDisconnect",
    "WebSocketException",
    "WebSocketStateError",
    "error_response",
]


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


class HTTPError(Exception):
    """Root of every exception raised by ``flama.http``."""


class HTTPException(HTTPError):
    """An HTTP error response, raised from anywhere an endpoint runs.

    Args:
        status_code: The response status, 4xx or 5xx.
        detail: What the client is told: any JSON value (a message, or a list of field errors). Defaults to the
            status's reason phrase.
        headers: Extra response headers (``WWW-Authenticate``, ``Allow``, ``Retry-After``, ...).
    """

    def __init__(self, status_code: int, detail: Any = None, headers: Mapping[str, str] | None = None) -> None:
        self.status_code = status_code
        self.detail = _reason(status_code) if detail is None else detail
        self.headers = dict(headers) if headers else None
        super().__init__(status_code, self.detail)

    @property
    def error(self) -> str:
        """The ``error`` field of the body: the reason phrase, or the class name of a subclass."""
        return _reason(self.status_code) if type(self) is HTTPException else type(self).__name__

    def __str__(self) -> str:
        return f"{self.status_code}: {self.detail}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status_code={self.status_code!r}, detail={self.detail!r})"


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


def error_response(exc: BaseException) -> JSONResponse:
    """Render any exception as the JSON error response.

    An :class:`HTTPException` keeps its status, detail and headers. Any other exception is a 500 whose ``error`` names
    the exception's class and whose ``detail`` says no more than the reason phrase, so nothing internal leaks.

    Args:
        exc: The exception to render.

    Returns:
        The response to send.
    """
    if isinstance(exc, HTTPException):
        content = {"detail": exc.detail, "error": exc.error, "status_code": exc.status_code}
        return JSONResponse(content, status_code=exc.status_code, headers=exc.headers)
    content = {"detail": _reason(500), "error": type(exc).__name__, "status_code": 500}
    return JSONResponse(content, status_code=500)
