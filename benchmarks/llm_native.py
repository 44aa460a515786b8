"""The native dialect's overhead on a real model: streamed tokens per second, time to first token, 32 streams.

``python -m benchmarks native [--flm PATH] [--backend NAME]`` serves the demo model with uvicorn in a child process
(so the client's parsing does not share the server's interpreter) and compares, on the same checkpoint, backend and
greedy prompt (the end-of-sequence token banned, so every run generates exactly ``MAX_TOKENS`` tokens):

- tokens per second of the backend's own ``generate`` loop (loaded in this process) against tokens per second
  streamed through ``POST U/stream/`` + ``GET U/stream/{id}/`` and read by an HTTP client (target ≥ 0.95x);
- the time to first token added by the dialect (target ≤ 2 ms): the first ``block.delta`` seen by the client, minus
  the backend's own first delta, minus two loopback round trips of a trivial request (``GET U/``): the native
  protocol takes two requests, and what HTTP itself costs on this machine is not the dialect's doing. The raw
  figures are reported beside it;
- 32 concurrent streams, three rounds: errors (target 0) and the server's resident memory growth between the first
  and the last round (target ≤ 5 %);
- the pipeline's own cost per token, without a model or a network: a backend replaying 20,000 deltas (one per turn of
  the event loop, as a threaded backend delivers them) through generation, the decoder, the stream buffer and SSE
  encoding, against the replay alone. On a small shared machine the HTTP figures above are dominated by the client,
  the server and the model competing for cores; this one is not;
- Flama 2.2.2 serving the same ``.flm`` with its own MLX backend (in a venv of its own, ``benchmarks/.venvs``), read
  through its own native ``stream/`` endpoints by the same client, beside this tree's server given the same request.
  2.2.2 ignores ``logit_bias`` without a word, so that request cannot ban the end-of-sequence token: both are asked
  for ``BESIDE_TOKENS`` greedy tokens, fewer than the model's answer, so both generate exactly that many.

The client is kept cheap so that the figures are the server's: the SSE stream is read over a bare asyncio socket
(``Connection: close``), its chunks kept as raw bytes; the only per-chunk work is a substring search until the first
``block.delta`` arrives, and the token count is read once from the last event's ``output_tokens``.
"""

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks import rawhttp
from benchmarks.environments import FLAMA2, environment
from benchmarks.load import free_port, resident_bytes

__all__ = ["DEMO", "run"]

DEMO = Path(__file__).resolve().parents[1] / "examples" / "models" / "assistant.flm"
MAX_TOKENS = 256
ROUNDS = 9
# 2.2.2 ends the demo model's greedy answer to the prompt after 21 tokens: both subjects are asked for fewer, so both
# generate exactly this many.
BESIDE_TOKENS = 20
OUTPUT_TOKENS = re.compile(rb'"output_tokens":\s*(\d+)')
# Flama 2.2.2 runs MLX on Linux CPU with the same versions this tree locks.
FLAMA2_LLM = [*FLAMA2, "mlx[cpu]==0.32.4", "mlx-lm==0.31.3"]
FLAMA2_SERVER = """
import sys, flama, uvicorn
app = flama.Flama(schema=None, docs=None)
app.models.add_model("/llm/", model=sys.argv[1], name="assistant")
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


def _prompt(eos: int) -> dict[str, Any]:
    params = {"max_tokens": MAX_TOKENS, "temperature": 0.0, "logit_bias": {str(eos): -100.0}}
    return {"prompt": "Once upon a time", "params": params}


async def _direct(resource: Any, body: dict[str, Any]) -> tuple[float, float, int]:
    """Tokens per second and first-token seconds of the backend's own loop."""
    from flama.llm.prompts import Raw

    prepared = resource.pipeline.prepare(Raw(body["prompt"]), body["params"], {})
    started = time.perf_counter()
    first = 0.0
    tokens = 0
    async for delta in resource.backend.generate(prepared.prompt, prepared.params):
        if not tokens:
            first = time.perf_counter() - started
        tokens += delta.tokens
    return tokens / (time.perf_counter() - started), first, tokens


async def _read_sse(url: httpx.URL, path: str, started: float) -> tuple[float, bytes]:
    """First ``block.delta`` seconds (from ``started``) and the whole response of a ``GET`` of an event stream."""
    assert url.port is not None
    request = rawhttp.request(url.host, "GET", path)
    return await rawhttp.read(url.host, url.port, request, b"event: block.delta", started)


async def _streamed(client: httpx.AsyncClient, body: dict[str, Any]) -> tuple[float, float, int]:
    """Tokens per second and first-token seconds seen by an HTTP client of the native dialect."""
    started = time.perf_counter()
    opened = await client.post("/llm/stream/", json=body)
    opened.raise_for_status()
    first, raw = await _read_sse(client.base_url, f"/llm/stream/{opened.json()['id']}/", started)
    elapsed = time.perf_counter() - started
    counts = OUTPUT_TOKENS.findall(raw[-1024:])
    if not counts:
        raise RuntimeError(f"the stream ended without a token count: {raw[-300:]!r}")
    tokens = int(counts[-1])
    return tokens / elapsed, first, tokens


async def _round_trip(client: httpx.AsyncClient) -> float:
    started = time.perf_counter()
    (await client.get("/llm/")).raise_for_status()
    return time.perf_counter() - started


async def _concurrent(client: httpx.AsyncClient, body: dict[str, Any], count: int) -> int:
    results = await asyncio.gather(*(_streamed(client, body) for _ in range(count)), return_exceptions=True)
    return sum(1 for result in results if isinstance(result, BaseException) or result[2] != MAX_TOKENS)


def _pipeline_cost(deltas: int = 20_000) -> float:
    """Microseconds per token that generation, the decoder, the stream and SSE encoding add to a replayed backend."""
    from flama.llm.backends.base import Backend, Delta, GenerationParams
    from flama.llm.decoder import spec_by_name
    from flama.llm.generation import Pipeline
    from flama.llm.native.renderer import stream_events
    from flama.llm.prompts import Raw
    from flama.llm.streams import Stream, StreamRegistry

    class Replay(Backend):
        name = "replay"
        supported = frozenset({"max_tokens"})
        requirement = "nothing"

        def __init__(self) -> None:
            self.tokenizer, self.tokenizer_template, self.special_tokens = range(1), None, []
            self.context_length = deltas * 2

        @classmethod
        def available(cls) -> bool:
            return True

        @classmethod
        async def load(cls, directory: Path, **options: Any) -> "Replay":
            return cls()

        def encode(self, text: str) -> list[int]:
            return [0]

        async def stream(self, ids: list[int], params: GenerationParams, limit: int) -> Any:
            for number in range(limit):
                await asyncio.sleep(0)  # like a real backend: each delta arrives on its own turn of the loop
                yield Delta(f" word{number % 50}", 1, "length" if number == limit - 1 else None)

        async def close(self) -> None:
            return None

    async def measure() -> float:
        backend = Replay()
        pipeline = Pipeline(backend, spec_by_name("qwen3"))
        prepared = pipeline.prepare(Raw("a"), {"max_tokens": deltas}, {})
        started = time.perf_counter()
        async for _ in backend.generate(prepared.prompt, prepared.params):
            pass
        alone = time.perf_counter() - started

        async def produce(stream: Stream) -> None:
            async for name, data in stream_events(stream.id, 0, "m", 1, pipeline.run(prepared)):
                stream.push(name, data)

        started = time.perf_counter()
        stream = StreamRegistry().open(produce)
        async for _ in stream.encoded(0, 0):
            pass
        return (time.perf_counter() - started - alone) / deltas * 1e6

    return min(asyncio.run(measure()) for _ in range(3))


def serve(flm: Path, backend: str | None, port: int, **extra: Any) -> None:
    """The child process: the model served at ``/llm/`` on ``port``, in every dialect (``extra``: model options).

    The dialects, batching and long-prompt benchmarks start this one too.
    """
    import uvicorn
    from flama.http import Flama
    from flama.models.module import ModelsModule

    app = Flama(schema=None, docs=None)
    models = app.modules.get("models")
    assert isinstance(models, ModelsModule)
    options: dict[str, Any] = {**extra} if backend is None else {"backend": backend, **extra}
    models.add_model(path="/llm/", model=flm, name="assistant", family="llm", max_queued=64, **options)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


async def _measure(flm: Path, backend: str | None, url: str, pid: int) -> dict[str, Any]:
    from flama.llm.resource import LLMResource

    resource = LLMResource(path="/llm/", name="assistant", source=flm, backend=backend)
    await resource.load()
    try:
        body = _prompt(resource.backend.tokenizer.eos_token_id)  # type: ignore[union-attr]
        async with httpx.AsyncClient(base_url=url, timeout=300) as client:
            while True:
                try:
                    if (await client.get("/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            await _direct(resource, body)  # warm-up: first calls compile kernels and fill caches
            await _streamed(client, body)
            # Alternated, so that both see the same share of whatever else the machine is doing.
            direct, streamed = [], []
            for _ in range(ROUNDS):
                direct.append(await _direct(resource, body))
                streamed.append(await _streamed(client, body))
            trips = [await _round_trip(client) for _ in range(ROUNDS * 4)]
            memory, errors = [], 0
            for _ in range(3):
                errors += await _concurrent(client, body, 32)
                memory.append(resident_bytes(pid))
        name = resource.backend.name  # type: ignore[union-attr]
    finally:
        await resource.unload()
    return {"backend": name, "direct": direct, "streamed": streamed, "trips": trips, "errors": errors, "memory": memory}


async def _beside_flama2(ours: str, theirs: str) -> dict[str, list[tuple[float, float, int]]]:
    """The same request (no ``logit_bias``: 2.2.2 drops it) streamed from both servers, alternated."""
    body = {"prompt": _prompt(0)["prompt"], "params": {"max_tokens": BESIDE_TOKENS, "temperature": 0.0}}
    async with (
        httpx.AsyncClient(base_url=ours, timeout=300) as own,
        httpx.AsyncClient(base_url=theirs, timeout=300) as old,
    ):
        await _first_stream(own, body)
        await _first_stream(old, body)
        figures: dict[str, list[tuple[float, float, int]]] = {"ours": [], "flama2": []}
        for _ in range(ROUNDS):
            figures["ours"].append(await _streamed(own, body))
            figures["flama2"].append(await _streamed(old, body))
    return figures


async def _first_stream(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    """Stream once, retrying while the server is still loading its model (2.2.2 binds its port before it has)."""
    deadline = time.monotonic() + 300
    while True:
        try:
            await _streamed(client, body)
            return
        except (httpx.HTTPError, OSError, RuntimeError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


def _flama2_rows(flm: Path) -> list[str]:
    """Flama 2.2.2 beside this tree on the same request, or the reason it could not be measured."""
    python = environment("flama2-llm", FLAMA2_LLM, [], rebuild=False)
    ours_port, theirs_port = free_port(), free_port()
    log = Path(__file__).resolve().parent / ".work" / "flama2-llm.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as output:
        ours = subprocess.Popen([sys.executable, "-m", "benchmarks.llm_native", str(flm), "--port", str(ours_port)])
        theirs = subprocess.Popen([python, "-c", FLAMA2_SERVER, str(flm), str(theirs_port)], stderr=output)
        try:
            urls = (f"http://127.0.0.1:{ours_port}", f"http://127.0.0.1:{theirs_port}")
            figures = asyncio.run(_beside_flama2(*urls))
        except Exception as error:
            return [f"Flama 2.2.2 could not be measured: {error!r}; its server said: {log.read_text()[-800:]!r}"]
        finally:
            for child in (ours, theirs):
                child.kill()
                child.wait(timeout=60)
    rows = [
        "",
        f"Beside Flama 2.2.2 (its MLX backend, same `.flm`, its own `stream/` endpoints), the same request to both: "
        f"greedy, `max_tokens` {BESIDE_TOKENS}, no `logit_bias` (2.2.2 drops it without an error, so it cannot ban the "
        f"end-of-sequence token; its answer ends after 21 tokens); median of {ROUNDS} alternated runs.",
        "",
        "| subject | tokens generated | streamed tokens/s | first token seen by the client |",
        "|---|---:|---:|---:|",
    ]
    for name, label in (("ours", "this tree"), ("flama2", "Flama 2.2.2")):
        runs = figures[name]
        rate = statistics.median(r[0] for r in runs)
        first = statistics.median(r[1] for r in runs)
        tokens = statistics.median(r[2] for r in runs)
        rows.append(f"| {label} | {tokens:.0f} | {rate:,.0f} | {first * 1000:.2f} ms |")
    return rows


def run(flm: Path = DEMO, backend: str | None = None) -> str:
    """Measure and return the section's Markdown."""
    port = free_port()
    command = [sys.executable, "-m", "benchmarks.llm_native", str(flm), "--port", str(port)]
    child = subprocess.Popen([*command, *(["--backend", backend] if backend else [])])
    try:
        figures = asyncio.run(_measure(flm, backend, f"http://127.0.0.1:{port}", child.pid))
    finally:
        child.terminate()
        child.wait(timeout=60)
    direct_rate = statistics.median(r[0] for r in figures["direct"])
    streamed_rate = statistics.median(r[0] for r in figures["streamed"])
    client_first = statistics.median(s[1] for s in figures["streamed"])
    direct_first = statistics.median(d[1] for d in figures["direct"])
    trip = statistics.median(figures["trips"])
    added = client_first - direct_first - 2 * trip
    growth = figures["memory"][-1] / figures["memory"][0] - 1
    ratio = streamed_rate / direct_rate
    errors = figures["errors"]
    cost = _pipeline_cost()
    rows = [
        f"Backend `{figures['backend']}`, demo model, greedy, {MAX_TOKENS} tokens, median of {ROUNDS} alternated runs;"
        f" load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores.",
        "",
        "| measure | value | goal | met |",
        "|---|---:|---:|---|",
        f"| backend's own loop | {direct_rate:,.0f} tokens/s | | |",
        f"| streamed through the native dialect | {streamed_rate:,.0f} tokens/s | | |",
        f"| ratio | {ratio:.2f}x | ≥ 0.95x | {'yes' if ratio >= 0.95 else '**no**'} |",
        f"| first token: backend's own loop | {direct_first * 1000:.2f} ms | | |",
        f"| first token: seen by the HTTP client | {client_first * 1000:.2f} ms | | |",
        f"| loopback round trip of `GET U/` | {trip * 1000:.2f} ms | | |",
        f"| added time to first token | {added * 1000:.2f} ms | ≤ 2 ms | {'yes' if added <= 0.002 else '**no**'} |",
        f"| 32 concurrent streams x 3: errors | {errors} | 0 | {'yes' if not errors else '**no**'} |",
        f"| server memory growth, round 1 to 3 | {growth:.1%} | ≤ 5 % | {'yes' if growth <= 0.05 else '**no**'} |",
        f"| pipeline cost per token (no model, no network) | {cost:.1f} µs | | |",
        f"| ... as a share of the backend's time per token | {cost * direct_rate / 1e4:.2f} % | ≤ 5 % | "
        f"{'yes' if cost * direct_rate <= 5e4 else '**no**'} |",
        *_flama2_rows(flm),
    ]
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="serve a model for the native benchmark (its child process)")
    parser.add_argument("flm", type=Path)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--backend", default=None)
    parser.add_argument("--prompt-offload-size", help="characters, or 'none'")
    arguments = parser.parse_args()
    offload = arguments.prompt_offload_size
    extra = {} if offload is None else {"prompt_offload_size": None if offload == "none" else int(offload)}
    serve(arguments.flm, arguments.backend, arguments.port, **extra)
