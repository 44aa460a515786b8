"""The benchmark endpoints on Flama 2.2.2 from PyPI (see :mod:`benchmarks.apps`).

Its import name is ``flama`` too, so this module runs only in the ``flama2`` benchmark venv.
"""

# mypy: ignore-errors
# Flama 2 is installed only in its own benchmark venv; in the development environment ``flama`` is this tree's.

import json
import os
from collections.abc import AsyncIterator
from typing import Any

from flama import Flama
from flama.codecs.compression import GzipCodec
from flama.http import NDJSONResponse, Request, ServerSentEvent, ServerSentEventResponse
from flama.middleware import CompressionMiddleware

from benchmarks.apps import EVENTS, ITEMS, ROUTES, event


def create(middleware: list[Any] | None = None) -> Flama:
    """An application with the benchmark endpoints behind ``middleware``."""
    application = Flama(middleware=middleware, schema=None, docs=None)

    @application.route("/hello")
    async def hello() -> dict[str, str]:
        return {"message": "hello"}

    @application.route("/items")
    async def items() -> list[dict[str, Any]]:
        return ITEMS

    async def events() -> AsyncIterator[ServerSentEvent]:
        for index in range(EVENTS):
            yield ServerSentEvent(data=json.dumps(event(index), separators=(",", ":")))

    @application.route("/sse")
    async def sse() -> ServerSentEventResponse:
        return ServerSentEventResponse(events())

    async def lines() -> AsyncIterator[dict[str, Any]]:
        for index in range(EVENTS):
            yield event(index)

    @application.route("/ndjson")
    async def ndjson() -> NDJSONResponse:
        return NDJSONResponse(lines())

    @application.route("/upload", methods=["POST"])
    async def upload(request: Request) -> dict[str, Any]:
        form = await request.form()
        try:
            # Flama 2's upload has no size: the spooled file's, or the bytes held in memory.
            file = form["file"]
            size = os.path.getsize(file.path) if file.path else len(await file.read())
            return {"size": size, "fields": [form[f"field{i}"] for i in range(3)]}
        finally:
            await form.close()

    return application


def create_routed() -> Flama:
    """``ROUTES`` parameterised routes."""
    application = Flama(schema=None, docs=None)

    async def resource(id: int) -> dict[str, int]:
        return {"id": id}

    for index in range(ROUTES):
        application.add_route(f"/resource{index}/{{id:int}}", resource, name=f"resource{index}")
    return application


app = create()
routed = create_routed()
compressed = create([CompressionMiddleware(codecs=[GzipCodec(level=9)])])
