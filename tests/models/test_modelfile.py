import io
import pathlib
from typing import BinaryIO, cast

import flama
import pytest
from flama.models import (
    ChecksumMismatch,
    LibraryVersionWarning,
    ModelFile,
    UnknownCodec,
    UnknownLibrary,
    UnsafeArtifactPath,
    dump,
    list_artifacts,
    load,
    read_meta,
)


class _Pipe(io.RawIOBase):
    """A write-only, unseekable stream, like a pipe or a socket."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        self.data += b
        return len(b)


class TestCaseDumpLoad:
    @pytest.mark.parametrize(
        ("compression", "protocol"),
        [
            pytest.param("zstd", 2, id="zstd-v2"),
            pytest.param("zlib", 2, id="zlib-v2"),
            pytest.param("bz2", 2, id="bz2-v2"),
            pytest.param("lzma", 2, id="lzma-v2"),
            pytest.param("none", 2, id="none-v2"),
            pytest.param("zstd", 1, id="zstd-v1"),
            pytest.param("lzma", 1, id="lzma-v1"),
        ],
    )
    def test_round_trip(self, sklearn_factory, tmp_path, compression, protocol):
        model, inputs = sklearn_factory()
        (tmp_path / "labels.txt").write_text("no\nyes\n")
        written = dump(
            model,
            tmp_path / "model.flm",
            compression=compression,
            protocol=protocol,
            artifacts={"labels.txt": tmp_path / "labels.txt"},
            metrics={"accuracy": 0.9},
            extra={"owner": "fish"},
        )

        with load(tmp_path / "model.flm") as artifact:
            assert artifact.meta == written
            assert artifact.model.predict(inputs).tolist() == model.predict(inputs).tolist()
            assert artifact.artifacts["labels.txt"].read_text() == "no\nyes\n"
            assert artifact.directory is None
            directory = artifact.payload.parent
        assert not directory.exists()

    def test_metadata_inferred(self, sklearn_factory, tmp_path):
        from sklearn import __version__ as sklearn_version

        model, _ = sklearn_factory()

        meta = dump(model, tmp_path / "model.flm")

        assert meta.family == "ml"
        assert meta.framework.lib == "sklearn"
        assert meta.framework.version == sklearn_version
        assert meta.framework.config == {"format": "pickle"}
        assert meta.model.obj == "sklearn.linear_model._logistic.LogisticRegression"
        assert meta.model.params is not None
        assert meta.model.params["C"] == 1.0
        assert set(meta.checksums) == {"model"}
        assert read_meta(tmp_path / "model.flm") == meta

    def test_explicit_overrides(self, sklearn_factory, tmp_path):
        model, _ = sklearn_factory()

        meta = dump(model, tmp_path / "model.flm", family="llm", lib="sklearn", params={"given": 1}, config={"k": "v"})

        assert meta.family == "llm"
        assert meta.model.params == {"given": 1}
        assert meta.framework.config == {"format": "pickle", "k": "v"}

    def test_streams(self, sklearn_factory):
        model, inputs = sklearn_factory()
        pipe = _Pipe()

        meta = dump(model, cast("BinaryIO", pipe))

        assert read_meta(io.BytesIO(pipe.data)) == meta
        with load(io.BytesIO(pipe.data)) as artifact:
            assert artifact.model.predict(inputs).tolist() == model.predict(inputs).tolist()

    def test_list_artifacts(self, sklearn_factory, tmp_path):
        model, _ = sklearn_factory()
        (tmp_path / "a.bin").write_bytes(b"a" * 1000)
        (tmp_path / "b.txt").write_bytes(b"")

        dump(
            model,
            tmp_path / "m.flm",
            compression="none",
            artifacts={"a.bin": tmp_path / "a.bin", "b.txt": tmp_path / "b.txt"},
        )

        assert list_artifacts(tmp_path / "m.flm") == {"a.bin": 1000, "b.txt": 0}

    def test_short_names(self):
        assert flama.dump is dump
        assert flama.load is load

    def test_model_is_lazy(self, sklearn_factory, tmp_path, monkeypatch):
        model, _ = sklearn_factory()
        dump(model, tmp_path / "m.flm")
        calls = []
        from flama.models.serializers.sklearn import SERIALIZER

        original = SERIALIZER.load

        def counted(source, **options):
            calls.append(source)
            return original(source, **options)

        monkeypatch.setattr(SERIALIZER, "load", counted)

        with load(tmp_path / "m.flm") as artifact:
            assert calls == []
            first = artifact.model
            assert artifact.model is first
        assert len(calls) == 1

    def test_only_known_config_keys_reach_loading(self, sklearn_factory, tmp_path, monkeypatch):
        model, _ = sklearn_factory()
        dump(model, tmp_path / "m.flm", config={"trusted": ["os.system"]})
        from flama.models.serializers.sklearn import SERIALIZER

        original = SERIALIZER.load
        given = []

        def recorded(source, **options):
            given.append(options)
            return original(source, **options)

        monkeypatch.setattr(SERIALIZER, "load", recorded)
        with load(tmp_path / "m.flm") as artifact:
            assert artifact.meta.framework.config == {"format": "pickle", "trusted": ["os.system"]}
            assert artifact.model is not None
        assert given == [{"format": "pickle", "trusted": True, "trusted_types": ()}]  # trust: dumped here


class TestCaseDumpErrors:
    def test_unknown_object(self, tmp_path):
        with pytest.raises(UnknownLibrary, match=r"No serializer for an object of type builtins.object"):
            dump(object(), tmp_path / "m.flm")
        assert list(tmp_path.iterdir()) == []

    def test_unknown_lib(self, sklearn_factory, tmp_path):
        with pytest.raises(UnknownLibrary, match=r"No serializer for library 'caffe'"):
            dump(sklearn_factory()[0], tmp_path / "m.flm", lib="caffe")

    def test_unknown_codec(self, sklearn_factory, tmp_path):
        with pytest.raises(UnknownCodec, match=r"Unknown compression 'brotli' in the compression argument"):
            dump(sklearn_factory()[0], tmp_path / "m.flm", compression="brotli")

    @pytest.mark.parametrize(
        "name",
        [
            pytest.param("../evil", id="parent"),
            pytest.param("/etc/passwd", id="absolute"),
            pytest.param("sub/file", id="nested"),
            pytest.param("C:evil", id="drive"),
            pytest.param("..", id="dotdot"),
            pytest.param("", id="empty"),
        ],
    )
    def test_unsafe_artifact_name(self, sklearn_factory, tmp_path, name):
        (tmp_path / "a").write_text("x")
        with pytest.raises(UnsafeArtifactPath, match=r"an artifact name must be a plain file name"):
            dump(sklearn_factory()[0], tmp_path / "m.flm", artifacts={name: tmp_path / "a"})
        assert not (tmp_path / "m.flm").exists()

    def test_protocol_1_refuses_bundles(self, tmp_path):
        (tmp_path / "ckpt").mkdir()
        (tmp_path / "ckpt" / "w").write_text("w")
        with pytest.raises(ValueError, match=r"Protocol 1 holds only compressed single-file payloads"):
            dump(tmp_path / "ckpt", tmp_path / "m.flm", lib="sklearn", protocol=1)
        assert not (tmp_path / "m.flm").exists()


class TestCaseLoadChecks:
    def test_version_warning(self, sklearn_factory, tmp_path, monkeypatch):
        from flama.models.serializers.sklearn import SERIALIZER

        dump(sklearn_factory()[0], tmp_path / "m.flm")
        recorded = read_meta(tmp_path / "m.flm").framework.version
        monkeypatch.setattr(type(SERIALIZER), "version", lambda self: "0.0.1")

        with pytest.warns(LibraryVersionWarning, match=rf"written with sklearn {recorded} but 0.0.1 is installed"):
            load(tmp_path / "m.flm").close()

    def test_checksum_mismatch(self, sklearn_factory, tmp_path):
        (tmp_path / "a.txt").write_bytes(b"A" * 64)
        dump(sklearn_factory()[0], tmp_path / "m.flm", compression="none", artifacts={"a.txt": tmp_path / "a.txt"})
        data = (tmp_path / "m.flm").read_bytes()
        (tmp_path / "m.flm").write_bytes(data.replace(b"A" * 64, b"A" * 63 + b"B"))

        with pytest.raises(ChecksumMismatch, match=r"Checksum mismatch for 'a.txt': recorded sha256 [0-9a-f]{64}"):
            load(tmp_path / "m.flm")
        with load(tmp_path / "m.flm", verify=False) as artifact:
            assert artifact.artifacts["a.txt"].read_bytes() == b"A" * 63 + b"B"

    def test_cleanup_on_error(self, sklearn_factory, tmp_path, monkeypatch):
        import tempfile

        monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
        (tmp_path / "a.txt").write_bytes(b"A" * 64)
        dump(sklearn_factory()[0], tmp_path / "m.flm", compression="none", artifacts={"a.txt": tmp_path / "a.txt"})
        data = (tmp_path / "m.flm").read_bytes()
        (tmp_path / "m.flm").write_bytes(data.replace(b"A" * 64, b"B" * 64))

        with pytest.raises(ChecksumMismatch):
            load(tmp_path / "m.flm")
        assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "m.flm"]

    def test_artifact_type(self, sklearn_factory, tmp_path):
        dump(sklearn_factory()[0], tmp_path / "m.flm")
        artifact = load(tmp_path / "m.flm")
        assert isinstance(artifact, ModelFile)
        assert repr(artifact) == f"<ModelFile sklearn ml id={artifact.meta.id}>"
        artifact.close()
        artifact.close()
        assert not pathlib.Path(artifact.payload).exists()
