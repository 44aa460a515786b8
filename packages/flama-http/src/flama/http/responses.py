"""The response family: plain bytes, text, JSON, redirects, streams and NDJSON (files are in ``flama.http.files``).

A response builds its raw header list once, as the bytes the server sends, and then is an ASGI application: calling
it with ``(scope, receive, send)`` sends it.
"""

import sys
from collections.abc import AsyncIterable, Callable, Coroutine, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar, Literal, TypeAlias
from urllib.parse import quote

import anyio
import anyio.to_thread
from flama.core import build_set_cookie, json_encode
from flama.http.background import Background
from flama.http.datastructures import URL, MutableHeaders
from flama.http.types import Message, RawHeaders, Receive, Scope, Send

if sys.version_info < (3, 11):  # pragma: no cover
    # Installed with anyio on Python 3.10 only, so the type checker (run on a newer Python) cannot find it.
    from exceptiongroup import BaseExceptionGroup  # type: ignore[import-not-found]

__all__ = [
    "HTMLResponse",
    "JSONResponse",
    "NDJSONResponse",
    "PlainTextResponse",
    "RedirectResponse",
    "Response",
    "StreamingResponse",
]

Content: TypeAlias = AsyncIterable[Any] | Iterable[Any]

# Statuses whose responses never carry a body, hence no Content-Length either (RFC 9110 §8.6).
_BODYLESS = frozenset({204, 304})
# Reserved and unreserved characters of RFC 3986 plus "%": a Location is quoted without re-quoting what it already is.
_URL_SAFE = ":/?#[]@!$&'()*+,;=%~"
_CONTENT_TYPES: dict[tuple[str, str], bytes] = {}
_CONTENT_TYPES_MAX = 256
_END = object()


def _content_type(media_type: str, charset: str) -> bytes:
    key = (media_type, charset)
    value = _CONTENT_TYPES.get(key)
    if value is None:
        text = media_type
        if media_type.startswith("text/") and "charset=" not in media_type.lower():
            text = f"{media_type}; charset={charset}"
        value = text.encode("latin-1")
        # The cache stays bounded: media types built per request are encoded every time instead.
        if len(_CONTENT_TYPES) < _CONTENT_TYPES_MAX:
            _CONTENT_TYPES[key] = value
    return value


class Response:
    """A complete response whose body is known up front.

    Args:
        content: The body: ``bytes``, ``str`` (encoded with :attr:`charset`) or ``None`` for an empty body;
            subclasses render other values (see :class:`JSONResponse`).
        status_code: The HTTP status.
        headers: Extra headers. A ``Content-Length`` or ``Content-Type`` given here is kept as it is.
        media_type: The ``Content-Type``; text types get ``; charset=utf-8`` unless they name a charset.
        background: Work to run once the response is sent.
    """

    media_type: ClassVar[str | None] = None
    charset: ClassVar[str] = "utf-8"

    __slots__ = ("_headers", "background", "body", "raw_headers", "status_code")

    def __init__(
        self,
        content: Any = None,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: Background | None = None,
    ) -> None:
        self.status_code = status_code
        self.background = background
        self.body = body = self.render(content)
        self.raw_headers = self._build_headers(headers, media_type or self.media_type, len(body))
        self._headers: MutableHeaders | None = None

    def render(self, content: Any) -> bytes:
        """Turn the content into the body's bytes."""
        if content is None:
            return b""
        if isinstance(content, bytes):
            return content
        if isinstance(content, str):
            return content.encode(self.charset)
        if isinstance(content, (bytearray, memoryview)):
            return bytes(content)
        raise TypeError(f"{type(self).__name__} cannot render {type(content).__name__!r} content")

    def _build_headers(
        self, headers: Mapping[str, str] | None, media_type: str | None, length: int | None
    ) -> RawHeaders:
        raw: RawHeaders = []
        has_length = has_type = False
        if headers:
            for key, value in headers.items():
                name = key.lower().encode("latin-1")
                has_length = has_length or name == b"content-length"
                has_type = has_type or name == b"content-type"
                raw.append((name, value.encode("latin-1")))
        if length is not None and not has_length and self.status_code >= 200 and self.status_code not in _BODYLESS:
            raw.append((b"content-length", str(length).encode("latin-1")))
        if media_type is not None and not has_type:
            raw.append((b"content-type", _content_type(media_type, self.charset)))
        return raw

    @property
    def headers(self) -> MutableHeaders:
        """A mutable view of the raw header list: changes are sent."""
        if self._headers is None:
            self._headers = MutableHeaders(raw=self.raw_headers)
        return self._headers

    def set_cookie(
        self,
        key: str,
        value: str = "",
        max_age: int | None = None,
        expires: datetime | str | int | None = None,
        path: str | None = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: Literal["lax", "strict", "none"] | None = "lax",
        partitioned: bool = False,
    ) -> None:
        """Add a ``Set-Cookie`` header; the attributes are validated by ``flama.core.build_set_cookie``.

        Args:
            key: The cookie's name (an RFC 6265 token).
            value: Its value.
            max_age: Lifetime in seconds.
            expires: Expiry: a datetime (naive means UTC), a Unix timestamp or a ready HTTP date.
            path: The path the cookie applies to.
            domain: The domain the cookie applies to.
            secure: Send only over HTTPS.
            httponly: Hide from JavaScript.
            samesite: The ``SameSite`` attribute; ``"none"`` requires ``secure``.
            partitioned: The ``Partitioned`` attribute (CHIPS); requires ``secure``.

        Raises:
            ValueError: An attribute would make an invalid or unsafe header.
        """
        cookie = build_set_cookie(
            key,
            value,
            max_age=max_age,
            expires=expires,
            path=path,
            domain=domain,
            secure=secure,
            httponly=httponly,
            samesite=samesite,
            partitioned=partitioned,
        )
        self.raw_headers.append((b"set-cookie", cookie.encode("latin-1")))

    def delete_cookie(
        self,
        key: str,
        path: str | None = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: Literal["lax", "strict", "none"] | None = "lax",
    ) -> None:
        """Tell the client to drop a cookie: an empty value that expired at the epoch.

        Args:
            key: The cookie's name.
            path: The path it was set for.
            domain: The domain it was set for.
            secure: Whether it was set ``Secure``.
            httponly: Whether it was set ``HttpOnly``.
            samesite: Its ``SameSite`` attribute.
        """
        self.set_cookie(
            key, max_age=0, expires=0, path=path, domain=domain, secure=secure, httponly=httponly, samesite=samesite
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the response, then run its background work."""
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.body})
        if self.background is not None:
            await self.background()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status_code={self.status_code})"


class HTMLResponse(Response):
    """A ``text/html`` response."""

    media_type = "text/html"
    __slots__ = ()


class PlainTextResponse(Response):
    """A ``text/plain`` response."""

    media_type = "text/plain"
    __slots__ = ()


class JSONResponse(Response):
    """A JSON response, encoded by ``flama.core``'s encoder (dataclasses, datetimes, UUIDs, numpy, ...).

    Args:
        content: Any value the encoder accepts.
        status_code: The HTTP status.
        headers: Extra headers.
        media_type: Overrides ``application/json``.
        background: Work to run once the response is sent.
    """

    media_type = "application/json"
    __slots__ = ()

    def render(self, content: Any) -> bytes:
        """Encode the content as compact UTF-8 JSON."""
        return json_encode(content)


class RedirectResponse(Response):
    """A redirect: an empty body and a ``Location`` header.

    Args:
        url: Where to; characters not allowed in a URL are percent-encoded, existing escapes are kept.
        status_code: 307 (method and body kept) by default; 301, 302, 303 and 308 work too.
        headers: Extra headers.
        background: Work to run once the response is sent.
    """

    __slots__ = ()

    def __init__(
        self,
        url: str | URL,
        status_code: int = 307,
        headers: Mapping[str, str] | None = None,
        background: Background | None = None,
    ) -> None:
        super().__init__(None, status_code, headers, None, background)
        self.raw_headers.append((b"location", quote(str(url), safe=_URL_SAFE).encode("latin-1")))


class StreamingResponse(Response):
    """A response whose body is produced piece by piece, each piece sent as its own message at once.

    Async iterables are iterated on the event loop; sync iterables in a worker thread, one item per hop, so a blocking
    generator never stalls the loop. When the client disconnects the iteration stops and the iterator is closed
    (``aclose()``/``close()``), so a generator's ``finally`` blocks run.

    Args:
        content: The pieces: ``bytes`` or ``str`` (subclasses encode other items).
        status_code: The HTTP status.
        headers: Extra headers (no ``Content-Length`` is added: the body is sent chunked).
        media_type: The ``Content-Type``.
        background: Work to run once the response is over.
    """

    __slots__ = ("content",)

    def __init__(
        self,
        content: Content,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: Background | None = None,
    ) -> None:
        self.status_code = status_code
        self.background = background
        self.body = b""
        self.content = content
        self.raw_headers = self._build_headers(headers, media_type or self.media_type, None)
        self._headers = None

    def encode(self, item: Any) -> bytes:
        """Turn one produced item into the bytes of one message."""
        if isinstance(item, bytes):
            return item
        if isinstance(item, str):
            return item.encode(self.charset)
        if isinstance(item, (bytearray, memoryview)):
            return bytes(item)
        raise TypeError(f"{type(self).__name__} cannot send {type(item).__name__!r} items")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Stream the content until it ends or the client disconnects, then run the background work.

        The body's end goes out as soon as the content ends, before the disconnect watcher and the companions are
        stopped (cancelling them takes the event loop a turn or two more); a companion's message after it is dropped.
        """
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        ended = False

        async def companion_send(message: Message) -> None:
            if not ended:
                await send(message)

        error: BaseException | None = None
        try:
            # One task group for the disconnect watcher and the companions: each group costs a task and a cancel.
            async with anyio.create_task_group() as group:
                group.start_soon(_cancel_on_disconnect, receive, group.cancel_scope)
                for companion in self.companions(companion_send):
                    group.start_soon(companion)
                await self.stream(send)
                ended = True
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                group.cancel_scope.cancel()
        except BaseExceptionGroup as group_error:
            error = _sole_error(group_error)
        if error is not None:
            # Raised outside the handler so its own cause and context are kept: the producer's error is what the
            # caller expects to catch, not the task groups wrapped around it.
            raise error
        if self.background is not None:
            await self.background()

    def companions(self, send: Send) -> Sequence[Callable[[], Coroutine[Any, Any, None]]]:
        """Work that runs beside the stream and is cancelled when it ends (none here; heartbeats in SSE)."""
        return ()

    async def stream(self, send: Send) -> None:
        """Send every item of the content as its own body message."""
        content = self.content
        if isinstance(content, AsyncIterable):
            iterator = aiter(content)
            try:
                async for item in iterator:
                    await send({"type": "http.response.body", "body": self.encode(item), "more_body": True})
            finally:
                aclose = getattr(iterator, "aclose", None)
                if aclose is not None:
                    # Shielded: the producer's cleanup must run even though this task is being cancelled.
                    with anyio.CancelScope(shield=True):
                        await aclose()
        else:
            sync_iterator = iter(content)
            try:
                while (item := await anyio.to_thread.run_sync(next, sync_iterator, _END)) is not _END:
                    await send({"type": "http.response.body", "body": self.encode(item), "more_body": True})
            finally:
                close = getattr(sync_iterator, "close", None)
                if close is not None:
                    close()


def _sole_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    error: BaseException = group
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    return error


async def _cancel_on_disconnect(receive: Receive, scope: anyio.CancelScope) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            scope.cancel()
            return


class NDJSONResponse(StreamingResponse):
    """Newline-delimited JSON: each produced value is encoded on its own line and sent at once.

    Args:
        content: A sync or async iterable of values the JSON encoder accepts.
        status_code: The HTTP status.
        headers: Extra headers.
        media_type: Overrides ``application/x-ndjson``.
        background: Work to run once the response is over.
    """

    media_type = "application/x-ndjson"
    __slots__ = ()

    def encode(self, item: Any) -> bytes:
        """Encode one value as one line."""
        return json_encode(item) + b"\n"
