"""The benchmark endpoints on FastAPI, with its own streaming (``yield``) and form parameters.

See :mod:`benchmarks.apps`.
"""

# mypy: ignore-errors
# FastAPI is installed only in the benchmark venv, not in the development environment mypy runs in.

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import FastAPI, Form, UploadFile
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.sse import EventSourceResponse

from benchmarks.apps import EVENTS, ITEMS, ROUTES, event


def create(gzip: bool = False) -> FastAPI:
    """An application with the benchmark endpoints, optionally behind gzip at level 9."""
    application = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    if gzip:
        application.add_middleware(GZipMiddleware, minimum_size=500, compresslevel=9)

    @application.get("/hello")
    async def hello() -> dict[str, str]:
        return {"message": "hello"}

    @application.get("/items")
    async def items() -> list[dict[str, Any]]:
        return ITEMS

    @application.get("/sse", response_class=EventSourceResponse)
    async def sse() -> AsyncIterator[dict[str, Any]]:
        for index in range(EVENTS):
            yield event(index)

    @application.get("/ndjson")
    async def ndjson() -> AsyncIterator[dict[str, Any]]:
        for index in range(EVENTS):
            yield event(index)

    @application.post("/upload")
    async def upload(
        file: UploadFile,
        field0: Annotated[str, Form()],
        field1: Annotated[str, Form()],
        field2: Annotated[str, Form()],
    ) -> dict[str, Any]:
        return {"size": file.size, "fields": [field0, field1, field2]}

    return application


def create_routed() -> FastAPI:
    """``ROUTES`` parameterised routes."""
    application = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    async def resource(id: int) -> dict[str, int]:
        return {"id": id}

    for index in range(ROUTES):
        application.add_api_route(f"/resource{index}/{{id}}", resource, methods=["GET"], name=f"resource{index}")
    return application


app = create()
routed = create_routed()
compressed = create(gzip=True)
