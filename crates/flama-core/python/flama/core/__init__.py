"""flama-core: the compiled core of Flama.

Routing, JSON, urlencoded and multipart forms, header parsing and streaming compression, implemented in Rust.
"""

from flama.core._native import (
    MethodNotAllowed,
    MountMatch,
    NotFound,
    RouteMatch,
    Router,
    __version__,
    json_decode,
    json_encode,
    template_params,
)
from flama.core.exceptions import (
    ClientDisconnected,
    CodecError,
    CoreError,
    DecompressionLimitExceeded,
    FormError,
    JSONDecodeError,
    JSONEncodeError,
    MalformedBody,
    MissingBoundary,
    NonFiniteFloatError,
    PayloadTooLarge,
    RouteTemplateError,
    URLBuildError,
)

__all__ = [
    "ClientDisconnected",
    "CodecError",
    "CoreError",
    "DecompressionLimitExceeded",
    "FormError",
    "JSONDecodeError",
    "JSONEncodeError",
    "MalformedBody",
    "MethodNotAllowed",
    "MissingBoundary",
    "MountMatch",
    "NonFiniteFloatError",
    "NotFound",
    "PayloadTooLarge",
    "RouteMatch",
    "RouteTemplateError",
    "Router",
    "URLBuildError",
    "__version__",
    "template_params",
    "json_decode",
    "json_encode",
]
