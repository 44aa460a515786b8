"""The benchmark endpoints on Starlette (see :mod:`benchmarks.apps`)."""

import json
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from benchmarks.apps import EVENTS, ITEMS, ROUTES, event


async def hello(request: Request) -> JSONResponse:
    return JSONResponse({"message": "hello"})


async def items(request: Request) -> JSONResponse:
    return JSONResponse(ITEMS)


async def sse_events() -> AsyncIterator[str]:
    for index in range(EVENTS):
        yield f"data: {json.dumps(event(index), separators=(',', ':'))}\n\n"


async def sse(request: Request) -> StreamingResponse:
    headers = {"cache-control": "no-cache", "x-accel-buffering": "no"}
    return StreamingResponse(sse_events(), media_type="text/event-stream", headers=headers)


async def lines() -> AsyncIterator[str]:
    for index in range(EVENTS):
        yield json.dumps(event(index), separators=(",", ":")) + "\n"


async def ndjson(request: Request) -> StreamingResponse:
    return StreamingResponse(lines(), media_type="application/x-ndjson")


async def upload(request: Request) -> JSONResponse:
    async with request.form() as form:
        file = form["file"]
        assert isinstance(file, UploadFile)
        return JSONResponse({"size": file.size, "fields": [form[f"field{i}"] for i in range(3)]})


async def resource(request: Request) -> JSONResponse:
    return JSONResponse({"id": request.path_params["id"]})


ENDPOINTS = [
    Route("/hello", hello),
    Route("/items", items),
    Route("/sse", sse),
    Route("/ndjson", ndjson),
    Route("/upload", upload, methods=["POST"]),
]

app = Starlette(routes=ENDPOINTS)
routed = Starlette(routes=[Route(f"/resource{index}/{{id:int}}", resource) for index in range(ROUTES)])
compressed = Starlette(routes=ENDPOINTS, middleware=[Middleware(GZipMiddleware, minimum_size=500, compresslevel=9)])
