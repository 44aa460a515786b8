"""Serializers per model library, resolved lazily so that a library is imported only when it is used."""

import importlib
from typing import Any, Final

from flama.models.exceptions import UnknownLibrary
from flama.models.serializers.base import Serializer

__all__ = ["INSTALL", "SERIALIZERS", "Serializer", "serializer_for", "serializer_for_lib"]

SERIALIZERS: Final = {
    "sklearn": "flama.models.serializers.sklearn",
    "torch": "flama.models.serializers.torch",
    "keras": "flama.models.serializers.keras",
    "tensorflow": "flama.models.serializers.tensorflow",
    "transformers": "flama.models.serializers.transformers",
}

INSTALL: Final = {
    "sklearn": "pip install 'flama[sklearn]'",
    "torch": "pip install 'flama[torch]'",
    "keras": "pip install 'flama[keras]'",
    "tensorflow": "pip install tensorflow",
    "transformers": "pip install 'flama[transformers]'",
}
"""The command that installs what loading a model of each library needs (the metapackage's extras)."""

# A keras 3 model on the torch backend is also a `torch.nn.Module`, and so is a transformers model: the libraries
# built on top of another are asked first.
_DETECTION_ORDER: Final = ("transformers", "keras", "tensorflow", "sklearn", "torch")


def serializer_for_lib(lib: str) -> Serializer:
    """The serializer for a library name (``framework.lib``).

    Raises:
        UnknownLibrary: When the name is unknown or its serializer module is not available.
    """
    try:
        module = importlib.import_module(SERIALIZERS[lib])
    except (KeyError, ModuleNotFoundError) as exc:
        if isinstance(exc, ModuleNotFoundError) and exc.name != SERIALIZERS.get(lib):
            raise  # the serializer exists but something it imports is missing: say that, not "unknown"
        raise UnknownLibrary(f"library {lib!r}") from None
    serializer: Serializer = module.SERIALIZER
    return serializer


def serializer_for(obj: Any) -> Serializer:
    """The serializer whose library ``obj`` belongs to.

    Raises:
        UnknownLibrary: When no serializer accepts the object.
    """
    for lib in _DETECTION_ORDER:
        try:
            serializer = serializer_for_lib(lib)
        except UnknownLibrary:
            continue
        if serializer.accepts(obj):
            return serializer
    klass = type(obj)
    raise UnknownLibrary(f"an object of type {klass.__module__}.{klass.__qualname__}")
