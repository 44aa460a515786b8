"""flama-core: the compiled core of Flama.

Routing, JSON, urlencoded and multipart forms, header parsing and streaming compression, implemented in Rust.
"""

from flama.core._native import (
    MultipartParser,
    PartEnd,
    PartStart,
    __version__,
    parse_boundary,
    parse_urlencoded,
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
    "MissingBoundary",
    "MultipartParser",
    "NonFiniteFloatError",
    "PartEnd",
    "PartStart",
    "PayloadTooLarge",
    "RouteTemplateError",
    "URLBuildError",
    "__version__",
    "parse_boundary",
    "parse_urlencoded",
]
