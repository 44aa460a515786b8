"""Section codecs of the `.flm` format: wire ids and streaming encoders/decoders.

zstd, zlib and bz2 go through `flama.core`, whose framings (zstd frame, zlib-wrapped deflate, bzip2 stream) are the
ones Flama 2.x writes. Flama 2.x's ``lzma`` is the legacy ``.lzma`` ("alone") container rather than ``.xz``, so it
goes through the standard library, which writes that container and reads both.
"""

import lzma
from typing import Final, Protocol

from flama.core import Compressor, Decompressor
from flama.core.exceptions import CodecError
from flama.models.exceptions import CorruptedFile, UnknownCodec

__all__ = [
    "CODECS",
    "FILE_CODEC_IDS",
    "SECTION_CODECS",
    "SECTION_INHERIT",
    "Decoder",
    "Encoder",
    "codec_from_file_id",
    "codec_from_section_id",
    "decode_error",
    "decoder",
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


class Decoder(Protocol):
    """A streaming decompressor: feed chunks, then finish once (raising when the stream is incomplete)."""

    def decompress(self, chunk: bytes, /) -> bytes: ...  # noqa: D102
    def finish(self) -> bytes: ...  # noqa: D102


class _Identity:
    __slots__ = ()

    def compress(self, chunk: bytes, /) -> bytes:
        return chunk

    decompress = compress

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


class _LzmaDecoder:
    __slots__ = ("_lzma",)

    def __init__(self) -> None:
        self._lzma = lzma.LZMADecompressor(format=lzma.FORMAT_AUTO)

    def decompress(self, chunk: bytes, /) -> bytes:
        try:
            return self._lzma.decompress(chunk)
        except (lzma.LZMAError, EOFError) as exc:
            raise CodecError(f"corrupt lzma data: {exc}") from exc

    def finish(self) -> bytes:
        if not self._lzma.eof:
            raise CodecError("corrupt lzma data: truncated stream: the input ended before the end of the stream")
        return b""


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


def decoder(codec: str) -> Decoder:
    """A streaming decoder for a codec name; corrupt input raises `flama.core.exceptions.CodecError`."""
    codec = _check(codec)
    if codec == "none":
        return _Identity()
    if codec == "lzma":
        return _LzmaDecoder()
    return Decompressor(_CORE_NAMES[codec])


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


def decode_error(where: str, exc: Exception) -> CorruptedFile:
    """The typed error for a section whose compressed bytes do not decode."""
    return CorruptedFile(where, f"compressed data does not decode ({exc})")
