import asyncio

import pytest
from flama.llm.exceptions import UnknownEventId
from flama.llm.streams import Stream, StreamRegistry


async def _events(stream: Stream, start: int = 0, window: float = 0.0) -> list[tuple[int, str, dict[str, object]]]:
    return [(event.number, event.name, event.data) async for event in stream.follow(start, window)]


class TestCaseStream:
    async def test_replay_then_follow(self):
        stream = Stream("s")
        stream.push("a", {"n": 0})
        reader = asyncio.ensure_future(_events(stream))
        await asyncio.sleep(0)
        stream.push("b", {"n": 1})
        stream.finish()
        assert await reader == [(0, "a", {"n": 0}), (1, "b", {"n": 1})]

    async def test_a_reader_behind_gets_everything_waiting_in_one_batch(self):
        stream = Stream("s")
        stream.push("a", {"n": 0})
        reader = stream.batches(0, 0)
        assert [event.number for event in await reader.__anext__()] == [0]
        stream.push("b", {"n": 1})
        stream.push("c", {"n": 2})
        assert [event.name for event in await reader.__anext__()] == ["b", "c"]
        stream.finish()
        with pytest.raises(StopAsyncIteration):
            await reader.__anext__()

    async def test_encoded_joins_each_batch(self):
        stream = Stream("s")
        stream.push("a", {})
        stream.push("b", {"n": 1})
        stream.finish()
        chunks = [chunk async for chunk in stream.encoded(0, 0)]
        assert chunks == [b'event: a\nid: 0\ndata: {}\n\nevent: b\nid: 1\ndata: {"n":1}\n\n']

    def test_sse_encoding(self):
        stream = Stream("s")
        stream.push("block.delta", {"index": 0, "text": "é\n"})
        event = stream.events[0]
        assert event.sse() == 'event: block.delta\nid: 0\ndata: {"index":0,"text":"é\\n"}\n\n'.encode()
        assert event.sse() is event.sse()

    async def test_push_after_finish_is_ignored(self):
        stream = Stream("s")
        stream.finish()
        stream.push("a", {})
        assert stream.events == []
        assert stream.done

    @pytest.mark.parametrize(
        ("last", "start"),
        [pytest.param(None, 0, id="none"), pytest.param("0", 1, id="first"), pytest.param("2", 3, id="last")],
    )
    def test_start_after(self, last, start):
        stream = Stream("s")
        for number in range(3):
            stream.push("e", {"n": number})
        assert stream.start_after(last) == start

    @pytest.mark.parametrize(
        "last",
        [
            pytest.param("3", id="future"),
            pytest.param("x", id="text"),
            pytest.param("01", id="padded"),
            pytest.param("-1", id="negative"),
        ],
    )
    def test_start_after_unknown(self, last):
        stream = Stream("s")
        for number in range(3):
            stream.push("e", {"n": number})
        with pytest.raises(UnknownEventId, match=f"Last-Event-ID '{last}' is not an event of stream 's'"):
            stream.start_after(last)


class TestCaseStreamRegistry:
    async def test_producer_events_and_end(self):
        registry = StreamRegistry()

        async def produce(stream: Stream) -> None:
            stream.push("one", {"x": 1})
            stream.push("two", {"x": 2})

        stream = registry.open(produce)
        assert registry.get(stream.id) is stream
        assert await _events(stream) == [(0, "one", {"x": 1}), (1, "two", {"x": 2})]
        assert stream.done
        # A finished stream stays readable: a second reader resumes after the first event.
        assert await _events(stream, start=1) == [(1, "two", {"x": 2})]

    async def test_cancel_stops_the_producer(self):
        registry = StreamRegistry()
        stopped = asyncio.Event()

        async def produce(stream: Stream) -> None:
            try:
                await asyncio.Event().wait()
            finally:
                stopped.set()

        stream = registry.open(produce)
        await asyncio.sleep(0)
        assert registry.cancel(stream.id) is True
        await stopped.wait()
        assert [(e.name, e.data) for e in stream.events] == [
            ("error", {"detail": "The generation was cancelled.", "error": "GenerationStopped", "status_code": 499})
        ]
        assert registry.cancel("nope") is False

    async def test_last_reader_leaving_stops_the_producer(self):
        registry = StreamRegistry(resume_window=0)
        stopped = asyncio.Event()

        async def produce(stream: Stream) -> None:
            stream.push("first", {})
            try:
                await asyncio.Event().wait()
            finally:
                stopped.set()

        stream = registry.open(produce)
        reader = stream.follow(0, 0)
        assert (await reader.__anext__()).name == "first"
        await reader.aclose()
        await stopped.wait()
        assert stream.done
        assert stream.events[-1].data["detail"] == "The generation was disconnected."

    async def test_a_stream_nobody_reads_is_stopped(self):
        registry = StreamRegistry(resume_window=0.05)
        stopped = asyncio.Event()

        async def produce(stream: Stream) -> None:
            try:
                while True:
                    stream.push("token", {})
                    await asyncio.sleep(0.001)
            finally:
                stopped.set()

        stream = registry.open(produce)
        await stopped.wait()
        assert stream.done
        assert stream.events[-1].data["detail"] == "The generation was disconnected."

    async def test_a_first_reader_keeps_the_stream(self):
        registry = StreamRegistry(resume_window=0.01)

        async def produce(stream: Stream) -> None:
            for _ in range(20):
                stream.push("token", {})
                await asyncio.sleep(0.002)

        stream = registry.open(produce)
        names = [event.name async for event in stream.follow(0, 0.01)]
        assert names == ["token"] * 20

    async def test_reader_coming_back_keeps_the_stream(self):
        registry = StreamRegistry(resume_window=60)
        release = asyncio.Event()

        async def produce(stream: Stream) -> None:
            stream.push("first", {})
            await release.wait()
            stream.push("second", {})

        stream = registry.open(produce)
        reader = stream.follow(0, 60)
        await reader.__anext__()
        await reader.aclose()
        resumed = asyncio.ensure_future(_events(stream, start=1, window=60))
        await asyncio.sleep(0)
        release.set()
        assert await resumed == [(1, "second", {})]

    async def test_expired_streams_are_dropped(self):
        registry = StreamRegistry(keep_for=0)

        async def produce(stream: Stream) -> None:
            return None

        stream = registry.open(produce)
        await _events(stream)
        await asyncio.sleep(0.001)
        assert registry.get(stream.id) is None
        assert len(registry) == 0

    async def test_expired_streams_are_looked_for_at_most_every_tenth_of_keep_for(self):
        registry = StreamRegistry(keep_for=0.2)

        async def produce(stream: Stream) -> None:
            return None

        first = registry.open(produce)
        await _events(first)
        await asyncio.sleep(0.25)  # expired, and the last look was longer ago than a tenth of keep_for
        second = registry.open(produce)
        assert registry.get(first.id) is None
        await _events(second)
        await asyncio.sleep(0.21)
        assert registry.get(second.id) is None

    async def test_at_max_streams_the_finished_streams_opened_first_are_dropped(self):
        registry = StreamRegistry(max_streams=3)
        hold = asyncio.Event()

        async def produce(stream: Stream) -> None:
            await hold.wait()

        async def done(stream: Stream) -> None:
            return None

        running = registry.open(produce)
        finished = [registry.open(done) for _ in range(2)]
        for stream in finished:
            await _events(stream)
        newest = registry.open(done)  # the fourth: the finished one opened first goes
        assert [registry.get(stream.id) for stream in (running, *finished, newest)] == [
            running,
            None,
            finished[1],
            newest,
        ]
        hold.set()
        await _events(running)

    async def test_close_cancels_everything(self):
        registry = StreamRegistry()

        async def produce(stream: Stream) -> None:
            await asyncio.Event().wait()

        streams = [registry.open(produce) for _ in range(3)]
        await registry.close()
        assert len(registry) == 0
        assert all(stream.done and stream.task is not None and stream.task.done() for stream in streams)

    @pytest.mark.parametrize(
        "options",
        [
            pytest.param({"keep_for": -1}, id="keep_for"),
            pytest.param({"resume_window": -1}, id="window"),
            pytest.param({"max_streams": 0}, id="max"),
        ],
    )
    def test_bad_options(self, options):
        with pytest.raises(ValueError, match="cannot be negative, and max_streams must be 1 or more"):
            StreamRegistry(**options)


class TestCaseArming:
    async def test_an_unarmed_stream_waits_for_its_first_reader_window(self):
        registry = StreamRegistry(resume_window=0.01)
        go = asyncio.Event()

        async def produce(stream: Stream) -> None:
            await go.wait()  # waiting for its turn, longer than the window
            stream.push("token", {})

        stream = registry.open(produce, armed=False)
        await asyncio.sleep(0.05)
        assert not stream.done  # not cancelled while nobody could read it
        registry.arm(stream)
        go.set()
        assert [event.name async for event in stream.follow(0, 0.01)] == ["token"]

    async def test_arming_starts_the_window(self):
        registry = StreamRegistry(resume_window=0.01)

        async def produce(stream: Stream) -> None:
            await asyncio.Event().wait()

        stream = registry.open(produce, armed=False)
        registry.arm(stream)
        await stream.wait()
        assert stream.done
        assert stream.events[-1].data["detail"] == "The generation was disconnected."
