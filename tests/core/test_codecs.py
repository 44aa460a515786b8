import bz2
import gzip
import json
import lzma
import resource
import zlib
from collections.abc import Callable

import pytest
from flama.core import (
    CodecError,
    Compressor,
    DecompressionLimitExceeded,
    Decompressor,
    compress,
    decompress,
    supported_encodings,
)

ENCODINGS = ("gzip", "deflate", "br", "zstd", "bzip2", "xz")
LEVELS = {
    "gzip": (0, 1, 6, 9),
    "deflate": (0, 1, 6, 9),
    "br": (0, 1, 4, 11),
    "zstd": (-5, 1, 3, 19),
    "bzip2": (1, 9),
    "xz": (0, 6, 9),
}
PAYLOAD = json.dumps([{"id": i, "name": f"item-{i}", "tags": ["a", "b"]} for i in range(2000)]).encode()
MIB = 1024 * 1024

# One-shot decoders of the standard library, for the codings it knows.
STDLIB_DECODERS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.decompress,
    "deflate": zlib.decompress,
    "bzip2": bz2.decompress,
    "xz": lzma.decompress,
}


class StreamDecoder:
    """Decodes a growing stream: the standard library's incremental decoder where there is one, else ours."""

    def __init__(self, encoding: str) -> None:
        self.feed: Callable[[bytes], bytes]
        if encoding == "gzip":
            self.feed = zlib.decompressobj(31).decompress
        elif encoding == "deflate":
            self.feed = zlib.decompressobj().decompress
        elif encoding == "bzip2":
            self.feed = bz2.BZ2Decompressor().decompress
        elif encoding == "xz":
            self.feed = lzma.LZMADecompressor().decompress
        else:
            self.feed = Decompressor(encoding).decompress


class TestCaseSupportedEncodings:
    def test_names(self):
        assert supported_encodings() == ("zstd", "br", "gzip", "deflate", "bzip2", "xz")


class TestCaseRoundTrip:
    @pytest.mark.parametrize(
        ("encoding", "level"),
        [pytest.param(e, lv, id=f"{e}-{lv}") for e in ENCODINGS for lv in LEVELS[e]],
    )
    def test_levels(self, encoding, level):
        data = compress(PAYLOAD, encoding, level=level)

        assert decompress(data, encoding) == PAYLOAD
        if encoding in STDLIB_DECODERS:
            assert STDLIB_DECODERS[encoding](data) == PAYLOAD

    @pytest.mark.parametrize("encoding", ENCODINGS)
    def test_default_level_and_large_input(self, encoding):
        payload = PAYLOAD * 40  # over 64 KiB: the GIL is released
        data = compress(payload, encoding)

        assert len(data) < len(payload) // 4
        assert decompress(data, encoding) == payload

    @pytest.mark.parametrize("encoding", ENCODINGS)
    def test_empty(self, encoding):
        assert decompress(compress(b"", encoding), encoding) == b""

    @pytest.mark.parametrize(
        ("alias", "encoding"),
        [
            pytest.param("x-gzip", "gzip", id="x-gzip"),
            pytest.param("GZIP", "gzip", id="upper-case"),
            pytest.param("zlib", "deflate", id="zlib"),
            pytest.param("bz2", "bzip2", id="bz2"),
            pytest.param("lzma", "xz", id="lzma"),
            pytest.param("Br", "br", id="mixed-case"),
        ],
    )
    def test_aliases(self, alias, encoding):
        data = compress(PAYLOAD, alias)

        assert decompress(data, encoding) == PAYLOAD
        assert Compressor(alias).encoding == encoding
        assert Decompressor(alias).encoding == encoding

    def test_deflate_is_zlib_wrapped(self):
        assert zlib.decompress(compress(PAYLOAD, "deflate")) == PAYLOAD
        assert decompress(zlib.compress(PAYLOAD), "deflate") == PAYLOAD

    @pytest.mark.parametrize(
        ("encoding", "data"),
        [
            pytest.param("gzip", gzip.compress(PAYLOAD), id="gzip"),
            pytest.param("bzip2", bz2.compress(PAYLOAD), id="bzip2"),
            pytest.param("xz", lzma.compress(PAYLOAD), id="xz"),
            pytest.param("xz", lzma.compress(PAYLOAD, format=lzma.FORMAT_ALONE), id="lzma-alone"),
        ],
    )
    def test_decodes_stdlib_output(self, encoding, data):
        assert decompress(data, encoding) == PAYLOAD


class TestCaseErrors:
    @pytest.mark.parametrize("call", [compress, decompress, Compressor, Decompressor])
    def test_unknown_encoding(self, call):
        with pytest.raises(CodecError, match=r"^unknown content encoding 'compress'$"):
            call(b"", "compress") if call in (compress, decompress) else call("compress")

    @pytest.mark.parametrize(
        ("encoding", "level", "message"),
        [
            pytest.param("gzip", 10, "gzip level must be between 0 and 9, got 10", id="gzip-high"),
            pytest.param("deflate", -1, "deflate level must be between 0 and 9, got -1", id="deflate-low"),
            pytest.param("br", 12, "br level must be between 0 and 11, got 12", id="br-high"),
            pytest.param("zstd", 23, "zstd level must be between -131072 and 22, got 23", id="zstd-high"),
            pytest.param("bzip2", 0, "bzip2 level must be between 1 and 9, got 0", id="bzip2-low"),
            pytest.param("xz", 10, "xz level must be between 0 and 9, got 10", id="xz-high"),
            pytest.param("gzip", 2**40, f"gzip level must be between 0 and 9, got {2**40}", id="huge"),
        ],
    )
    def test_invalid_level(self, encoding, level, message):
        with pytest.raises(ValueError, match=f"^{message}$") as raised:
            Compressor(encoding, level=level)
        assert not isinstance(raised.value, CodecError)
        with pytest.raises(ValueError, match=f"^{message}$"):
            compress(b"x", encoding, level=level)

    @pytest.mark.parametrize("encoding", ENCODINGS)
    def test_truncated(self, encoding):
        data = compress(PAYLOAD, encoding)

        with pytest.raises(CodecError, match=rf"^corrupt {encoding} data: truncated stream"):
            decompress(data[: len(data) // 2], encoding)

    @pytest.mark.parametrize("encoding", ENCODINGS)
    def test_empty_input_is_truncated(self, encoding):
        with pytest.raises(CodecError, match=rf"^corrupt {encoding} data: truncated stream"):
            decompress(b"", encoding)

    @pytest.mark.parametrize("encoding", ENCODINGS)
    def test_corrupt(self, encoding):
        with pytest.raises(CodecError, match=rf"^corrupt {encoding} data"):
            decompress(b"this is not compressed data at all, not in any format" * 4, encoding)

    @pytest.mark.parametrize("encoding", ["gzip", "deflate", "zstd", "bzip2", "xz"])
    def test_flipped_byte(self, encoding):
        data = bytearray(compress(PAYLOAD, encoding))
        data[len(data) // 2] ^= 0xFF

        with pytest.raises(CodecError, match=rf"^corrupt {encoding} data"):
            decompress(bytes(data), encoding)

    @pytest.mark.parametrize(
        ("encoding", "message"),
        [
            pytest.param("deflate", "trailing data after the end of the stream", id="deflate"),
            pytest.param("br", "trailing data after the end of the stream", id="br"),
            pytest.param("gzip", "", id="gzip"),
            pytest.param("zstd", "", id="zstd"),
            pytest.param("bzip2", "", id="bzip2"),
            pytest.param("xz", "", id="xz"),
        ],
    )
    def test_trailing_garbage(self, encoding, message):
        with pytest.raises(CodecError, match=rf"^corrupt {encoding} data: {message}"):
            decompress(compress(PAYLOAD, encoding) + b"garbage!", encoding)

    def test_compressor_after_finish(self):
        compressor = Compressor("gzip")
        compressor.finish()

        with pytest.raises(ValueError, match=r"^the gzip compressor is already finished$"):
            compressor.compress(b"x")
        with pytest.raises(ValueError, match=r"^the gzip compressor is already finished$"):
            compressor.finish()

    def test_decompressor_after_finish(self):
        decompressor = Decompressor("zstd")
        decompressor.decompress(compress(b"x", "zstd"))
        assert decompressor.finish() == b""

        with pytest.raises(ValueError, match=r"^the zstd decompressor is closed"):
            decompressor.decompress(b"")

    def test_decompressor_after_error(self):
        decompressor = Decompressor("gzip")
        with pytest.raises(CodecError):
            decompressor.decompress(b"not gzip at all")

        with pytest.raises(ValueError, match=r"^the gzip decompressor is closed"):
            decompressor.decompress(gzip.compress(b"x"))

    def test_rejects_str(self):
        with pytest.raises(TypeError):
            compress("text", "gzip")  # type: ignore[arg-type]


# bzip2 packs blocks bit by bit, so a flushed block's last bits wait for the next one: it cannot flush per chunk.
FLUSHABLE = [e for e in ENCODINGS if e != "bzip2"]


class TestCaseStreaming:
    @pytest.mark.parametrize("encoding", FLUSHABLE)
    def test_every_chunk_decodes(self, encoding):
        compressor = Compressor(encoding)
        reference = StreamDecoder(encoding)
        chunks = [PAYLOAD[i : i + 4096] for i in range(0, 40960, 4096)]
        decoded = b""

        for index, chunk in enumerate(chunks):
            decoded += reference.feed(compressor.compress(chunk))
            assert decoded == b"".join(chunks[: index + 1])
        decoded += reference.feed(compressor.finish())
        assert decoded == b"".join(chunks)

    @pytest.mark.parametrize("encoding", ENCODINGS)
    def test_whole_stream(self, encoding):
        compressor = Compressor(encoding, level=1)
        stream = b"".join(compressor.compress(PAYLOAD[i : i + 1000]) for i in range(0, len(PAYLOAD), 1000))
        stream += compressor.finish()

        assert decompress(stream, encoding) == PAYLOAD
        if encoding in STDLIB_DECODERS:
            assert STDLIB_DECODERS[encoding](stream) == PAYLOAD

    @pytest.mark.parametrize("encoding", ENCODINGS)
    def test_empty_chunks(self, encoding):
        compressor = Compressor(encoding)
        stream = compressor.compress(b"") + compressor.compress(b"abc") + compressor.compress(b"")
        stream += compressor.finish()

        assert decompress(stream, encoding) == b"abc"

    @pytest.mark.parametrize("encoding", ENCODINGS)
    def test_byte_by_byte(self, encoding):
        data = compress(PAYLOAD[:5000], encoding)
        decompressor = Decompressor(encoding)
        out = []

        for i in range(len(data)):
            assert not decompressor.eof
            out.append(decompressor.decompress(data[i : i + 1]))
        assert decompressor.eof
        out.append(decompressor.finish())
        assert b"".join(out) == PAYLOAD[:5000]

    @pytest.mark.parametrize("encoding", ["gzip", "zstd", "bzip2", "xz"])
    def test_concatenated_members(self, encoding):
        data = compress(b"first,", encoding) + compress(b"second", encoding)
        decompressor = Decompressor(encoding)

        assert decompressor.decompress(data) == b"first,second"
        assert decompressor.eof
        assert decompressor.finish() == b""

    def test_concatenated_gzip_split_between_members(self):
        first, second = gzip.compress(b"one "), gzip.compress(b"two")
        decompressor = Decompressor("gzip")

        assert decompressor.decompress(first + second[:1]) == b"one "
        assert not decompressor.eof
        assert decompressor.decompress(second[1:]) == b"two"
        assert decompressor.eof

    def test_truncated_second_member(self):
        data = gzip.compress(b"one") + gzip.compress(b"two")[:5]
        decompressor = Decompressor("gzip")

        assert decompressor.decompress(data) == b"one"
        with pytest.raises(CodecError, match=r"^corrupt gzip data: truncated stream"):
            decompressor.finish()


class TestCaseLimits:
    @pytest.mark.parametrize("encoding", ENCODINGS)
    def test_exact_limit(self, encoding):
        data = compress(PAYLOAD, encoding)

        assert decompress(data, encoding, max_size=len(PAYLOAD)) == PAYLOAD
        with pytest.raises(DecompressionLimitExceeded) as raised:
            decompress(data, encoding, max_size=len(PAYLOAD) - 1)
        assert str(raised.value) == f"decompressed data exceeds the maximum of {len(PAYLOAD) - 1} bytes"

    def test_zero_limit(self):
        assert decompress(compress(b"", "gzip"), "gzip", max_size=0) == b""
        with pytest.raises(DecompressionLimitExceeded):
            decompress(compress(b"x", "gzip"), "gzip", max_size=0)

    def test_cumulative_across_chunks(self):
        data = compress(PAYLOAD, "zstd")
        decompressor = Decompressor("zstd", max_size=len(PAYLOAD) + 10)
        half = len(data) // 2
        decompressor.decompress(data[:half])

        with pytest.raises(DecompressionLimitExceeded):
            decompressor.decompress(data[half:] + data)

    def test_limit_error_is_a_codec_error(self):
        assert issubclass(DecompressionLimitExceeded, CodecError)
        assert issubclass(CodecError, ValueError)

    @pytest.mark.parametrize("encoding", ["gzip", "deflate", "zstd", "br"])
    def test_one_gigabyte_single_stream_bomb(self, encoding):
        # After the first mebibyte the flushed output repeats, so the stream is built without compressing 1 GB.
        compressor = Compressor(encoding, level=9 if encoding != "br" else 4)
        zeros = bytes(MIB)
        first, steady, again = (compressor.compress(zeros) for _ in range(3))
        assert steady == again
        bomb = first + steady * 1023
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

        with pytest.raises(DecompressionLimitExceeded, match=r"^decompressed data exceeds the maximum of 1048576"):
            decompress(bomb, encoding, max_size=MIB)
        decompressor = Decompressor(encoding, max_size=MIB)

        def feed_in_chunks() -> None:
            for i in range(0, len(bomb), 4096):
                decompressor.decompress(bomb[i : i + 4096])

        with pytest.raises(DecompressionLimitExceeded):
            feed_in_chunks()
        grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
        assert grown_kib < 64 * 1024

    @pytest.mark.parametrize("encoding", ["xz", "bzip2", "zstd", "gzip"])
    def test_one_gigabyte_of_members_bomb(self, encoding):
        bomb = compress(bytes(MIB), encoding, level=1) * 1024

        with pytest.raises(DecompressionLimitExceeded):
            decompress(bomb, encoding, max_size=MIB)
