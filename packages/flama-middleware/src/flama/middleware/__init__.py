"""ASGI middleware for Flama (and any ASGI framework): CORS, compression, sessions, limits and more."""

import importlib.metadata

from flama.middleware.base import ConfigurationError, MiddlewareError
from flama.middleware.compression import DEFAULT_EXCLUDED_TYPES, CompressionMiddleware
from flama.middleware.correlation import CorrelationIdMiddleware
from flama.middleware.cors import CORSMiddleware
from flama.middleware.hosts import HTTPSRedirectMiddleware, TrustedHostMiddleware
from flama.middleware.keys import OPEN_PATHS, APIKeyMiddleware, APIKeys, Unauthorized
from flama.middleware.limits import BodySizeLimitMiddleware
from flama.middleware.sessions import SessionMiddleware, SessionSigner, SessionTooLarge
from flama.middleware.timing import TimingMiddleware

__version__ = importlib.metadata.version("flama-middleware")

__all__ = [
    "DEFAULT_EXCLUDED_TYPES",
    "OPEN_PATHS",
    "APIKeyMiddleware",
    "APIKeys",
    "BodySizeLimitMiddleware",
    "CORSMiddleware",
    "CompressionMiddleware",
    "ConfigurationError",
    "CorrelationIdMiddleware",
    "HTTPSRedirectMiddleware",
    "MiddlewareError",
    "SessionMiddleware",
    "SessionSigner",
    "SessionTooLarge",
    "TimingMiddleware",
    "TrustedHostMiddleware",
    "Unauthorized",
    "__version__",
]
