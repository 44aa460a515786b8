"""The `.flm` model file and model serving for Flama.

``flama.dump``/``flama.load``, ``app.models``, the served models injectable into your routes
(:class:`PredictiveModel`), and the errors (:class:`ModelsError`).
"""

import importlib.metadata

from flama.models.components import Model, ModelComponent, PredictiveModel
from flama.models.exceptions import (
    ChecksumMismatch,
    CorruptedFile,
    InvalidInput,
    LibraryVersionWarning,
    LimitExceeded,
    MissingLibrary,
    ModelFileError,
    ModelNotReady,
    ModelsError,
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
from flama.models.modelfile import ModelArtifact, ModelFile, Trust, dump, list_artifacts, load, read_meta
from flama.models.module import ModelsModule
from flama.models.options import LanguageModelOptions, ModelOptions, PredictiveOptions

__version__ = importlib.metadata.version("flama-models")

__all__ = [
    "ChecksumMismatch",
    "CorruptedFile",
    "FrameworkInfo",
    "InvalidInput",
    "LanguageModelOptions",
    "LibraryVersionWarning",
    "LimitExceeded",
    "Limits",
    "Metadata",
    "MissingLibrary",
    "Model",
    "ModelArtifact",
    "ModelComponent",
    "ModelFile",
    "ModelFileError",
    "ModelInfo",
    "ModelNotReady",
    "ModelOptions",
    "ModelsError",
    "ModelsModule",
    "PredictiveModel",
    "PredictiveOptions",
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
