"""flama-core: the compiled core of Flama.

Routing, JSON, urlencoded and multipart forms, header parsing and streaming compression, implemented in Rust.
"""

from flama.core._native import (
    Compressor,
    Decompressor,
    __version__,
    build_set_cookie,
    compress,
    decompress,
    negotiate_encoding,
    parse_content_type,
    parse_cookies,
    supported_encodings,
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
    "Compressor",
    "CoreError",
    "DecompressionLimitExceeded",
    "Decompressor",
    "FormError",
    "JSONDecodeError",
    "JSONEncodeError",
    "MalformedBody",
    "MissingBoundary",
    "NonFiniteFloatError",
    "PayloadTooLarge",
    "RouteTemplateError",
    "URLBuildError",
    "__version__",
    "build_set_cookie",
    "compress",
    "decompress",
    "negotiate_encoding",
    "parse_content_type",
    "parse_cookies",
    "supported_encodings",
]
