"""The ASGI foundation of Flama: requests, responses, routing, the application, injection, schemas and OpenAPI."""

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
from flama.http.sse import EventSourceResponse, ServerSentEvent

__version__ = "0.1.0"

__all__ = [
    "URL",
    "Address",
    "BackgroundTask",
    "BackgroundTasks",
    "EventSourceResponse",
    "FileResponse",
    "HTMLResponse",
    "HTTPConnection",
    "HTTPError",
    "HTTPException",
    "Headers",
    "JSONResponse",
    "MutableHeaders",
    "NDJSONResponse",
    "PlainTextResponse",
    "QueryParams",
    "RedirectResponse",
    "Request",
    "Response",
    "ServerSentEvent",
    "State",
    "StreamConsumed",
    "StreamingResponse",
    "WebSocket",
    "WebSocketDisconnect",
    "WebSocketException",
    "WebSocketState",
    "WebSocketStateError",
    "__version__",
    "error_response",
]
