import datetime
import io
import os
import pathlib
import tarfile
import tracemalloc

import pytest
from flama.models import CorruptedFile, Limits, UnsafeArtifactPath, dump, load
from flama.models.bundle import extract_bundle, write_bundle
from flama.models.container import Spool, write_container
from flama.models.metadata import FrameworkInfo, Metadata


def _bundle_file(path: pathlib.Path, tar_bytes: bytes) -> None:
    """A .flm file whose bundle payload is exactly these tar bytes."""
    spool = Spool("zstd")
    spool.write(tar_bytes)
    digest = spool.finish()
    meta = Metadata(
        id="x",
        timestamp=datetime.datetime(2026, 1, 1),
        family="llm",
        framework=FrameworkInfo(lib="transformers"),
        checksums={"model": digest},
    )
    with path.open("wb") as sink:
        write_container(sink, protocol=2, codec="zstd", meta=meta, artifacts=[], model=spool, kind="bundle")
    spool.close()


def _tar(*members: tuple[tarfile.TarInfo, bytes | None]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as archive:
        for info, content in members:
            archive.addfile(info, io.BytesIO(content) if content is not None else None)
    return buffer.getvalue()


def _member(
    name: str, kind: bytes = tarfile.REGTYPE, content: bytes | None = b"", link: str = ""
) -> tuple[tarfile.TarInfo, bytes | None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.size = len(content) if kind == tarfile.REGTYPE and content else 0
    return info, content if kind == tarfile.REGTYPE else None


class TestCaseBundleRoundTrip:
    def test_directory(self, tmp_path):
        source = tmp_path / "ckpt"
        (source / "nested" / "deeper").mkdir(parents=True)
        (source / "config.json").write_text('{"model_type": "llama"}')
        (source / "nested" / "deeper" / "w.bin").write_bytes(os.urandom(3000))
        (source / "empty").mkdir()
        (source / ".cache").mkdir()
        (source / ".cache" / "lock").write_text("x")
        (tmp_path / "blob").write_bytes(b"linked content")
        (source / "tokenizer.json").symlink_to(tmp_path / "blob")

        meta = dump(source, tmp_path / "m.flm", lib="sklearn", family="llm")

        with load(tmp_path / "m.flm") as artifact:
            assert artifact.directory == artifact.payload
            assert artifact.directory is not None
            files = sorted(str(p.relative_to(artifact.directory)) for p in artifact.directory.rglob("*"))
            assert files == ["config.json", "empty", "nested", "nested/deeper", "nested/deeper/w.bin", "tokenizer.json"]
            assert (artifact.directory / "tokenizer.json").read_bytes() == b"linked content"
            assert not (artifact.directory / "tokenizer.json").is_symlink()
            assert (artifact.directory / "nested/deeper/w.bin").read_bytes() == (
                source / "nested/deeper/w.bin"
            ).read_bytes()
        assert meta.family == "llm"
        assert set(meta.checksums) == {"model"}

    def test_not_a_directory_nor_file(self, tmp_path):
        with pytest.raises(FileNotFoundError):
            dump(tmp_path / "missing", tmp_path / "m.flm", lib="sklearn")

    def test_streaming_memory(self, tmp_path):
        source = tmp_path / "big"
        source.mkdir()
        for index in range(5):
            with (source / f"shard-{index}.bin").open("wb") as out:
                for _ in range(10):
                    out.write(os.urandom(1 << 20))

        tracemalloc.start()
        try:
            dump(source, tmp_path / "big.flm", lib="sklearn", family="llm", compression="zstd")
            _, dump_peak = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            with load(tmp_path / "big.flm") as artifact:
                _, load_peak = tracemalloc.get_traced_memory()
                assert artifact.directory is not None
                assert (artifact.directory / "shard-4.bin").stat().st_size == 10 << 20
        finally:
            tracemalloc.stop()
        assert (tmp_path / "big.flm").stat().st_size > 50 << 20
        assert dump_peak < 12 << 20, dump_peak
        assert load_peak < 12 << 20, load_peak

    def test_compressible_memory(self, tmp_path):
        # 256 MiB of zeros compress to a few KB: reading that section in one piece would expand it all at once.
        source = tmp_path / "zeros"
        source.mkdir()
        with (source / "zeros.bin").open("wb") as out:
            out.truncate(256 << 20)
        dump(source, tmp_path / "zeros.flm", lib="sklearn", family="llm")

        tracemalloc.start()
        try:
            # Zeros expand past the default max_ratio (1000): a genuine file like this one raises it.
            with load(tmp_path / "zeros.flm", limits=Limits(max_ratio=100_000)) as artifact:
                _, load_peak = tracemalloc.get_traced_memory()
                assert artifact.directory is not None
                assert (artifact.directory / "zeros.bin").stat().st_size == 256 << 20
        finally:
            tracemalloc.stop()
        assert (tmp_path / "zeros.flm").stat().st_size < 1 << 20
        assert load_peak < 12 << 20, load_peak


class TestCaseBundleFormat:
    def test_same_bytes_as_tarfile(self, tmp_path):
        source = tmp_path / "ckpt"
        (source / "nested").mkdir(parents=True)
        (source / "nested" / ("w" * 150 + ".bin")).write_bytes(os.urandom(5000))
        (source / "config.json").write_text("{}")
        (source / "empty.txt").write_bytes(b"")
        expected = io.BytesIO()
        with tarfile.open(fileobj=expected, mode="w|", format=tarfile.GNU_FORMAT) as archive:
            for path in sorted(source.rglob("*")):
                info = archive.gettarinfo(str(path), arcname=str(path.relative_to(source)))
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                archive.addfile(info, io.BytesIO(path.read_bytes()) if path.is_file() else None)
        written = io.BytesIO()

        write_bundle(source, written)

        assert written.getvalue() == expected.getvalue()
        assert len(written.getvalue()) % tarfile.RECORDSIZE == 0

    @pytest.mark.parametrize(
        "fmt",
        [
            pytest.param(tarfile.GNU_FORMAT, id="gnu-long-name"),
            pytest.param(tarfile.PAX_FORMAT, id="pax-path-record"),
            pytest.param(tarfile.USTAR_FORMAT, id="ustar-prefix"),
        ],
    )
    def test_long_names(self, tmp_path, fmt):
        name = "d" * 90 + "/" + "f" * 90 + ".bin"
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w", format=fmt) as archive:
            info = tarfile.TarInfo(name)
            info.size = 3
            archive.addfile(info, io.BytesIO(b"abc"))
        buffer.seek(0)

        extract_bundle(buffer, tmp_path)

        assert (tmp_path / name).read_bytes() == b"abc"

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            pytest.param(b"", "invalid tar archive (empty file)", id="empty"),
            pytest.param(_tar(_member("w.bin", content=b"x" * 2000))[:1000], "(unexpected end of data)", id="cut"),
            pytest.param(
                b"\x01" + _tar(_member("w.bin", content=b"x"))[1:], "invalid tar archive (bad checksum)", id="checksum"
            ),
        ],
    )
    def test_corrupted(self, tmp_path, data, message):
        with pytest.raises(CorruptedFile, match=message.replace("(", r"\(").replace(")", r"\)")):
            extract_bundle(io.BytesIO(data), tmp_path)


class TestCaseBundleSafety:
    @pytest.mark.parametrize(
        ("member", "message"),
        [
            pytest.param(
                _member("/etc/evil", content=b"x"), "Unsafe path '/etc/evil': absolute paths are refused", id="absolute"
            ),
            pytest.param(
                _member("../evil", content=b"x"), "Unsafe path '../evil': '..' components are refused", id="parent"
            ),
            pytest.param(_member("a/../../evil", content=b"x"), "'..' components are refused", id="nested-parent"),
            pytest.param(
                _member("C:/evil", content=b"x"), "Unsafe path 'C:/evil': absolute paths are refused", id="drive"
            ),
            pytest.param(
                _member("link", tarfile.SYMTYPE, link="/etc/passwd"),
                "Unsafe path 'link': symbolic links are refused",
                id="symlink",
            ),
            pytest.param(
                _member("hard", tarfile.LNKTYPE, link="config.json"),
                "Unsafe path 'hard': hard links are refused",
                id="hardlink",
            ),
            pytest.param(
                _member("dev", tarfile.CHRTYPE), "Unsafe path 'dev': device and FIFO entries are refused", id="device"
            ),
            pytest.param(
                _member("fifo", tarfile.FIFOTYPE), "Unsafe path 'fifo': device and FIFO entries are refused", id="fifo"
            ),
        ],
    )
    def test_refused(self, tmp_path, member, message):
        _bundle_file(tmp_path / "m.flm", _tar(_member("config.json", content=b"{}"), member))

        with pytest.raises(UnsafeArtifactPath, match=message.replace("(", r"\(").replace(".", r"\.")):
            load(tmp_path / "m.flm")
        assert not (tmp_path.parent / "evil").exists()

    def test_not_a_tar(self, tmp_path):
        _bundle_file(tmp_path / "m.flm", b"this is not a tar archive" * 40)

        with pytest.raises(CorruptedFile, match=r"Corrupted \.flm file: model bundle: invalid tar archive"):
            load(tmp_path / "m.flm")
