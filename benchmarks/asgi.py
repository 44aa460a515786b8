"""The one ASGI driver every HTTP subject is measured through, the way a server calls an application.

A :class:`Driver` starts the application's lifespan, as a server does, then holds a pre-built scope and request body
and runs requests on one reused event loop. ``receive``
hands out the body messages, then waits until the response is complete and reports ``http.disconnect`` (as uvicorn
does); ``send`` discards the response. Only the standard library is used, so the driver runs in every benchmark venv.
"""

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Message, Receive, Send], Awaitable[None]]

# The size of each ``http.request`` message a body is split into.
CHUNK = 65536


class Driver:
    """Requests to one ASGI application, whose lifespan it starts; :meth:`prepare` sets the request to send.

    Args:
        app: The ASGI callable.
        loop: The event loop to run on; a new one, made the current loop, by default.
    """

    __slots__ = ("app", "lifespan", "loop", "messages", "scope")

    def __init__(self, app: ASGIApp, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.app = app
        self.scope: dict[str, Any] = {}
        self.messages: list[Message] = []
        if loop is None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
        self.loop = loop
        self.lifespan = self.loop.run_until_complete(self.start())

    def prepare(self, method: str, path: str, headers: Sequence[tuple[str, str]] = (), body: bytes = b"") -> None:
        """Set the request every later call sends.

        Args:
            method: The request method.
            path: The request path (no query string).
            headers: Request headers, names lower case.
            body: The request body, sent in ``CHUNK``-sized messages.
        """
        self.scope = {
            "type": "http",
            # What uvicorn (httptools) announces.
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "server": ("127.0.0.1", 8000),
            "client": ("127.0.0.1", 50000),
            "scheme": "http",
            "method": method,
            "root_path": "",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "headers": [(name.encode(), value.encode()) for name, value in headers],
            "state": {},
        }
        pieces = [body[start : start + CHUNK] for start in range(0, len(body), CHUNK)] or [b""]
        self.messages = [
            {"type": "http.request", "body": piece, "more_body": index < len(pieces) - 1}
            for index, piece in enumerate(pieces)
        ]

    async def start(self) -> "asyncio.Task[None]":
        """Run the lifespan startup; the returned task waits for a shutdown that never comes."""
        inbox: asyncio.Queue[Message] = asyncio.Queue()
        outbox: asyncio.Queue[Message] = asyncio.Queue()
        await inbox.put({"type": "lifespan.startup"})
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.3"}, "state": {}}
        task = asyncio.ensure_future(self.app(scope, inbox.get, outbox.put))
        reply = await outbox.get()
        if reply["type"] != "lifespan.startup.complete":
            raise RuntimeError(f"lifespan startup failed: {reply}")
        return task

    async def call(self, sent: list[Message] | None) -> None:
        """One request; every message sent is appended to ``sent`` unless it is ``None``."""
        pending = iter([dict(message) for message in self.messages])
        complete = self.loop.create_future()

        async def receive() -> Message:
            message = next(pending, None)
            if message is not None:
                return message
            await asyncio.shield(complete)  # a receive cancelled by a timeout must not cancel the others
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            if sent is not None:
                sent.append(message)
            final = message["type"] == "http.response.body" and not message.get("more_body", False)
            if final and not complete.done():
                complete.set_result(None)

        await self.app(dict(self.scope), receive, send)

    def request(self) -> None:
        """One request, the response discarded: the measured statement."""
        self.loop.run_until_complete(self.call(None))

    def response(self) -> tuple[int, dict[bytes, bytes], bytes]:
        """One request's status, headers and body, to check that the subject answers as intended."""
        sent: list[Message] = []
        self.loop.run_until_complete(self.call(sent))
        start = next(message for message in sent if message["type"] == "http.response.start")
        body = b"".join(message.get("body", b"") for message in sent if message["type"] == "http.response.body")
        return start["status"], {bytes(name).lower(): bytes(value) for name, value in start["headers"]}, body
