"""Request limits: the largest body a request may carry."""

from flama.http.exceptions import HTTPException, error_response
from flama.http.types import ASGIApp, Message, Receive, Scope, Send
from flama.middleware.base import ConfigurationError, reject

__all__ = ["BodySizeLimitMiddleware"]

_CONTENT_LENGTH = b"content-length"


class BodySizeLimitMiddleware:
    """Refuse request bodies larger than ``max_body_size`` with a 413 JSON error.

    A ``Content-Length`` above the limit is refused before the application runs. A body that arrives without one
    (chunked) or that sends more than it announced is counted as the application reads it: once it passes the limit,
    the read raises an :class:`~flama.http.exceptions.HTTPException` (413), which this middleware answers with the
    413 JSON error when the application has not started its response yet, and lets through otherwise.

    Args:
        app: The ASGI application to wrap.
        max_body_size: The most bytes a request body may have.

    Raises:
        ConfigurationError: For a negative limit.
    """

    __slots__ = ("_detail", "app", "max_body_size")

    def __init__(self, app: ASGIApp, *, max_body_size: int = 1024 * 1024) -> None:
        if max_body_size < 0:
            raise ConfigurationError(f"max_body_size must be 0 or more, got {max_body_size}")
        self.app = app
        self.max_body_size = max_body_size
        self._detail = f"Request body larger than {max_body_size} bytes"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == _CONTENT_LENGTH:
                if value.isdigit() and int(value) > self.max_body_size:
                    await reject(scope, receive, send, 413, self._detail)
                    return
                break
        limit = self.max_body_size
        received = 0
        started = False
        too_large = HTTPException(413, self._detail)

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise too_large
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except HTTPException as exc:
            if exc is not too_large or started:
                raise
            await error_response(exc)(scope, receive, send)
