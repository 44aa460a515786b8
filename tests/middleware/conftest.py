"""Tiny ASGI applications for the middleware to wrap, and the in-test harness of ``tests/http``."""

from collections.abc import Sequence

import pytest
from flama.http.types import ASGIApp, Message, Receive, Scope, Send

from tests.http.conftest import CallApp, ScopeFactory, Sent, call_app, scope_factory

__all__ = ["AppFactory", "CallApp", "ScopeFactory", "Sent", "call_app", "scope_factory"]


class AppFactory:
    """Build an ASGI app that records the scope it saw and answers with fixed chunks."""

    def __init__(self) -> None:
        self.scopes: list[Scope] = []

    def __call__(
        self,
        chunks: Sequence[bytes] = (b"hello",),
        *,
        status: int = 200,
        headers: Sequence[tuple[str, str]] = (("content-type", "text/plain"),),
        read_body: bool = False,
    ) -> ASGIApp:
        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            self.scopes.append(scope)
            if read_body:
                more = True
                while more:
                    message: Message = await receive()
                    more = message.get("more_body", False)
            raw = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]
            await send({"type": "http.response.start", "status": status, "headers": raw})
            for index, chunk in enumerate(chunks):
                await send({"type": "http.response.body", "body": chunk, "more_body": index < len(chunks) - 1})

        return app


@pytest.fixture
def app_factory() -> AppFactory:
    return AppFactory()
