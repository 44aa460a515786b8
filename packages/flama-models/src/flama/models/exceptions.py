"""The errors of flama-models: `.flm` files that cannot be read or written, models not ready or given bad input.

Everything derives from :class:`ModelsError`, itself a :class:`flama.http.FlamaError`. :class:`ModelFileError` and
its subclasses are raised while writing or reading `.flm` files (at startup, or by ``flama.load``); a served model
raises :class:`ModelNotReady` (answered 503 with ``Retry-After``) and :class:`InvalidInput` (answered 400, its field
mapped to its message, as every validation error). ``app.models`` registers how they are answered (:data:`ERRORS`).
"""

from typing import Any

from flama.http.exceptions import ErrorStatus, FlamaError

__all__ = [
    "ERRORS",
    "ChecksumMismatch",
    "CorruptedFile",
    "InvalidInput",
    "LibraryVersionWarning",
    "LimitExceeded",
    "MissingLibrary",
    "ModelFileError",
    "ModelNotReady",
    "ModelsError",
    "TruncatedFile",
    "UnknownCodec",
    "UnknownLibrary",
    "UnknownProtocol",
    "UnsafeArtifactPath",
    "UntrustedModel",
    "UnverifiedFile",
    "UnverifiedFileWarning",
]


class ModelsError(FlamaError):
    """Root of every error flama-models raises on purpose."""


class ModelFileError(ModelsError, ValueError):
    """Base of every problem with a `.flm` file or with what is asked to go into one."""


class TruncatedFile(ModelFileError):
    """The file ends before a section it announces is complete."""

    def __init__(self, where: str, expected: int, got: int) -> None:
        super().__init__(f"Truncated .flm file: {where} needs {expected} bytes but only {got} remain")
        self.where = where
        self.expected = expected
        self.got = got


class CorruptedFile(ModelFileError):
    """The bytes of a section cannot be decoded (bad sizes, bad compressed data, bad JSON, bad tar)."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"Corrupted .flm file: {where}: {reason}")
        self.where = where
        self.reason = reason


class UnknownProtocol(ModelFileError):
    """The header names a protocol version this reader does not know."""

    def __init__(self, protocol: int) -> None:
        super().__init__(f"Unknown .flm protocol version {protocol} (supported: 1, 2)")
        self.protocol = protocol


class UnknownCodec(ModelFileError):
    """A compression id in the file, or a compression name asked for, is not known."""

    def __init__(self, codec: int | str, where: str) -> None:
        shown = f"0x{codec:02x}" if isinstance(codec, int) else repr(codec)
        super().__init__(f"Unknown compression {shown} in {where} (known: bz2, lzma, zlib, zstd, none)")
        self.codec = codec
        self.where = where


class ChecksumMismatch(ModelFileError):
    """The SHA-256 of an extracted section differs from the one recorded in the metadata."""

    def __init__(self, name: str, expected: str, got: str) -> None:
        super().__init__(f"Checksum mismatch for {name!r}: recorded sha256 {expected}, content has {got}")
        self.name = name
        self.expected = expected
        self.got = got


class UnsafeArtifactPath(ModelFileError):
    """An artifact name or a bundle entry would escape its directory or is not a plain file or directory."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"Unsafe path {name!r}: {reason}")
        self.name = name
        self.reason = reason


class UnknownLibrary(ModelFileError):
    """No serializer exists for a library name, or none accepts a model object."""

    def __init__(self, what: str) -> None:
        super().__init__(f"No serializer for {what} (known libraries: sklearn, torch, keras, tensorflow, transformers)")
        self.what = what


class LimitExceeded(ModelFileError):
    """Reading the file would pass one of the `flama.models.Limits` (decompressed sizes, entries, temporary disk)."""

    def __init__(self, limit: str, maximum: int, where: str, detail: str = "") -> None:
        shown = f": {detail}" if detail else ""
        super().__init__(
            f"{where} passes the limit {limit}={maximum}{shown}; if the file is genuine, load it with "
            f"flama.models.Limits({limit}=...) raised"
        )
        self.limit = limit
        self.maximum = maximum
        self.where = where


class UntrustedModel(ModelFileError):
    """The payload is in a format that runs code when it loads (pickle, TorchScript...) and nobody said to trust it."""

    def __init__(self, lib: str, reason: str) -> None:
        super().__init__(
            f"Refusing to load this {lib} model: {reason}. Loading it would run whatever code the file's author put "
            "in it. If you trust where the file comes from, opt in: flama.load(..., trusted=True), "
            "app.models.add_model(..., trusted=True), `flama serve --trust`, or trusted=['sha256:<the file's "
            "SHA-256>'] to trust that one file"
        )
        self.lib = lib
        self.reason = reason


class UnverifiedFile(ModelFileError):
    """A file written by this library lacks the checksums of some of its sections (lost, stripped or tampered)."""

    def __init__(self, missing: list[str]) -> None:
        names = ", ".join(repr(name) for name in missing)
        super().__init__(
            f"Unverifiable .flm file: no recorded checksum for {names}, although the file was written by flama-models, "
            "which records one for every section; load with verify=False to accept it unverified"
        )
        self.missing = missing


class UnverifiedFileWarning(UserWarning):
    """The file carries no checksums (Flama 2.x wrote none), so its content cannot be verified."""


class LibraryVersionWarning(UserWarning):
    """The installed version of a model's library differs from the version that wrote the file."""


class MissingLibrary(ModelsError, ImportError):
    """The library a model was made with is not installed here; the message names the command that installs it.

    Attributes:
        lib: The model's library (``sklearn``, ``torch``...).
        install: The command that installs what is missing.
    """

    def __init__(self, lib: str, module: str | None, install: str) -> None:
        missing = f" (no module named {module!r})" if module else ""
        super().__init__(f"This model needs {lib}, which is not installed{missing}: {install}")
        self.lib = lib
        self.install = install


class ModelNotReady(ModelsError):
    """A served model is asked for something before it has loaded (or after it failed to load).

    Attributes:
        name: The model's name.
        failure: Why the model failed to load; ``None`` while it is still loading.
    """

    def __init__(self, name: str, failure: BaseException | None = None) -> None:
        if failure is None:
            super().__init__(f"The model {name!r} is not loaded yet")
        else:
            super().__init__(f"The model {name!r} failed to load: {type(failure).__name__}: {failure}")
        self.name = name
        self.failure = failure


class InvalidInput(ModelsError, ValueError):
    """A model rejected its input (the model's own ``ValueError`` or ``TypeError``).

    Attributes:
        field: Where the input is at fault (``input`` for a predictive model's rows).
        reason: The model's own message.
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"Invalid {field}: {reason}")
        self.field = field
        self.reason = reason


def _field_errors(exc: Any) -> dict[str, list[str]]:
    return {exc.field: [exc.reason]}


# How ``app.models`` answers the errors of a served model (registered on the application by the module).
ERRORS: dict[type[Exception], ErrorStatus[Any]] = {
    # Retry-After only while the model loads: a failed one stays failed until the server is restarted.
    ModelNotReady: ErrorStatus(503, headers=lambda exc: {} if exc.failure is not None else {"Retry-After": "1"}),
    InvalidInput: ErrorStatus(400, detail=_field_errors),
}
