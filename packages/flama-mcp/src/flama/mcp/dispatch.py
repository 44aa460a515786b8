"""From a POST to a method: the HTTP checks, the JSON-RPC envelope, the protocol era and the method's answer.

:func:`serve` refuses what is not a JSON-RPC request for this server (wrong method, host, origin, token, media type,
size or JSON) with the HTTP status and JSON-RPC error the revision asks for, settles which era the request belongs
to (:func:`classify`), calls the method (see :mod:`flama.mcp.methods`) and counts the call in the metrics.
"""

import base64
import binascii
import time
from typing import TYPE_CHECKING, Any

from flama.core import JSONDecodeError, json_decode
from flama.http.metrics import metrics_of
from flama.http.types import Receive, Scope, Send
from flama.mcp.elicitation import InputRequired
from flama.mcp.methods import METHODS, input_required
from flama.mcp.protocol import (
    CLIENT_CAPABILITIES_KEY,
    CLIENT_INFO_KEY,
    HANDSHAKE_VERSIONS,
    HEADER_MISMATCH,
    INVALID_PARAMS,
    INVALID_REQUEST,
    LATEST_HANDSHAKE_VERSION,
    METHOD_NOT_FOUND,
    MODERN_VERSIONS,
    PARSE_ERROR,
    PROTOCOL_VERSION_KEY,
    UNSUPPORTED_PROTOCOL_VERSION,
    MCPError,
    http_status,
)
from flama.mcp.transport import BodyTooLarge, Exchange, error_body, read_body, respond, result_body

if TYPE_CHECKING:  # the server imports this module
    from flama.mcp.server import MCPServer

__all__ = ["Call", "classify", "observe", "serve"]

# The parameter each method's Mcp-Name header repeats (2026-07-28).
_NAMED = {
    "tools/call": "name",
    "prompts/get": "name",
    "resources/read": "uri",
    "tasks/get": "taskId",
    "tasks/update": "taskId",
    "tasks/cancel": "taskId",
}
# Methods 2026-07-28 removed: a modern request for them is answered METHOD_NOT_FOUND.
_LEGACY_ONLY = frozenset({"initialize", "ping"})
_ALLOW = [(b"content-type", b"application/json"), (b"allow", b"POST")]


class Call:
    """One JSON-RPC request being answered."""

    __slots__ = (
        "auth",
        "binding",
        "capabilities",
        "client_info",
        "exchange",
        "id",
        "method",
        "modern",
        "outcome",
        "params",
        "receive",
        "scope",
        "started",
        "version",
    )

    def __init__(self, scope: Scope, receive: Receive, exchange: Exchange, message: dict[str, Any], auth: Any) -> None:
        self.scope = scope
        self.receive = receive
        self.exchange = exchange
        self.id = message.get("id")
        self.method: str = message["method"]
        params = message.get("params")
        self.params: dict[str, Any] = params if isinstance(params, dict) else {}
        self.auth = auth
        self.modern = False
        self.version = LATEST_HANDSHAKE_VERSION
        self.capabilities: dict[str, Any] = {}
        self.client_info: dict[str, Any] | None = None
        self.outcome = "ok"
        """How the call ended for the metrics: ``ok``, or ``tool_error`` when the tool failed."""
        self.started = time.perf_counter()
        self.binding: tuple[str, Any] | None = None
        """The name and arguments a handler runs with: what a ``requestState`` is bound to."""


def observe(call: Call, server: str, outcome: str) -> None:
    """Count a finished call in the serving application's metrics (``/metrics``), when it has them.

    ``outcome`` is ``ok``, ``tool_error`` or a JSON-RPC error code. Mounted in another framework, or in a Flama
    application built without its metrics module, nothing is counted.
    """
    metrics = metrics_of(call.scope.get("app"))
    if metrics is not None:
        metrics.mcp_call(server, call.method, outcome, time.perf_counter() - call.started)


async def serve(server: "MCPServer", scope: Scope, receive: Receive, send: Send) -> None:
    """Answer one HTTP request to ``server``: a JSON-RPC request, notification or response in a POST."""
    headers = dict(scope["headers"])
    if scope["method"] != "POST":
        await respond(
            send,
            405,
            error_body(None, MCPError(INVALID_REQUEST, "this server takes JSON-RPC over POST only")),
            _ALLOW,
        )
        return
    if not server.guard.host_allowed(scope, _text(headers.get(b"host"))):
        await respond(
            send, 421, error_body(None, MCPError(INVALID_REQUEST, "the Host header does not name this server"))
        )
        return
    if not server.guard.origin_allowed(scope, _text(headers.get(b"origin"))):
        await respond(
            send, 403, error_body(None, MCPError(INVALID_REQUEST, "requests from this Origin are not allowed"))
        )
        return
    auth = await server.guard.identify(scope, _text(headers.get(b"authorization")))
    if auth is None or auth is False:
        await respond(
            send,
            401,
            error_body(None, MCPError(INVALID_REQUEST, "a valid bearer token is required")),
            [(b"content-type", b"application/json"), (b"www-authenticate", b'Bearer error="invalid_token"')],
        )
        return
    content_type = headers.get(b"content-type", b"")
    if not content_type.startswith(b"application/json"):
        await respond(send, 415, error_body(None, MCPError(INVALID_REQUEST, "the body must be application/json")))
        return
    try:
        body = await read_body(receive, server.max_body_size, headers.get(b"content-length"))
    except BodyTooLarge:
        message = f"the request body is larger than {server.max_body_size} bytes"
        await respond(send, 413, error_body(None, MCPError(INVALID_REQUEST, message)))
        return
    try:
        message = json_decode(body)
    except JSONDecodeError:
        await respond(send, 400, error_body(None, MCPError(PARSE_ERROR, "the body is not valid JSON")))
        return
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
        error = "batches are not supported" if isinstance(message, list) else "not a JSON-RPC 2.0 message"
        await respond(send, 400, error_body(None, MCPError(INVALID_REQUEST, error)))
        return
    method = message.get("method")
    if method is None and "id" in message and ("result" in message or "error" in message):
        server.client_requests.answered(message)
        await respond(send, 202, b"", [])
        return
    request_id = message.get("id")
    if not isinstance(method, str) or not (request_id is None or type(request_id) in (str, int)):
        await respond(
            send,
            400,
            error_body(
                request_id if type(request_id) in (str, int) else None,
                MCPError(INVALID_REQUEST, "invalid JSON-RPC request"),
            ),
        )
        return
    if "id" not in message:
        await respond(send, 202, b"", [])
        return
    accept = headers.get(b"accept", b"")
    exchange = Exchange(send, b"text/event-stream" in accept)
    call = Call(scope, receive, exchange, message, auth)
    try:
        classify(call, headers)
        handler = METHODS.get(method)
        if (
            handler is None
            or (call.modern and method in _LEGACY_ONLY)
            or (method == "server/discover" and not call.modern)
        ):
            raise MCPError(METHOD_NOT_FOUND, f"method not found: {method}")
        try:
            result = await handler(server, call)
        except InputRequired as request:
            result = input_required(server, call, request)
    except MCPError as error:
        observe(call, server.name, str(error.code))
        await exchange.finish(
            http_status(error.code) if call.modern or error.code == PARSE_ERROR else 200,
            error_body(request_id, error),
        )
        return
    observe(call, server.name, call.outcome)
    await exchange.finish(200, result_body(request_id, result))


def classify(call: Call, headers: dict[bytes, bytes]) -> None:
    """Settle the request's era and, at 2026-07-28, check its envelope and routing headers.

    Raises:
        MCPError: The envelope is incomplete, a routing header disagrees with the body, or the version is not one
            this server speaks.
    """
    meta = call.params.get("_meta")
    header_version = _text(headers.get(b"mcp-protocol-version"))
    # A request is of the 2026-07-28 era when its envelope, its version header or its method say so; the
    # handshake era has neither envelope nor a later version, and answers any request of an initialized client.
    enveloped = isinstance(meta, dict) and PROTOCOL_VERSION_KEY in meta
    if not enveloped and call.method != "server/discover" and header_version in (None, *HANDSHAKE_VERSIONS):
        call.version = header_version or LATEST_HANDSHAKE_VERSION
        return
    call.modern = True
    if not isinstance(meta, dict) or PROTOCOL_VERSION_KEY not in meta or CLIENT_CAPABILITIES_KEY not in meta:
        raise MCPError(
            INVALID_PARAMS, f"params._meta must carry {PROTOCOL_VERSION_KEY!r} and {CLIENT_CAPABILITIES_KEY!r}"
        )
    version = meta[PROTOCOL_VERSION_KEY]
    if header_version != version:
        raise MCPError(HEADER_MISMATCH, "the MCP-Protocol-Version header does not match params._meta")
    if _text(headers.get(b"mcp-method")) != call.method:
        raise MCPError(HEADER_MISMATCH, "the Mcp-Method header does not match the request's method")
    named = _NAMED.get(call.method)
    if (
        named is not None
        and call.params.get(named) is not None
        and _header_value(headers.get(b"mcp-name")) != call.params[named]
    ):
        raise MCPError(HEADER_MISMATCH, f"the Mcp-Name header does not match the request's {named!r}")
    if version not in MODERN_VERSIONS:
        raise MCPError(
            UNSUPPORTED_PROTOCOL_VERSION,
            "unsupported protocol version",
            {"supported": list(MODERN_VERSIONS), "requested": version},
        )
    capabilities = meta[CLIENT_CAPABILITIES_KEY]
    call.version = version
    call.capabilities = capabilities if isinstance(capabilities, dict) else {}
    info = meta.get(CLIENT_INFO_KEY)
    call.client_info = info if isinstance(info, dict) else None


def _text(value: bytes | None) -> str | None:
    # Whitespace around a header value is not part of it (RFC 9110, 5.5).
    return None if value is None else value.decode("latin-1").strip()


def _header_value(value: bytes | None) -> str | None:
    """An ``Mcp-Name`` value, decoding the ``=?base64?...?=`` form clients use for non-ASCII names."""
    if value is None:
        return None
    text = value.decode("latin-1").strip()
    if text.startswith("=?base64?") and text.endswith("?="):
        try:
            return base64.b64decode(text[9:-2]).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
    return text
