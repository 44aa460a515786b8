"""Safe defaults for the server :func:`flama.http.run` starts (uvicorn): slow and oversized clients are cut off.

uvicorn alone waits forever for a request's headers (a client sending a byte a second holds its connection as long as
it likes) and, with httptools, buffers a header line of any length. :class:`ServerLimits` names the limits that stop
both and turns them into uvicorn options, so ``flama.run`` and ``flama serve`` start the same protected server.
"""

from dataclasses import dataclass
from typing import Any

__all__ = ["DEFAULT_SERVER_LIMITS", "ServerLimits", "server_defaults"]


@dataclass(frozen=True)
class ServerLimits:
    """Limits of the HTTP server, one connection at a time.

    Attributes:
        header_timeout: Seconds a client has to send a request's whole header block, from its first byte (or from
            connecting); a slower one gets ``408`` and is disconnected.
        max_header_size: The most bytes of a request line and headers; a larger block gets ``431`` (``400`` from
            h11) and the connection is closed, without buffering more than this.
        keep_alive_timeout: Seconds an idle keep-alive connection stays open between requests (uvicorn's
            ``timeout_keep_alive``).
        max_concurrency: The most connections and running requests at once; beyond it uvicorn answers ``503``
            (``limit_concurrency``). ``None`` for no limit.
    """

    header_timeout: float = 10.0
    max_header_size: int = 16 * 1024
    keep_alive_timeout: int = 5
    max_concurrency: int | None = 1024

    def __post_init__(self) -> None:
        if self.header_timeout <= 0:
            raise ValueError(f"header_timeout must be positive, got {self.header_timeout}")
        if self.max_header_size < 1024:
            raise ValueError(f"max_header_size must be 1024 or more, got {self.max_header_size}")
        if self.keep_alive_timeout < 0:
            raise ValueError(f"keep_alive_timeout must be 0 or more, got {self.keep_alive_timeout}")
        if self.max_concurrency is not None and self.max_concurrency < 1:
            raise ValueError(f"max_concurrency must be positive or None, got {self.max_concurrency}")

    def uvicorn_options(self) -> dict[str, Any]:
        """The ``uvicorn.run`` / ``uvicorn.Config`` keyword arguments that apply these limits.

        ``http`` is Flama's guarded protocol (httptools when installed, else h11), given as an import string when the
        header timeout is the default one, so that it also reaches ``workers`` started in other processes.
        """
        from flama.http.protocols import protocol_for

        return {
            "http": protocol_for(self.header_timeout),
            "h11_max_incomplete_event_size": self.max_header_size,
            "timeout_keep_alive": self.keep_alive_timeout,
            "limit_concurrency": self.max_concurrency,
        }


DEFAULT_SERVER_LIMITS = ServerLimits()


def server_defaults(limits: ServerLimits = DEFAULT_SERVER_LIMITS) -> dict[str, Any]:
    """The uvicorn options of ``limits`` (the safe defaults when omitted), for whoever starts uvicorn for Flama.

    Example:
        ``uvicorn.run(app, **{**server_defaults(), "port": 8080})``
    """
    return limits.uvicorn_options()
