"""Section codecs of the `.flm` format: wire ids, streaming encoders, and decoders with a bounded output per call.

Encoding goes through `flama.core` (zstd, zlib, bz2), whose framings (zstd frame, zlib-wrapped deflate, bzip2 stream)
are the ones Flama 2.x writes. Flama 2.x's ``lzma`` is the legacy ``.lzma`` ("alone") container rather than ``.xz``, so
it goes through the standard library, which writes that container and reads both.

Decoding goes through the standard library's decompressors (and `backports.zstd`, the backport of Python 3.14's
`compression.zstd`), because they take a ``max_length``: each call hands out at most that many bytes whatever the
input, so a few compressed bytes that expand to gigabytes are read a chunk at a time and a limit stops them early.
`flama.core`'s decompressor bounds the total it produces but not what one call returns.
"""

import bz2
import lzma
import sys
import zlib
from collections.abc import Callable
from typing import Final, Protocol

from flama.core import Compressor
from flama.models.exceptions import CorruptedFile, UnknownCodec

if sys.version_info >= (3, 14):  # pragma: no cover - the workspace runs an older Python
    from compression.zstd import ZstdDecompressor, ZstdError
else:
    from backports.zstd import ZstdDecompressor, ZstdError

__all__ = [
    "CODECS",
    "FILE_CODEC_IDS",
    "SECTION_CODECS",
    "SECTION_INHERIT",
    "Decoder",
    "DecoderError",
    "Encoder",
    "codec_from_file_id",
    "codec_from_section_id",
    "decode_error",
    "encoder",
    "section_id",
]

CODECS: Final = ("zstd", "zlib", "bz2", "lzma", "none")
FILE_CODEC_IDS: Final = {"bz2": 1, "lzma": 2, "zlib": 3, "zstd": 4}
SECTION_INHERIT: Final = 0x00
SECTION_CODECS: Final = {0x01: "bz2", 0x02: "lzma", 0x03: "zlib", 0x04: "zstd", 0xFF: "none"}
_CORE_NAMES: Final = {"zstd": "zstd", "zlib": "deflate", "bz2": "bzip2"}


class Encoder(Protocol):
    """A streaming compressor: feed chunks, then finish once."""

    def compress(self, chunk: bytes, /) -> bytes: ...  # noqa: D102
    def finish(self) -> bytes: ...  # noqa: D102


class _Identity:
    __slots__ = ()

    def compress(self, chunk: bytes, /) -> bytes:
        return chunk

    def finish(self) -> bytes:
        return b""


class _LzmaEncoder:
    __slots__ = ("_lzma",)

    def __init__(self) -> None:
        self._lzma = lzma.LZMACompressor(format=lzma.FORMAT_ALONE)

    def compress(self, chunk: bytes, /) -> bytes:
        return self._lzma.compress(chunk)

    def finish(self) -> bytes:
        return self._lzma.flush()


def _check(codec: str) -> str:
    if codec not in CODECS:
        raise UnknownCodec(codec, "the compression argument")
    return codec


def encoder(codec: str, *, level: int | None = None) -> Encoder:
    """A streaming encoder for a codec name (``zstd``, ``zlib``, ``bz2``, ``lzma`` or ``none``).

    Raises:
        UnknownCodec: When the name is not one of those.
    """
    codec = _check(codec)
    if codec == "none":
        return _Identity()
    if codec == "lzma":
        return _LzmaEncoder()
    return Compressor(_CORE_NAMES[codec], level=level)


class DecoderError(Exception):
    """Compressed bytes that do not decode: corrupt, truncated, or followed by trailing data."""


class _Stdlib(Protocol):
    """What the standard library's bz2, lzma and zstd decompressors share."""

    @property
    def eof(self) -> bool: ...
    @property
    def needs_input(self) -> bool: ...
    @property
    def unused_data(self) -> bytes: ...
    def decompress(self, data: bytes, max_length: int = -1) -> bytes: ...


class _Zlib:
    """`zlib.decompressobj` with the interface of the others (it hands back unconsumed input instead of keeping it)."""

    __slots__ = ("_tail", "_zlib")

    def __init__(self) -> None:
        self._zlib = zlib.decompressobj()
        self._tail = b""

    @property
    def eof(self) -> bool:
        return self._zlib.eof

    @property
    def needs_input(self) -> bool:
        return not self._tail

    @property
    def unused_data(self) -> bytes:
        return self._zlib.unused_data

    def decompress(self, data: bytes, max_length: int = -1) -> bytes:
        out = self._zlib.decompress(self._tail + data if self._tail else data, max(max_length, 0))
        self._tail = self._zlib.unconsumed_tail
        return out


class _Plain:
    """The ``none`` codec: input handed back as it is, at most ``max_length`` bytes at a time.

    It never reaches an end of stream of its own: the section's size says where the bytes end.
    """

    __slots__ = ("_pending",)

    eof = False
    unused_data = b""

    def __init__(self) -> None:
        self._pending = b""

    @property
    def needs_input(self) -> bool:
        return not self._pending

    def decompress(self, data: bytes, max_length: int = -1) -> bytes:
        pending = self._pending + data if self._pending else data
        size = len(pending) if max_length < 0 else max_length
        out, self._pending = pending[:size], pending[size:]
        return out


def _lzma() -> _Stdlib:
    return lzma.LZMADecompressor(format=lzma.FORMAT_AUTO)


_FACTORIES: Final[dict[str, Callable[[], _Stdlib]]] = {
    "zstd": ZstdDecompressor,
    "zlib": _Zlib,
    "bz2": bz2.BZ2Decompressor,
    "lzma": _lzma,
    "none": _Plain,
}
_MULTI_MEMBER: Final = frozenset({"zstd", "bz2"})  # concatenated frames/streams decode as one, as flama.core reads them
_ERRORS: Final = (zlib.error, lzma.LZMAError, ZstdError, OSError, EOFError, ValueError)


class Decoder:
    """A streaming decoder: `feed` compressed bytes, `read` at most ``max_length`` decoded bytes at a time, `finish`.

    Compressed input waits in the decoder until `read` returns nothing; only then should more be fed, so the input
    held stays one fed chunk and the output of one call stays ``max_length``, whatever the ratio.

    Args:
        codec: ``zstd``, ``zlib``, ``bz2``, ``lzma`` or ``none``.

    Raises:
        UnknownCodec: When the name is not one of those.
    """

    __slots__ = ("_codec", "_decompressor", "_pending")

    def __init__(self, codec: str) -> None:
        self._codec = _check(codec)
        self._decompressor: _Stdlib = _FACTORIES[codec]()
        self._pending = b""

    def feed(self, data: bytes, /) -> None:
        """Add compressed bytes (call when `read` has returned nothing)."""
        self._pending = self._pending + data if self._pending else data

    def read(self, max_length: int, /) -> bytes:
        """Up to ``max_length`` decoded bytes from what was fed; empty when more input is needed (or at the end).

        Raises:
            DecoderError: When the bytes do not decode, or data follows the end of the stream.
        """
        try:
            if self._decompressor.eof and not self._next_member():
                return b""
            data, self._pending = self._pending, b""
            out = self._decompressor.decompress(data, max_length)
        except _ERRORS as exc:
            raise DecoderError(f"corrupt {self._codec} data: {exc}") from exc
        if not out and not self._decompressor.needs_input and not self._decompressor.eof:
            raise DecoderError(f"corrupt {self._codec} data: the decoder made no progress")
        return out

    def _next_member(self) -> bool:
        """At the end of a stream: start the next member when more bytes follow; False when none do."""
        rest = self._decompressor.unused_data + self._pending
        if not rest:
            return False
        if self._codec not in _MULTI_MEMBER:
            raise DecoderError(f"corrupt {self._codec} data: trailing data after the end of the stream")
        self._decompressor, self._pending = _FACTORIES[self._codec](), rest
        return True

    def finish(self) -> None:
        """Check that the input ended with a complete stream (call once `read` returns nothing and no input is left).

        Raises:
            DecoderError: When the stream is truncated.
        """
        if self._codec == "none":
            return
        if self._pending or not self._decompressor.eof or self._decompressor.unused_data:
            if self._decompressor.eof:
                raise DecoderError(f"corrupt {self._codec} data: trailing data after the end of the stream")
            raise DecoderError(f"corrupt {self._codec} data: truncated stream: the input ended before its end")


def codec_from_file_id(value: int) -> str:
    """The codec name of a file header's compression id.

    Raises:
        UnknownCodec: When the id is not 1 to 4.
    """
    for name, known in FILE_CODEC_IDS.items():
        if known == value:
            return name
    raise UnknownCodec(value, "the file header")


def codec_from_section_id(value: int, inherited: str, where: str) -> str:
    """The codec name of a section's compression byte, resolving ``inherit`` to the file's codec.

    Raises:
        UnknownCodec: When the byte is not a known section codec.
    """
    if value == SECTION_INHERIT:
        return inherited
    try:
        return SECTION_CODECS[value]
    except KeyError:
        raise UnknownCodec(value, where) from None


def section_id(codec: str) -> int:
    """The section compression byte written for a codec name."""
    return {name: byte for byte, name in SECTION_CODECS.items()}[_check(codec)]


def decode_error(where: str, exc: DecoderError) -> CorruptedFile:
    """The typed error for a section whose compressed bytes do not decode."""
    return CorruptedFile(where, f"compressed data does not decode ({exc})")
