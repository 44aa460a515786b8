"""`dump` a model into a `.flm` file, `load` it back, and read a file's header without its payload."""

import contextlib
import datetime
import os
import pathlib
import shutil
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from typing import Any, BinaryIO

from flama.models.codecs import CODECS
from flama.models.container import Container, ModelKind, Spool, artifact_name, write_container
from flama.models.exceptions import LibraryVersionWarning, UnknownCodec, UnknownLibrary
from flama.models.metadata import Family, FrameworkInfo, Metadata, ModelInfo
from flama.models.serializers import serializer_for, serializer_for_lib

__all__ = ["ModelArtifact", "dump", "list_artifacts", "load", "read_meta"]

Source = str | os.PathLike[str] | BinaryIO


@contextlib.contextmanager
def _opened(source: Source) -> Iterator[BinaryIO]:
    if isinstance(source, (str, os.PathLike)):
        with pathlib.Path(source).open("rb") as stream:
            yield stream
    else:
        yield source


def _model_spool(
    model: Any, serializer_lib: str, codec: str, workdir: pathlib.Path, **options: Any
) -> tuple[Spool, ModelKind]:
    """The compressed payload of ``model`` (a model object or a path) and its kind."""
    spool = Spool(codec)
    try:
        if isinstance(model, pathlib.Path):
            payload = model
        else:
            serializer = serializer_for_lib(serializer_lib)
            payload = workdir / "model"
            serializer.dump(model, payload, **options)
        if payload.is_dir():
            from flama.models.bundle import write_bundle

            write_bundle(payload, spool)
            return spool, "bundle"
        spool.write_file(payload)
        return spool, "binary"
    except BaseException:
        spool.close()
        raise


def dump(
    model: Any,
    destination: str | os.PathLike[str] | BinaryIO,
    *,
    family: Family | None = None,
    lib: str | None = None,
    params: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    artifacts: Mapping[str, str | os.PathLike[str]] | None = None,
    capabilities: dict[str, Any] | None = None,
    config: dict[str, Any] | None = None,
    compression: str = "zstd",
    protocol: int = 2,
    **serializer_options: Any,
) -> Metadata:
    """Write a model and its artifacts into one `.flm` file.

    Args:
        model: A model object, or a `pathlib.Path` to a directory (a checkpoint, stored as a tar bundle) or to a
            payload file already serialized (``lib`` is then required).
        destination: A file path, or a writable binary stream (it need not be seekable).
        family: ``ml`` or ``llm``; the serializer decides when omitted.
        lib: The library name; inferred from the object's classes when omitted.
        params: Model parameters to record (the serializer's description when omitted).
        metrics: Model metrics to record.
        extra: Free user data to record.
        artifacts: Extra files to store, by plain file name.
        capabilities: What the model accepts and produces.
        config: Framework config recorded and given back to the serializer when loading.
        compression: ``zstd`` (default), ``zlib``, ``bz2``, ``lzma`` or ``none``.
        protocol: 2 (default), or 1 for files that Flama releases before the v2 protocol read.
        **serializer_options: Passed to the serializer's ``dump`` (e.g. ``format="skops"`` for scikit-learn).

    Returns:
        The metadata written, with the checksums.

    Raises:
        UnknownLibrary: When no serializer accepts the model or ``lib`` is unknown.
        UnknownCodec: For an unknown compression name.
        UnsafeArtifactPath: For an artifact name that is not a plain file name.
    """
    if compression not in CODECS:
        raise UnknownCodec(compression, "the compression argument")
    if isinstance(model, pathlib.Path):
        if lib is None:
            raise UnknownLibrary(f"the path {str(model)!r} (pass lib= when dumping a path)")
        serializer = serializer_for_lib(lib)
    else:
        serializer = serializer_for_lib(lib) if lib is not None else serializer_for(model)
    names = {artifact_name(name): pathlib.Path(path) for name, path in (artifacts or {}).items()}
    spools: list[tuple[str, Spool]] = []
    checksums: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="flm-dump-") as workdir:
        model_spool, kind = _model_spool(
            model, serializer.lib, compression, pathlib.Path(workdir), **serializer_options
        )
        try:
            for name, path in names.items():
                spool = Spool(compression)
                spools.append((name, spool))
                spool.write_file(path)
                checksums[name] = spool.finish()
            checksums["model"] = model_spool.finish()
            described = {} if isinstance(model, pathlib.Path) else serializer.describe(model)
            recorded = serializer.config(model, **serializer_options)
            meta = Metadata(
                id=Metadata.new_id(),
                timestamp=datetime.datetime.now(datetime.timezone.utc),
                family=family or serializer.family(model),
                framework=FrameworkInfo(
                    lib=serializer.lib,
                    version=serializer.version(),
                    config={**(recorded or {}), **(config or {})} or None,
                ),
                model=ModelInfo(
                    obj=described.get("obj"),
                    info=described.get("info"),
                    params=params if params is not None else described.get("params"),
                    metrics=metrics,
                ),
                extra=extra,
                capabilities=dict(capabilities or {}),
                checksums=checksums,
            )
            with _sink(destination) as sink:
                write_container(
                    sink,
                    protocol=protocol,
                    codec=compression,
                    meta=meta,
                    artifacts=spools,
                    model=model_spool,
                    kind=kind,
                )
        finally:
            model_spool.close()
            for _, spool in spools:
                spool.close()
    return meta


@contextlib.contextmanager
def _sink(destination: str | os.PathLike[str] | BinaryIO) -> Iterator[BinaryIO]:
    """Where to write a file: a stream as it is, or a path through a partial file renamed once it is complete."""
    if not isinstance(destination, (str, os.PathLike)):
        yield destination
        return
    # Written beside the target and renamed at the end, so a failure never leaves half a file under its name.
    target = pathlib.Path(destination)
    partial = target.with_name(f".{target.name}.partial")
    try:
        with partial.open("wb") as sink:
            yield sink
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)


class ModelArtifact:
    """A loaded `.flm` file: metadata, extracted artifacts, and the model, deserialized on first use.

    Files live in a temporary directory removed by `close` (or at the end of a ``with`` block).

    Attributes:
        meta: The metadata document.
        artifacts: Extracted artifact files by name.
        directory: The extracted bundle directory for bundle payloads, else None.
        payload: The extracted payload: a file for single-file payloads, the bundle directory otherwise.
    """

    __slots__ = ("_model", "_tempdir", "artifacts", "directory", "meta", "payload")

    _UNSET: Any = object()

    def __init__(
        self,
        *,
        meta: Metadata,
        payload: pathlib.Path,
        artifacts: dict[str, pathlib.Path],
        kind: ModelKind,
        tempdir: pathlib.Path,
    ) -> None:
        self.meta = meta
        self.payload = payload
        self.artifacts = artifacts
        self.directory = payload if kind == "bundle" else None
        self._tempdir: pathlib.Path | None = tempdir
        self._model: Any = self._UNSET

    @property
    def model(self) -> Any:
        """The model object, deserialized on first access by the serializer of ``meta.framework.lib``."""
        if self._model is self._UNSET:
            serializer = serializer_for_lib(self.meta.framework.lib)
            config = self.meta.framework.config or {}
            options = {key: value for key, value in config.items() if key in serializer.config_keys}
            self._model = serializer.load(self.payload, **options)
        return self._model

    def close(self) -> None:
        """Remove the extracted files (the loaded model object, if any, stays usable)."""
        if self._tempdir is not None:
            shutil.rmtree(self._tempdir, ignore_errors=True)
            self._tempdir = None

    def __enter__(self) -> "ModelArtifact":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<ModelArtifact {self.meta.framework.lib} {self.meta.family} id={self.meta.id}>"


def _warn_on_version(meta: Metadata) -> None:
    recorded = meta.framework.version
    if recorded is None:
        return
    try:
        installed = serializer_for_lib(meta.framework.lib).version()
    except UnknownLibrary:
        return  # no serializer here: loading the model object says so; the files are still usable
    if installed != recorded:
        shown = "is not installed" if installed is None else f"{installed} is installed"
        warnings.warn(
            f"Model was written with {meta.framework.lib} {recorded} but {shown}; it may not load or behave the same",
            LibraryVersionWarning,
            stacklevel=3,
        )


def load(source: str | os.PathLike[str] | BinaryIO, *, verify: bool = True) -> ModelArtifact:
    """Read a `.flm` file (ours or Flama 2.x's) and extract its artifacts and payload to a temporary directory.

    Args:
        source: A file path or a readable binary stream.
        verify: Check the recorded SHA-256 of each artifact and of the payload (files from Flama 2.x have none).

    Returns:
        The artifact; its model is deserialized on first access of ``.model``.

    Raises:
        ModelFileError: Any of its subclasses for truncated, corrupted, unsafe or mismatching content.
    """
    tempdir = pathlib.Path(tempfile.mkdtemp(prefix="flm-"))
    try:
        with _opened(source) as stream:
            artifact = _extract(Container(stream), tempdir, verify=verify)
    except BaseException:
        shutil.rmtree(tempdir, ignore_errors=True)
        raise
    _warn_on_version(artifact.meta)
    return artifact


def _extract(container: Container, tempdir: pathlib.Path, *, verify: bool) -> ModelArtifact:
    meta = container.meta()
    expected = meta.checksums if verify else {}
    extracted: dict[str, pathlib.Path] = {}
    payload = tempdir / "model"

    def read_artifacts() -> None:
        folder = tempdir / "artifacts"
        folder.mkdir()
        for name, _size, reader in container.artifacts():
            extracted[name] = folder / name
            Container.verify(name, expected.get(name), reader.copy_to(extracted[name]))

    def read_model() -> ModelKind:
        kind, reader = container.model()
        if kind == "bundle":
            from flama.models.bundle import extract_bundle

            payload.mkdir()
            extract_bundle(reader, payload)
            digest = reader.drain()
        else:
            digest = reader.copy_to(payload)
        Container.verify("model", expected.get("model"), digest)
        return kind

    if container.protocol == 1:
        kind = read_model()
        read_artifacts()
    else:
        read_artifacts()
        kind = read_model()
    return ModelArtifact(meta=meta, payload=payload, artifacts=extracted, kind=kind, tempdir=tempdir)


def read_meta(source: str | os.PathLike[str] | BinaryIO) -> Metadata:
    """The metadata of a `.flm` file, reading only its header and metadata section."""
    with _opened(source) as stream:
        return Container(stream).meta()


def list_artifacts(source: str | os.PathLike[str] | BinaryIO) -> dict[str, int]:
    """Artifact names and their stored (compressed) sizes, reading entry headers only, never the payload."""
    with _opened(source) as stream:
        return Container(stream).list_artifacts()
