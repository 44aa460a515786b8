"""Cookie sessions: a JSON dict signed with HMAC-SHA256 and timestamped, kept by the client."""

import base64
import hashlib
import hmac
import logging
import time
from typing import Any, Literal

from flama.core import build_set_cookie, json_decode, json_encode, parse_cookies
from flama.http.datastructures import MutableHeaders
from flama.http.types import ASGIApp, Message, Receive, Scope, Send
from flama.middleware.base import ConfigurationError, MiddlewareError

__all__ = ["SessionMiddleware", "SessionSigner", "SessionTooLarge"]

logger = logging.getLogger("flama.middleware")

_COOKIE = b"cookie"
#: What browsers keep of one cookie, name and value together (RFC 6265 §6.1 asks for at least this much).
DEFAULT_MAX_COOKIE_SIZE = 4096


class SessionTooLarge(MiddlewareError):
    """The session does not fit in its cookie: browsers drop a cookie larger than ``max_cookie_size`` silently.

    Raised while the response starts, so the request fails with a 500 instead of losing the session unnoticed; keep
    identifiers in the session and the data they point to on the server.
    """


def _b64encode(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _b64decode(data: bytes) -> bytes:
    return base64.urlsafe_b64decode(data + b"=" * (-len(data) % 4))


class SessionSigner:
    """Sign and verify session payloads: ``base64(json) . base64(timestamp) . base64(hmac-sha256)``.

    The HMAC key is derived from the secret and a salt, so the same secret used elsewhere does not sign sessions.

    Args:
        secret_key: The secret; keep it out of the source and long (32 random bytes or more).
        salt: Separates this use of the secret from others.
    """

    __slots__ = ("_key",)

    def __init__(self, secret_key: str | bytes, *, salt: bytes = b"flama.middleware.session") -> None:
        secret = secret_key.encode() if isinstance(secret_key, str) else secret_key
        if not secret:
            raise ConfigurationError("The session secret key must not be empty")
        self._key = hmac.new(secret, salt, hashlib.sha256).digest()

    def _signature(self, signed: bytes) -> bytes:
        return _b64encode(hmac.new(self._key, signed, hashlib.sha256).digest())

    def sign(self, data: dict[str, Any], *, now: float | None = None) -> str:
        """Serialize and sign a session.

        Args:
            data: A JSON-able dict.
            now: The timestamp to sign (the current time by default).

        Returns:
            The cookie value.
        """
        stamp = int(time.time() if now is None else now)
        signed = _b64encode(json_encode(data)) + b"." + _b64encode(stamp.to_bytes(8, "big"))
        return (signed + b"." + self._signature(signed)).decode("ascii")

    def unsign(self, value: str, *, max_age: int | None = None, now: float | None = None) -> dict[str, Any] | None:
        """Verify a cookie value and return its session.

        Args:
            value: The cookie value.
            max_age: Seconds a signature stays valid; ``None`` for no limit.
            now: The current time (for tests).

        Returns:
            The session, or ``None`` when the value is malformed, tampered with or expired.
        """
        signed, _, signature = value.encode("latin-1").rpartition(b".")
        if not hmac.compare_digest(self._signature(signed), signature):
            return None
        payload, _, stamp = signed.partition(b".")
        try:
            issued = int.from_bytes(_b64decode(stamp), "big")
            data = json_decode(_b64decode(payload))
        except ValueError:  # binascii.Error and JSONDecodeError are ValueErrors
            return None
        if max_age is not None and (time.time() if now is None else now) - issued > max_age:
            return None
        return data if isinstance(data, dict) else None


class SessionMiddleware:
    """Give each request a session dict, ``scope["session"]``, kept in a signed cookie.

    The session is read from the cookie on the way in; a cookie that is malformed, tampered with or older than
    ``max_age`` gives an empty session. On the way out a non-empty session is signed again into ``Set-Cookie`` (which
    also renews its age), and an emptied one deletes the cookie. WebSocket connections get the session too, read-only.

    The client can read the session (it is signed, not encrypted): store identifiers, not secrets.

    Args:
        app: The ASGI application to wrap.
        secret_key: The signing secret.
        cookie_name: The cookie's name.
        max_age: Seconds a session lives without being sent back; ``None`` for a browser-session cookie whose
            signature never expires.
        path: The cookie's ``Path``.
        domain: The cookie's ``Domain``; ``None`` for the request's host only.
        same_site: The cookie's ``SameSite``.
        https_only: Mark the cookie ``Secure``, so it is sent over HTTPS only.
        max_cookie_size: The most bytes of cookie name and signed value; a larger session raises
            :class:`SessionTooLarge` (and is logged) instead of being sent for the browser to drop.

    Raises:
        ConfigurationError: For an empty secret, a non-positive ``max_age`` or ``max_cookie_size``, or
            ``same_site="none"`` without ``https_only`` (browsers drop such cookies).
    """

    __slots__ = ("_cookie_options", "_signer", "app", "cookie_name", "max_age", "max_cookie_size")

    def __init__(
        self,
        app: ASGIApp,
        secret_key: str | bytes,
        *,
        cookie_name: str = "session",
        max_age: int | None = 14 * 24 * 3600,
        path: str = "/",
        domain: str | None = None,
        same_site: Literal["lax", "strict", "none"] = "lax",
        https_only: bool = False,
        max_cookie_size: int = DEFAULT_MAX_COOKIE_SIZE,
    ) -> None:
        if max_age is not None and max_age <= 0:
            raise ConfigurationError(f"max_age must be positive or None, got {max_age}")
        if max_cookie_size <= 0:
            raise ConfigurationError(f"max_cookie_size must be positive, got {max_cookie_size}")
        if same_site == "none" and not https_only:
            raise ConfigurationError("same_site='none' needs https_only=True: browsers drop insecure such cookies")
        self.app = app
        self.cookie_name = cookie_name
        self.max_age = max_age
        self.max_cookie_size = max_cookie_size
        self._signer = SessionSigner(secret_key)
        self._cookie_options: dict[str, Any] = {
            "path": path,
            "domain": domain,
            "samesite": same_site,
            "secure": https_only,
            "httponly": True,
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        # Every Cookie header counts (HTTP/2 and some proxies split them), not only the first.
        cookies = [value for name, value in scope["headers"] if name == _COOKIE]
        value = parse_cookies(b"; ".join(cookies).decode("latin-1")).get(self.cookie_name) if cookies else None
        session = (self._signer.unsign(value, max_age=self.max_age) if value is not None else None) or {}
        scope["session"] = session
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                current = scope["session"]
                if current:
                    signed = self._signer.sign(current)
                    size = len(self.cookie_name) + len(signed)
                    if size > self.max_cookie_size:
                        logger.error(
                            "Session cookie %r of %d bytes exceeds max_cookie_size (%d)",
                            self.cookie_name,
                            size,
                            self.max_cookie_size,
                        )
                        raise SessionTooLarge(
                            f"the session cookie {self.cookie_name!r} would be {size} bytes, more than "
                            f"max_cookie_size ({self.max_cookie_size}): store less in the session"
                        )
                    header = build_set_cookie(self.cookie_name, signed, max_age=self.max_age, **self._cookie_options)
                elif value is not None:
                    header = build_set_cookie(self.cookie_name, "", max_age=0, expires=0, **self._cookie_options)
                else:
                    header = None
                if header is not None:
                    headers = MutableHeaders(raw=message["headers"])
                    headers.append("set-cookie", header)
                    message["headers"] = headers.raw
            await send(message)

        await self.app(scope, receive, send_with_cookie)
