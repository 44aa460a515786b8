"""Files from disk as responses: validators, conditional requests and byte ranges (RFC 9110 §13 and §14)."""

import email.utils
import mimetypes
import os
import secrets
import stat
from collections.abc import Mapping
from typing import ClassVar, Literal
from urllib.parse import quote

import anyio
import anyio.to_thread
from flama.http.background import Background
from flama.http.responses import Response, _content_type
from flama.http.types import RawHeaders, Receive, Scope, Send

__all__ = ["FileResponse"]


class _RangeNotSatisfiable(Exception):
    pass


# Offsets longer than this are past the end of any file: they are not converted (a 5000-digit ``int()`` raises).
_MAX_OFFSET_DIGITS = 18
_BEYOND_ANY_FILE = 10**_MAX_OFFSET_DIGITS


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _offset(digits: str) -> int:
    return int(digits) if len(digits) <= _MAX_OFFSET_DIGITS else _BEYOND_ANY_FILE


def _parse_ranges(header: str, size: int, max_ranges: int) -> list[tuple[int, int]] | None:
    """The inclusive byte ranges a ``Range`` header asks for, sorted and merged.

    ``None`` (serve the whole file) for a unit other than bytes and for more than ``max_ranges`` ranges, as RFC 9110
    §14.2 allows for the many small ranges of a denial-of-service attempt.

    Raises:
        _RangeNotSatisfiable: The header is malformed, or none of its ranges overlaps the file.
    """
    unit, _, specs = header.partition("=")
    if unit.strip().lower() != "bytes":
        return None
    # Split no further than needed to know there are too many: the rest of a long header is never looked at.
    pieces = specs.split(",", max_ranges)
    if len(pieces) > max_ranges:
        return None
    ranges: list[tuple[int, int]] = []
    for spec in pieces:
        first, dash, last = (part.strip() for part in spec.strip().partition("-"))
        if not dash:
            if first:
                raise _RangeNotSatisfiable
            continue
        if not first:
            if not _digits(last):
                raise _RangeNotSatisfiable
            suffix = _offset(last)
            if suffix > 0 and size > 0:
                ranges.append((max(size - suffix, 0), size - 1))
            continue
        if not _digits(first) or (last and not _digits(last)):
            raise _RangeNotSatisfiable
        start, end = _offset(first), _offset(last) if last else size - 1
        if start > end and last:
            raise _RangeNotSatisfiable
        if start < size:
            ranges.append((start, min(end, size - 1)))
    if not ranges:
        raise _RangeNotSatisfiable
    ranges.sort()
    merged = [ranges[0]]
    for start, end in ranges[1:]:
        previous_start, previous_end = merged[-1]
        if start <= previous_end + 1:
            merged[-1] = (previous_start, max(previous_end, end))
        else:
            merged.append((start, end))
    return merged


def _http_date(value: str) -> int | None:
    try:
        return int(email.utils.parsedate_to_datetime(value).timestamp())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _strip_weak(tag: str) -> str:
    return tag[2:] if tag.startswith("W/") else tag


class FileResponse(Response):
    """A file from disk, with validators, conditional requests and byte ranges.

    The file is stat'ed once per request. The response carries ``ETag`` (from modification time and size),
    ``Last-Modified`` and ``Accept-Ranges: bytes``, and answers:

    - ``If-None-Match`` (or, without it, ``If-Modified-Since``) that still matches: ``304 Not Modified``;
    - ``Range``: one range is a ``206`` with ``Content-Range``; several are merged when they overlap or touch and sent
      as ``multipart/byteranges``; a malformed or unsatisfiable header is a ``416`` with
      ``Content-Range: bytes */size``; a unit other than ``bytes``, or more than :attr:`max_ranges` ranges, is
      ignored (the whole file is sent); offsets too large for any file count as past its end;
    - ``If-Range`` that no longer matches: the whole file instead of the ranges;
    - ``HEAD``: the same headers and no body.

    When the server offers the ``http.response.pathsend`` extension and the whole file goes out, the server sends it
    itself. A path that does not exist or is not a regular file raises ``FileNotFoundError`` when the response is sent.

    Args:
        path: The file.
        status_code: The HTTP status; conditional requests and ranges apply only to 200.
        headers: Extra headers.
        media_type: The ``Content-Type``; guessed from the file name when omitted.
        background: Work to run once the response is sent.
        filename: Adds ``Content-Disposition`` with this name (RFC 6266, ``filename*`` for non-ASCII names).
        stat_result: A ready ``os.stat`` result, to skip the stat call.
        content_disposition_type: ``attachment`` (download) or ``inline``.
    """

    chunk_size: ClassVar[int] = 64 * 1024
    #: The most ranges one ``Range`` header may ask for before it is ignored (set it on a subclass to change it).
    max_ranges: ClassVar[int] = 16

    __slots__ = ("file_media_type", "path", "stat_result")

    def __init__(
        self,
        path: str | os.PathLike[str],
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: Background | None = None,
        filename: str | None = None,
        stat_result: os.stat_result | None = None,
        content_disposition_type: Literal["attachment", "inline"] = "attachment",
    ) -> None:
        self.status_code = status_code
        self.background = background
        self.body = b""
        self.path = os.path.abspath(path)
        self.stat_result = stat_result
        self.file_media_type = (
            media_type or mimetypes.guess_type(filename or self.path)[0] or "application/octet-stream"
        )
        self.raw_headers = self._build_headers(headers, self.file_media_type, None)
        self.raw_headers.append((b"accept-ranges", b"bytes"))
        if filename is not None:
            if filename.isascii():
                escaped = filename.replace("\\", "\\\\").replace('"', '\\"')
                disposition = f'{content_disposition_type}; filename="{escaped}"'
            else:
                disposition = f"{content_disposition_type}; filename*=utf-8''{quote(filename, safe='')}"
            self.raw_headers.append((b"content-disposition", disposition.encode("latin-1")))
        self._headers = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Stat the file and send it, or the part of it the request's conditional and range headers ask for."""
        info = self.stat_result
        if info is None:
            info = await anyio.to_thread.run_sync(os.stat, self.path)
        if not stat.S_ISREG(info.st_mode):
            raise FileNotFoundError(f"{self.path!r} is not a regular file")
        size = info.st_size
        etag = f'"{info.st_mtime_ns:x}-{size:x}"'
        validators = [
            (b"etag", etag.encode("latin-1")),
            (b"last-modified", email.utils.formatdate(info.st_mtime, usegmt=True).encode("latin-1")),
        ]
        method = scope.get("method", "GET")
        send_body = method != "HEAD"
        ranges = None
        if self.status_code == 200 and method in ("GET", "HEAD"):
            request: dict[bytes, str] = {}
            for name, value in scope["headers"]:
                if name in (b"range", b"if-range", b"if-none-match", b"if-modified-since"):
                    request.setdefault(name, value.decode("latin-1"))
            if self._not_modified(request, etag, int(info.st_mtime)):
                kept = [pair for pair in self.raw_headers if pair[0] != b"content-type"]
                await self._send_empty(send, 304, [*kept, *validators])
                return
            if b"range" in request and self._if_range_holds(request.get(b"if-range"), etag, int(info.st_mtime)):
                try:
                    ranges = _parse_ranges(request[b"range"], size, self.max_ranges)
                except _RangeNotSatisfiable:
                    headers = [*self.raw_headers, (b"content-range", f"bytes */{size}".encode("latin-1"))]
                    await self._send_empty(send, 416, [pair for pair in headers if pair[0] != b"content-type"])
                    return
        headers = [*self.raw_headers, *validators]
        if ranges is None:
            headers.append((b"content-length", str(size).encode("latin-1")))
            await send({"type": "http.response.start", "status": self.status_code, "headers": headers})
            if not send_body:
                await send({"type": "http.response.body", "body": b""})
            elif "http.response.pathsend" in scope.get("extensions", {}):
                await send({"type": "http.response.pathsend", "path": self.path})
            else:
                await self._send_parts(send, [(b"", 0, size)], b"")
        elif len(ranges) == 1:
            start, end = ranges[0]
            headers.append((b"content-length", str(end - start + 1).encode("latin-1")))
            headers.append((b"content-range", f"bytes {start}-{end}/{size}".encode("latin-1")))
            await send({"type": "http.response.start", "status": 206, "headers": headers})
            if send_body:
                await self._send_parts(send, [(b"", start, end + 1)], b"")
            else:
                await send({"type": "http.response.body", "body": b""})
        else:
            boundary = secrets.token_hex(16)
            media_type = _content_type(self.file_media_type, self.charset).decode("latin-1")
            parts = [
                (
                    f"--{boundary}\r\nContent-Type: {media_type}\r\n"
                    f"Content-Range: bytes {start}-{end}/{size}\r\n\r\n".encode("latin-1"),
                    start,
                    end + 1,
                )
                for start, end in ranges
            ]
            # Every part's data is followed by CRLF: the line break before the next delimiter belongs to it.
            closing = f"--{boundary}--\r\n".encode("latin-1")
            length = sum(len(head) + stop - start + 2 for head, start, stop in parts) + len(closing)
            headers = [pair for pair in headers if pair[0] != b"content-type"]
            headers.append((b"content-type", f"multipart/byteranges; boundary={boundary}".encode("latin-1")))
            headers.append((b"content-length", str(length).encode("latin-1")))
            await send({"type": "http.response.start", "status": 206, "headers": headers})
            if send_body:
                await self._send_parts(send, parts, closing)
            else:
                await send({"type": "http.response.body", "body": b""})
        if self.background is not None:
            await self.background()

    @staticmethod
    def _not_modified(request: dict[bytes, str], etag: str, modified: int) -> bool:
        if_none_match = request.get(b"if-none-match")
        if if_none_match is not None:
            tags = {_strip_weak(tag.strip()) for tag in if_none_match.split(",")}
            return "*" in tags or etag in tags
        if_modified_since = request.get(b"if-modified-since")
        if if_modified_since is not None:
            since = _http_date(if_modified_since)
            return since is not None and modified <= since
        return False

    @staticmethod
    def _if_range_holds(if_range: str | None, etag: str, modified: int) -> bool:
        if if_range is None:
            return True
        if_range = if_range.strip()
        if if_range.startswith(('"', "W/")):
            return if_range == etag
        return _http_date(if_range) == modified

    async def _send_empty(self, send: Send, status: int, headers: RawHeaders) -> None:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    async def _send_parts(self, send: Send, parts: list[tuple[bytes, int, int]], closing: bytes) -> None:
        """Send each ``(head, start, stop)`` part: its head, then the file's bytes in ``[start, stop)``."""
        multipart = bool(closing)
        async with await anyio.open_file(self.path, "rb") as file:
            for head, start, stop in parts:
                if head:
                    await send({"type": "http.response.body", "body": head, "more_body": True})
                await file.seek(start)
                remaining = stop - start
                while remaining > 0:
                    chunk = await file.read(min(self.chunk_size, remaining))
                    if not chunk:
                        raise RuntimeError(f"{self.path!r} shrank while it was being sent")
                    remaining -= len(chunk)
                    more = multipart or remaining > 0
                    await send({"type": "http.response.body", "body": chunk, "more_body": more})
                if multipart:
                    await send({"type": "http.response.body", "body": b"\r\n", "more_body": True})
        if multipart:
            await send({"type": "http.response.body", "body": closing, "more_body": False})
        elif parts[0][1] == parts[0][2]:
            await send({"type": "http.response.body", "body": b""})
