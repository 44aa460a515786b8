"""`dump` a model into a `.flm` model file, `load` it back, and read a file's header without its payload.

Loading refuses, unless trusted, a payload whose format runs code as it loads (pickle, TorchScript...), refuses a file
written here whose checksums were lost, and stays within its `Limits`. A payload this process dumped itself is
trusted: its recorded checksum, verified on load, proves the bytes are the ones it wrote.
"""

import contextlib
import datetime
import os
import pathlib
import shutil
import tempfile
import warnings
from collections.abc import Collection, Iterator, Mapping
from typing import Any, BinaryIO, Final

from flama.models.checksums import Digest
from flama.models.codecs import CODECS
from flama.models.container import Container, ModelKind, Spool, artifact_name, write_container
from flama.models.exceptions import (
    CorruptedFile,
    LibraryVersionWarning,
    MissingLibrary,
    UnknownCodec,
    UnknownLibrary,
    UntrustedModel,
    UnverifiedFile,
    UnverifiedFileWarning,
)
from flama.models.limits import DEFAULT_LIMITS, Limits
from flama.models.metadata import Family, FrameworkInfo, Metadata, ModelInfo
from flama.models.serializers import INSTALL, serializer_for, serializer_for_lib

__all__ = ["ModelArtifact", "ModelFile", "Trust", "dump", "list_artifacts", "load", "read_meta"]

Source = str | os.PathLike[str] | BinaryIO
Trust = bool | Collection[str]
"""``True`` to trust the file; or the SHA-256 digests of the files to trust (``"sha256:<hex>"`` or bare hex)."""

_CHUNK: Final = 1 << 20
# SHA-256 of every payload `dump` wrote in this process: loading one of them back runs nothing but what it wrote.
_WRITTEN: set[str] = set()


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
            sizes = {name: spool.raw_size for name, spool in spools} | {"model": model_spool.raw_size}
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
                sizes=sizes,
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
    _WRITTEN.add(checksums["model"])
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


class ModelFile:
    """A loaded `.flm` model file: metadata, extracted artifacts (its extra files), and the model, loaded on first use.

    Files live in a temporary directory removed by `close` (or at the end of a ``with`` block).

    Attributes:
        meta: The metadata document.
        artifacts: Extracted artifact files by name.
        directory: The extracted bundle directory for bundle payloads, else None.
        payload: The extracted payload: a file for single-file payloads, the bundle directory otherwise.
        trusted: Whether the payload may run code as it loads (given to `load`, or a payload this process dumped).
        trusted_types: Type names a skops payload may hold beyond those skops trusts by default.
    """

    __slots__ = ("_model", "_tempdir", "artifacts", "directory", "meta", "payload", "trusted", "trusted_types")

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
        self.trusted = False
        self.trusted_types: tuple[str, ...] = ()

    @property
    def model(self) -> Any:
        """The model object, deserialized on first access by the serializer of ``meta.framework.lib``.

        Raises:
            UntrustedModel: When the payload's format runs code as it loads and the artifact is not trusted.
            MissingLibrary: When the model's library (or one it needs) is not installed.
        """
        if self._model is self._UNSET:
            serializer = serializer_for_lib(self.meta.framework.lib)
            config = self.meta.framework.config or {}
            options = {key: value for key, value in config.items() if key in serializer.config_keys}
            reason = serializer.untrusted(self.payload, **options)
            if reason is not None and not self.trusted:
                raise UntrustedModel(serializer.lib, reason)
            trust = {"trusted": self.trusted, "trusted_types": self.trusted_types}
            options |= {key: value for key, value in trust.items() if key in serializer.trust_options}
            try:
                self._model = serializer.load(self.payload, **options)
            except ModuleNotFoundError as exc:
                install = INSTALL.get(serializer.lib, f"pip install {exc.name}")
                raise MissingLibrary(serializer.lib, exc.name, install) from exc
        return self._model

    def close(self) -> None:
        """Remove the extracted files (the loaded model object, if any, stays usable)."""
        if self._tempdir is not None:
            shutil.rmtree(self._tempdir, ignore_errors=True)
            self._tempdir = None

    def __enter__(self) -> "ModelFile":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<ModelFile {self.meta.framework.lib} {self.meta.family} id={self.meta.id}>"


ModelArtifact = ModelFile
"""Flama 2.x's name for a loaded model file."""


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


def load(
    source: str | os.PathLike[str] | BinaryIO,
    *,
    verify: bool = True,
    trusted: Trust = False,
    trusted_types: Collection[str] = (),
    limits: Limits | None = None,
) -> ModelFile:
    """Read a `.flm` file (ours or Flama 2.x's) and extract its artifacts and payload to a temporary directory.

    Args:
        source: A file path or a readable binary stream.
        verify: Check the recorded SHA-256 of each artifact and of the payload, and refuse a file written by this
            library that lacks some (files from Flama 2.x have none: they load with an `UnverifiedFileWarning`).
            False accepts any file unverified.
        trusted: Let the payload run code as it loads (pickle, TorchScript, Keras outside safe mode): ``True``, or
            the SHA-256 digests of the `.flm` files to trust (``["sha256:<hex>"]``, as ``sha256sum`` prints them).
            Formats that run no code (skops, ``.pt2``, ``.keras`` in safe mode, safetensors) need no trust, and nor
            does a payload this process dumped itself (when ``verify`` is on).
        trusted_types: Type names a skops payload may hold beyond those skops trusts by default.
        limits: Caps on decompressed sizes and entries; `Limits()` by default.

    Returns:
        The artifact; its model is deserialized on first access of ``.model``.

    Raises:
        ModelFileError: Any of its subclasses for truncated, corrupted, unsafe, unverifiable, oversized or
            mismatching content (`UntrustedModel` comes later, from ``.model``).
    """
    digests = None if isinstance(trusted, bool) else _digests(trusted)
    tempdir = pathlib.Path(tempfile.mkdtemp(prefix="flm-"))
    try:
        with _opened(source) as opened:
            stream: BinaryIO = opened if digests is None else _HashedStream(opened)  # type: ignore[assignment]
            artifact = _extract(Container(stream, limits or DEFAULT_LIMITS), tempdir, verify=verify)
            file_digest = stream.finish() if isinstance(stream, _HashedStream) else None
    except BaseException:
        shutil.rmtree(tempdir, ignore_errors=True)
        raise
    written_here = verify and artifact.meta.checksums.get("model") in _WRITTEN
    artifact.trusted = trusted is True or written_here or (digests is not None and file_digest in digests)
    artifact.trusted_types = tuple(trusted_types)
    if verify and not artifact.meta.checksums:  # with verify=False the caller accepted that already
        warnings.warn(
            "This .flm file carries no checksums (Flama 2.x wrote none): its content cannot be verified",
            UnverifiedFileWarning,
            stacklevel=2,
        )
    _warn_on_version(artifact.meta)
    return artifact


def _digests(trusted: Collection[str]) -> frozenset[str]:
    """The hex digests of a list of trusted file checksums.

    Raises:
        ValueError: For an entry that is not a SHA-256 digest.
    """
    found: set[str] = set()
    for entry in trusted:
        digest = str(entry).strip().lower().removeprefix("sha256:")
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ValueError(f"a trusted checksum is 'sha256:' and 64 hex digits, got {entry!r}")
        found.add(digest)
    return frozenset(found)


class _HashedStream:
    """A read-only view of a stream that hashes what is read (so a whole file is hashed as it is loaded)."""

    __slots__ = ("_digest", "_stream")

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._digest = Digest()

    def read(self, size: int = -1, /) -> bytes:
        data = self._stream.read(size)
        self._digest.update(data)
        return data

    def seekable(self) -> bool:  # skipping must read through, so that every byte is hashed
        return False

    def finish(self) -> str:
        """Hash the rest of the stream; the SHA-256 hex digest of all of it."""
        while self.read(_CHUNK):
            pass
        return self._digest.hexdigest()


def _written_here(container: Container, meta: Metadata) -> bool:
    """Whether the file bears this library's marks, none of which Flama 2.x writes.

    A codec byte in its metadata section (Flama 2.x writes "inherit"), a timestamp with a time zone (Flama 2.x's are
    naive), declared sizes.
    """
    return container.explicit_codecs or meta.timestamp.tzinfo is not None or bool(meta.sizes)


def _extract(container: Container, tempdir: pathlib.Path, *, verify: bool) -> ModelFile:
    meta = container.meta()
    expected = meta.checksums if verify else {}
    if verify and not expected and _written_here(container, meta):
        raise UnverifiedFile(["model", "every artifact"])
    extracted: dict[str, pathlib.Path] = {}
    payload = tempdir / "model"

    def check(name: str, digest: str) -> None:
        if expected and name not in expected:
            raise UnverifiedFile([name])
        Container.verify(name, expected.get(name), digest)

    def read_artifacts() -> None:
        folder = tempdir / "artifacts"
        folder.mkdir()
        for name, _size, reader in container.artifacts(meta.sizes):
            extracted[name] = folder / name
            check(name, reader.copy_to(extracted[name]))

    def read_model() -> ModelKind:
        kind, reader = container.model(meta.sizes.get("model"))
        if kind == "bundle":
            from flama.models.bundle import extract_bundle

            payload.mkdir()
            extract_bundle(reader, payload, max_entries=container.limits.max_bundle_entries)
            digest = reader.drain()
        else:
            digest = reader.copy_to(payload)
        check("model", digest)
        return kind

    if container.protocol == 1:
        kind = read_model()
        read_artifacts()
    else:
        read_artifacts()
        kind = read_model()
    missing = set(expected) - set(extracted) - {"model"}
    if missing:
        raise CorruptedFile("artifacts section", f"recorded artifacts are missing: {', '.join(sorted(missing))}")
    return ModelFile(meta=meta, payload=payload, artifacts=extracted, kind=kind, tempdir=tempdir)


def read_meta(source: str | os.PathLike[str] | BinaryIO, *, limits: Limits | None = None) -> Metadata:
    """The metadata of a `.flm` file, reading only its header and metadata section.

    Args:
        source: A file path or a readable binary stream.
        limits: Caps (``max_meta_size`` applies here); `Limits()` by default.
    """
    with _opened(source) as stream:
        return Container(stream, limits or DEFAULT_LIMITS).meta()


def list_artifacts(source: str | os.PathLike[str] | BinaryIO, *, limits: Limits | None = None) -> dict[str, int]:
    """Artifact names and their stored (compressed) sizes, reading entry headers only, never the payload.

    Args:
        source: A file path or a readable binary stream.
        limits: Caps (``max_artifacts`` applies here); `Limits()` by default.
    """
    with _opened(source) as stream:
        return Container(stream, limits or DEFAULT_LIMITS).list_artifacts()
