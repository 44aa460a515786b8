"""Cross-Origin Resource Sharing: preflight answers and the ``Access-Control-*`` headers of actual responses."""

import re
from collections.abc import Sequence

from flama.http.datastructures import MutableHeaders
from flama.http.types import ASGIApp, Message, Receive, Scope, Send
from flama.middleware.base import ConfigurationError, reject, scan_headers

__all__ = ["CORSMiddleware"]

_ORIGIN = b"origin"
_REQUEST_METHOD = b"access-control-request-method"
_REQUEST_HEADERS = b"access-control-request-headers"
_WANTED = frozenset({_ORIGIN, _REQUEST_METHOD, _REQUEST_HEADERS})
# Headers a browser sends without asking (the CORS-safelisted request headers), allowed whatever is configured.
_SAFELISTED = frozenset({"accept", "accept-language", "content-language", "content-type"})
_ALL_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


class CORSMiddleware:
    r"""Answer CORS preflight requests and add the CORS headers to the responses of cross-origin requests.

    A request without an ``Origin`` header passes through untouched. A preflight (``OPTIONS`` with
    ``Access-Control-Request-Method``) is answered here, 200 when the origin, method and headers are allowed and a
    400 JSON error otherwise. Other requests reach the application; when their origin is allowed, the response gets
    ``Access-Control-Allow-Origin`` (and the credentials and exposed-headers fields). ``Vary: Origin`` is added
    whenever the answer depends on the origin.

    Args:
        app: The ASGI application to wrap.
        allow_origins: Origins allowed exactly (``"https://example.com"``), or ``"*"`` for any.
        allow_origin_regex: A regular expression an allowed origin matches in full (``r"https://.*\.example\.com"``).
        allow_methods: Methods allowed in cross-origin requests, or ``"*"`` for any.
        allow_headers: Request headers allowed, or ``"*"`` for any; the safelisted ones are always allowed.
        allow_credentials: Whether cookies and authorization may be sent (``Access-Control-Allow-Credentials``).
        expose_headers: Response headers the browser lets scripts read.
        max_age: Seconds a browser may cache a preflight answer.

    Raises:
        ConfigurationError: When the regular expression does not compile or ``max_age`` is negative.
    """

    __slots__ = (
        "_allow_all_headers",
        "_allow_all_origins",
        "_allowed_headers",
        "_allowed_methods",
        "_origin_regex",
        "_origins",
        "_preflight_headers",
        "_simple_headers",
        "_vary_origin",
        "app",
    )

    def __init__(
        self,
        app: ASGIApp,
        *,
        allow_origins: Sequence[str] = (),
        allow_origin_regex: str | None = None,
        allow_methods: Sequence[str] = ("GET",),
        allow_headers: Sequence[str] = (),
        allow_credentials: bool = False,
        expose_headers: Sequence[str] = (),
        max_age: int = 600,
    ) -> None:
        if max_age < 0:
            raise ConfigurationError(f"max_age must be 0 or more, got {max_age}")
        try:
            self._origin_regex = re.compile(allow_origin_regex) if allow_origin_regex is not None else None
        except re.error as exc:
            raise ConfigurationError(f"allow_origin_regex does not compile: {exc}") from exc
        self.app = app
        self._allow_all_origins = "*" in allow_origins
        self._origins = frozenset(origin for origin in allow_origins if origin != "*")
        methods = _ALL_METHODS if "*" in allow_methods else tuple(dict.fromkeys(m.upper() for m in allow_methods))
        self._allowed_methods = frozenset(methods)
        self._allow_all_headers = "*" in allow_headers
        headers = sorted(_SAFELISTED | {header.lower() for header in allow_headers if header != "*"})
        self._allowed_headers = frozenset(headers)
        # With credentials a browser refuses "*", so the origin is echoed instead: then the answer depends on it.
        self._vary_origin = not self._allow_all_origins or allow_credentials
        credentials = [("access-control-allow-credentials", "true")] if allow_credentials else []
        self._simple_headers = list(credentials)
        if expose_headers:
            self._simple_headers.append(("access-control-expose-headers", ", ".join(expose_headers)))
        self._preflight_headers = [
            *credentials,
            ("access-control-allow-methods", ", ".join(methods)),
            ("access-control-max-age", str(max_age)),
        ]
        if not self._allow_all_headers:
            self._preflight_headers.append(("access-control-allow-headers", ", ".join(headers)))

    def _origin_allowed(self, origin: str) -> bool:
        if self._allow_all_origins or origin in self._origins:
            return True
        return self._origin_regex is not None and self._origin_regex.fullmatch(origin) is not None

    def _allow_origin(self, origin: str) -> tuple[str, str]:
        return ("access-control-allow-origin", origin if self._vary_origin else "*")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        found = scan_headers(scope, _WANTED)
        raw_origin = found.get(_ORIGIN)
        if raw_origin is None:
            await self.app(scope, receive, send)
            return
        origin = raw_origin.decode("latin-1")
        requested_method = found.get(_REQUEST_METHOD)
        if scope["method"] == "OPTIONS" and requested_method is not None:
            await self._preflight(scope, receive, send, origin, requested_method, found.get(_REQUEST_HEADERS, b""))
            return
        extra = [self._allow_origin(origin), *self._simple_headers] if self._origin_allowed(origin) else []
        vary = self._vary_origin
        if not extra and not vary:
            await self.app(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(raw=message["headers"])
                for name, value in extra:
                    headers[name] = value
                if vary:
                    headers.add_vary_header("Origin")
                message["headers"] = headers.raw
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def _preflight(
        self, scope: Scope, receive: Receive, send: Send, origin: str, method: bytes, requested_headers: bytes
    ) -> None:
        requested = [name.strip().lower() for name in requested_headers.decode("latin-1").split(",") if name.strip()]
        refused = []
        if not self._origin_allowed(origin):
            refused.append("origin")
        if method.decode("latin-1").upper() not in self._allowed_methods:
            refused.append("method")
        if not self._allow_all_headers and any(name not in self._allowed_headers for name in requested):
            refused.append("headers")
        if refused:
            await reject(scope, receive, send, 400, f"Disallowed CORS {', '.join(refused)}")
            return
        headers = [self._allow_origin(origin), *self._preflight_headers]
        if self._allow_all_headers and requested:
            headers.append(("access-control-allow-headers", ", ".join(requested)))
        if self._vary_origin:
            headers.append(("vary", "Origin"))
        raw = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]
        await send({"type": "http.response.start", "status": 200, "headers": [*raw, (b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})
