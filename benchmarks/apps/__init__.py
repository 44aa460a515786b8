"""One small application module per HTTP benchmark subject, each serving the same endpoints with its own API.

Every module defines three ASGI apps:

- ``app``: ``GET /hello`` (a small JSON object), ``GET /items`` (the ``ITEMS`` list as JSON), ``GET /sse``
  (``EVENTS`` server-sent events, each one ``event(i)`` as JSON), ``GET /ndjson`` (``EVENTS`` lines of ``event(i)``)
  and ``POST /upload`` (reads a multipart form, answers the file's size and the fields as JSON);
- ``routed``: ``ROUTES`` routes ``/resource{i}/{id:int}``, each answering ``{"id": id}``;
- ``compressed``: ``GET /items`` behind the subject's gzip middleware at level 9.

The data lives here, so every subject serves the same bytes. Only the standard library is used.
"""

from typing import Any

ROUTES = 200
EVENTS = 1000

ITEMS = [
    {"id": i, "name": f"item-{i}", "price": i * 1.5, "active": i % 2 == 0, "tags": ["a", "b"]} for i in range(10_000)
]

BOUNDARY = "----flamabenchboundary7MA4YWxkTrZu0gW"
UPLOAD_TYPE = f"multipart/form-data; boundary={BOUNDARY}"
UPLOAD_SIZE = 1024 * 1024


def event(index: int) -> dict[str, Any]:
    """The payload of one streamed event or line."""
    return {"index": index, "delta": "token", "done": False}


def upload_body() -> bytes:
    """A multipart body: three text fields, then a 1 MiB file."""
    fields = b"".join(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="field{i}"\r\n\r\nvalue {i}\r\n'.encode()
        for i in range(3)
    )
    return (
        fields
        + f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="data.bin"\r\n'.encode()
        + b"Content-Type: application/octet-stream\r\n\r\n"
        + bytes(range(256)) * (UPLOAD_SIZE // 256)
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
