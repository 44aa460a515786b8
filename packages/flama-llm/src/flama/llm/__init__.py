"""Large language model serving for Flama: backends, prompts, decoder and dialects.

The documented API: :class:`LanguageModel` (a served model injected into your routes), the resource
``app.models.add_model`` builds for ``.flm`` files of family ``llm`` (:class:`LLMResource`), what a generation
returns (:class:`Completion`, :class:`Finish`) and the errors (:class:`LLMError` and its subclasses).
"""

import importlib.metadata

from flama.llm.exceptions import (
    BackendUnavailable,
    GenerationStopped,
    InvalidParameter,
    InvalidRequest,
    LLMError,
    QueueFull,
    UnknownEventId,
    UnknownStream,
)
from flama.llm.generation import Completion, Finish
from flama.llm.model import LanguageModel
from flama.llm.resource import LLMResource

__version__ = importlib.metadata.version("flama-llm")

__all__ = [
    "BackendUnavailable",
    "Completion",
    "Finish",
    "GenerationStopped",
    "InvalidParameter",
    "InvalidRequest",
    "LLMError",
    "LLMResource",
    "LanguageModel",
    "QueueFull",
    "UnknownEventId",
    "UnknownStream",
    "__version__",
]
