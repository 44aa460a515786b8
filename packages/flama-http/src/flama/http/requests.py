"""Incoming connections: the common :class:`HTTPConnection`, HTTP :class:`Request` and :class:`WebSocket`."""

import dataclasses
import enum
import functools
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any, Literal

import anyio
import anyio.to_thread
from flama.core import (
    ClientDisconnected,
    JSONDecodeError,
    MalformedBody,
    MissingBoundary,
    PayloadTooLarge,
    json_decode,
    json_encode,
    parse_cookies,
)
from flama.core.forms import FormData, FormLimits, parse_form
from flama.http.datastructures import URL, Address, Headers, QueryParams, State
from flama.http.exceptions import (
    HTTPException,
    StreamConsumed,
    WebSocketDisconnect,
    WebSocketException,
    WebSocketStateError,
)
from flama.http.types import Message, Receive, Scope, Send

__all__ = [
    "DEFAULT_JSON_OFFLOAD_SIZE",
    "DEFAULT_MAX_BODY_SIZE",
    "MIN_JSON_OFFLOAD_SIZE",
    "HTTPConnection",
    "Request",
    "WebSocket",
    "WebSocketState",
]

#: The largest request body :meth:`Request.body`, :meth:`Request.json` and :meth:`Request.form` read, unless the
#: application (``Flama(max_body_size=...)``) or the route (``Route(..., max_body_size=...)``) says otherwise.
DEFAULT_MAX_BODY_SIZE = 16 * 1024 * 1024
#: :meth:`Request.json` decodes a body larger than this many bytes in a worker thread rather than on the event loop,
#: unless the application (``Flama(json_offload_size=...)``) says otherwise; smaller bodies take the direct path.
DEFAULT_JSON_OFFLOAD_SIZE = 256 * 1024
#: The smallest ``json_offload_size``: a body up to this size decodes faster than a hop to a worker thread takes.
MIN_JSON_OFFLOAD_SIZE = 16 * 1024

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_UNREAD: Any = object()
_DEFAULT_FORM_LIMITS = FormLimits()


async def _no_receive() -> Message:
    raise RuntimeError("this connection was built without a receive channel")


async def _no_send(message: Message) -> None:
    raise RuntimeError("this connection was built without a send channel")


class HTTPConnection(Mapping[str, Any]):
    """What HTTP requests and WebSockets have in common: the scope, read lazily.

    Each property is computed on first use and kept, so a request that never looks at its cookies never parses them.
    The connection is also a read-only mapping over the scope itself.

    Args:
        scope: The ASGI scope.
        receive: The ASGI receive channel.
        send: The ASGI send channel.
    """

    __slots__ = ("_base_url", "_cookies", "_headers", "_query_params", "_receive", "_send", "_state", "_url", "scope")

    def __init__(self, scope: Scope, receive: Receive = _no_receive, send: Send = _no_send) -> None:
        self.scope = scope
        self._receive = receive
        self._send = send
        self._headers: Headers | None = None
        self._query_params: QueryParams | None = None
        self._cookies: dict[str, str] | None = None
        self._url: URL | None = None
        self._base_url: URL | None = None
        self._state: State | None = None

    def __getitem__(self, key: str) -> Any:
        return self.scope[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.scope)

    def __len__(self) -> int:
        return len(self.scope)

    # Connections compare by identity, as the scope dict they wrap does not define who they are.
    __eq__ = object.__eq__
    __hash__ = object.__hash__

    @property
    def app(self) -> Any:
        """The application serving this connection (``scope["app"]``), or ``None``."""
        return self.scope.get("app")

    @property
    def url(self) -> URL:
        """The full URL the client asked for."""
        if self._url is None:
            self._url = URL(scope=self.scope)
        return self._url

    @property
    def base_url(self) -> URL:
        """The URL of the application's root (scheme, host and root path), ending with ``/``."""
        if self._base_url is None:
            root_path = self.scope.get("root_path", "")
            base_scope = {**self.scope, "path": "/", "root_path": "", "query_string": b""}
            url = URL(scope=base_scope)
            self._base_url = url.replace(path=root_path.rstrip("/") + "/")
        return self._base_url

    def url_for(self, name: str, /, **params: Any) -> URL:
        """The absolute URL of the route called ``name``, built from the serving application's router.

        Args:
            name: The route name (``mount:route`` inside mounts).
            params: The path parameters.

        Raises:
            RuntimeError: The connection is not being served by a Flama application.
        """
        router = self.scope.get("flama.router")
        if router is None:
            raise RuntimeError("url_for() needs a connection served by a Flama application")
        base: str = self.scope.get("flama.root_path", "")
        return self.base_url.replace(path=base + router.url_path_for(name, **params))

    @property
    def headers(self) -> Headers:
        """The request headers."""
        if self._headers is None:
            self._headers = Headers(scope=self.scope)
        return self._headers

    @property
    def query_params(self) -> QueryParams:
        """The query string's parameters."""
        if self._query_params is None:
            self._query_params = QueryParams(self.scope.get("query_string", b""))
        return self._query_params

    @property
    def path_params(self) -> dict[str, Any]:
        """The parameters the router matched in the path, already converted."""
        params: dict[str, Any] = self.scope.get("path_params", {})
        return params

    @property
    def cookies(self) -> dict[str, str]:
        """The cookies the client sent (when a name repeats, the first one wins)."""
        if self._cookies is None:
            values = self.headers.getlist("cookie")
            self._cookies = parse_cookies("; ".join(values)) if values else {}
        return self._cookies

    @property
    def client(self) -> Address | None:
        """The client's address, when the server knows it."""
        client = self.scope.get("client")
        return None if client is None else Address(*client)

    @property
    def state(self) -> State:
        """Per-connection state, stored in ``scope["state"]`` so middleware and endpoints share it."""
        if self._state is None:
            self._state = State(self.scope.setdefault("state", {}))
        return self._state


class Request(HTTPConnection):
    """An HTTP request.

    The body can be consumed once as a stream (:meth:`stream`), or read whole (:meth:`body`, :meth:`json`,
    :meth:`form`), in which case it is kept and every later read is served from memory.

    Args:
        scope: The ASGI scope, of type ``http``.
        receive: The ASGI receive channel.
        send: The ASGI send channel.
    """

    __slots__ = ("_body", "_disconnected", "_form", "_json", "_pending", "_stream_consumed")

    def __init__(self, scope: Scope, receive: Receive = _no_receive, send: Send = _no_send) -> None:
        super().__init__(scope, receive, send)
        self._body: bytes | None = None
        self._json: Any = _UNREAD
        self._form: FormData | None = None
        self._stream_consumed = False
        self._disconnected = False
        self._pending: list[Message] = []

    @property
    def method(self) -> str:
        """The request method, upper-case."""
        method: str = self.scope["method"]
        return method

    @property
    def receive(self) -> Receive:
        """A receive channel for whoever reads the body next: it replays the body when it was already read."""
        if self._body is None:
            return self._next_message
        body = self._body
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await self._receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        return replay

    async def _next_message(self) -> Message:
        if self._pending:
            return self._pending.pop(0)
        return await self._receive()

    async def stream(self) -> AsyncIterator[bytes]:
        """The body, chunk by chunk as it arrives (or at once, when it was already read).

        Raises:
            StreamConsumed: The body was already streamed and not kept.
            ClientDisconnected: The client went away before the whole body arrived.
        """
        if self._body is not None:
            if self._body:
                yield self._body
            return
        if self._stream_consumed:
            raise StreamConsumed("the request body was already streamed")
        self._stream_consumed = True
        while True:
            message = await self._next_message()
            if message["type"] == "http.disconnect":
                self._disconnected = True
                raise ClientDisconnected("the client disconnected before the whole body arrived")
            chunk = message.get("body", b"")
            if chunk:
                yield chunk
            if not message.get("more_body", False):
                return

    @property
    def max_body_size(self) -> int | None:
        """The most bytes :meth:`body`, :meth:`json` and :meth:`form` read; ``None`` for no limit.

        The route's limit, else the application's, else :data:`DEFAULT_MAX_BODY_SIZE`.
        """
        limit: int | None = self.scope.get("flama.max_body_size", DEFAULT_MAX_BODY_SIZE)
        return limit

    @property
    def json_offload_size(self) -> int | None:
        """The body size above which :meth:`json` decodes in a worker thread; ``None`` to always decode inline.

        The application's setting (``Flama(json_offload_size=...)``), else :data:`DEFAULT_JSON_OFFLOAD_SIZE`.
        """
        # Read from the application rather than copied into every scope: only JSON requests pay for it.
        threshold: int | None = getattr(self.scope.get("app"), "json_offload_size", DEFAULT_JSON_OFFLOAD_SIZE)
        return threshold

    def _too_large(self, limit: int) -> HTTPException:
        return HTTPException(413, f"Request body larger than {limit} bytes (max_body_size)")

    async def body(self) -> bytes:
        """The whole body, read once and kept.

        Raises:
            HTTPException: 413 once the body passes :attr:`max_body_size`; a ``Content-Length`` above it is refused
                before anything is read, and a longer body is refused as soon as the limit is passed, so that no more
                than the limit is ever held.
            ClientDisconnected: The client went away before the whole body arrived.
        """
        if self._body is None:
            limit = self.max_body_size
            if limit is not None:
                length = self.headers.get("content-length", "")
                if length.isascii() and length.isdigit() and int(length) > limit:
                    raise self._too_large(limit)
            chunks: list[bytes] = []
            size = 0
            async for chunk in self.stream():
                size += len(chunk)
                if limit is not None and size > limit:
                    raise self._too_large(limit)
                chunks.append(chunk)
            self._body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        return self._body

    async def json(self) -> Any:
        """The body decoded as JSON by ``flama.core``.

        A body larger than :attr:`json_offload_size` is decoded in a worker thread (``anyio.to_thread``), letting the
        event loop take the interpreter lock every few milliseconds (``json_decode(..., yield_gil=True)``) rather than
        holding it for the whole decode; a smaller one is decoded directly, without the thread hop.

        Raises:
            HTTPException: 400 when the body is not valid JSON; the detail says where it breaks.
        """
        if self._json is _UNREAD:
            body = await self.body()
            size = len(body)
            try:
                # Small bodies stop at the first comparison: the setting is only looked up for larger ones.
                if (
                    size > MIN_JSON_OFFLOAD_SIZE
                    and (threshold := self.json_offload_size) is not None
                    and size > threshold
                ):
                    decode = functools.partial(json_decode, body, yield_gil=True)
                    self._json = await anyio.to_thread.run_sync(decode)
                else:
                    self._json = json_decode(body)
            except JSONDecodeError as exc:
                raise HTTPException(400, f"Malformed JSON body: {exc}") from exc
        return self._json

    async def form(self, *, limits: FormLimits | None = None) -> FormData:
        """The body parsed as a urlencoded or multipart form by ``flama.core``, streamed as it arrives.

        Uploaded files are spooled to temporary files, which :meth:`close` closes and deletes.

        Args:
            limits: Field, file and size limits; when omitted, ``flama.core.forms.FormLimits()`` with
                ``max_total_size`` set to :attr:`max_body_size`.

        Raises:
            HTTPException: 415 for another content type, 400 for a malformed body, 413 when a limit is exceeded.
            ClientDisconnected: The client went away before the whole body arrived.
        """
        if self._form is None:
            content_type = self.headers.get("content-type", "")
            media_type = content_type.partition(";")[0].strip().lower()
            if media_type not in _FORM_TYPES:
                raise HTTPException(415, f"Expected a form ({' or '.join(_FORM_TYPES)}), got {media_type!r}")
            if self._body is None and self._stream_consumed:
                raise StreamConsumed("the request body was already streamed")
            receive = self.receive
            self._stream_consumed = True
            if limits is None:
                limits = dataclasses.replace(_DEFAULT_FORM_LIMITS, max_total_size=self.max_body_size)
            try:
                self._form = await parse_form(receive, content_type, limits=limits)
            except PayloadTooLarge as exc:
                raise HTTPException(413, str(exc)) from exc
            except (MalformedBody, MissingBoundary) as exc:
                raise HTTPException(400, str(exc)) from exc
        return self._form

    async def close(self) -> None:
        """Release what the request holds: the parsed form's uploaded files."""
        if self._form is not None:
            self._form.close()

    async def is_disconnected(self) -> bool:
        """Whether the client has gone away, checked without waiting.

        A body message received while checking is kept for the next read.
        """
        if not self._disconnected:
            message: Message | None = None
            with anyio.CancelScope() as scope:
                # Cancelled before it starts: the receive returns only a message the server already has.
                scope.cancel()
                message = await self._receive()
            if message is not None:
                if message["type"] == "http.disconnect":
                    self._disconnected = True
                else:
                    self._pending.append(message)
        return self._disconnected


class WebSocketState(enum.Enum):
    """Where one side of a WebSocket stands."""

    CONNECTING = 0
    CONNECTED = 1
    DISCONNECTED = 2


class WebSocket(HTTPConnection):
    """A WebSocket connection.

    The ASGI message sequence is enforced for both sides: a misuse (sending before :meth:`accept`, receiving after
    closing) raises :class:`~flama.http.exceptions.WebSocketStateError`. When the peer closes, the ``receive_*``
    methods raise :class:`~flama.http.exceptions.WebSocketDisconnect` and the ``iter_*`` methods stop.

    Args:
        scope: The ASGI scope, of type ``websocket``.
        receive: The ASGI receive channel.
        send: The ASGI send channel.
    """

    __slots__ = ("application_state", "client_state")

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        super().__init__(scope, receive, send)
        self.client_state = WebSocketState.CONNECTING
        self.application_state = WebSocketState.CONNECTING

    async def receive(self) -> Message:
        """Receive the next raw ASGI message from the client."""
        if self.client_state is WebSocketState.DISCONNECTED:
            raise WebSocketStateError("cannot receive: the WebSocket is disconnected")
        message = await self._receive()
        kind = message["type"]
        if self.client_state is WebSocketState.CONNECTING:
            if kind != "websocket.connect":
                raise WebSocketStateError(f"expected 'websocket.connect', received {kind!r}")
            self.client_state = WebSocketState.CONNECTED
        elif kind == "websocket.disconnect":
            self.client_state = WebSocketState.DISCONNECTED
            self.application_state = WebSocketState.DISCONNECTED
        elif kind != "websocket.receive":
            raise WebSocketStateError(f"expected 'websocket.receive' or 'websocket.disconnect', received {kind!r}")
        return message

    async def send(self, message: Message) -> None:
        """Send a raw ASGI message to the client."""
        kind = message["type"]
        state = self.application_state
        if state is WebSocketState.CONNECTING:
            if kind not in ("websocket.accept", "websocket.close"):
                raise WebSocketStateError(f"cannot send {kind!r} before the WebSocket is accepted")
            self.application_state = (
                WebSocketState.CONNECTED if kind == "websocket.accept" else WebSocketState.DISCONNECTED
            )
        elif state is WebSocketState.CONNECTED:
            if kind not in ("websocket.send", "websocket.close"):
                raise WebSocketStateError(f"cannot send {kind!r} on an accepted WebSocket")
            if kind == "websocket.close":
                self.application_state = WebSocketState.DISCONNECTED
        else:
            raise WebSocketStateError(f"cannot send {kind!r}: the WebSocket is closed")
        await self._send(message)

    async def accept(self, subprotocol: str | None = None, headers: Mapping[str, str] | None = None) -> None:
        """Accept the connection, after receiving the client's handshake if it was not received yet.

        Args:
            subprotocol: The subprotocol chosen among those the client offered.
            headers: Extra handshake response headers.
        """
        if self.client_state is WebSocketState.CONNECTING:
            await self.receive()
        raw = [(key.lower().encode("latin-1"), value.encode("latin-1")) for key, value in (headers or {}).items()]
        await self.send({"type": "websocket.accept", "subprotocol": subprotocol, "headers": raw})

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        """Close the connection with a close code and an optional reason."""
        await self.send({"type": "websocket.close", "code": code, "reason": reason or ""})

    async def _receive_data(self) -> Message:
        if self.application_state is not WebSocketState.CONNECTED:
            raise WebSocketStateError('the WebSocket is not accepted: call "accept()" first')
        message = await self.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1005), message.get("reason"))
        return message

    async def receive_text(self) -> str:
        """Receive a text message.

        Raises:
            WebSocketDisconnect: The peer closed the connection.
            WebSocketException: 1003 when the peer sent a binary message instead.
        """
        message = await self._receive_data()
        text = message.get("text")
        if text is None:
            raise WebSocketException(1003, "expected a text message")
        return str(text)

    async def receive_bytes(self) -> bytes:
        """Receive a binary message.

        Raises:
            WebSocketDisconnect: The peer closed the connection.
            WebSocketException: 1003 when the peer sent a text message instead.
        """
        message = await self._receive_data()
        data = message.get("bytes")
        if data is None:
            raise WebSocketException(1003, "expected a binary message")
        return bytes(data)

    async def receive_json(self, mode: Literal["text", "binary"] = "text") -> Any:
        """Receive a JSON document sent as a text (or, with ``mode="binary"``, a binary) message.

        Raises:
            WebSocketDisconnect: The peer closed the connection.
            WebSocketException: 1003 for the wrong message kind, 1007 when the message is not valid JSON.
        """
        data: str | bytes = await self.receive_text() if mode == "text" else await self.receive_bytes()
        try:
            return json_decode(data)
        except JSONDecodeError as exc:
            raise WebSocketException(1007, "malformed JSON message") from exc

    async def send_text(self, data: str) -> None:
        """Send a text message."""
        await self.send({"type": "websocket.send", "text": data})

    async def send_bytes(self, data: bytes) -> None:
        """Send a binary message."""
        await self.send({"type": "websocket.send", "bytes": data})

    async def send_json(self, data: Any, mode: Literal["text", "binary"] = "text") -> None:
        """Send a value encoded as JSON by ``flama.core``, as a text (or, with ``mode="binary"``, binary) message."""
        encoded = json_encode(data)
        if mode == "text":
            await self.send({"type": "websocket.send", "text": encoded.decode("utf-8")})
        else:
            await self.send({"type": "websocket.send", "bytes": encoded})

    async def iter_text(self) -> AsyncIterator[str]:
        """Text messages until the peer closes."""
        try:
            while True:
                yield await self.receive_text()
        except WebSocketDisconnect:
            return

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        """Binary messages until the peer closes."""
        try:
            while True:
                yield await self.receive_bytes()
        except WebSocketDisconnect:
            return

    async def iter_json(self, mode: Literal["text", "binary"] = "text") -> AsyncIterator[Any]:
        """JSON documents until the peer closes."""
        try:
            while True:
                yield await self.receive_json(mode)
        except WebSocketDisconnect:
            return
