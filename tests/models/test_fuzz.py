"""Property-based fuzzing of the `.flm` reader: whatever the bytes, reading ends in success or a `ModelFileError`.

Valid files (Flama 2.2.2's fixtures, files written here: binary and bundle, protocols 1 and 2, every codec) are
mutated: bytes flipped, cut, inserted, and header fields set to edge values. ``read_meta``, ``list_artifacts`` and
``load`` must then succeed or raise a `ModelFileError` (never another exception, a hang or a crash), within small
limits. The suite runs ``FLM_FUZZ_EXAMPLES`` examples (200); ``make fuzz-flm`` runs 20,000.
"""

import io
import os
import pathlib
import struct
import tarfile
import tempfile
import warnings
from collections.abc import Callable

import pytest
from flama.models import Limits, ModelFileError, dump, list_artifacts, load, read_meta
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.models import crafted

FIXTURES = pathlib.Path(__file__).parent / "fixtures"
EXAMPLES = int(os.environ.get("FLM_FUZZ_EXAMPLES", "200"))
LIMITS = Limits(
    max_meta_size=64 << 10,
    max_section_size=4 << 20,
    max_total_size=8 << 20,
    max_artifacts=20,
    max_bundle_entries=50,
)
EDGES = [
    0,
    1,
    2,
    3,
    4,
    0x7F,
    0xFF,
    1 << 16,
    (1 << 31) - 1,
    1 << 31,
    (1 << 32) - 1,
    1 << 40,
    (1 << 63) - 1,
    (1 << 64) - 1,
]


def _written_here() -> list[bytes]:
    seeds = []
    with tempfile.TemporaryDirectory() as tmp:
        directory = pathlib.Path(tmp)
        (directory / "payload").write_bytes(b"model payload " * 50)
        (directory / "a.txt").write_text("labels\n")
        (directory / "ckpt" / "sub").mkdir(parents=True)
        (directory / "ckpt" / "config.json").write_text('{"model_type": "llama"}')
        (directory / "ckpt" / "sub" / "w.bin").write_bytes(bytes(range(256)) * 4)
        for compression in ("zstd", "zlib", "bz2", "lzma", "none"):
            dump(
                directory / "payload",
                directory / "m.flm",
                lib="sklearn",
                artifacts={"a.txt": directory / "a.txt"},
                compression=compression,
            )
            seeds.append((directory / "m.flm").read_bytes())
        dump(directory / "payload", directory / "v1.flm", lib="sklearn", protocol=1, compression="zlib")
        seeds.append((directory / "v1.flm").read_bytes())
        dump(directory / "ckpt", directory / "b.flm", lib="transformers", family="llm")
        seeds.append((directory / "b.flm").read_bytes())
    return seeds


def _pax_bundle() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        info = tarfile.TarInfo("d/" + "long" * 40)
        info.size = 3
        archive.addfile(info, io.BytesIO(b"abc"))
    return crafted.container(crafted.FLAMA2_META, model=crafted.compress([buffer.getvalue()]), kind=1)


SEEDS = [*(path.read_bytes() for path in sorted(FIXTURES.glob("*.flm"))), *_written_here(), _pax_bundle()]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "field", "delete"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif kind == "cut":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        elif kind == "field":
            # A header field (file header, body header, entry header...) set to an edge value.
            width = draw(st.sampled_from([1, 4, 8]))
            value = draw(st.sampled_from(EDGES)) % (1 << (8 * width))
            offset = draw(st.sampled_from([0, 4, 8, 16, 24, 32, 40, at]))
            data[offset : offset + width] = value.to_bytes(width, "big")
    return bytes(data)


def _read(target: Callable[[io.BytesIO], object], data: bytes) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # version and unverified-file warnings are expected on mutated files
        try:
            result = target(io.BytesIO(data))
        except ModelFileError:
            return
    close = getattr(result, "close", None)
    if close is not None:
        close()


@pytest.mark.parametrize(
    "target",
    [
        pytest.param(lambda stream: read_meta(stream, limits=LIMITS), id="read_meta"),
        pytest.param(lambda stream: list_artifacts(stream, limits=LIMITS), id="list_artifacts"),
        pytest.param(lambda stream: load(stream, limits=LIMITS), id="load"),
    ],
)
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=mutated())
def test_reader(target, data):
    _read(target, data)


def test_seeds_are_valid():
    for seed in SEEDS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            load(io.BytesIO(seed)).close()
    assert struct.unpack("!I", SEEDS[0][:4])[0] in (1, 2)
