import importlib

from flama.llm.backends.base import PARAMETERS, Backend, Delta, GenerationParams
from flama.llm.exceptions import BackendUnavailable

__all__ = ["BACKENDS", "PARAMETERS", "Backend", "Delta", "GenerationParams", "backend_class", "select_backend"]

BACKENDS = {
    "vllm": "flama.llm.backends.vllm:VLLMBackend",
    "mlx": "flama.llm.backends.mlx:MLXBackend",
    "transformers": "flama.llm.backends.transformers:TransformersBackend",
}
"""Every backend by name, in the order `select_backend` tries them."""


def backend_class(name: str) -> type[Backend]:
    """The backend class called ``name`` (its module imports no model library until a model is loaded).

    Raises:
        BackendUnavailable: No backend has that name.
    """
    if name not in BACKENDS:
        raise BackendUnavailable(name, f"there is no such backend (choose one of {', '.join(BACKENDS)})")
    module, _, attribute = BACKENDS[name].partition(":")
    cls: type[Backend] = getattr(importlib.import_module(module), attribute)
    return cls


def select_backend(name: str | None) -> type[Backend]:
    """The backend to load a model with: the one named, or the first available of vLLM, MLX and transformers.

    Args:
        name: Force this backend; ``None`` picks automatically.

    Raises:
        BackendUnavailable: The named backend is unknown or unavailable, or no backend is available; the message
            says what to install.
    """
    if name is not None:
        cls = backend_class(name)
        cls.require()
        return cls
    candidates = [backend_class(each) for each in BACKENDS]
    for cls in candidates:
        if cls.available():
            return cls
    raise BackendUnavailable(None, "install one of: " + "; ".join(cls.requirement for cls in candidates))
