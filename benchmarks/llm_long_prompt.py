"""What one long prompt does to the other streams of a server: the longest pause in a running stream while it arrives.

``python -m benchmarks.llm_long_prompt [--backend mlx|transformers] [--size BYTES] [--rounds R]`` serves the demo
model twice in child processes (``benchmarks.llm_native``), the default ``prompt_offload_size`` and ``none`` (every
prompt rendered and tokenized on the event loop, as before it existed), alternated round by round. In each round one
client streams 600 tokens (sampled, end of sequence banned) and, 150 ms in, another sends a native request whose message
is SIZE bytes of text (default 4 MiB; far over the demo model's context, so it ends in a 400 once counted). The figure
is the longest gap between two chunks of the running stream, with the long request's own time beside it; medians of
the rounds, written to RESULTS.md (section ``long_prompt``).
"""

import argparse
import asyncio
import contextlib
import itertools
import os
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from benchmarks.__main__ import milliseconds, write_section
from benchmarks.load import free_port

DEMO = Path(__file__).resolve().parent.parent / "examples" / "models" / "assistant.flm"
STREAM = {"prompt": "Once upon a time", "params": {"max_tokens": 600, "temperature": 0.8, "logit_bias": {"2": -100}}}
SSE = {"accept": "text/event-stream"}


@contextlib.contextmanager
def served(backend: str, offload: str | None) -> Iterator[str]:
    """A child process serving the demo model; its base URL."""
    port = free_port()
    command = [sys.executable, "-m", "benchmarks.llm_native", str(DEMO), "--port", str(port), "--backend", backend]
    if offload is not None:
        command += ["--prompt-offload-size", offload]
    child = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        child.terminate()
        child.wait()


async def ready(client: httpx.AsyncClient) -> None:
    deadline = time.monotonic() + 300
    while True:
        with contextlib.suppress(httpx.HTTPError):
            if (
                await client.post("/llm/query/", json={"prompt": "hi", "params": {"max_tokens": 1}})
            ).status_code == 200:
                return
        assert time.monotonic() < deadline, "the model did not load"
        await asyncio.sleep(0.2)


async def round_trip(client: httpx.AsyncClient, size: int) -> tuple[float, float, int]:
    """The running stream's longest pause and the long request's seconds and status."""
    arrivals: list[float] = []

    async def read() -> None:
        async with client.stream("POST", "/llm/stream/", headers=SSE, json=STREAM) as response:
            async for _ in response.aiter_bytes():
                arrivals.append(time.perf_counter())

    async def send() -> tuple[float, int]:
        await asyncio.sleep(0.15)
        body = {"messages": [{"role": "user", "content": "word " * (size // 5)}], "params": {"max_tokens": 4}}
        started = time.perf_counter()
        response = await client.post("/llm/stream/", headers=SSE, json=body)
        return time.perf_counter() - started, response.status_code

    _, (seconds, status) = await asyncio.gather(read(), send())
    return max(later - earlier for earlier, later in itertools.pairwise(arrivals)), seconds, status


async def measure(backend: str, size: int, rounds: int) -> dict[str, list[tuple[float, float, int]]]:
    results: dict[str, list[tuple[float, float, int]]] = {"default": [], "none": []}
    with served(backend, None) as default, served(backend, "none") as off:
        async with (
            httpx.AsyncClient(base_url=default, timeout=120) as on,
            httpx.AsyncClient(base_url=off, timeout=120) as no,
        ):
            await ready(on)
            await ready(no)
            for _ in range(rounds):
                results["default"].append(await round_trip(on, size))
                results["none"].append(await round_trip(no, size))
    return results


def report(backend: str, size: int, results: dict[str, list[tuple[float, float, int]]]) -> str:
    load_average = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    rows = [
        f"**{backend}**, a {size / 2**20:.0f} MiB message arriving 150 ms into a 600-token stream "
        f"(medians of {len(results['default'])} rounds; load average {load_average}):",
        "",
        "| prompt_offload_size | longest pause of the running stream | the long request answered in | its status |",
        "|---|---:|---:|---|",
    ]
    for label, name in (
        ("default", "16,384 (default): prepared in a worker thread"),
        ("none", "none: on the event loop"),
    ):
        pauses, seconds, statuses = zip(*results[label], strict=True)
        answers = ", ".join(sorted(map(str, set(statuses))))
        rows.append(f"| {name} | {milliseconds(pauses)} | {statistics.median(seconds):.2f} s | {answers} |")
    return "\n".join(rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("mlx", "transformers"), action="append")
    parser.add_argument("--size", type=int, default=4 << 20)
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args()
    tables = []
    for backend in arguments.backend or ["transformers", "mlx"]:
        table = report(backend, arguments.size, asyncio.run(measure(backend, arguments.size, arguments.rounds)))
        print(table)
        tables.append(table)
    intro = textwrap.fill(
        f"Recorded {time.strftime('%Y-%m-%d')} by `make bench-long-prompt` (`benchmarks/llm_long_prompt.py`; the demo "
        "model served in a child process, read over loopback). A prompt is rendered and tokenized before it runs; "
        "tokenizing 4 MiB takes the demo model's tokenizer about 2 s of one core.",
        width=118,
    )
    write_section("long_prompt", intro + "\n\n" + "\n".join(tables))


if __name__ == "__main__":
    main()
