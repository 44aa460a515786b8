"""Work that runs after a response has been sent."""

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeAlias

import anyio.to_thread

__all__ = ["Background", "BackgroundTask", "BackgroundTasks"]


def _is_async(func: Callable[..., Any]) -> bool:
    while isinstance(func, functools.partial):
        func = func.func
    return inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(getattr(func, "__call__", None))  # noqa: B004


class BackgroundTask:
    """One call to make once the response is sent.

    Coroutine functions are awaited; plain functions run in a worker thread so they never block the event loop.

    Args:
        func: The function to call.
        *args: Its positional arguments.
        **kwargs: Its keyword arguments.
    """

    __slots__ = ("args", "func", "is_async", "kwargs")

    def __init__(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self.func = func
        self.args = args
        self.kwargs = kwargs
        self.is_async = _is_async(func)

    async def __call__(self) -> None:
        """Run the task."""
        if self.is_async:
            await self.func(*self.args, **self.kwargs)
        else:
            await anyio.to_thread.run_sync(functools.partial(self.func, *self.args, **self.kwargs))


class BackgroundTasks:
    """Several tasks, run one after the other in the order they were added.

    Args:
        tasks: The tasks to start with.
    """

    __slots__ = ("tasks",)

    def __init__(self, tasks: list[BackgroundTask] | None = None) -> None:
        self.tasks = list(tasks or [])

    def add_task(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Queue ``func(*args, **kwargs)`` after the tasks already added."""
        self.tasks.append(BackgroundTask(func, *args, **kwargs))

    async def __call__(self) -> None:
        """Run every task, in order; an exception stops the ones after it."""
        for task in self.tasks:
            await task()


Background: TypeAlias = BackgroundTask | BackgroundTasks
