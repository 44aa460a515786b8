"""The binary layout of a `.flm` file, protocols 1 and 2 (byte-compatible with Flama 2.x).

Writing spools each section's compressed bytes to a temporary file first, so every size is known before the first
header byte is written: the output is written front to back and may be a pipe. Reading goes front to back too,
decompressing each section at most 1 MiB at a time and counting it against the `Limits` of the read.
"""

import json
import os
import pathlib
import shutil
import stat
import struct
import tempfile
from collections.abc import Iterator, Mapping
from typing import IO, BinaryIO, Final, Literal

from flama.models.checksums import Digest
from flama.models.codecs import (
    FILE_CODEC_IDS,
    SECTION_INHERIT,
    Decoder,
    DecoderError,
    codec_from_file_id,
    codec_from_section_id,
    decode_error,
    encoder,
    section_id,
)
from flama.models.exceptions import (
    ChecksumMismatch,
    CorruptedFile,
    LimitExceeded,
    ModelFileError,
    TruncatedFile,
    UnknownProtocol,
    UnsafeArtifactPath,
)
from flama.models.limits import DEFAULT_LIMITS, Budget, Limits
from flama.models.metadata import Metadata

__all__ = [
    "PROTOCOLS",
    "Container",
    "ModelKind",
    "Spool",
    "artifact_name",
    "check_component",
    "write_container",
]

PROTOCOLS: Final = (1, 2)
ModelKind = Literal["binary", "bundle"]
_KINDS: Final[dict[int, ModelKind]] = {0x00: "binary", 0x01: "bundle"}
_FILE_HEADER: Final = struct.Struct("!IIQ")
_V1_BODY: Final = struct.Struct("!QQIQ")
_V2_BODY: Final = struct.Struct("!QQQ")
_V2_ARTIFACTS: Final = struct.Struct("!BI")
_V2_MODEL: Final = struct.Struct("!BB")
_ENTRY: Final = struct.Struct("!IQ")
_CHUNK: Final = 1 << 20
_MAX_NAME: Final = 4096
_MAX_COMPONENT: Final = 255  # bytes in one file name, on every file system we extract to


def artifact_name(name: str) -> str:
    """Check that an artifact name is one plain file name (no folders, no traversal) and return it.

    Raises:
        UnsafeArtifactPath: When it is not.
    """
    if not name or name in (".", "..") or "\x00" in name:
        raise UnsafeArtifactPath(name, "an artifact name must be a plain file name")
    if name != pathlib.PurePosixPath(name).name or name != pathlib.PureWindowsPath(name).name:
        raise UnsafeArtifactPath(name, "an artifact name must be a plain file name, without folders or a drive")
    check_component(name)
    return name


def check_component(name: str) -> None:
    """Refuse a file name longer than file systems take (255 bytes), which would fail only when it is created.

    Raises:
        UnsafeArtifactPath: When it is.
    """
    if len(name.encode(errors="surrogateescape")) > _MAX_COMPONENT:
        raise UnsafeArtifactPath(name, f"a file name is at most {_MAX_COMPONENT} bytes long")


def _regular_fd(stream: BinaryIO) -> int | None:
    """The descriptor of a stream on a regular file, when the kernel can copy into it, else None."""
    if not hasattr(os, "copy_file_range"):  # pragma: no cover - Linux has it
        return None
    try:
        descriptor = stream.fileno()
        regular = stat.S_ISREG(os.fstat(descriptor).st_mode) and stream.seekable()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is an OSError and a ValueError
        return None
    return descriptor if regular else None


class Spool:
    """A writable sink that compresses what it is given into a temporary file and hashes the raw bytes.

    Small writes (tar headers, short files) are gathered into chunks of about 1 MiB first, so the codec flushes once
    per chunk rather than once per write.

    Args:
        codec: Codec of the section.
        level: Compression level (the codec's default when None).
    """

    __slots__ = ("_buffer", "_encoder", "_hash", "file", "raw_size", "size")

    def __init__(self, codec: str, *, level: int | None = None) -> None:
        self._encoder = encoder(codec, level=level)
        self._hash = Digest()
        self._buffer = bytearray()
        self.file: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - owned by the spool, closed in `close`
        self.size = 0
        self.raw_size = 0

    def write(self, data: bytes, /) -> int:
        """Compress and store a chunk of raw bytes."""
        if not self._buffer and len(data) >= _CHUNK:
            self._store(bytes(data))
        else:
            self._buffer += data
            if len(self._buffer) >= _CHUNK:
                self._flush()
        return len(data)

    def _flush(self) -> None:
        if self._buffer:
            self._store(bytes(self._buffer))
            self._buffer.clear()

    def _store(self, data: bytes) -> None:
        self.raw_size += len(data)
        self._hash.update(data)
        self.file.write(self._encoder.compress(data))

    def write_file(self, path: pathlib.Path) -> None:
        """Compress and store the content of a file."""
        with path.open("rb") as source:
            while chunk := source.read(_CHUNK):
                self.write(chunk)

    def finish(self) -> str:
        """End the compressed stream and rewind; returns the SHA-256 hex digest of the raw bytes."""
        self._flush()
        self.file.write(self._encoder.finish())
        self.size = self.file.tell()
        self.file.seek(0)
        return self._hash.hexdigest()

    def copy_to(self, sink: BinaryIO) -> None:
        """Write the compressed bytes to ``sink`` (inside the kernel when ``sink`` is a regular file)."""
        target = _regular_fd(sink)
        if target is None:
            shutil.copyfileobj(self.file, sink, _CHUNK)
            return
        sink.flush()
        source, left = self.file.fileno(), self.size
        while left:
            copied = os.copy_file_range(source, target, left)
            if not copied:
                raise OSError(f"the spooled section ended {left} bytes early")
            left -= copied
        sink.seek(os.lseek(target, 0, os.SEEK_CUR))  # the stream's own idea of its position follows the copy

    def close(self) -> None:
        """Remove the temporary file."""
        self.file.close()


def write_container(
    sink: BinaryIO,
    *,
    protocol: int,
    codec: str,
    meta: Metadata,
    artifacts: list[tuple[str, Spool]],
    model: Spool,
    kind: ModelKind,
) -> int:
    """Write a whole `.flm` file to ``sink``, front to back; returns the number of bytes written.

    Raises:
        UnknownProtocol: For a protocol other than 1 or 2.
        ModelFileError: When protocol 1 is asked for something it cannot hold (a bundle, no compression).
    """
    if protocol not in PROTOCOLS:
        raise UnknownProtocol(protocol)
    if protocol == 1 and (kind == "bundle" or codec == "none"):
        raise ModelFileError("Protocol 1 holds only compressed single-file payloads; use protocol=2")
    document = json.dumps(meta.to_dict(), separators=(",", ":")).encode()
    meta_encoder = encoder(codec)
    meta_bytes = meta_encoder.compress(document) + meta_encoder.finish()
    entries = [(name.encode(), spool) for name, spool in artifacts]
    entries_size = sum(_ENTRY.size + len(name) + spool.size for name, spool in entries)
    file_id = FILE_CODEC_IDS.get(codec, FILE_CODEC_IDS["zstd"])  # "none" lives in the section bytes only
    if protocol == 1:
        body = [_V1_BODY.pack(len(meta_bytes), model.size, len(entries), entries_size), meta_bytes]
    else:
        meta_bytes = bytes([section_id(codec)]) + meta_bytes
        artifacts_size = _V2_ARTIFACTS.size + entries_size
        model_size = _V2_MODEL.size + model.size
        body = [_V2_BODY.pack(len(meta_bytes), artifacts_size, model_size), meta_bytes]
        body.append(_V2_ARTIFACTS.pack(section_id(codec), len(entries)))
    body_size = sum(map(len, body)) + entries_size + (model.size if protocol == 1 else model_size)
    sink.write(_FILE_HEADER.pack(protocol, file_id, body_size))
    for part in body:
        sink.write(part)

    def write_entries() -> None:
        for name, spool in entries:
            sink.write(_ENTRY.pack(len(name), spool.size) + name)
            spool.copy_to(sink)

    if protocol == 1:
        model.copy_to(sink)
        write_entries()
    else:
        write_entries()
        sink.write(_V2_MODEL.pack(section_id(codec), 0x01 if kind == "bundle" else 0x00))
        model.copy_to(sink)
    return _FILE_HEADER.size + body_size


class _SectionReader:
    """Reads one compressed section of known size, decompressing and hashing as it goes.

    Each step decompresses at most 1 MiB (`Decoder` bounds the output of one call, not only the input), counts it
    against the section's cap and the read's `Budget`, and hands it out (sliced only where a read asks for less).
    A section that declares its decompressed size must have exactly that size.
    """

    __slots__ = (
        "_budget",
        "_cap",
        "_chunk",
        "_declared",
        "_decoder",
        "_hash",
        "_left",
        "_position",
        "_produced",
        "_source",
        "_where",
        "finished",
    )

    def __init__(self, source: "Container", size: int, codec: str, where: str, declared: int | None = None) -> None:
        self._source = source
        self._left = size
        self._decoder = Decoder(codec)
        self._hash = Digest()
        self._chunk = b""
        self._position = 0
        self._where = where
        self._budget = source.budget
        self._cap = source.budget.section_cap(size)
        self._declared = declared
        self._produced = 0
        self.finished = False

    def _pull(self) -> bool:
        """Replace the (consumed) current chunk with the next decompressed one; False at the end."""
        while not self.finished:
            try:
                out = self._decoder.read(_CHUNK)
                if not out:
                    if self._left:
                        data = self._source.read_exact(min(self._left, _CHUNK), self._where)
                        self._left -= len(data)
                        self._decoder.feed(data)
                        continue
                    self._decoder.finish()
            except DecoderError as exc:
                raise decode_error(self._where, exc) from exc
            if not out:
                self.finished = True
                if self._declared is not None and self._produced != self._declared:
                    detail = f"{self._produced} bytes where the metadata declares {self._declared}"
                    raise CorruptedFile(self._where, detail)
                return False
            self._count(len(out))
            self._hash.update(out)
            self._chunk, self._position = out, 0
            return True
        return False

    def _count(self, size: int) -> None:
        self._produced += size
        if self._declared is not None and self._produced > self._declared:
            raise CorruptedFile(self._where, f"more than the {self._declared} bytes the metadata declares")
        name, maximum, allowed = self._cap
        if self._produced > allowed:
            raise LimitExceeded(name, maximum, self._where, f"it decompresses to more than {allowed} bytes")
        self._budget.add(size, self._where)

    def read(self, size: int = -1, /) -> bytes:
        """Up to ``size`` decompressed bytes (the rest of the current chunk when negative); empty only at the end."""
        if self._position >= len(self._chunk) and not self._pull():
            return b""
        start, chunk = self._position, self._chunk
        end = len(chunk) if size < 0 else min(len(chunk), start + size)
        self._position = end
        return chunk if start == 0 and end == len(chunk) else chunk[start:end]

    def drain(self) -> str:
        """Read to the end of the section; returns the SHA-256 hex digest of all decompressed bytes."""
        while self._pull():
            pass
        self._chunk = b""
        return self._hash.hexdigest()

    def copy_to(self, path: pathlib.Path) -> str:
        """Decompress the rest of the section into a new file; returns the digest."""
        with path.open("xb") as out:
            while chunk := self.read():
                out.write(chunk)
        return self.drain()


class Container:
    """A `.flm` file being read front to back.

    Args:
        stream: A readable binary stream positioned at the file header.
        limits: Caps on what reading it may decompress.

    Attributes:
        explicit_codecs: Whether the metadata section names its codec (this library always does; Flama 2.x writes
            "inherit"), known once `meta` has read it.
    """

    __slots__ = (
        "_body",
        "_past_model",
        "_stream",
        "artifacts_count",
        "budget",
        "codec",
        "explicit_codecs",
        "limits",
        "protocol",
    )

    def __init__(self, stream: BinaryIO, limits: Limits = DEFAULT_LIMITS) -> None:
        self._stream = stream
        self.limits = limits
        self.budget = Budget(limits)
        self.explicit_codecs = False
        self.protocol, file_codec, _body_size = _FILE_HEADER.unpack(self.read_exact(_FILE_HEADER.size, "file header"))
        if self.protocol not in PROTOCOLS:
            raise UnknownProtocol(self.protocol)
        self.codec = codec_from_file_id(file_codec)
        body = _V1_BODY if self.protocol == 1 else _V2_BODY
        self._body = body.unpack(self.read_exact(body.size, "body header"))
        self.artifacts_count = self._body[2] if self.protocol == 1 else 0
        self._past_model = False

    def read_exact(self, size: int, where: str) -> bytes:
        """Exactly ``size`` bytes from the stream.

        Raises:
            TruncatedFile: When the stream ends first.
        """
        data = self._stream.read(size)
        if len(data) != size:
            raise TruncatedFile(where, size, len(data))
        return data

    def skip(self, size: int, where: str) -> None:
        """Move past ``size`` bytes (seeking when the stream can)."""
        if self._stream.seekable():
            start = self._stream.tell()
            end = self._stream.seek(0, 2)
            if end - start < size:
                raise TruncatedFile(where, size, end - start)
            self._stream.seek(start + size)
            return
        while size:
            size -= len(self.read_exact(min(size, _CHUNK), where))

    def meta(self) -> Metadata:
        """Read the metadata section (the first one in both protocols), within ``limits.max_meta_size``.

        Raises:
            LimitExceeded: When the document (or its compressed form alone) is larger than the limit.
            CorruptedFile: When it does not decode or is not a valid metadata document.
        """
        size, maximum = self._body[0], self.limits.max_meta_size
        if size > 2 * maximum + 64:  # compression never doubles a document; a larger size is not metadata
            raise LimitExceeded("max_meta_size", maximum, "metadata section", f"it is {size} bytes compressed")
        data = self.read_exact(size, "metadata section")
        codec = self.codec
        if self.protocol == 2:
            if not data:
                raise CorruptedFile("metadata section", "empty section")
            codec = codec_from_section_id(data[0], self.codec, "metadata section")
            self.explicit_codecs = data[0] != SECTION_INHERIT
            data = data[1:]
        decoder = Decoder(codec)
        decoder.feed(data)
        parts: list[bytes] = []
        produced = 0
        try:
            while chunk := decoder.read(maximum + 1 - produced):
                produced += len(chunk)
                if produced > maximum:
                    raise LimitExceeded("max_meta_size", maximum, "metadata section", "it decompresses to more")
                parts.append(chunk)
            decoder.finish()
        except DecoderError as exc:
            raise decode_error("metadata section", exc) from exc
        try:
            return Metadata.from_dict(json.loads(b"".join(parts)))
        except RecursionError:
            raise CorruptedFile("metadata section", "the JSON document is nested too deeply") from None
        except ValueError as exc:  # JSON or UTF-8
            if isinstance(exc, ModelFileError):
                raise
            raise CorruptedFile("metadata section", f"not a JSON document ({exc})") from exc

    def _artifacts_codec(self) -> str:
        if self.protocol == 1:
            if not self._past_model:  # protocol 1 stores the model before the artifacts
                self.skip(self._body[1], "model section")
            return self.codec
        byte, self.artifacts_count = _V2_ARTIFACTS.unpack(self.read_exact(_V2_ARTIFACTS.size, "artifacts section"))
        return codec_from_section_id(byte, self.codec, "artifacts section")

    def _check_count(self) -> None:
        if self.artifacts_count > self.limits.max_artifacts:
            detail = f"it holds {self.artifacts_count} artifacts"
            raise LimitExceeded("max_artifacts", self.limits.max_artifacts, "artifacts section", detail)

    def artifacts(self, sizes: Mapping[str, int] | None = None) -> Iterator[tuple[str, int, "_SectionReader"]]:
        """Yield each artifact as (name, stored size, reader); a reader must be drained before the next one.

        Args:
            sizes: Decompressed sizes the metadata declares, by name; a declared artifact must have exactly its size.

        Raises:
            LimitExceeded: For more than ``limits.max_artifacts`` artifacts.
            CorruptedFile: For two artifacts of the same name.
        """
        codec = self._artifacts_codec()
        self._check_count()
        seen: set[str] = set()
        for _ in range(self.artifacts_count):
            name_size, size = _ENTRY.unpack(self.read_exact(_ENTRY.size, "artifact entry header"))
            if name_size > _MAX_NAME:
                raise CorruptedFile("artifact entry header", f"name size {name_size} is beyond any file name")
            raw = self.read_exact(name_size, "artifact name")
            try:
                name = artifact_name(raw.decode())
            except UnicodeDecodeError as exc:
                raise CorruptedFile("artifact entry header", f"name is not UTF-8 ({exc})") from exc
            if name in seen:
                raise CorruptedFile("artifacts section", f"two artifacts are named {name!r}")
            seen.add(name)
            reader = _SectionReader(self, size, codec, f"artifact {name!r}", (sizes or {}).get(name))
            yield name, size, reader
            reader.drain()

    def list_artifacts(self) -> dict[str, int]:
        """Every artifact's name and stored (compressed) size, reading entry headers only."""
        self.skip(self._body[0], "metadata section")
        listing: dict[str, int] = {}
        self._artifacts_codec()
        self._check_count()
        for _ in range(self.artifacts_count):
            name_size, size = _ENTRY.unpack(self.read_exact(_ENTRY.size, "artifact entry header"))
            if name_size > _MAX_NAME:
                raise CorruptedFile("artifact entry header", f"name size {name_size} is beyond any file name")
            listing[artifact_name(self.read_exact(name_size, "artifact name").decode(errors="replace"))] = size
            self.skip(size, f"artifact entry {len(listing)}")
        return listing

    def model(self, declared: int | None = None) -> tuple[ModelKind, "_SectionReader"]:
        """The model payload's kind and a reader over it; call after the artifacts (protocol 2) or meta (1).

        Args:
            declared: The payload's decompressed size as the metadata declares it, if it does.
        """
        size = self._body[1] if self.protocol == 1 else self._body[2]
        self._past_model = True
        if self.protocol == 1:
            return "binary", _SectionReader(self, size, self.codec, "model section", declared)
        if size < _V2_MODEL.size:
            raise CorruptedFile("model section", f"size {size} is smaller than its header")
        byte, kind_byte = _V2_MODEL.unpack(self.read_exact(_V2_MODEL.size, "model section header"))
        codec = codec_from_section_id(byte, self.codec, "model section")
        try:
            kind = _KINDS[kind_byte]
        except KeyError:
            raise CorruptedFile("model section", f"unknown model kind 0x{kind_byte:02x}") from None
        return kind, _SectionReader(self, size - _V2_MODEL.size, codec, "model section", declared)

    @staticmethod
    def verify(name: str, expected: str | None, digest: str) -> None:
        """Compare a digest with the recorded one (when there is one).

        Raises:
            ChecksumMismatch: When they differ.
        """
        if expected is not None and expected != digest:
            raise ChecksumMismatch(name, expected, digest)
