"""Shared test configuration: fixtures every test folder can use."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
import pytest

from tests.servers import server_factory

__all__ = ["client_factory", "server_factory"]


@pytest.fixture
def client_factory() -> Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]:
    """``async with client_factory(app) as client``: an httpx client calling an ASGI app in process."""

    @asynccontextmanager
    async def build(
        app: object, base_url: str = "http://testserver", **kwargs: object
    ) -> AsyncIterator[httpx.AsyncClient]:
        transport = httpx.ASGITransport(app=app, **kwargs)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield client

    return build
