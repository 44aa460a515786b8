"""Transport security: Host and Origin checks against DNS rebinding, and a bearer-token hook."""

import inspect
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any
from urllib.parse import urlsplit

__all__ = ["Authenticate", "Guard"]

Authenticate = Callable[[str | None, MutableMapping[str, Any]], Awaitable[Any] | Any]
"""``authenticate(token, scope)``: the bearer token (``None`` when absent) and the ASGI scope; returns who the caller
is (anything but ``None``/``False``, handed to handlers as ``Context.auth``) or ``None``/``False`` to answer 401."""

_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


def _hostname(host: str) -> str:
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class Guard:
    """Decides whether a request may reach the server.

    Args:
        allowed_hosts: ``Host`` values (``name`` or ``name:port``) accepted. ``None``: when the server listens on a
            loopback address only loopback names are accepted, otherwise any.
        allowed_origins: ``Origin`` values accepted (``"*"`` accepts any). ``None``: loopback origins when the server
            listens on a loopback address, otherwise any. Requests without ``Origin`` (not from a browser) pass.
        authenticate: The bearer-token hook, or ``None`` for no authentication.
    """

    def __init__(
        self,
        allowed_hosts: Sequence[str] | None = None,
        allowed_origins: Sequence[str] | None = None,
        authenticate: Authenticate | None = None,
    ) -> None:
        self.allowed_hosts = None if allowed_hosts is None else frozenset(host.lower() for host in allowed_hosts)
        self.allowed_origins = None if allowed_origins is None else frozenset(allowed_origins)
        self.authenticate = authenticate

    @staticmethod
    def _loopback(scope: MutableMapping[str, Any]) -> bool:
        server = scope.get("server")
        return server is not None and str(server[0]) in _LOOPBACK

    def host_allowed(self, scope: MutableMapping[str, Any], host: str | None) -> bool:
        """Whether the ``Host`` header names this server."""
        if self.allowed_hosts is None:
            return not self._loopback(scope) or host is None or _hostname(host.lower()) in _LOOPBACK
        return host is not None and (
            host.lower() in self.allowed_hosts or _hostname(host.lower()) in self.allowed_hosts
        )

    def origin_allowed(self, scope: MutableMapping[str, Any], origin: str | None) -> bool:
        """Whether a browser page at ``origin`` may call the server."""
        if origin is None:
            return True
        if self.allowed_origins is None:
            return not self._loopback(scope) or (urlsplit(origin).hostname or "") in _LOOPBACK
        return "*" in self.allowed_origins or origin in self.allowed_origins

    async def identify(self, scope: MutableMapping[str, Any], authorization: str | None) -> Any:
        """Who the caller is, per the hook (``True`` without a hook); ``None`` or ``False`` when refused."""
        if self.authenticate is None:
            return True
        token = None
        if authorization and authorization[:7].lower() == "bearer ":
            token = authorization[7:].strip() or None
        outcome = self.authenticate(token, scope)
        return await outcome if inspect.isawaitable(outcome) else outcome
