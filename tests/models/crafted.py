"""Hand-built `.flm` files for the attack tests: bombs, stripped checksums, odd metadata (generated, not committed)."""

import json
import os
import resource
import struct
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from backports import zstd
from flama.core import Compressor

FILE_HEADER = struct.Struct("!IIQ")
BODY_HEADER = struct.Struct("!QQQ")
ZSTD = 0x04
INHERIT = 0x00

FLAMA2_META: dict[str, Any] = {
    "id": "x",
    "timestamp": "2026-01-02T03:04:05",  # naive, as Flama 2.x writes it
    "framework": {"family": "ml", "lib": "sklearn", "version": None, "config": None},
    "model": {"obj": None, "info": None, "params": None, "metrics": None},
    "extra": None,
}


def compress(chunks: Iterable[bytes]) -> bytes:
    """One zstd frame of the concatenated chunks, compressed as they come (a bomb never sits in memory)."""
    encoder = Compressor("zstd")
    return b"".join(encoder.compress(chunk) for chunk in chunks) + encoder.finish()


def repeat(chunk: bytes, times: int) -> Iterator[bytes]:
    """``chunk`` ``times`` times, lazily."""
    for _ in range(times):
        yield chunk


def container(
    meta: bytes | dict[str, Any],
    *,
    model: bytes,
    artifacts: Iterable[tuple[str, bytes]] = (),
    kind: int = 0,
    meta_codec: int = INHERIT,
    compressed_meta: bytes | None = None,
) -> bytes:
    """A protocol 2, zstd `.flm` file from raw metadata (compressed here, unless given compressed) and already
    compressed sections."""
    items = list(artifacts)
    document = meta if isinstance(meta, bytes) else json.dumps(meta).encode()
    meta_section = bytes([meta_codec]) + (compress([document]) if compressed_meta is None else compressed_meta)
    entries = b"".join(
        struct.pack("!IQ", len(name.encode()), len(content)) + name.encode() + content for name, content in items
    )
    artifacts_section = bytes([INHERIT]) + struct.pack("!I", len(items)) + entries
    model_section = bytes([INHERIT, kind]) + model
    body = BODY_HEADER.pack(len(meta_section), len(artifacts_section), len(model_section))
    body += meta_section + artifacts_section + model_section
    return FILE_HEADER.pack(2, 4, len(body)) + body


def rewrite_meta(data: bytes, change: Callable[[dict[str, Any]], None]) -> bytes:
    """The same protocol 2 zstd file with its metadata document changed by ``change``."""
    meta_size = BODY_HEADER.unpack(data[16:40])[0]
    section = data[40 : 40 + meta_size]
    document = json.loads(zstd.decompress(section[1:]))
    change(document)
    new = section[:1] + compress([json.dumps(document).encode()])
    body = BODY_HEADER.pack(len(new), *BODY_HEADER.unpack(data[16:40])[1:]) + new + data[40 + meta_size :]
    return FILE_HEADER.pack(*FILE_HEADER.unpack(data[:16])[:2], len(body)) + body


def reset_peak_rss() -> int:
    """Reset the kernel's record of this process's peak RSS; the current RSS in bytes."""
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")
    return _status("VmRSS")


def peak_rss() -> int:
    """The peak RSS in bytes since the last `reset_peak_rss`."""
    return _status("VmHWM")


def _status(key: str) -> int:
    with open(f"/proc/{os.getpid()}/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # pragma: no cover - Linux has both
