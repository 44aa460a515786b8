"""uvicorn's HTTP/1.1 protocols with a header timeout and a header size limit (see :mod:`flama.http.server`).

Imported only when a server starts: it needs uvicorn (the ``server`` extra). Each connection counts the bytes it
receives while a request's headers are incomplete, and arms a timer at its first byte; the request is refused (431 or
408, in Flama's JSON error shape) and the connection closed when either limit is passed.
"""

import asyncio
from typing import Any, ClassVar

import h11
from flama.http.exceptions import HTTPException, error_response
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol as _UvicornH11

__all__ = ["GuardedH11Protocol", "GuardedHttpToolsProtocol", "protocol_for"]

DEFAULT_HEADER_TIMEOUT = 10.0
DEFAULT_MAX_HEADER_SIZE = 16 * 1024
_REASONS = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}


def _refusal(status: int, detail: str) -> bytes:
    """A complete HTTP/1.1 error response that closes the connection, in the framework's error body."""
    response = error_response(HTTPException(status, detail))
    head = [b"HTTP/1.1 %d %s\r\n" % (status, _REASONS[status])]
    head += [name + b": " + value + b"\r\n" for name, value in response.raw_headers]
    return b"".join([*head, b"connection: close\r\n\r\n", response.body])


class _HeaderGuard(asyncio.Protocol):
    """What both guarded protocols add: the header timer and byte count around ``data_received``."""

    header_timeout: ClassVar[float] = DEFAULT_HEADER_TIMEOUT
    config: Config
    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop
    _header_timer: asyncio.TimerHandle | None = None
    _header_bytes = 0

    def _max_header_size(self) -> int:
        return self.config.h11_max_incomplete_event_size or DEFAULT_MAX_HEADER_SIZE

    def _headers_pending(self) -> bool:
        raise NotImplementedError

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        was_pending = self._headers_pending()
        super().data_received(data)
        if self.transport.is_closing():
            self._disarm()
        elif self._headers_pending():
            self._header_bytes = self._header_bytes + len(data) if was_pending else len(data)
            self._arm()
            limit = self._max_header_size()
            if self._header_bytes > limit:
                self._refuse(431, f"Request headers larger than {limit} bytes (max_header_size)")
        else:
            self._disarm()
            self._header_bytes = 0

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout, self._on_header_timeout)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _on_header_timeout(self) -> None:
        self._header_timer = None
        if self._headers_pending() and not self.transport.is_closing():
            self._refuse(408, f"Request headers not received within {self.header_timeout:g} seconds (header_timeout)")

    def _refuse(self, status: int, detail: str) -> None:
        self._disarm()
        self.transport.write(_refusal(status, detail))
        self.transport.close()


class GuardedH11Protocol(_HeaderGuard, _UvicornH11):
    """uvicorn's h11 protocol with the header guard."""

    def _headers_pending(self) -> bool:
        return bool(self.conn.their_state is h11.IDLE)


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _UvicornHttpTools
except ImportError:  # httptools is optional: uvicorn then serves with h11
    _UvicornHttpTools = None  # type: ignore[assignment,misc]

if _UvicornHttpTools is not None:

    class GuardedHttpToolsProtocol(_HeaderGuard, _UvicornHttpTools):
        """uvicorn's httptools protocol with the header guard."""

        _pending = True

        def _headers_pending(self) -> bool:
            return self._pending

        def on_message_begin(self) -> None:
            """A request starts: its headers are pending."""
            self._pending = True
            super().on_message_begin()

        def on_headers_complete(self) -> None:
            """The request's headers are complete."""
            self._pending = False
            super().on_headers_complete()


def protocol_for(header_timeout: float) -> Any:
    """The guarded protocol for uvicorn's ``http`` option: httptools when installed, else h11.

    An import string for the default timeout (it survives pickling into worker processes); otherwise a subclass
    carrying ``header_timeout``.
    """
    base: type[asyncio.Protocol] = GuardedH11Protocol if _UvicornHttpTools is None else GuardedHttpToolsProtocol
    if header_timeout == DEFAULT_HEADER_TIMEOUT:
        return f"{__name__}:{base.__name__}"
    return type(base.__name__, (base,), {"header_timeout": header_timeout})
