"""Shared test configuration: fixtures every test folder can use."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
import pytest

from tests.libraries import needs
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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test parametrised over LLM backends needs torch for its ``transformers`` cases (`tests.libraries`)."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and any(
            isinstance(value, str) and value == "transformers" for value in callspec.params.values()
        ):
            item.add_marker(needs("torch"))
