"""The tasks extension (``io.modelcontextprotocol/tasks``): long tool calls answered at once with a task handle.

The client polls ``tasks/get`` for the status and, at the end, the tool's result; answers a task's input requests
with ``tasks/update``; and may ``tasks/cancel`` it. Task records live in a :class:`TaskStore` (in memory by default;
another store shares records between processes). The work itself runs in the process that accepted the call.
"""

import dataclasses
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any, Literal, Protocol

import anyio
import anyio.abc
from flama.mcp.protocol import INVALID_PARAMS, MCPError

__all__ = ["EXTENSION", "InMemoryTaskStore", "Task", "TaskStore", "Tasks"]

EXTENSION = "io.modelcontextprotocol/tasks"
Status = Literal["working", "input_required", "completed", "failed", "cancelled"]
_TERMINAL = frozenset({"completed", "failed", "cancelled"})


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclasses.dataclass
class Task:
    """One task's record.

    Attributes:
        id: The task id (random, unguessable: it is the only key to the task).
        owner: Who created it (the authentication hook's answer, as text); others cannot see it.
        status: ``working``, ``input_required``, ``completed``, ``failed`` or ``cancelled``.
        ttl_ms: How long the record is kept after creation.
        result: The ``tools/call`` result once completed.
        error: The JSON-RPC error once failed.
        input_requests: What the task waits for while ``input_required``.
    """

    id: str
    owner: str
    status: Status = "working"
    status_message: str | None = None
    created_at: str = dataclasses.field(default_factory=_now)
    updated_at: str = dataclasses.field(default_factory=_now)
    created: float = dataclasses.field(default_factory=time.monotonic)
    ttl_ms: int = 3_600_000
    poll_interval_ms: int = 500
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    input_requests: dict[str, Any] | None = None

    def wire(self) -> dict[str, Any]:
        """The task's fields as ``tasks/get`` and task handles write them."""
        data: dict[str, Any] = {
            "taskId": self.id,
            "status": self.status,
            "createdAt": self.created_at,
            "lastUpdatedAt": self.updated_at,
            "ttlMs": self.ttl_ms,
            "pollIntervalMs": self.poll_interval_ms,
        }
        if self.status_message is not None:
            data["statusMessage"] = self.status_message
        if self.status == "completed":
            data["result"] = self.result
        elif self.status == "failed":
            data["error"] = self.error
        elif self.status == "input_required":
            data["inputRequests"] = self.input_requests
        return data


class TaskStore(Protocol):
    """Where task records are kept."""

    async def put(self, task: Task) -> None:
        """Create or replace a record."""

    async def get(self, task_id: str) -> Task | None:
        """The record, or ``None`` when unknown or expired."""


class InMemoryTaskStore:
    """Task records in this process's memory, dropped after their TTL; at most ``max_tasks`` (oldest go first)."""

    def __init__(self, max_tasks: int = 10_000) -> None:
        self._tasks: dict[str, Task] = {}
        self.max_tasks = max_tasks

    async def put(self, task: Task) -> None:
        """Create or replace a record."""
        self._tasks[task.id] = task
        while len(self._tasks) > self.max_tasks:
            del self._tasks[next(iter(self._tasks))]

    async def get(self, task_id: str) -> Task | None:
        """The record, or ``None`` when unknown or expired."""
        task = self._tasks.get(task_id)
        if task is not None and time.monotonic() - task.created > task.ttl_ms / 1000:
            del self._tasks[task_id]
            return None
        return task


class _Live:
    """What only the process running a task holds: its cancel scope and the answers it waits for."""

    def __init__(self) -> None:
        self.scope = anyio.CancelScope()
        self.answered = anyio.Event()
        self.answers: dict[str, Any] = {}
        self.waiting: set[str] = set()


class Tasks:
    """Creates, runs and answers tasks.

    Args:
        store: Where records are kept.
        ttl_ms: How long a record is kept.
    """

    def __init__(self, store: TaskStore | None = None, ttl_ms: int = 3_600_000) -> None:
        self.store: TaskStore = store or InMemoryTaskStore()
        self.ttl_ms = ttl_ms
        self.group: anyio.abc.TaskGroup | None = None
        self._live: dict[str, _Live] = {}

    async def start(
        self,
        owner: str,
        work: Callable[["Task", Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]], Awaitable[dict[str, Any]]],
    ) -> Task:
        """Create a task and run ``work(task, ask)`` in the background; ``ask`` waits for an input response."""
        assert self.group is not None, "tasks run inside the server's lifespan"
        task = Task(id=secrets.token_urlsafe(18), owner=owner, ttl_ms=self.ttl_ms)
        await self.store.put(task)
        live = self._live[task.id] = _Live()

        async def ask(requests: dict[str, dict[str, Any]]) -> dict[str, Any]:
            live.waiting = set(requests)
            live.answered = anyio.Event()
            await self._set(task, "input_required", input_requests=dict(requests))
            await live.answered.wait()
            await self._set(task, "working")
            return {key: live.answers[key] for key in requests}

        async def run() -> None:
            with live.scope:
                try:
                    result = await work(task, ask)
                except MCPError as error:
                    await self._set(task, "failed", error=error.error())
                except Exception as error:
                    await self._set(
                        task, "failed", error={"code": -32603, "message": f"{type(error).__name__}: {error}"}
                    )
                else:
                    await self._set(task, "completed", result=result)
            if live.scope.cancelled_caught:
                await self._set(task, "cancelled", status_message="cancelled by the client")
            self._live.pop(task.id, None)

        self.group.start_soon(run)
        return task

    async def _set(self, task: Task, status: Status, **fields: Any) -> None:
        task.status = status
        task.input_requests = None
        for key, value in fields.items():
            setattr(task, key, value)
        task.updated_at = _now()
        await self.store.put(task)

    async def get(self, task_id: Any, owner: str) -> Task:
        """The caller's task.

        Raises:
            MCPError: ``INVALID_PARAMS``: no such task for this caller.
        """
        task = await self.store.get(task_id) if isinstance(task_id, str) else None
        if task is None or task.owner != owner:
            raise MCPError(INVALID_PARAMS, "no such task", {"taskId": task_id})
        return task

    async def update(self, task_id: Any, owner: str, responses: Any) -> None:
        """Hand input responses to a task waiting for them."""
        task = await self.get(task_id, owner)
        live = self._live.get(task.id)
        if task.status != "input_required" or live is None or not isinstance(responses, dict):
            raise MCPError(INVALID_PARAMS, "the task is not waiting for these input responses", {"taskId": task_id})
        answered = {key: value for key, value in responses.items() if key in live.waiting}
        live.answers.update(answered)
        live.waiting -= set(answered)
        if live.waiting:
            remaining = {key: value for key, value in (task.input_requests or {}).items() if key in live.waiting}
            await self._set(task, "input_required", input_requests=remaining)
        else:
            live.answered.set()

    async def cancel(self, task_id: Any, owner: str) -> None:
        """Stop a task that has not finished (a finished one is left as it is: cancelling is idempotent)."""
        task = await self.get(task_id, owner)
        if task.status in _TERMINAL:
            return
        live = self._live.get(task.id)
        if live is not None:
            live.scope.cancel()
        else:
            await self._set(task, "cancelled", status_message="cancelled by the client")
