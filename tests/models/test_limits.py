"""Bombs against the `.flm` reader (issue 9, items 1, 2 and 5): memory and temporary disk stay within the limits.

Each bomb is generated here. Peak memory is measured two ways: Python allocations (tracemalloc) and the process's peak
RSS (reset through /proc before each read); both must stay within 64 MB of the baseline.
"""

import io
import json
import os
import pathlib
import shutil
import tarfile
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest
from flama.models import (
    CorruptedFile,
    LimitExceeded,
    Limits,
    UnverifiedFileWarning,
    dump,
    list_artifacts,
    load,
    read_meta,
)

from tests.models import crafted

BUDGET = 64 << 20
MIB = 1 << 20


def measured(call: Callable[[], Any]) -> tuple[Any, int, int]:
    """``call()``'s result (or the exception it raised), its peak Python allocations and its peak RSS growth."""
    baseline = crafted.reset_peak_rss()
    tracemalloc.start()
    try:
        try:
            result: Any = call()
        except Exception as exc:
            result = exc
        _, traced = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, traced, crafted.peak_rss() - baseline


@pytest.fixture
def temp_disk(monkeypatch, tmp_path) -> list[int]:
    """The bytes each load left in its temporary directory when it was removed (the most it ever held)."""
    sizes: list[int] = []
    remove = shutil.rmtree

    def measure(path: Any, *args: Any, **kwargs: Any) -> None:
        if pathlib.Path(path).name.startswith("flm-") and not pathlib.Path(path).name.startswith("flm-dump-"):
            sizes.append(sum(f.stat().st_size for f in pathlib.Path(path).rglob("*") if f.is_file()))
        remove(path, *args, **kwargs)

    monkeypatch.setattr(shutil, "rmtree", measure)  # what load calls to remove its directory, failed or closed
    monkeypatch.setattr("flama.models.modelfile.tempfile.tempdir", str(tmp_path))
    return sizes


@pytest.fixture(scope="module")
def meta_bomb() -> bytes:
    """A metadata section that decompresses to 1 GiB."""
    document = crafted.compress([b'{"id": "', *crafted.repeat(b"x" * MIB, 1024), b'"}'])
    return crafted.container(b"", model=crafted.compress([b""]), compressed_meta=document)


@pytest.fixture(scope="module")
def stream_bomb() -> bytes:
    """4 MiB of random bytes then 512 MiB of zeros in the model section."""
    payload = crafted.compress([os.urandom(4 * MIB), *crafted.repeat(bytes(MIB), 512)])
    return crafted.container(crafted.FLAMA2_META, model=payload)


class TestCaseMetadataBomb:
    """Item 1: a metadata section that decompresses to 1 GiB (a 33 KB file took the process to 2 GB)."""

    def test_read_meta(self, meta_bomb):
        bomb = meta_bomb
        assert len(bomb) < 64 << 10
        error, traced, rss = measured(lambda: read_meta(io.BytesIO(bomb)))
        assert isinstance(error, LimitExceeded), error
        assert "max_meta_size=1048576" in str(error)
        assert traced < BUDGET, traced
        assert rss < BUDGET, rss

    def test_load(self, meta_bomb, temp_disk):
        bomb = meta_bomb
        error, traced, rss = measured(lambda: load(io.BytesIO(bomb)))
        assert isinstance(error, LimitExceeded), error
        assert traced < BUDGET, traced
        assert rss < BUDGET, rss
        assert temp_disk == [0]

    def test_the_limit_is_configurable(self):
        document = b'{"pad": "' + b" " * (2 * MIB) + b'", ' + json.dumps(crafted.FLAMA2_META).encode()[1:]
        data = crafted.container(document, model=crafted.compress([b""]))
        with pytest.raises(LimitExceeded, match="max_meta_size"):
            read_meta(io.BytesIO(data))
        assert read_meta(io.BytesIO(data), limits=Limits(max_meta_size=4 * MIB)).id == "x"

    def test_compressed_size_alone(self):
        # A header announcing a 3 MiB metadata section is refused before those bytes are read.
        data = crafted.container(crafted.FLAMA2_META, model=b"")
        data = data[:16] + (3 * MIB).to_bytes(8, "big") + data[24:]
        with pytest.raises(LimitExceeded, match=r"metadata section passes the limit max_meta_size.*compressed"):
            read_meta(io.BytesIO(data))


class TestCaseStreamingBypass:
    """Item 2: 4 MiB of random bytes then 512 MiB of zeros in one section (the reader once asked for 1 MiB of input
    after the random stretch, which expanded in one call)."""

    def test_memory_stays_bounded(self, stream_bomb, temp_disk):
        bomb = stream_bomb

        def read() -> int:
            with pytest.warns(UnverifiedFileWarning):
                artifact = load(io.BytesIO(bomb))
            with artifact:
                return artifact.payload.stat().st_size

        size, traced, rss = measured(read)
        assert size == 516 * MIB  # within the default limits (ratio about 130): it loads, a chunk at a time
        assert traced < BUDGET, traced
        assert rss < BUDGET, rss

    def test_capped_by_section_size(self, stream_bomb, temp_disk):
        bomb = stream_bomb
        limits = Limits(max_section_size=32 * MIB)
        error, traced, rss = measured(lambda: load(io.BytesIO(bomb), limits=limits))
        assert isinstance(error, LimitExceeded), error
        assert error.limit == "max_section_size"
        assert "model section passes the limit max_section_size=33554432" in str(error)
        assert traced < BUDGET, traced
        assert rss < BUDGET, rss
        assert temp_disk[0] <= 32 * MIB


class TestCaseDiskBomb:
    """Item 5: a 65 KB section that unpacks to 2 GiB, and a bundle of 100,000 empty files."""

    def test_section_ratio(self, temp_disk):
        bomb = crafted.container(crafted.FLAMA2_META, model=crafted.compress(crafted.repeat(bytes(MIB), 2048)))
        assert len(bomb) < 100 << 10
        error, traced, rss = measured(lambda: load(io.BytesIO(bomb)))
        assert isinstance(error, LimitExceeded), error
        assert error.limit == "max_ratio"
        assert traced < BUDGET, traced
        assert rss < BUDGET, rss
        # The cap: 1000 times the compressed section, plus 1 MiB.
        assert temp_disk[0] <= 1000 * len(bomb) + MIB

    def test_artifact_ratio(self, temp_disk):
        bomb = crafted.container(
            crafted.FLAMA2_META,
            model=crafted.compress([b""]),
            artifacts=[("labels.txt", crafted.compress(crafted.repeat(bytes(MIB), 256)))],
        )
        with pytest.raises(LimitExceeded, match=r"artifact 'labels.txt' passes the limit max_ratio=1000"):
            load(io.BytesIO(bomb))
        assert temp_disk[0] <= 1000 * len(bomb) + MIB

    def test_total_size(self, temp_disk):
        section = crafted.compress([os.urandom(3 * MIB)])
        bomb = crafted.container(crafted.FLAMA2_META, model=section, artifacts=[(f"a{i}", section) for i in range(3)])
        error = None
        try:
            load(io.BytesIO(bomb), limits=Limits(max_total_size=8 * MIB))
        except LimitExceeded as exc:
            error = exc
        assert error is not None
        assert error.limit == "max_total_size"
        assert temp_disk[0] <= 8 * MIB

    def test_bundle_entries(self, temp_disk):
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as archive:
            for i in range(20_000):
                archive.addfile(tarfile.TarInfo(f"f{i}"), io.BytesIO(b""))
        bomb = crafted.container(crafted.FLAMA2_META, model=crafted.compress([buffer.getvalue()]), kind=1)
        with pytest.raises(LimitExceeded, match=r"model bundle passes the limit max_bundle_entries=10000"):
            load(io.BytesIO(bomb))
        with pytest.raises(LimitExceeded, match=r"max_bundle_entries=100\b"):
            load(io.BytesIO(bomb), limits=Limits(max_bundle_entries=100))

    def test_artifact_count(self):
        entries = [(f"a{i}", crafted.compress([b""])) for i in range(1001)]
        bomb = crafted.container(crafted.FLAMA2_META, model=crafted.compress([b""]), artifacts=entries)
        with pytest.raises(LimitExceeded, match="max_artifacts=1000"):
            list_artifacts(io.BytesIO(bomb))
        with pytest.raises(LimitExceeded, match="max_artifacts=1000"):
            load(io.BytesIO(bomb))


class TestCaseDeclaredSizes:
    """Files written here declare each section's size: a load takes no more temporary disk than they declare."""

    def test_recorded(self, sklearn_factory, tmp_path):
        (tmp_path / "a.txt").write_bytes(b"12345")
        meta = dump(sklearn_factory()[0], tmp_path / "m.flm", artifacts={"a.txt": tmp_path / "a.txt"})
        assert meta.sizes["a.txt"] == 5
        with load(tmp_path / "m.flm") as artifact:
            assert artifact.payload.stat().st_size == meta.sizes["model"]
            assert artifact.meta.sizes == meta.sizes

    @pytest.mark.parametrize("delta", [pytest.param(-1, id="smaller"), pytest.param(1, id="larger")])
    def test_mismatch(self, sklearn_factory, tmp_path, temp_disk, delta):
        meta = dump(sklearn_factory()[0], tmp_path / "m.flm")

        def change(document: dict[str, Any]) -> None:
            document["sizes"]["model"] += delta

        data = crafted.rewrite_meta((tmp_path / "m.flm").read_bytes(), change)
        with pytest.raises(CorruptedFile, match=r"model section: .*the metadata declares"):
            load(io.BytesIO(data))
        assert temp_disk[0] <= meta.sizes["model"] + delta


class TestCaseLimitsObject:
    @pytest.mark.parametrize("value", [0, -1, 1.5, True])
    def test_invalid(self, value):
        with pytest.raises(ValueError, match="max_ratio must be a positive integer"):
            Limits(max_ratio=value)
