"""The ASGI foundation of Flama: requests, responses, routing, the application, injection, schemas and OpenAPI."""

from flama.http.applications import Flama, Middleware, run
from flama.http.background import BackgroundTask, BackgroundTasks
from flama.http.datastructures import URL, Address, Headers, MutableHeaders, QueryParams, State
from flama.http.exceptions import (
    HTTPError,
    HTTPException,
    StreamConsumed,
    WebSocketDisconnect,
    WebSocketException,
    WebSocketStateError,
    error_response,
)
from flama.http.files import FileResponse
from flama.http.injection import Component, Cookie, Header, Query
from flama.http.modules import Module
from flama.http.requests import HTTPConnection, Request, WebSocket, WebSocketState
from flama.http.responses import (
    HTMLResponse,
    JSONResponse,
    NDJSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from flama.http.routing import Mount, Route, Router, WebSocketRoute
from flama.http.server import ServerLimits, server_defaults
from flama.http.sse import EventSourceResponse, ServerSentEvent

__version__ = "0.1.0"

__all__ = [
    "URL",
    "Address",
    "BackgroundTask",
    "BackgroundTasks",
    "Component",
    "Cookie",
    "EventSourceResponse",
    "FileResponse",
    "Flama",
    "HTMLResponse",
    "HTTPConnection",
    "HTTPError",
    "HTTPException",
    "Header",
    "Headers",
    "JSONResponse",
    "Middleware",
    "Module",
    "Mount",
    "MutableHeaders",
    "NDJSONResponse",
    "PlainTextResponse",
    "Query",
    "QueryParams",
    "RedirectResponse",
    "Request",
    "Response",
    "Route",
    "Router",
    "ServerLimits",
    "ServerSentEvent",
    "State",
    "StreamConsumed",
    "StreamingResponse",
    "WebSocket",
    "WebSocketDisconnect",
    "WebSocketException",
    "WebSocketRoute",
    "WebSocketState",
    "WebSocketStateError",
    "__version__",
    "error_response",
    "run",
    "server_defaults",
]
