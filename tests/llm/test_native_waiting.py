"""A streamed generation that waits for its turn longer than ``resume_window`` (the model busy), through the routes.

Its reader cannot come before the opening request is answered, which happens once the generation is admitted: the
window for a first reader starts then. Before, the window started at the opening, so a wait longer than it cancelled
the generation in line and left the opening request without an answer (a client read timeout).
"""

import asyncio

from flama.llm.resource import LLMResource

from tests.llm.doubles import ScriptedBackend, model_factory
from tests.llm.test_native import EXPECTED_STREAM, parse_sse, without_ids

__all__ = ["model_factory"]


def backend_of(resource: LLMResource) -> ScriptedBackend:
    backend = resource.backend
    assert isinstance(backend, ScriptedBackend)
    return backend


class TestCaseWaitingStream:
    async def test_a_stream_waiting_longer_than_the_window_is_answered_and_read(self, model_factory):
        async with model_factory(max_running=1, resume_window=0.05) as (client, resource):
            backend = backend_of(resource)
            backend.gate = asyncio.Event()
            busy = asyncio.create_task(client.post("/llm/query/", json={"prompt": "a b c"}))
            await backend.started.wait()  # the only slot is taken
            waiting = asyncio.create_task(client.post("/llm/stream/", json={"prompt": "a b c"}))
            while resource.scheduler.queued == 0:
                await asyncio.sleep(0.001)
            await asyncio.sleep(0.2)  # four windows in line
            assert not waiting.done()
            backend.gate.set()
            opened = await asyncio.wait_for(waiting, 10)
            assert opened.status_code == 200
            read = await client.get(f"/llm/stream/{opened.json()['id']}/")
            assert (await busy).status_code == 200
        assert without_ids(parse_sse(read.text)) == EXPECTED_STREAM

    async def test_a_stream_cancelled_in_line_is_answered(self, model_factory):
        async with model_factory(max_running=1, resume_window=0.05) as (client, resource):
            backend = backend_of(resource)
            backend.gate = asyncio.Event()
            busy = asyncio.create_task(client.post("/llm/query/", json={"prompt": "a b c"}))
            await backend.started.wait()
            waiting = asyncio.create_task(client.post("/llm/stream/", json={"prompt": "a b c"}))
            while resource.scheduler.queued == 0:
                await asyncio.sleep(0.001)
            for stream_id in list(resource.streams._streams):
                resource.streams.cancel(stream_id)  # DELETE /stream/{id}/ cannot name it yet: the registry can
            answer = await asyncio.wait_for(waiting, 10)
            backend.gate.set()
            await busy
        assert answer.status_code == 499
        assert answer.json()["error"] == "GenerationStopped"
