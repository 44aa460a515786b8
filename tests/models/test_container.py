import io
import struct

import pytest
from flama.models import (
    CorruptedFile,
    LimitExceeded,
    TruncatedFile,
    UnknownCodec,
    UnknownProtocol,
    dump,
    list_artifacts,
    load,
    read_meta,
)


@pytest.fixture
def flm(sklearn_factory, tmp_path):
    (tmp_path / "a.txt").write_bytes(b"artifact content")
    dump(sklearn_factory()[0], tmp_path / "m.flm", artifacts={"a.txt": tmp_path / "a.txt"})
    return (tmp_path / "m.flm").read_bytes()


def _sizes(data: bytes) -> tuple[int, int, int]:
    meta, artifacts, model = struct.unpack("!QQQ", data[16:40])
    return meta, artifacts, model


class TestCaseLayout:
    def test_header(self, flm):
        protocol, codec, body = struct.unpack("!IIQ", flm[:16])
        meta, artifacts, model = _sizes(flm)

        assert (protocol, codec) == (2, 4)
        assert body == len(flm) - 16 == 24 + meta + artifacts + model
        assert flm[40] == 0x04  # metadata section: zstd
        assert flm[40 + meta : 40 + meta + 5] == b"\x04\x00\x00\x00\x01"  # artifacts: zstd, one entry
        assert flm[40 + meta + artifacts : 40 + meta + artifacts + 2] == b"\x04\x00"  # model: zstd, binary kind

    def test_header_only_helpers_ignore_the_payload(self, flm):
        meta, artifacts, _ = _sizes(flm)
        headers_only = flm[: 40 + meta + artifacts]

        assert read_meta(io.BytesIO(headers_only)).framework.lib == "sklearn"
        assert list(list_artifacts(io.BytesIO(headers_only))) == ["a.txt"]


class TestCaseCorruption:
    @pytest.mark.parametrize(
        ("cut", "message"),
        [
            pytest.param(10, r"file header needs 16 bytes but only 10 remain", id="file-header"),
            pytest.param(30, r"body header needs 24 bytes but only 14 remain", id="body-header"),
            pytest.param(45, r"metadata section needs \d+ bytes", id="metadata"),
            pytest.param(-3, r"model section needs \d+ bytes but only \d+ remain", id="model"),
        ],
    )
    def test_truncated(self, flm, tmp_path, cut, message):
        (tmp_path / "cut.flm").write_bytes(flm[:cut])

        with pytest.raises(TruncatedFile, match=rf"Truncated \.flm file: {message}"):
            load(tmp_path / "cut.flm")

    def test_unknown_protocol(self, flm):
        with pytest.raises(UnknownProtocol, match=r"Unknown \.flm protocol version 7 \(supported: 1, 2\)"):
            read_meta(io.BytesIO(struct.pack("!I", 7) + flm[4:]))

    def test_unknown_file_codec(self, flm):
        with pytest.raises(UnknownCodec, match=r"Unknown compression 0x09 in the file header"):
            read_meta(io.BytesIO(flm[:4] + struct.pack("!I", 9) + flm[8:]))

    def test_unknown_section_codec(self, flm):
        with pytest.raises(UnknownCodec, match=r"Unknown compression 0x42 in metadata section"):
            read_meta(io.BytesIO(flm[:40] + b"\x42" + flm[41:]))

    def test_unknown_model_kind(self, flm):
        meta, artifacts, _ = _sizes(flm)
        at = 40 + meta + artifacts + 1

        with pytest.raises(CorruptedFile, match=r"model section: unknown model kind 0x07"):
            load(io.BytesIO(flm[:at] + b"\x07" + flm[at + 1 :]))

    def test_corrupted_compressed_metadata(self, flm):
        with pytest.raises(CorruptedFile, match=r"metadata section: compressed data does not decode"):
            read_meta(io.BytesIO(flm[:41] + b"\xff\xff\xff\xff" + flm[45:]))

    def test_corrupted_model(self, flm):
        meta, artifacts, _ = _sizes(flm)
        at = 40 + meta + artifacts + 2

        with pytest.raises(
            CorruptedFile, match=r"Corrupted \.flm file: model section: compressed data does not decode"
        ):
            load(io.BytesIO(flm[:at] + b"\x00\x00\x00\x00" + flm[at + 4 :]))

    def test_metadata_not_json(self, sklearn_factory, tmp_path):
        dump(sklearn_factory()[0], tmp_path / "m.flm", compression="none")
        data = bytearray((tmp_path / "m.flm").read_bytes())
        data[41] = ord("#")

        with pytest.raises(CorruptedFile, match=r"metadata section: not a JSON document"):
            read_meta(io.BytesIO(bytes(data)))

    def test_metadata_too_large(self, flm):
        with pytest.raises(LimitExceeded, match=r"metadata section passes the limit max_meta_size=1048576"):
            read_meta(io.BytesIO(flm[:16] + struct.pack("!Q", 1 << 40) + flm[24:]))
