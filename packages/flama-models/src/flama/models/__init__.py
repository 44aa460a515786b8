"""The `.flm` model artifact and predictive model serving for Flama."""

from flama.models.artifact import ModelArtifact, Trust, dump, list_artifacts, load, read_meta
from flama.models.exceptions import (
    ChecksumMismatch,
    CorruptedFile,
    LibraryVersionWarning,
    LimitExceeded,
    ModelFileError,
    TruncatedFile,
    UnknownCodec,
    UnknownLibrary,
    UnknownProtocol,
    UnsafeArtifactPath,
    UntrustedModel,
    UnverifiedFile,
    UnverifiedFileWarning,
)
from flama.models.limits import Limits
from flama.models.metadata import FrameworkInfo, Metadata, ModelInfo

__version__ = "0.1.0"

__all__ = [
    "ChecksumMismatch",
    "CorruptedFile",
    "FrameworkInfo",
    "LibraryVersionWarning",
    "LimitExceeded",
    "Limits",
    "Metadata",
    "ModelArtifact",
    "ModelFileError",
    "ModelInfo",
    "TruncatedFile",
    "Trust",
    "UnknownCodec",
    "UnknownLibrary",
    "UnknownProtocol",
    "UnsafeArtifactPath",
    "UntrustedModel",
    "UnverifiedFile",
    "UnverifiedFileWarning",
    "__version__",
    "dump",
    "list_artifacts",
    "load",
    "read_meta",
]
