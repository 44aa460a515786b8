"""The benchmark endpoints on this tree's ``flama.http`` (see :mod:`benchmarks.apps`)."""

from collections.abc import AsyncIterator
from typing import Any

from flama.core.forms import UploadedFile
from flama.http import EventSourceResponse, Flama, Middleware, NDJSONResponse, Request
from flama.middleware import CompressionMiddleware

from benchmarks.apps import EVENTS, ITEMS, ROUTES, event


def create(middleware: list[Middleware] | None = None) -> Flama:
    """An application with the benchmark endpoints behind ``middleware``."""
    application = Flama(middleware=middleware, schema=None, docs=None, discover_modules=False)

    @application.route("/hello")
    async def hello() -> dict[str, str]:
        return {"message": "hello"}

    @application.route("/items")
    async def items() -> list[dict[str, Any]]:
        return ITEMS

    async def events() -> AsyncIterator[dict[str, Any]]:
        for index in range(EVENTS):
            yield event(index)

    @application.route("/sse")
    async def sse() -> EventSourceResponse:
        return EventSourceResponse(events())

    @application.route("/ndjson")
    async def ndjson() -> NDJSONResponse:
        return NDJSONResponse(events())

    @application.route("/upload", methods=["POST"])
    async def upload(request: Request) -> dict[str, Any]:
        with await request.form() as form:
            file = form["file"]
            assert isinstance(file, UploadedFile)
            return {"size": file.size, "fields": [form[f"field{i}"] for i in range(3)]}

    return application


def create_routed() -> Flama:
    """``ROUTES`` parameterised routes."""
    application = Flama(schema=None, docs=None, discover_modules=False)

    async def resource(id: int) -> dict[str, int]:
        return {"id": id}

    for index in range(ROUTES):
        application.add_route(f"/resource{index}/{{id:int}}", resource, name=f"resource{index}")
    return application


app = create()
routed = create_routed()
compressed = create([Middleware(CompressionMiddleware, encodings=("gzip",), levels={"gzip": 9})])
