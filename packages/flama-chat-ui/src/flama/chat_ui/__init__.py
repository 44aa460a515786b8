"""The Flama chat front end: built, self-contained assets served at /chat/."""

__version__ = "0.1.0"

__all__ = ["__version__"]
