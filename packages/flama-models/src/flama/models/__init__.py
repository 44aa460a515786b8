"""The `.flm` model artifact and predictive model serving for Flama."""

__version__ = "0.1.0"

__all__ = ["__version__"]
