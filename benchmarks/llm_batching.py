"""Many users at once on one language model: continuous batching, prefix caching and freed slots, over HTTP.

``python -m benchmarks.llm_batching [--backend mlx|transformers] [--flm PATH] [--mlx-server]`` serves the model with
uvicorn in a child process (``benchmarks.llm_native``'s server: ``add_model`` defaults, so ``max_running`` 8) and
measures, through the native dialect's one-request stream (``POST U/stream/`` with ``Accept: text/event-stream``):

- aggregate tokens per second of 8 concurrent greedy streams of ``TOKENS`` tokens, divided by one stream's alone;
- the 8th client's time to first token divided by the 1st client's (the clients sorted by it);
- one stream alone, tokens per second, divided by mlx-lm's own ``stream_generate`` on the same weights in this
  process (MLX only; ``LONG`` greedy tokens, runs alternated);
- the second turn of a conversation of about ``CONVERSATION`` tokens: its time to first token divided by the first
  turn's (the second reuses the first's KV cache: ``cached_input_tokens`` in the usage says how much);
- the wait added to an 8-token request sent right after a client dropped a long stream (against the same request on
  an idle server).

With ``--mlx-server``, ``mlx_lm.server --decode-concurrency 8`` serves the same checkpoint and the first two figures
are measured for it too, through its OpenAI-compatible streaming endpoint. Every figure is a median of ``ROUNDS``;
the subjects run one after the other, never at once.
"""

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks.load import free_port

__all__ = ["run"]

DEMO = Path(__file__).resolve().parents[1] / "examples" / "models" / "assistant.flm"
TOKENS = 200
LONG = 512
CLIENTS = 8
ROUNDS = 3
CONVERSATION = 1500


def _body(eos: int, tokens: int, prompt: str = "Once upon a time") -> dict[str, Any]:
    return {"prompt": prompt, "params": {"max_tokens": tokens, "temperature": 0.0, "logit_bias": {str(eos): -100.0}}}


async def _stream(client: httpx.AsyncClient, body: dict[str, Any]) -> tuple[float, float, bytes]:
    """One SSE stream: (seconds to the first block.delta, seconds to the end, the last chunk)."""
    started = time.perf_counter()
    first = 0.0
    last = b""
    headers = {"Accept": "text/event-stream"}
    async with client.stream("POST", "/llm/stream/", json=body, headers=headers) as response:
        response.raise_for_status()
        async for chunk in response.aiter_raw():
            if not first and b"block.delta" in chunk:
                first = time.perf_counter() - started
            last = chunk
    return first, time.perf_counter() - started, last


async def _openai_stream(client: httpx.AsyncClient, eos: int, tokens: int) -> tuple[float, float, bytes]:
    """The same through mlx_lm.server's OpenAI completions stream."""
    started = time.perf_counter()
    first = 0.0
    body = {
        "prompt": "Once upon a time",
        "max_tokens": tokens,
        "temperature": 0.0,
        "logit_bias": {str(eos): -100.0},
        "stream": True,
    }
    async with client.stream("POST", "/v1/completions", json=body) as response:
        response.raise_for_status()
        async for chunk in response.aiter_raw():
            if not first and b'"text"' in chunk:
                first = time.perf_counter() - started
    return first, time.perf_counter() - started, b""


async def _concurrency(one: Any, tokens: int) -> tuple[float, float]:
    """(aggregate tokens/s of CLIENTS streams ÷ one stream's, last client's first token ÷ first client's)."""
    ratios, spreads = [], []
    for _ in range(ROUNDS):
        _, alone, _ = await one()
        started = time.perf_counter()
        results = await asyncio.gather(*(one() for _ in range(CLIENTS)))
        wall = time.perf_counter() - started
        ratios.append((CLIENTS * tokens / wall) / (tokens / alone))
        firsts = sorted(result[0] for result in results)
        spreads.append(firsts[-1] / firsts[0])
    return statistics.median(ratios), statistics.median(spreads)


def _conversation(tokenizer: Any) -> list[dict[str, str]]:
    words: list[str] = []
    while len(tokenizer.encode(" ".join(words))) < CONVERSATION:
        words.extend(["the", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog", "and", "tells", "a"])
    return [{"role": "user", "content": " ".join(words)}]


async def _second_turn(client: httpx.AsyncClient, messages: list[dict[str, str]]) -> tuple[float, int]:
    """Second-turn first token ÷ first turn's, and the cached prompt tokens of the second turn."""
    ratios, cached = [], 0
    for round_number in range(ROUNDS):
        turn = [{**messages[0], "content": f"{round_number} {messages[0]['content']}"}]  # a fresh prefix each round
        params = {"max_tokens": 8, "temperature": 0.0}
        first, _, _ = await _stream(client, {"messages": turn, "params": params})
        answer = (await client.post("/llm/query/", json={"messages": turn, "params": params})).json()
        reply = "".join(block["text"] for block in answer["blocks"] if block["type"] == "text")
        follow = [*turn, {"role": "assistant", "content": reply}, {"role": "user", "content": "And then?"}]
        second, _, last = await _stream(client, {"messages": follow, "params": params})
        ratios.append(second / first)
        marker = b'"cached_input_tokens":'
        if marker in last:
            cached = int(last.split(marker, 1)[1].split(b"}", 1)[0].split(b",", 1)[0])
    return statistics.median(ratios), cached


async def _after_disconnect(client: httpx.AsyncClient, eos: int) -> float:
    """Seconds an 8-token query waits more right after a client dropped a long stream than on an idle server."""
    quick = _body(eos, 8)
    added = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        await client.post("/llm/query/", json=quick)
        idle = time.perf_counter() - started
        headers = {"Accept": "text/event-stream"}
        async with client.stream("POST", "/llm/stream/", json=_body(eos, 1500), headers=headers) as response:
            async for chunk in response.aiter_raw():
                if b"block.delta" in chunk:
                    break
        started = time.perf_counter()
        await client.post("/llm/query/", json=quick)
        added.append(time.perf_counter() - started - idle)
        await asyncio.sleep(6)  # let the dropped stream's resume window pass before the next round
    return statistics.median(added)


def _mlx_stream_generate(directory: Path, eos: int) -> float:
    """mlx-lm's own stream_generate: tokens per second of LONG greedy tokens."""
    import mlx_lm
    from mlx_lm.sample_utils import make_logits_processors

    model, tokenizer = mlx_lm.load(str(directory))
    processors = make_logits_processors(logit_bias={eos: -100.0})
    started = time.perf_counter()
    count = sum(
        1
        for _ in mlx_lm.stream_generate(
            model, tokenizer, "Once upon a time", max_tokens=LONG, logits_processors=processors
        )
    )
    return count / (time.perf_counter() - started)


def _wait_ready(url: str, path: str) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            response = httpx.get(url + path, timeout=5)
            if response.status_code == 200 and response.json().get("ready", True) is not False:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not start")


async def _ours(url: str, eos: int, messages: list[dict[str, str]], directory: Path | None) -> dict[str, float]:
    figures: dict[str, float] = {}
    async with httpx.AsyncClient(base_url=url, timeout=300) as client:
        await _stream(client, _body(eos, 8))  # warm-up
        figures["aggregate"], figures["spread"] = await _concurrency(
            lambda: _stream(client, _body(eos, TOKENS)), TOKENS
        )
        if directory is not None:
            ours, theirs = [], []
            for _ in range(ROUNDS):  # alternated
                _, seconds, _ = await _stream(client, _body(eos, LONG))
                ours.append(LONG / seconds)
                theirs.append(await asyncio.to_thread(_mlx_stream_generate, directory, eos))
            figures["single"] = statistics.median(ours) / statistics.median(theirs)
        figures["turn"], figures["cached"] = await _second_turn(client, messages)
        figures["disconnect"] = await _after_disconnect(client, eos)
    return figures


async def _mlx_server(url: str, eos: int) -> tuple[float, float]:
    async with httpx.AsyncClient(base_url=url, timeout=300) as client:
        await _openai_stream(client, eos, 8)
        return await _concurrency(lambda: _openai_stream(client, eos, TOKENS), TOKENS)


def run(flm: Path = DEMO, backend: str = "mlx", mlx_server: bool = False) -> str:
    """Measure and return the section's Markdown."""
    from flama.models import load
    from transformers import AutoTokenizer

    with load(flm) as artifact:
        assert artifact.directory is not None
        directory = Path(artifact.directory)
        tokenizer = AutoTokenizer.from_pretrained(directory)
        eos = int(tokenizer.eos_token_id)
        messages = _conversation(tokenizer)
        port = free_port()
        command = [sys.executable, "-m", "benchmarks.llm_native", str(flm), "--port", str(port), "--backend", backend]
        child = subprocess.Popen(command)
        try:
            _wait_ready(f"http://127.0.0.1:{port}", "/llm/")
            ours = asyncio.run(
                _ours(f"http://127.0.0.1:{port}", eos, messages, directory if backend == "mlx" else None)
            )
        finally:
            child.terminate()
            child.wait(timeout=60)
        print(ours, flush=True)  # kept if the peer fails
        peer = None
        if mlx_server:
            port = free_port()
            command = [sys.executable, "-m", "mlx_lm.server", "--model", str(directory), "--port", str(port)]
            child = subprocess.Popen([*command, "--decode-concurrency", str(CLIENTS)])
            try:
                _wait_ready(f"http://127.0.0.1:{port}", "/health")
                peer = asyncio.run(_mlx_server(f"http://127.0.0.1:{port}", eos))
            finally:
                child.terminate()
                child.wait(timeout=60)
    rows = [
        f"Backend `{backend}`, demo model, greedy, {CLIENTS} clients x {TOKENS} tokens, median of {ROUNDS} rounds;"
        f" load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores shared with other work.",
        "",
        "| measure | Flama | mlx_lm.server | target |",
        "|---|---:|---:|---|",
        f"| aggregate tokens/s, {CLIENTS} streams ÷ one alone | {ours['aggregate']:.2f} | "
        f"{'' if peer is None else f'{peer[0]:.2f}'} | ≥ mlx_lm.server (MLX), ≥ 2.5 (transformers) |",
        f"| {CLIENTS}th client's first token ÷ 1st's | {ours['spread']:.2f} | "
        f"{'' if peer is None else f'{peer[1]:.2f}'} | ≤ 1.5 |",
    ]
    if "single" in ours:
        rows.append(
            f"| one stream, tokens/s ÷ mlx-lm stream_generate ({LONG} tokens) | {ours['single']:.2f} | | ≥ 0.95 |"
        )
    rows += [
        f"| second turn of a {CONVERSATION}-token conversation, first token ÷ first turn's | {ours['turn']:.2f} | |"
        f" ≤ 0.3 (cached_input_tokens {ours['cached']:.0f}) |",
        f"| 8-token request right after a client dropped a stream: added wait | {ours['disconnect'] * 1000:.0f} ms |"
        " | ≤ 50 ms |",
    ]
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="continuous batching, prefix caching and freed slots over HTTP")
    parser.add_argument("--flm", type=Path, default=DEMO)
    parser.add_argument("--backend", default="mlx")
    parser.add_argument("--mlx-server", action="store_true")
    arguments = parser.parse_args()
    print(run(arguments.flm, arguments.backend, arguments.mlx_server))
