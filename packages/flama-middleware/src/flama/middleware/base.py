"""What every middleware of ``flama.middleware`` shares: the exceptions, the header scan and the error answer."""

import re
from collections.abc import Collection

from flama.http.exceptions import FlamaError, HTTPException, error_response
from flama.http.types import Receive, Scope, Send

__all__ = ["HTTP_TOKEN", "ConfigurationError", "MiddlewareError", "reject", "scan_headers"]

HTTP_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
"""An HTTP token (RFC 9110): what a header name or a Server-Timing metric name may be."""


class MiddlewareError(FlamaError):
    """Root of every exception raised by ``flama.middleware``."""


class ConfigurationError(MiddlewareError, ValueError):
    """A middleware was given options it cannot work with; raised when it is built, never while serving."""


def scan_headers(scope: Scope, names: Collection[bytes]) -> dict[bytes, bytes]:
    """Read the wanted request headers in one pass over the scope's header list.

    Args:
        scope: The ASGI scope.
        names: Lower-case header names to collect.

    Returns:
        The first value of each wanted header that is present, by name.
    """
    found: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        if name in names and name not in found:
            found[name] = value
    return found


async def reject(
    scope: Scope, receive: Receive, send: Send, status_code: int, detail: str, *, close_code: int = 1008
) -> None:
    """Refuse a connection: an HTTP request gets the JSON error body, a WebSocket is closed.

    Args:
        scope: The ASGI scope.
        receive: The ASGI receive callable.
        send: The ASGI send callable.
        status_code: The HTTP status of the error.
        detail: What the client is told.
        close_code: The close code sent to a WebSocket.
    """
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": close_code, "reason": detail})
        return
    await error_response(HTTPException(status_code, detail))(scope, receive, send)
