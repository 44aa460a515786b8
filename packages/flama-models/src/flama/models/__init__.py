"""The `.flm` model artifact and predictive model serving for Flama."""

from flama.models.artifact import ModelArtifact, dump, list_artifacts, load, read_meta
from flama.models.exceptions import (
    ChecksumMismatch,
    CorruptedFile,
    LibraryVersionWarning,
    ModelFileError,
    TruncatedFile,
    UnknownCodec,
    UnknownLibrary,
    UnknownProtocol,
    UnsafeArtifactPath,
)
from flama.models.metadata import FrameworkInfo, Metadata, ModelInfo

__version__ = "0.1.0"

__all__ = [
    "ChecksumMismatch",
    "CorruptedFile",
    "FrameworkInfo",
    "LibraryVersionWarning",
    "Metadata",
    "ModelArtifact",
    "ModelFileError",
    "ModelInfo",
    "TruncatedFile",
    "UnknownCodec",
    "UnknownLibrary",
    "UnknownProtocol",
    "UnsafeArtifactPath",
    "__version__",
    "dump",
    "list_artifacts",
    "load",
    "read_meta",
]
