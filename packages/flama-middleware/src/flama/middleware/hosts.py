"""Where a request may arrive: trusted ``Host`` names and the HTTPS-only redirect."""

from collections.abc import Sequence
from urllib.parse import quote

from flama.http.types import ASGIApp, Receive, Scope, Send
from flama.middleware.base import ConfigurationError, reject, scan_headers

__all__ = ["HTTPSRedirectMiddleware", "TrustedHostMiddleware"]

_HOST = b"host"
_HOST_ONLY = frozenset({_HOST})
_SECURE = {"http": "https", "ws": "wss"}
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
# Characters a path keeps as they are in a Location header: RFC 3986 pchar plus "/" and existing escapes.
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"


def _split_host(host: str) -> tuple[str, str]:
    """Split ``name[:port]`` (IPv6 literals in brackets) into the lower-case name and ``":port"`` or ``""``."""
    if host.startswith("["):
        end = host.find("]")
        return host[: end + 1].lower(), host[end + 1 :]
    name, colon, port = host.partition(":")
    return name.lower(), colon + port


def _scheme(scope: Scope) -> str:
    return str(scope.get("scheme", "ws" if scope["type"] == "websocket" else "http"))


def _authority(scope: Scope) -> str:
    """The request's ``Host`` header, or the server address when there is none."""
    host = scan_headers(scope, _HOST_ONLY).get(_HOST)
    if host is not None:
        return host.decode("latin-1")
    server = scope.get("server")
    if server is None:
        return ""
    name, port = server
    return name if port is None or port == _DEFAULT_PORTS.get(_scheme(scope)) else f"{name}:{port}"


def _target(scope: Scope, scheme: str, authority: str) -> str:
    """The URL of this request with another scheme and authority."""
    path = quote(scope.get("root_path", "") + scope["path"], safe=_PATH_SAFE)
    query = scope.get("query_string", b"")
    return f"{scheme}://{authority}{path}" + (f"?{query.decode('latin-1')}" if query else "")


async def _redirect(scope: Scope, receive: Receive, send: Send, url: str, status_code: int) -> None:
    """Answer with a redirect; a WebSocket gets it through the ASGI denial response extension, or is closed."""
    headers = [(b"location", url.encode("latin-1")), (b"content-length", b"0")]
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": status_code, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
    elif "websocket.http.response" in scope.get("extensions", {}):
        await send({"type": "websocket.http.response.start", "status": status_code, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": b""})
    else:
        await send({"type": "websocket.close", "code": 1008, "reason": f"Use {url}"})


class TrustedHostMiddleware:
    """Refuse requests whose ``Host`` is not one of the allowed names, which defeats Host-header attacks.

    A refused HTTP request gets a 400 JSON error; a refused WebSocket is closed with code 1008. With ``www_redirect``,
    a request for ``example.com`` when ``www.example.com`` is listed (and ``example.com`` is not allowed) is
    redirected there instead.

    Args:
        app: The ASGI application to wrap.
        allowed_hosts: Host names (without port): exact (``"example.com"``), any subdomain (``"*.example.com"``,
            which does not match ``example.com`` itself) or ``"*"`` for any.
        www_redirect: Redirect a refused name to its ``www.`` name when that one is listed exactly.
        redirect_status: The status of that redirect (301, 302, 307 or 308).

    Raises:
        ConfigurationError: For a wildcard anywhere but at the start of a name, or an unusable redirect status.
    """

    __slots__ = ("_allow_all", "_exact", "_suffixes", "app", "redirect_status", "www_redirect")

    def __init__(
        self,
        app: ASGIApp,
        allowed_hosts: Sequence[str] = ("*",),
        *,
        www_redirect: bool = True,
        redirect_status: int = 308,
    ) -> None:
        for host in allowed_hosts:
            if "*" in host[1:] or (host.startswith("*") and host != "*" and not host.startswith("*.")):
                raise ConfigurationError(f"A wildcard may only start a host name, as in '*.example.com': {host!r}")
        if redirect_status not in (301, 302, 307, 308):
            raise ConfigurationError(f"redirect_status must be 301, 302, 307 or 308, got {redirect_status}")
        self.app = app
        self.www_redirect = www_redirect
        self.redirect_status = redirect_status
        self._allow_all = "*" in allowed_hosts
        self._exact = frozenset(host.lower() for host in allowed_hosts if not host.startswith("*"))
        self._suffixes = tuple(host[1:].lower() for host in allowed_hosts if host.startswith("*."))

    def is_allowed(self, name: str) -> bool:
        """Whether a lower-case host name (without port) is allowed."""
        return self._allow_all or name in self._exact or (bool(name) and name.endswith(self._suffixes))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if scope["type"] not in ("http", "websocket") or self._allow_all:
            await self.app(scope, receive, send)
            return
        authority = _authority(scope)
        name, port = _split_host(authority)
        if self.is_allowed(name):
            await self.app(scope, receive, send)
        elif self.www_redirect and f"www.{name}" in self._exact:
            url = _target(scope, _scheme(scope), f"www.{name}{port}")
            await _redirect(scope, receive, send, url, self.redirect_status)
        else:
            await reject(scope, receive, send, 400, "Invalid host header")


class HTTPSRedirectMiddleware:
    """Redirect every plain ``http``/``ws`` request to the same URL over ``https``/``wss``.

    Args:
        app: The ASGI application to wrap.
        status_code: 307 (temporary) or 308 (permanent); both keep the method and body.
        https_port: The port the secure URL uses; ``None`` keeps the request's port unless it is 80 (dropped).

    Raises:
        ConfigurationError: For another status code.
    """

    __slots__ = ("app", "https_port", "status_code")

    def __init__(self, app: ASGIApp, *, status_code: int = 307, https_port: int | None = None) -> None:
        if status_code not in (307, 308):
            raise ConfigurationError(f"status_code must be 307 or 308, got {status_code}")
        self.app = app
        self.status_code = status_code
        self.https_port = https_port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if scope["type"] not in ("http", "websocket") or (secure := _SECURE.get(_scheme(scope))) is None:
            await self.app(scope, receive, send)
            return
        name, port = _split_host(_authority(scope))
        if self.https_port is not None:
            port = "" if self.https_port == 443 else f":{self.https_port}"
        elif port == ":80":
            port = ""
        await _redirect(scope, receive, send, _target(scope, secure, f"{name}{port}"), self.status_code)
