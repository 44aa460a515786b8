"""An in-test ASGI harness: build a scope, feed a body, collect what the app sends."""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import anyio
import pytest
from flama.http.types import ASGIApp, Message, Scope


@dataclass
class Sent:
    """Everything an application sent for one request."""

    messages: list[Message] = field(default_factory=list)

    @property
    def status(self) -> int:
        return int(self.messages[0]["status"])

    @property
    def raw_headers(self) -> list[tuple[bytes, bytes]]:
        return list(self.messages[0]["headers"])

    @property
    def headers(self) -> dict[str, str]:
        return {name.decode("latin-1"): value.decode("latin-1") for name, value in self.messages[0]["headers"]}

    @property
    def bodies(self) -> list[bytes]:
        return [message.get("body", b"") for message in self.messages[1:] if message["type"] == "http.response.body"]

    @property
    def body(self) -> bytes:
        return b"".join(self.bodies)


class ScopeFactory(Protocol):
    def __call__(
        self,
        method: str = ...,
        path: str = ...,
        query_string: bytes = ...,
        headers: Sequence[tuple[str, str]] = ...,
        **extra: Any,
    ) -> Scope: ...


class CallApp(Protocol):
    def __call__(
        self,
        app: ASGIApp,
        scope: Scope | None = None,
        *,
        body: Sequence[bytes] = ...,
        disconnect: anyio.Event | None = None,
        on_send: Callable[[Message], Awaitable[None]] | None = None,
    ) -> Awaitable[Sent]: ...


@pytest.fixture
def scope_factory() -> ScopeFactory:
    def build(
        method: str = "GET",
        path: str = "/",
        query_string: bytes = b"",
        headers: Sequence[tuple[str, str]] = (),
        **extra: Any,
    ) -> Scope:
        scope: Scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": query_string,
            "headers": [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
        }
        scope.update(extra)
        return scope

    return build


@pytest.fixture
def call_app(scope_factory: ScopeFactory) -> CallApp:
    """Run an ASGI app on one request: ``body`` chunks are received in order, then the client waits, and sends
    ``http.disconnect`` once ``disconnect`` is set (never, when it is None)."""

    async def call(
        app: ASGIApp,
        scope: Scope | None = None,
        *,
        body: Sequence[bytes] = (b"",),
        disconnect: anyio.Event | None = None,
        on_send: Callable[[Message], Awaitable[None]] | None = None,
    ) -> Sent:
        chunks = list(body)
        sent = Sent()

        async def receive() -> Message:
            if chunks:
                chunk = chunks.pop(0)
                return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}
            if disconnect is None:
                await anyio.sleep_forever()
            else:
                await disconnect.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            sent.messages.append(message)
            if on_send is not None:
                await on_send(message)

        with anyio.fail_after(10):
            await app(scope if scope is not None else scope_factory(), receive, send)
        return sent

    return call
