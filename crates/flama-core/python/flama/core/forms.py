"""Form bodies read from an ASGI ``receive`` callable: urlencoded fields, multipart fields and uploaded files.

Parsing happens in Rust (:func:`flama.core.parse_urlencoded` and :class:`flama.core.MultipartParser`); this module
drives it message by message, enforces the size limits while the body streams in, and spools uploaded files to
temporary files. On any error, including cancellation or a client that disconnects, every file opened so far is
closed (and so deleted) before the error propagates.
"""

import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import IO, Any

from flama.core._native import MultipartParser, PartStart, parse_boundary, parse_urlencoded
from flama.core.exceptions import ClientDisconnected, MalformedBody, PayloadTooLarge

__all__ = ["FormData", "FormLimits", "UploadedFile", "parse_form"]

Receive = Callable[[], Awaitable[Mapping[str, Any]]]

_MIB = 1024 * 1024


@dataclass(frozen=True)
class FormLimits:
    """The limits enforced while a form body is read; ``None`` means unlimited.

    The defaults keep one request's memory bounded: at most ``max_total_size`` bytes are read, a urlencoded body
    (which is parsed whole) is at most that, and each uploaded file holds at most ``spool_max_size`` bytes in memory
    before it moves to disk.

    Attributes:
        max_fields: Most non-file fields.
        max_files: Most uploaded files.
        max_field_size: Most bytes in one field's value, and in one urlencoded field's name.
        max_file_size: Most bytes in one uploaded file.
        max_total_size: Most bytes in the whole body, as received (16 MiB).
        max_part_header_size: Most bytes in one multipart part's header block.
        spool_max_size: Bytes of an uploaded file kept in memory before it moves to a temporary file on disk.
    """

    max_fields: int = 1000
    max_files: int = 100
    max_field_size: int = _MIB
    max_file_size: int | None = None
    max_total_size: int | None = 16 * _MIB
    max_part_header_size: int = 16 * 1024
    spool_max_size: int = 256 * 1024


class UploadedFile:
    """A file uploaded in a multipart body, spooled to memory and then to disk as it grows.

    Attributes:
        filename: The name the client gave (``filename*`` when present), possibly empty.
        content_type: The part's ``Content-Type``, if any.
        headers: Every header of the part, names lowercased.
        size: The number of bytes received.
        file: The spooled temporary file holding the data, positioned at its start once parsing ends.
    """

    __slots__ = ("content_type", "file", "filename", "headers", "size")

    def __init__(
        self,
        filename: str,
        content_type: str | None,
        headers: list[tuple[str, str]],
        file: IO[bytes],
        size: int = 0,
    ) -> None:
        self.filename = filename
        self.content_type = content_type
        self.headers = headers
        self.file = file
        self.size = size

    def read(self, size: int = -1) -> bytes:
        """Read up to ``size`` bytes (all that remain when negative)."""
        return self.file.read(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        """Move to ``offset`` relative to ``whence`` (0: start, 1: current position, 2: end)."""
        return self.file.seek(offset, whence)

    def close(self) -> None:
        """Close the file; a file that reached the disk is deleted."""
        self.file.close()

    def __repr__(self) -> str:
        return f"UploadedFile(filename={self.filename!r}, content_type={self.content_type!r}, size={self.size})"


class FormData(Mapping[str, "str | UploadedFile"]):
    """The fields and files of a form, in body order; indexing gives the first value of a name.

    Use it as a context manager, or call :meth:`close`, to release the uploaded files.
    """

    __slots__ = ("_first", "_items")

    def __init__(self, items: list[tuple[str, "str | UploadedFile"]] | None = None) -> None:
        self._items = items if items is not None else []
        self._first: dict[str, str | UploadedFile] = {}
        for key, value in self._items:
            self._first.setdefault(key, value)

    def __getitem__(self, key: str) -> "str | UploadedFile":
        return self._first[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._first)

    def __len__(self) -> int:
        return len(self._first)

    def getlist(self, key: str) -> list["str | UploadedFile"]:
        """Every value of ``key``, in body order (empty when absent)."""
        return [value for name, value in self._items if name == key]

    def multi_items(self) -> list[tuple[str, "str | UploadedFile"]]:
        """Every ``(name, value)`` pair, in body order, repeated names included."""
        return list(self._items)

    def close(self) -> None:
        """Close every uploaded file."""
        for _, value in self._items:
            if isinstance(value, UploadedFile):
                value.close()

    def __enter__(self) -> "FormData":
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"FormData({self._items!r})"


async def parse_form(receive: Receive, content_type: str, *, limits: FormLimits = FormLimits()) -> FormData:
    """Read a form body from ASGI ``http.request`` messages.

    Args:
        receive: The ASGI ``receive`` callable of the request.
        content_type: The request's ``Content-Type`` header: ``application/x-www-form-urlencoded`` or
            ``multipart/form-data; boundary=...``.
        limits: The limits to enforce while reading.

    Returns:
        The fields and files, in body order.

    Raises:
        MalformedBody: The body does not follow its content type, or the content type is not a form's.
        MissingBoundary: A multipart content type without a valid boundary.
        PayloadTooLarge: A limit was exceeded; ``limit`` names the :class:`FormLimits` field.
        ClientDisconnected: The client went away before the body ended.
    """
    media_type = content_type.partition(";")[0].strip().lower()
    if media_type == "application/x-www-form-urlencoded":
        return await _read_urlencoded(receive, limits)
    if media_type == "multipart/form-data":
        return await _read_multipart(receive, parse_boundary(content_type), limits)
    raise MalformedBody(f"malformed body: unsupported content type {media_type!r}")


def _too_large(limit: str, maximum: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"payload too large: {limit} exceeds {maximum}", limit, maximum)


def _disconnected() -> ClientDisconnected:
    return ClientDisconnected("client disconnected before the body was complete")


async def _bodies(receive: Receive, max_total: int | None) -> AsyncIterator[bytes]:
    """The body of each ``http.request`` message until the last one, enforcing ``max_total_size``."""
    total = 0
    more_body = True
    while more_body:
        message = await receive()
        if message["type"] != "http.request":
            if message["type"] == "http.disconnect":
                raise _disconnected()
            continue
        body: bytes = message.get("body", b"")
        more_body = message.get("more_body", False)
        total += len(body)
        if max_total is not None and total > max_total:
            raise _too_large("max_total_size", max_total)
        yield body


async def _read_urlencoded(receive: Receive, limits: FormLimits) -> FormData:
    chunks = [body async for body in _bodies(receive, limits.max_total_size)]
    pairs = parse_urlencoded(b"".join(chunks), max_fields=limits.max_fields)
    max_field = limits.max_field_size
    for name, value in pairs:
        # A character is at most 4 UTF-8 bytes: only encode the texts that could be too long.
        for text in (name, value):
            if len(text) > max_field or (len(text) * 4 > max_field and len(text.encode()) > max_field):
                raise _too_large("max_field_size", max_field)
    return FormData(list(pairs))


async def _read_multipart(receive: Receive, boundary: bytes, limits: FormLimits) -> FormData:
    max_fields, max_files, max_field = limits.max_fields, limits.max_files, limits.max_field_size
    max_file, max_total, spool = limits.max_file_size, limits.max_total_size, limits.spool_max_size
    # No max_parts here: the counts below name the precise limit (fields or files), and a chunk's events are
    # bounded by the chunk's own size.
    parser = MultipartParser(boundary, max_header_size=limits.max_part_header_size)
    items: list[tuple[str, str | UploadedFile]] = []
    files: list[UploadedFile] = []
    fields = 0
    name = ""
    upload: UploadedFile | None = None
    value: list[bytes] = []
    pending: list[bytes] = []
    pending_size = 0
    size = 0
    try:
        async for body in _bodies(receive, max_total):
            try:
                events = parser.feed(body)
            except PayloadTooLarge as exc:
                # The parser names its own argument; callers of parse_form know the FormLimits field.
                raise _too_large("max_part_header_size", exc.maximum) from None
            for event in events:
                if type(event) is bytes:
                    size += len(event)
                    if upload is not None:
                        if max_file is not None and size > max_file:
                            raise _too_large("max_file_size", max_file)
                        # Runs are gathered and written at once: an in-memory file grown by many writes
                        # reallocates, copying its whole buffer each time. At most `spool` bytes wait here.
                        pending.append(event)
                        pending_size += len(event)
                        if pending_size > spool:
                            upload.file.write(b"".join(pending))
                            pending, pending_size = [], 0
                    else:
                        if size > max_field:
                            raise _too_large("max_field_size", max_field)
                        value.append(event)
                elif type(event) is PartStart:
                    name = event.name
                    size = 0
                    if event.filename is None:
                        fields += 1
                        if fields > max_fields:
                            raise _too_large("max_fields", max_fields)
                        value = []
                    else:
                        if len(files) >= max_files:
                            raise _too_large("max_files", max_files)
                        upload = UploadedFile(
                            event.filename,
                            event.content_type,
                            event.headers,
                            tempfile.SpooledTemporaryFile(max_size=spool),  # noqa: SIM115 (closed by FormData.close)
                        )
                        files.append(upload)
                elif upload is not None:
                    if pending:
                        upload.file.write(pending[0] if len(pending) == 1 else b"".join(pending))
                        pending, pending_size = [], 0
                    upload.size = size
                    upload.file.seek(0)
                    items.append((name, upload))
                    upload = None
                else:
                    items.append((name, b"".join(value).decode(errors="replace")))
        parser.finish()
    except BaseException:
        for file in files:
            file.close()
        raise
    return FormData(items)
