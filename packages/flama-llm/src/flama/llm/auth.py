"""Optional API keys: ``Authorization: Bearer <key>`` required on model routes.

Per model, with ``app.models.add_model(..., api_keys=["..."])``; for a whole application, with
:class:`APIKeyMiddleware`, which leaves the operational paths (``/health``, ``/metrics``) and the documentation open.
A request without a valid key is answered 401 with the JSON error shape and ``WWW-Authenticate: Bearer``. Keys are
kept as SHA-256 digests and compared in constant time.
"""

import hashlib
import hmac
from collections.abc import Iterable, Sequence

from flama.http import HTTPException, Request, error_response
from flama.http.datastructures import Headers
from flama.http.types import ASGIApp, Receive, Scope, Send

__all__ = ["APIKeyMiddleware", "APIKeys"]

OPEN_PATHS = ("/health", "/metrics", "/docs/", "/schema/")


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


class APIKeys:
    """A set of accepted API keys.

    Args:
        keys: The keys; each must be a non-empty string without spaces.

    Raises:
        ValueError: No key, or an empty key or one containing whitespace.
    """

    __slots__ = ("_digests",)

    def __init__(self, keys: Iterable[str]) -> None:
        digests = []
        for key in keys:
            if not isinstance(key, str) or not key or any(char.isspace() for char in key):
                raise ValueError("an API key must be a non-empty string without whitespace")
            digests.append(_digest(key))
        if not digests:
            raise ValueError("give at least one API key")
        self._digests = tuple(digests)

    def accepts(self, headers: Headers) -> bool:
        """Whether ``headers`` carry ``Authorization: Bearer <one of the keys>``."""
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return False
        digest = _digest(token.strip())
        # Every key is compared, so the time taken does not tell which one came close.
        return sum(hmac.compare_digest(digest, known) for known in self._digests) > 0

    def check(self, request: Request) -> None:
        """Raise the 401 error unless the request carries a valid key.

        Raises:
            HTTPException: 401 with ``WWW-Authenticate: Bearer``.
        """
        if not self.accepts(request.headers):
            raise unauthorized()


def unauthorized() -> HTTPException:
    """The error for a request without a valid key."""
    return HTTPException(
        401, "A valid API key is required: Authorization: Bearer <key>", {"WWW-Authenticate": "Bearer"}
    )


class APIKeyMiddleware:
    """Require an API key on every HTTP request except those under ``open_paths``.

    Args:
        app: The application to wrap.
        keys: The accepted keys.
        open_paths: Paths (exact, or prefixes when they end with ``/``) served without a key.
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
        await error_response(unauthorized())(scope, receive, send)
