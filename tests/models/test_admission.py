import asyncio
import threading

import anyio
import pytest
from flama.models.admission import DEFAULT_MAX_QUEUED, Admission, QueueFull
from flama.models.runner import Runner


class TestCaseAdmission:
    @pytest.mark.parametrize(
        ("running", "queued", "message"),
        [
            pytest.param(0, 1, "max_running must be at least 1, got 0", id="running"),
            pytest.param(1, -1, "max_queued must be at least 0, got -1", id="queued"),
        ],
    )
    def test_limits_checked(self, running, queued, message):
        with pytest.raises(ValueError, match=f"^{message}$"):
            Admission(running, queued)

    async def test_runs_in_order_within_limits(self):
        admission = Admission(max_running=2, max_queued=3)
        gates = [asyncio.Event() for _ in range(5)]
        started: list[int] = []
        peak = 0

        async def job(number: int) -> None:
            nonlocal peak
            async with admission.slot():
                started.append(number)
                peak = max(peak, admission.running)
                await gates[number].wait()

        tasks = []
        for number in range(5):
            tasks.append(asyncio.create_task(job(number)))
            await asyncio.sleep(0)

        assert (admission.running, admission.queued, started) == (2, 3, [0, 1])

        with pytest.raises(QueueFull) as error:
            async with admission.slot():
                pass
        assert error.value.retry_after == pytest.approx(Admission.FIRST_GUESS * 5 / 2)

        gates[1].set()
        await tasks[1]
        await asyncio.sleep(0)
        assert (admission.running, admission.queued, started) == (2, 2, [0, 1, 2])

        for gate in gates:
            gate.set()
        await asyncio.gather(*tasks)

        assert started == [0, 1, 2, 3, 4]
        assert peak == 2
        assert (admission.running, admission.queued) == (0, 0)

    async def test_no_queue(self):
        admission = Admission(max_running=1, max_queued=0)

        async with admission.slot():
            with pytest.raises(QueueFull, match=r"^Too many requests are waiting for this model; retry after 1 s$"):
                async with admission.slot():
                    pass

        async with admission.slot():
            assert admission.running == 1

    async def test_cancelled_waiter_leaves_the_line(self):
        admission = Admission(max_running=1, max_queued=2)
        release = asyncio.Event()
        order: list[str] = []

        async def job(name: str) -> None:
            async with admission.slot():
                order.append(name)
                await release.wait()

        first = asyncio.create_task(job("first"))
        await asyncio.sleep(0)
        second = asyncio.create_task(job("second"))
        third = asyncio.create_task(job("third"))
        await asyncio.sleep(0)
        assert admission.queued == 2

        second.cancel()
        with pytest.raises(asyncio.CancelledError):
            await second
        assert admission.queued == 1

        release.set()
        await asyncio.gather(first, third)
        assert order == ["first", "third"]
        assert (admission.running, admission.queued) == (0, 0)

    async def test_waiter_cancelled_as_a_slot_is_released(self):
        # The waiter's future is cancelled at once, its task sees the cancellation a loop turn later: a release in
        # between passes over the cancelled waiter (and removes it), and the task must still leave cleanly.
        admission = Admission(max_running=1, max_queued=2)
        holder = admission.slot()
        await holder.__aenter__()
        entered: list[str] = []

        async def job(name: str) -> None:
            async with admission.slot():
                entered.append(name)

        second = asyncio.create_task(job("second"))
        third = asyncio.create_task(job("third"))
        await asyncio.sleep(0)
        second.cancel()
        await holder.__aexit__(None, None, None)  # before second has run its cancellation
        with pytest.raises(asyncio.CancelledError):
            await second
        await third
        assert entered == ["third"]
        assert (admission.running, admission.queued) == (0, 0)

    async def test_slot_handed_to_a_cancelled_waiter_passes_on(self):
        admission = Admission(max_running=1, max_queued=2)
        order: list[str] = []
        holder = admission.slot()
        await holder.__aenter__()

        async def job(name: str) -> None:
            async with admission.slot():
                order.append(name)

        second = asyncio.create_task(job("second"))
        third = asyncio.create_task(job("third"))
        await asyncio.sleep(0)

        await holder.__aexit__(None, None, None)  # hands the slot to "second" ...
        second.cancel()  # ... which is cancelled before it runs
        await asyncio.gather(second, third, return_exceptions=True)

        assert second.cancelled()
        assert order == ["third"]
        assert (admission.running, admission.queued) == (0, 0)

    async def test_retry_after_follows_hold_times(self, monkeypatch):
        readings = [10.0, 14.0]  # the first slot is held for 4 s; the clock stands still afterwards
        monkeypatch.setattr("flama.models.admission.monotonic", lambda: readings.pop(0) if readings else 14.0)
        admission = Admission(max_running=2, max_queued=0)

        async with admission.slot():
            pass

        async with admission.slot(), admission.slot():
            with pytest.raises(QueueFull) as error:
                async with admission.slot():
                    pass
        assert error.value.retry_after == pytest.approx(4.0)


class TestCaseRunnerAdmission:
    async def test_many_concurrent_predictions_are_bounded_by_default(self):
        runner = Runner(anyio.CapacityLimiter(4), workers=1)
        release = threading.Event()
        outcomes: list[str] = []

        def predict() -> str:
            release.wait(10)
            return "ok"

        async def call() -> None:
            try:
                outcomes.append(await runner.run(predict))
            except QueueFull:
                outcomes.append("full")

        tasks = [asyncio.create_task(call()) for _ in range(200)]
        while runner.waiting < DEFAULT_MAX_QUEUED:
            await asyncio.sleep(0.001)
        while len(outcomes) < 200 - 1 - DEFAULT_MAX_QUEUED:
            await asyncio.sleep(0.001)
        assert (runner.running, runner.waiting) == (1, DEFAULT_MAX_QUEUED)
        release.set()
        await asyncio.gather(*tasks)
        runner.close()
        assert outcomes.count("ok") == 1 + DEFAULT_MAX_QUEUED
        assert outcomes.count("full") == 200 - 1 - DEFAULT_MAX_QUEUED
        assert (runner.running, runner.waiting) == (0, 0)

    async def test_waiting_predictions_are_served_in_order(self):
        runner = Runner(anyio.CapacityLimiter(1), workers=1, max_queued=None)
        order: list[int] = []

        async def call(number: int) -> None:
            await runner.run(order.append, number)

        await asyncio.gather(*(call(number) for number in range(50)))
        runner.close()
        assert order == list(range(50))


class TestCaseAdmissionPlaces:
    async def test_places_count_as_waiting(self):
        admission = Admission(max_running=1, max_queued=1)
        with admission.place(), admission.place():
            assert admission.placed == 2
            with pytest.raises(QueueFull), admission.place():
                pass
            assert admission.placed == 2
        assert admission.placed == 0

    async def test_a_place_is_not_refused_its_slot(self):
        admission = Admission(max_running=1, max_queued=0)
        with admission.place():
            async with admission.slot():
                assert (admission.running, admission.placed) == (1, 0)
                with pytest.raises(QueueFull):  # the line is full for anybody without a place
                    async with admission.slot():
                        pass
        assert (admission.running, admission.placed) == (0, 0)

    async def test_placed_request_waits_its_turn(self):
        admission = Admission(max_running=1, max_queued=0)
        release = asyncio.Event()
        order: list[str] = []

        async def holder() -> None:
            async with admission.slot():
                order.append("holder")
                await release.wait()

        async def placed() -> None:
            async with admission.slot():
                order.append("placed")

        task = asyncio.create_task(holder())
        await asyncio.sleep(0)
        with pytest.raises(QueueFull):
            admission.place().__enter__()
        release.set()
        await task
        with admission.place():
            await placed()
        assert order == ["holder", "placed"]

    async def test_turn_holds_one_slot_for_the_model_calls_within(self):
        admission = Admission(max_running=1, max_queued=0)
        async with admission.turn(), admission.slot(), admission.slot():
            assert admission.running == 1
        assert admission.running == 0
        async with admission.slot():  # outside the turn, the line is full again for another request
            with pytest.raises(QueueFull):
                async with admission.slot():
                    pass
