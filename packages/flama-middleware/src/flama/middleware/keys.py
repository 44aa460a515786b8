"""API keys: ``Authorization: Bearer <key>`` or ``x-api-key: <key>`` required on every request but the open paths.

:class:`APIKeyMiddleware` guards a whole application (``flama serve --api-key`` adds it); :class:`APIKeys` checks a
request where only some routes need a key (a model's own ``api_keys``). Both header spellings are accepted because
the official SDKs differ: OpenAI's and Anthropic's send ``Authorization: Bearer``, Anthropic's also ``x-api-key``.
A request without a valid key is answered 401 with the one error body (``error``: ``Unauthorized``) and
``WWW-Authenticate: Bearer``. Keys are kept as SHA-256 digests and compared in constant time.
"""

import hashlib
import hmac
from collections.abc import Iterable, Sequence

from flama.http.datastructures import Headers
from flama.http.exceptions import HTTPException, error_response
from flama.http.types import ASGIApp, Receive, Scope, Send
from flama.middleware.base import ConfigurationError

__all__ = ["OPEN_PATHS", "APIKeyMiddleware", "APIKeys", "Unauthorized"]

# Served without a key by default: what probes, scrapers and people reading the docs fetch.
OPEN_PATHS = ("/health", "/metrics", "/docs/", "/schema/")


class Unauthorized(HTTPException):
    """A request without a valid API key: 401 with ``WWW-Authenticate: Bearer``."""

    def __init__(self) -> None:
        super().__init__(
            401,
            "A valid API key is required: Authorization: Bearer <key> or x-api-key: <key>",
            {"WWW-Authenticate": "Bearer"},
        )


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


def _presented(headers: Headers) -> str | None:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    key = headers.get("x-api-key", "").strip()
    return key or None


class APIKeys:
    """A set of accepted API keys.

    Args:
        keys: The keys; each must be a non-empty string without spaces.

    Raises:
        ConfigurationError: No key, or an empty key or one containing whitespace.
    """

    __slots__ = ("_digests",)

    def __init__(self, keys: Iterable[str]) -> None:
        digests = []
        for key in keys:
            if not isinstance(key, str) or not key or any(char.isspace() for char in key):
                raise ConfigurationError("an API key must be a non-empty string without whitespace")
            digests.append(_digest(key))
        if not digests:
            raise ConfigurationError("give at least one API key")
        self._digests = tuple(digests)

    def accepts(self, headers: Headers) -> bool:
        """Whether ``headers`` carry one of the keys, as ``Authorization: Bearer <key>`` or ``x-api-key: <key>``."""
        key = _presented(headers)
        if key is None:
            return False
        digest = _digest(key)
        # Every key is compared, so the time taken does not tell which one came close.
        return sum(hmac.compare_digest(digest, known) for known in self._digests) > 0

    def check(self, headers: Headers) -> None:
        """Raise :class:`Unauthorized` unless the headers carry a valid key.

        Raises:
            Unauthorized: 401 with ``WWW-Authenticate: Bearer``.
        """
        if not self.accepts(headers):
            raise Unauthorized()


class APIKeyMiddleware:
    """Require an API key on every HTTP request except those under ``open_paths``.

    Args:
        app: The application to wrap.
        keys: The accepted keys.
        open_paths: Paths served without a key: exact, or prefixes when they end with ``/``
            (:data:`OPEN_PATHS` by default; ``()`` guards everything).

    Raises:
        ConfigurationError: No key, or a malformed one.
    """

    __slots__ = ("app", "keys", "open_paths")

    def __init__(self, app: ASGIApp, *, keys: Iterable[str], open_paths: Sequence[str] = OPEN_PATHS) -> None:
        self.app = app
        self.keys = APIKeys(keys)
        self.open_paths = tuple(open_paths)

    def _open(self, path: str) -> bool:
        return any(
            path == open_path or (open_path.endswith("/") and path.startswith(open_path))
            for open_path in self.open_paths
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one connection, or answer 401."""
        if scope["type"] != "http" or self._open(scope["path"]) or self.keys.accepts(Headers(scope=scope)):
            await self.app(scope, receive, send)
            return
        await error_response(Unauthorized())(scope, receive, send)
