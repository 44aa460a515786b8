"""The ASGI foundation of Flama: requests, responses, routing, the application, injection, schemas and OpenAPI."""

import importlib.metadata

from flama.core.forms import FormData, UploadedFile
from flama.http.applications import Flama, Middleware, run
from flama.http.background import BackgroundTask, BackgroundTasks
from flama.http.datastructures import URL, Address, Headers, MutableHeaders, QueryParams, State
from flama.http.exceptions import (
    ErrorStatus,
    FlamaError,
    HTTPError,
    HTTPException,
    Overloaded,
    StreamConsumed,
    ValidationError,
    WebSocketDisconnect,
    WebSocketException,
    WebSocketStateError,
    error_response,
)
from flama.http.files import FileResponse
from flama.http.health import HealthModule
from flama.http.injection import Component, Cookie, Header, Query
from flama.http.metrics import Metrics, MetricsModule, metrics_of
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

__version__ = importlib.metadata.version("flama-http")

__all__ = [
    "URL",
    "Address",
    "BackgroundTask",
    "BackgroundTasks",
    "Component",
    "Cookie",
    "ErrorStatus",
    "EventSourceResponse",
    "FileResponse",
    "Flama",
    "FlamaError",
    "FormData",
    "HTMLResponse",
    "HTTPConnection",
    "HTTPError",
    "HTTPException",
    "Header",
    "Headers",
    "HealthModule",
    "JSONResponse",
    "Metrics",
    "MetricsModule",
    "Middleware",
    "Module",
    "Mount",
    "MutableHeaders",
    "NDJSONResponse",
    "Overloaded",
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
    "UploadedFile",
    "ValidationError",
    "WebSocket",
    "WebSocketDisconnect",
    "WebSocketException",
    "WebSocketRoute",
    "WebSocketState",
    "WebSocketStateError",
    "__version__",
    "error_response",
    "metrics_of",
    "run",
    "server_defaults",
]
