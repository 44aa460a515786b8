"""The application's time before it answered, in a ``Server-Timing`` response header."""

import time

from flama.http.datastructures import MutableHeaders
from flama.http.types import ASGIApp, Message, Receive, Scope, Send
from flama.middleware.base import HTTP_TOKEN, ConfigurationError

__all__ = ["TimingMiddleware"]


class TimingMiddleware:
    """Report how long the application took before it started its response, in a ``Server-Timing`` header.

    The duration runs from the request's arrival at this middleware to the application's ``http.response.start``
    (a streamed body's later chunks are not counted), in milliseconds, as ``app;dur=12.345``. Server-Timing values
    the application set are kept.

    Args:
        app: The ASGI application to wrap.
        metric_name: The metric's name in the header.
        description: An optional ``desc`` parameter.

    Raises:
        ConfigurationError: For a metric name that is not an HTTP token.
    """

    __slots__ = ("_suffix", "app", "metric_name")

    def __init__(self, app: ASGIApp, *, metric_name: str = "app", description: str | None = None) -> None:
        if HTTP_TOKEN.fullmatch(metric_name) is None:
            raise ConfigurationError(f"Not a valid metric name: {metric_name!r}")
        self.app = app
        self.metric_name = metric_name
        escaped = description.replace("\\", "\\\\").replace('"', '\\"') if description is not None else None
        self._suffix = f';desc="{escaped}"' if escaped is not None else ""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def send_with_timing(message: Message) -> None:
            if message["type"] == "http.response.start":
                elapsed = (time.perf_counter() - started) * 1000
                headers = MutableHeaders(raw=message["headers"])
                headers.append("server-timing", f"{self.metric_name};dur={elapsed:.3f}{self._suffix}")
                message["headers"] = headers.raw
            await send(message)

        await self.app(scope, receive, send_with_timing)
