"""The exceptions raised by ``flama.core``.

Every error derives from :class:`CoreError`. Each also derives from the built-in exception a caller would catch
without knowing Flama (``ValueError`` for bad input, ``TypeError`` for a value the encoder cannot represent,
``LookupError`` for an unknown route name), so code written against the standard library keeps working.
"""

__all__ = [
    "ClientDisconnected",
    "CodecError",
    "CoreError",
    "DecompressionLimitExceeded",
    "FormError",
    "InvalidArgumentError",
    "JSONDecodeError",
    "JSONEncodeError",
    "MalformedBody",
    "MissingBoundary",
    "NonFiniteFloatError",
    "PayloadTooLarge",
    "RouteTemplateError",
    "URLBuildError",
]


class CoreError(Exception):
    """Root of every error raised by ``flama.core``."""


class InvalidArgumentError(CoreError, ValueError):
    """An argument a core function cannot use, such as a cookie value with a control character or a bad level."""


class RouteTemplateError(CoreError, ValueError):
    """A path template is invalid: unknown converter, duplicated parameter, misplaced ``path`` converter."""


class URLBuildError(CoreError, LookupError):
    """A URL cannot be built: unknown route name, missing or extra parameter, or a value its converter rejects."""


class JSONEncodeError(CoreError, TypeError):
    """A value cannot be encoded as JSON; the message names where it sits, e.g. ``$.items[3].when``."""


class NonFiniteFloatError(JSONEncodeError, ValueError):
    """NaN or an infinity was found and the caller did not opt into encoding it as ``null``."""


class JSONDecodeError(CoreError, ValueError):
    """The bytes are not valid JSON; the message gives the line and column."""


class FormError(CoreError, ValueError):
    """Root of the errors raised while parsing a urlencoded or multipart body."""


class MalformedBody(FormError):
    """The body does not follow the format its content type announces."""


class MissingBoundary(FormError):
    """A multipart content type has no ``boundary`` parameter, or an invalid one."""


class PayloadTooLarge(FormError):
    """A configured limit was exceeded; ``limit`` names it and ``maximum`` gives its value."""

    def __init__(self, message: str, limit: str = "", maximum: int = 0) -> None:
        super().__init__(message)
        self.limit = limit
        self.maximum = maximum


class ClientDisconnected(FormError):
    """The client went away before the whole body arrived."""


class CodecError(CoreError, ValueError):
    """Compressed data is corrupt or truncated, or the encoding name is unknown."""


class DecompressionLimitExceeded(CodecError):
    """Decompressed output would exceed the caller's maximum size (a decompression-bomb guard)."""
