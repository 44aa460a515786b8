"""How a batched backend's worker hands a stream's deltas to the event loop: at most one per ``delta_interval``."""

import asyncio
import threading
import time

import pytest
from flama.llm.backends.base import Delta, TokenLogprob
from flama.llm.backends.batching import BatchOptions, Handoff, batch_options, merged


def drained(queue: "asyncio.Queue[Delta | Exception]") -> list[Delta | Exception]:
    items = []
    while not queue.empty():
        items.append(queue.get_nowait())
    return items


async def settle() -> None:
    """Let the callbacks scheduled with ``call_soon_threadsafe`` run."""
    for _ in range(3):
        await asyncio.sleep(0)


def test_merged_keeps_order_counts_and_the_last_finish_reason():
    first = Delta("Flam", 2, None, 5, (TokenLogprob("Flam", -0.1, ()),))
    second = Delta("a", 1, "length", 0, (TokenLogprob("a", -0.2, ()),))

    both = merged(first, second)

    assert (both.text, both.tokens, both.finish_reason, both.cached_input_tokens) == ("Flama", 3, "length", 5)
    assert [logprob.token for logprob in both.logprobs] == ["Flam", "a"]


async def test_the_first_delta_goes_at_once_and_the_next_wait_for_the_interval():
    queue: asyncio.Queue[Delta | Exception] = asyncio.Queue()
    handoff = Handoff(asyncio.get_running_loop(), queue, 3600.0, threading.Event())

    handoff(Delta("a", 1))
    handoff(Delta("b", 1))
    handoff(Delta("c", 1))
    await settle()
    assert drained(queue) == [Delta("a", 1)]

    handoff.flush()  # not due: the interval has not passed
    await settle()
    assert drained(queue) == []

    handoff(Delta("d", 1, "stop"))  # the last delta carries what was held
    await settle()
    assert drained(queue) == [Delta("bcd", 3, "stop")]


async def test_a_held_delta_goes_once_the_interval_has_passed():
    queue: asyncio.Queue[Delta | Exception] = asyncio.Queue()
    handoff = Handoff(asyncio.get_running_loop(), queue, 0.05, threading.Event())
    handoff(Delta("a", 1))
    handoff(Delta("b", 1))

    handoff.flush()
    await settle()
    assert drained(queue) == [Delta("a", 1)]

    time.sleep(0.06)
    handoff.flush()
    await settle()
    assert drained(queue) == [Delta("b", 1)]


async def test_flush_not_due_sends_what_is_held_before_a_prefill():
    queue: asyncio.Queue[Delta | Exception] = asyncio.Queue()
    handoff = Handoff(asyncio.get_running_loop(), queue, 3600.0, threading.Event())
    handoff(Delta("a", 1))
    handoff(Delta("b", 1))

    handoff.flush(due=False)
    handoff.flush(due=False)  # nothing held any more: nothing sent
    await settle()

    assert drained(queue) == [Delta("a", 1), Delta("b", 1)]


async def test_an_error_goes_at_once_after_the_held_text():
    queue: asyncio.Queue[Delta | Exception] = asyncio.Queue()
    handoff = Handoff(asyncio.get_running_loop(), queue, 3600.0, threading.Event())
    error = RuntimeError("the batch failed")
    handoff(Delta("a", 1))
    handoff(Delta("b", 1))

    handoff(error)
    await settle()

    assert drained(queue) == [Delta("a", 1), Delta("b", 1), error]


async def test_a_zero_interval_hands_every_delta_on_alone():
    queue: asyncio.Queue[Delta | Exception] = asyncio.Queue()
    handoff = Handoff(asyncio.get_running_loop(), queue, 0.0, threading.Event())

    for text in "abc":
        handoff(Delta(text, 1))
    await settle()

    assert drained(queue) == [Delta("a", 1), Delta("b", 1), Delta("c", 1)]


def test_a_closed_event_loop_cancels_the_generation():
    loop = asyncio.new_event_loop()
    queue: asyncio.Queue[Delta | Exception] = asyncio.Queue()
    cancel = threading.Event()
    handoff = Handoff(loop, queue, 0.0, cancel)
    loop.close()

    handoff(Delta("a", 1))

    assert cancel.is_set()


def test_batch_options_defaults_and_values():
    assert batch_options({}) == BatchOptions(8, 1 << 30, 0.01)
    assert batch_options({"cache_size": 0, "cache_bytes": 10, "delta_interval": 0}) == BatchOptions(0, 10, 0)


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"cache_size": -1}, "cache_size"),
        ({"cache_bytes": 1.5}, "cache_bytes"),
        ({"cache_size": True}, "cache_size"),
        ({"delta_interval": -0.1}, "delta_interval"),
        ({"delta_interval": float("inf")}, "delta_interval"),
        ({"delta_interval": float("nan")}, "delta_interval"),
        ({"delta_interval": "fast"}, "delta_interval"),
        ({"delta_interval": False}, "delta_interval"),
    ],
)
def test_batch_options_refuse_bad_values_naming_the_option(options, named):
    with pytest.raises(TypeError, match=named):
        batch_options(options)
