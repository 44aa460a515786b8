"""Large language model serving for Flama: backends, transports, decoder and dialects."""

__version__ = "0.1.0"

__all__ = ["__version__"]
