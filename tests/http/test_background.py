import functools
import threading

import pytest
from flama.http import BackgroundTask, BackgroundTasks


class TestCaseBackgroundTask:
    async def test_async(self):
        calls: list[tuple[int, str]] = []

        async def record(number: int, *, label: str) -> None:
            calls.append((number, label))

        await BackgroundTask(record, 1, label="a")()

        assert calls == [(1, "a")]

    async def test_sync_runs_in_thread(self):
        threads: list[int] = []

        await BackgroundTask(lambda: threads.append(threading.get_ident()))()

        assert len(threads) == 1
        assert threads[0] != threading.get_ident()

    async def test_async_partial_and_callable(self):
        calls: list[str] = []

        async def record(value: str) -> None:
            calls.append(value)

        class Recorder:
            async def __call__(self, value: str) -> None:
                calls.append(value)

        partial_task = BackgroundTask(functools.partial(functools.partial(record), "partial"))
        callable_task = BackgroundTask(Recorder(), "callable")
        await partial_task()
        await callable_task()

        assert (partial_task.is_async, callable_task.is_async) == (True, True)
        assert calls == ["partial", "callable"]


class TestCaseBackgroundTasks:
    async def test_in_order(self):
        calls: list[str] = []

        async def record(value: str) -> None:
            calls.append(value)

        tasks = BackgroundTasks([BackgroundTask(record, "first")])
        tasks.add_task(calls.append, "second")
        tasks.add_task(record, "third")
        await tasks()

        assert calls == ["first", "second", "third"]

    async def test_error_stops_the_rest(self):
        calls: list[str] = []

        def fail() -> None:
            raise OSError("disk full")

        tasks = BackgroundTasks()
        tasks.add_task(fail)
        tasks.add_task(calls.append, "never")

        with pytest.raises(OSError, match=r"^disk full$"):
            await tasks()
        assert calls == []
