"""Errors raised by flama-llm.

Everything derives from `LLMError`. `BackendUnavailable` is a configuration error met when a model is loaded;
`InvalidParameter` and `QueueFull` happen per request and are rendered by the dialects (400 and 429).
"""

__all__ = ["BackendUnavailable", "InvalidParameter", "LLMError", "QueueFull"]


class LLMError(Exception):
    """Root of every error flama-llm raises on purpose."""


class InvalidParameter(LLMError, ValueError):
    """A generation parameter is malformed, out of range, or not honoured by the model's backend.

    Attributes:
        name: The parameter as the user spelled it (``temperature``, ``max_tokens``, ...).
        reason: What is wrong with it, in words a client can show.
    """

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"Invalid parameter '{name}': {reason}")
        self.name = name
        self.reason = reason


class QueueFull(LLMError):
    """A model already runs and queues as many generations as it is allowed to.

    Attributes:
        retry_after: Seconds after which a retry has a fair chance (an estimate for the Retry-After header).
    """

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"Too many generations in progress; retry after {retry_after:.1f} s")
        self.retry_after = retry_after


class BackendUnavailable(LLMError):
    """No backend can run the model: the one asked for is unknown or its libraries or hardware are missing.

    Attributes:
        backend: The backend asked for, or ``None`` when none was forced and none is available.
        reason: What is missing.
    """

    def __init__(self, backend: str | None, reason: str) -> None:
        super().__init__(f"Backend '{backend}' is unavailable: {reason}" if backend else f"No backend: {reason}")
        self.backend = backend
        self.reason = reason
