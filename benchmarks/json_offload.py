"""What decoding a large JSON body in a worker thread does to the event loop, with and without ``yield_gil``.

``python -m benchmarks.json_offload [--rounds R]`` decodes two 16 MiB bodies (rows of floats, and records: objects
with string keys) the way ``Request.json()`` decodes a body over ``json_offload_size``, in a worker thread
(``anyio.to_thread``), while a task on the event loop wakes every half millisecond. The figure is the longest the event
loop went without running that task during the decode, with the decode's own time beside it; ``yield_gil`` (what
``Request.json()`` uses) and the decode under the interpreter lock are alternated round by round; medians of the
rounds, written to RESULTS.md (section ``json_offload``).
"""

import argparse
import asyncio
import functools
import itertools
import os
import statistics
import textwrap
import time

import anyio.to_thread
from flama.core import json_decode, json_encode

from benchmarks.__main__ import milliseconds, write_section

TICK = 0.0005


def bodies() -> dict[str, bytes]:
    """About 16 MiB each: rows of floats, and records."""
    rows = json_encode({"input": [[index * 0.37 for index in range(1000)] for _ in range(2000)]})
    record = {"name": "a fairly ordinary name", "city": "Madrid", "active": True, "score": 0.5, "tags": ["a", "b"]}
    records = json_encode([{**record, "id": index} for index in range(140_000)])
    return {"rows of floats": rows, "records": records}


async def decode_beside_a_ticker(body: bytes, yield_gil: bool) -> tuple[float, float]:
    """(the event loop's longest gap between two ticks during the decode, the decode's seconds)."""
    ticks: list[float] = []
    done = asyncio.Event()

    async def tick() -> None:
        while not done.is_set():
            ticks.append(time.perf_counter())
            await asyncio.sleep(TICK)

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0.01)
    started = time.perf_counter()
    value = await anyio.to_thread.run_sync(functools.partial(json_decode, body, yield_gil=yield_gil))
    ended = time.perf_counter()
    done.set()
    await ticker
    del value
    edges = [started, *(moment for moment in ticks if started < moment < ended), ended]
    return max(later - earlier for earlier, later in itertools.pairwise(edges)), ended - started


async def measure(rounds: int) -> dict[tuple[str, bool], list[tuple[float, float]]]:
    results: dict[tuple[str, bool], list[tuple[float, float]]] = {}
    # anyio's first hop to a worker thread in a process imports its asyncio backend on the event loop (65 ms here,
    # where PYTHONDONTWRITEBYTECODE=1 has every import compile its source): the first round would count it.
    await anyio.to_thread.run_sync(lambda: None)
    for name, body in bodies().items():
        for _ in range(rounds):
            for yield_gil in (True, False):
                results.setdefault((name, yield_gil), []).append(await decode_beside_a_ticker(body, yield_gil))
    return results


def report(results: dict[tuple[str, bool], list[tuple[float, float]]]) -> str:
    load_average = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    rounds = len(next(iter(results.values())))
    rows = [
        f"Medians of {rounds} rounds, alternated; load average {load_average}.",
        "",
        "| body (16 MiB) | decoded | the event loop's longest pause | the decode |",
        "|---|---|---:|---:|",
    ]
    for (name, yield_gil), figures in results.items():
        pauses, seconds = zip(*figures, strict=True)
        how = "`yield_gil=True` (`Request.json()`)" if yield_gil else "under the interpreter lock"
        rows.append(f"| {name} | {how} | {milliseconds(pauses, 1)} | {statistics.median(seconds) * 1e3:.0f} ms |")
    return "\n".join(rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args()
    table = report(asyncio.run(measure(arguments.rounds)))
    print(table)
    intro = textwrap.fill(
        f"Recorded {time.strftime('%Y-%m-%d')} by `make bench-json-offload` (`benchmarks/json_offload.py`): a body "
        "decoded in a worker thread, as `Request.json()` decodes one over `json_offload_size`, while a task on the "
        f"event loop wakes every {TICK * 1e3:g} ms.",
        width=118,
    )
    write_section("json_offload", intro + "\n\n" + table)


if __name__ == "__main__":
    main()
