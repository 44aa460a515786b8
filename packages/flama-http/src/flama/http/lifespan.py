"""The ASGI lifespan protocol for a Flama application: modules, startup/shutdown handlers, a lifespan context.

Startup order: modules' ``on_startup``, then the startup of Flama applications mounted directly under this one, then
the ``startup`` event handlers, then the ``lifespan`` context manager is entered. Shutdown runs the same steps in
reverse. A failure is reported to the server as ``lifespan.startup.failed`` (or ``shutdown.failed``) with the error
message.
"""

import inspect
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeAlias

from flama.http.types import Receive, Send

if TYPE_CHECKING:
    from flama.http.applications import Flama

__all__ = ["EventHandler", "Lifespan", "LifespanContext"]

EventHandler: TypeAlias = Callable[[], Any]
LifespanContext: TypeAlias = Callable[["Flama"], AbstractAsyncContextManager[Any]]


async def _call(handler: EventHandler) -> None:
    result = handler()
    if inspect.isawaitable(result):
        await result


class Lifespan:
    """Runs an application's startup and shutdown.

    Args:
        events: ``{"startup": [...], "shutdown": [...]}`` handlers, sync or async, called with no arguments.
        context: An async context manager factory called with the application.
    """

    def __init__(
        self, events: Mapping[str, Sequence[EventHandler]] | None = None, context: LifespanContext | None = None
    ) -> None:
        unknown = set(events or {}) - {"startup", "shutdown"}
        if unknown:
            raise ValueError(f"unknown lifespan events: {sorted(unknown)}")
        self.startup: list[EventHandler] = list((events or {}).get("startup", ()))
        self.shutdown: list[EventHandler] = list((events or {}).get("shutdown", ()))
        self.context = context

    @asynccontextmanager
    async def run(self, app: "Flama") -> AsyncIterator[None]:
        """Start everything, yield while the application serves, stop everything."""
        async with AsyncExitStack() as stack:
            for module in app.modules:
                await module.on_startup()
                stack.push_async_callback(module.on_shutdown)
            for route in app.routes:
                mounted = getattr(route, "app", None)
                if isinstance(getattr(mounted, "lifespan", None), Lifespan):
                    await stack.enter_async_context(mounted.lifespan.run(mounted))  # type: ignore[union-attr]
            stack.push_async_callback(self._shutdown)
            for handler in self.startup:
                await _call(handler)
            if self.context is not None:
                await stack.enter_async_context(self.context(app))
            yield

    async def _shutdown(self) -> None:
        for handler in self.shutdown:
            await _call(handler)

    async def __call__(self, app: "Flama", receive: Receive, send: Send) -> None:
        """Speak the lifespan protocol with the server."""
        await receive()  # lifespan.startup
        manager = self.run(app)
        try:
            await manager.__aenter__()
        except Exception as exc:
            await send({"type": "lifespan.startup.failed", "message": f"{type(exc).__name__}: {exc}"})
            return
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown
        try:
            await manager.__aexit__(None, None, None)
        except Exception as exc:
            await send({"type": "lifespan.shutdown.failed", "message": f"{type(exc).__name__}: {exc}"})
            return
        await send({"type": "lifespan.shutdown.complete"})
