"""A bare HTTP/1.1 client over an asyncio socket, for the streaming benchmarks.

On a two-core machine a streaming client shares the cores with the server and the model it measures: httpx's
``AsyncClient`` spends about 0.2 ms of CPU per received chunk, a sixth of a token of the demo model. This client does
no work per chunk beyond a substring search until the first text delta arrives; the response is parsed once, at the
end (``Connection: close``, so the body ends with the connection).
"""

import asyncio
import json
import time
from typing import Any

__all__ = ["body", "read", "request"]


def request(
    host: str, method: str, path: str, payload: dict[str, Any] | None = None, accept: str | None = None
) -> bytes:
    """The bytes of one request that closes its connection after the response."""
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
    if accept is not None:
        head += f"Accept: {accept}\r\n"
    if payload is None:
        return (head + "\r\n").encode()
    data = json.dumps(payload).encode()
    head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
    return head.encode() + data


async def read(
    host: str, port: int, raw_request: bytes, marker: bytes, started: float, *, drop: bool = False
) -> tuple[float, bytes]:
    """(seconds from ``started`` to the first chunk holding ``marker``, 0 if none did; the whole raw response).

    ``drop`` closes the connection as soon as ``marker`` arrives. A marker split across two reads is found in the
    second one.
    """
    reader, writer = await asyncio.open_connection(host, port)
    first = 0.0
    chunks: list[bytes] = []
    try:
        writer.write(raw_request)
        while chunk := await reader.read(65536):
            chunks.append(chunk)
            if not first and marker in (chunks[-2][-len(marker) :] + chunk if len(chunks) > 1 else chunk):
                first = time.perf_counter() - started
                if drop:
                    break
    finally:
        writer.close()
    return first, b"".join(chunks)


def body(raw: bytes) -> tuple[int, bytes]:
    """The status code and the body of a raw response, its chunked transfer coding removed."""
    head, _, rest = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1]) if lines[0].startswith(b"HTTP/") else 0
    chunked = any(line.lower().replace(b" ", b"") == b"transfer-encoding:chunked" for line in lines[1:])
    if not chunked:
        return status, rest
    parts = []
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        parts.append(rest[:size])
        rest = rest[size + 2 :]
    return status, b"".join(parts)
