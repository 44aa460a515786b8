"""A correlation id carried in and out of every request, so that the logs of both sides can be joined."""

import re
import uuid
from collections.abc import Callable

from flama.http.datastructures import MutableHeaders
from flama.http.types import ASGIApp, Message, Receive, Scope, Send
from flama.middleware.base import HTTP_TOKEN, ConfigurationError

__all__ = ["CorrelationIdMiddleware"]

# Ids a client may choose: printable, no separators or quotes that could split a log line or a header.
_VALID_ID = re.compile(r"[A-Za-z0-9._:+/=@-]+")


def _new_id() -> str:
    return uuid.uuid4().hex


class CorrelationIdMiddleware:
    """Tag every request with an id: the client's ``X-Request-ID`` when it is valid, a new UUID4 otherwise.

    The id is stored in ``scope["state"][state_key]`` (``request.state.correlation_id`` in Flama and Starlette) and
    sent back in the response header, so logs of both sides can be joined.

    Args:
        app: The ASGI application to wrap.
        header_name: The request and response header.
        state_key: The key of the id in the scope's state.
        max_length: Longer incoming ids are replaced by a new one.
        generator: Makes a new id (UUID4 hex by default).

    Raises:
        ConfigurationError: For a header name that is not an HTTP token, or a ``max_length`` below 1.
    """

    __slots__ = ("_header", "app", "generator", "header_name", "max_length", "state_key")

    def __init__(
        self,
        app: ASGIApp,
        *,
        header_name: str = "X-Request-ID",
        state_key: str = "correlation_id",
        max_length: int = 128,
        generator: Callable[[], str] = _new_id,
    ) -> None:
        if HTTP_TOKEN.fullmatch(header_name) is None:
            raise ConfigurationError(f"Not a valid header name: {header_name!r}")
        if max_length < 1:
            raise ConfigurationError(f"max_length must be 1 or more, got {max_length}")
        self.app = app
        self.header_name = header_name
        self.state_key = state_key
        self.max_length = max_length
        self.generator = generator
        self._header = header_name.lower().encode("latin-1")

    def _incoming(self, scope: Scope) -> str | None:
        for name, value in scope["headers"]:
            if name == self._header:
                text = str(value.decode("latin-1"))
                return text if len(text) <= self.max_length and _VALID_ID.fullmatch(text) else None
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        correlation_id = self._incoming(scope) or self.generator()
        scope.setdefault("state", {})[self.state_key] = correlation_id
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(raw=message["headers"])
                headers.setdefault(self.header_name, correlation_id)
                message["headers"] = headers.raw
            await send(message)

        await self.app(scope, receive, send_with_id)
