import asyncio

import pytest
from flama.llm.exceptions import QueueFull
from flama.llm.scheduler import Scheduler


class TestCaseScheduler:
    @pytest.mark.parametrize(
        ("running", "queued", "message"),
        [
            pytest.param(0, 1, "max_running must be at least 1, got 0", id="running"),
            pytest.param(1, -1, "max_queued must be at least 0, got -1", id="queued"),
        ],
    )
    def test_limits_checked(self, running, queued, message):
        with pytest.raises(ValueError, match=f"^{message}$"):
            Scheduler(running, queued)

    async def test_runs_in_order_within_limits(self):
        scheduler = Scheduler(max_running=2, max_queued=3)
        gates = [asyncio.Event() for _ in range(5)]
        started: list[int] = []
        peak = 0

        async def job(number: int) -> None:
            nonlocal peak
            async with scheduler.slot():
                started.append(number)
                peak = max(peak, scheduler.running)
                await gates[number].wait()

        tasks = []
        for number in range(5):
            tasks.append(asyncio.create_task(job(number)))
            await asyncio.sleep(0)

        assert (scheduler.running, scheduler.queued, started) == (2, 3, [0, 1])

        with pytest.raises(QueueFull) as error:
            async with scheduler.slot():
                pass
        assert error.value.retry_after == pytest.approx(Scheduler.FIRST_GUESS * 5 / 2)

        gates[1].set()
        await tasks[1]
        await asyncio.sleep(0)
        assert (scheduler.running, scheduler.queued, started) == (2, 2, [0, 1, 2])

        for gate in gates:
            gate.set()
        await asyncio.gather(*tasks)

        assert started == [0, 1, 2, 3, 4]
        assert peak == 2
        assert (scheduler.running, scheduler.queued) == (0, 0)

    async def test_no_queue(self):
        scheduler = Scheduler(max_running=1, max_queued=0)

        async with scheduler.slot():
            with pytest.raises(QueueFull, match=r"^Too many generations in progress; retry after 1\.0 s$"):
                async with scheduler.slot():
                    pass

        async with scheduler.slot():
            assert scheduler.running == 1

    async def test_cancelled_waiter_leaves_the_line(self):
        scheduler = Scheduler(max_running=1, max_queued=2)
        release = asyncio.Event()
        order: list[str] = []

        async def job(name: str) -> None:
            async with scheduler.slot():
                order.append(name)
                await release.wait()

        first = asyncio.create_task(job("first"))
        await asyncio.sleep(0)
        second = asyncio.create_task(job("second"))
        third = asyncio.create_task(job("third"))
        await asyncio.sleep(0)
        assert scheduler.queued == 2

        second.cancel()
        with pytest.raises(asyncio.CancelledError):
            await second
        assert scheduler.queued == 1

        release.set()
        await asyncio.gather(first, third)
        assert order == ["first", "third"]
        assert (scheduler.running, scheduler.queued) == (0, 0)

    async def test_slot_handed_to_a_cancelled_waiter_passes_on(self):
        scheduler = Scheduler(max_running=1, max_queued=2)
        order: list[str] = []
        holder = scheduler.slot()
        await holder.__aenter__()

        async def job(name: str) -> None:
            async with scheduler.slot():
                order.append(name)

        second = asyncio.create_task(job("second"))
        third = asyncio.create_task(job("third"))
        await asyncio.sleep(0)

        await holder.__aexit__(None, None, None)  # hands the slot to "second" ...
        second.cancel()  # ... which is cancelled before it runs
        await asyncio.gather(second, third, return_exceptions=True)

        assert second.cancelled()
        assert order == ["third"]
        assert (scheduler.running, scheduler.queued) == (0, 0)

    async def test_retry_after_follows_hold_times(self, monkeypatch):
        readings = [10.0, 14.0]  # the first slot is held for 4 s; the clock stands still afterwards
        monkeypatch.setattr("flama.llm.scheduler.monotonic", lambda: readings.pop(0) if readings else 14.0)
        scheduler = Scheduler(max_running=2, max_queued=0)

        async with scheduler.slot():
            pass

        async with scheduler.slot(), scheduler.slot():
            with pytest.raises(QueueFull) as error:
                async with scheduler.slot():
                    pass
        assert error.value.retry_after == pytest.approx(4.0)
