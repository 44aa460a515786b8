"""Response compression negotiated from ``Accept-Encoding``, whole bodies at once and streams chunk by chunk."""

from collections.abc import Mapping, Sequence

from flama.core import Compressor, compress, negotiate_encoding, supported_encodings
from flama.http.datastructures import MutableHeaders
from flama.http.types import ASGIApp, Message, Receive, Scope, Send
from flama.middleware.base import ConfigurationError

__all__ = ["CompressionMiddleware"]

_ACCEPT_ENCODING = b"accept-encoding"
# No body (204, 304), or a partial one whose Content-Range counts uncompressed bytes (206).
_LEFT_ALONE = frozenset({204, 206, 304})
# Formats that are compressed already: compressing them again costs time and saves nothing.
DEFAULT_EXCLUDED_TYPES = (
    "image/*",
    "audio/*",
    "video/*",
    "font/woff",
    "font/woff2",
    "application/zip",
    "application/gzip",
    "application/zstd",
    "application/x-bzip2",
    "application/x-xz",
    "application/x-7z-compressed",
    "application/pdf",
    "application/octet-stream",
)


class CompressionMiddleware:
    """Compress responses with the best encoding the client accepts.

    The encoding is negotiated from ``Accept-Encoding`` by q-value; on a tie the earlier entry of ``encodings`` wins.
    ``identity`` is honoured (and ``identity;q=0`` with nothing else acceptable leaves the body as it is). A response
    is left alone when it already has a ``Content-Encoding``, when its type is excluded, when it answers ``HEAD``, has
    status 204 or 304, is partial (206, or any response with ``Content-Range``: its offsets count the bytes of the
    uncompressed representation), or when its body is smaller than ``minimum_size``.

    A body sent in one message is compressed at once and its ``Content-Length`` updated. A streamed body
    (``more_body``) is compressed chunk by chunk, each chunk flushed, so Server-Sent Events and NDJSON reach the
    client as they are produced; its ``Content-Length`` is dropped. Every response that could be compressed gets
    ``Vary: Accept-Encoding``, and a strong ``ETag`` of a compressed one becomes weak.

    Args:
        app: The ASGI application to wrap.
        encodings: The encodings offered, in the server's order of preference (any of
            :func:`flama.core.supported_encodings`).
        minimum_size: Bodies smaller than this many bytes are sent as they are.
        levels: A compression level per encoding (e.g. ``{"gzip": 6, "br": 4}``); others use the codec's default.
        excluded_types: Media types never compressed, exactly (``"application/pdf"``) or by top-level type
            (``"image/*"``).

    Raises:
        ConfigurationError: For an unknown encoding, a level for an encoding not offered, or a negative minimum size.
    """

    __slots__ = ("_encodings", "_excluded", "_excluded_top", "app", "levels", "minimum_size")

    def __init__(
        self,
        app: ASGIApp,
        *,
        encodings: Sequence[str] = ("br", "zstd", "gzip", "deflate"),
        minimum_size: int = 500,
        levels: Mapping[str, int] | None = None,
        excluded_types: Sequence[str] = DEFAULT_EXCLUDED_TYPES,
    ) -> None:
        supported = supported_encodings()
        unknown = [encoding for encoding in encodings if encoding not in supported]
        if unknown:
            raise ConfigurationError(f"Unsupported encodings {unknown}; supported: {list(supported)}")
        stray = sorted(set(levels or ()) - set(encodings))
        if stray:
            raise ConfigurationError(f"Levels given for encodings not offered: {stray}")
        if minimum_size < 0:
            raise ConfigurationError(f"minimum_size must be 0 or more, got {minimum_size}")
        self.app = app
        self.minimum_size = minimum_size
        self._encodings = tuple(encodings)
        self.levels = dict(levels or {})
        types = [media_type.lower() for media_type in excluded_types]
        self._excluded = frozenset(media_type for media_type in types if not media_type.endswith("/*"))
        self._excluded_top = frozenset(media_type[:-1] for media_type in types if media_type.endswith("/*"))

    def is_excluded(self, content_type: str | None) -> bool:
        """Whether a response of this ``Content-Type`` is never compressed."""
        if content_type is None:
            return False
        media_type = content_type.partition(";")[0].strip().lower()
        return media_type in self._excluded or media_type[: media_type.find("/") + 1] in self._excluded_top

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if scope["type"] != "http" or scope["method"] == "HEAD":
            await self.app(scope, receive, send)
            return
        accept = b""
        for name, value in scope["headers"]:
            if name == _ACCEPT_ENCODING:
                accept = value
                break
        encoding = negotiate_encoding(accept.decode("latin-1"), self._encodings)
        if encoding == "identity":
            encoding = None
        responder = _Responder(self, send, encoding)
        await self.app(scope, receive, responder.send)


class _Responder:
    """The send side of one response: holds the start message until the first body chunk shows what to do."""

    __slots__ = ("_compressor", "_encoding", "_middleware", "_send", "_start", "_state")

    def __init__(self, middleware: CompressionMiddleware, send: Send, encoding: str | None) -> None:
        self._middleware = middleware
        self._send = send
        self._encoding = encoding
        self._start: Message | None = None
        self._compressor: Compressor | None = None
        # "start": waiting for the start message; "first": start held until the first body chunk;
        # "stream": compressing a stream; "pass": sending everything as it comes.
        self._state = "start"

    async def send(self, message: Message) -> None:
        state = self._state
        if state == "pass":
            await self._send(message)
        elif state == "stream":
            await self._stream(message)
        elif state == "start":
            await self._on_start(message)
        elif message["type"] == "http.response.body":
            await self._on_first_body(message)
        else:
            # A body sent another way (an extension such as ``http.response.pathsend``) goes out as it is.
            assert self._start is not None
            self._state = "pass"
            await self._send(self._start)
            await self._send(message)

    async def _on_start(self, message: Message) -> None:
        if message["type"] != "http.response.start":
            raise RuntimeError(f"Expected 'http.response.start', got {message['type']!r}")
        headers = MutableHeaders(raw=message["headers"])
        message["headers"] = headers.raw
        if not (
            message["status"] in _LEFT_ALONE
            or "content-encoding" in headers
            or "content-range" in headers
            or self._middleware.is_excluded(headers.get("content-type"))
        ):
            headers.add_vary_header("Accept-Encoding")
            message["headers"] = headers.raw
            length = headers.get("content-length")
            too_small = length is not None and length.isdigit() and int(length) < self._middleware.minimum_size
            if self._encoding is not None and not too_small:
                self._start = message
                self._state = "first"
                return
        self._state = "pass"
        await self._send(message)

    async def _on_first_body(self, message: Message) -> None:
        assert self._start is not None
        assert self._encoding is not None
        start, encoding = self._start, self._encoding
        body: bytes = message.get("body", b"")
        headers = MutableHeaders(raw=start["headers"])
        level = self._middleware.levels.get(encoding)
        if not message.get("more_body", False):
            if len(body) < self._middleware.minimum_size:
                self._state = "pass"
                await self._send(start)
                await self._send(message)
                return
            body = compress(body, encoding, level=level)
            self._set_encoding(headers, encoding)
            headers["content-length"] = str(len(body))
            start["headers"] = headers.raw
            await self._send(start)
            await self._send({"type": "http.response.body", "body": body})
            return
        self._set_encoding(headers, encoding)
        if "content-length" in headers:
            del headers["content-length"]
        start["headers"] = headers.raw
        self._compressor = Compressor(encoding, level=level)
        self._state = "stream"
        await self._send(start)
        await self._stream(message)

    @staticmethod
    def _set_encoding(headers: MutableHeaders, encoding: str) -> None:
        headers["content-encoding"] = encoding
        etag = headers.get("etag")
        if etag is not None and etag.startswith('"'):
            headers["etag"] = f"W/{etag}"

    async def _stream(self, message: Message) -> None:
        assert self._compressor is not None
        if message["type"] != "http.response.body":
            await self._send(message)
            return
        more = message.get("more_body", False)
        chunk = self._compressor.compress(message.get("body", b""))
        if not more:
            chunk += self._compressor.finish()
        await self._send({"type": "http.response.body", "body": chunk, "more_body": more})
