"""The native dialect's overhead on a real model: streamed tokens per second, time to first token, 32 streams.

``python -m benchmarks native [--flm PATH] [--backend NAME]`` serves the demo model with uvicorn on loopback and
compares, on the same loaded backend and the same greedy prompt:

- tokens per second of the backend's own ``generate`` loop against tokens per second streamed through
  ``POST U/stream/`` + ``GET U/stream/{id}/`` and parsed by an HTTP client (target ≥ 0.95x);
- the time to first token added by the dialect: first ``block.delta`` seen by the client minus the backend's own
  first delta (target ≤ 2 ms; the figure includes the loopback round trips);
- 32 concurrent streams, three rounds: errors (target 0) and the server's resident memory growth between the first
  and the last round (target ≤ 5 %).
"""

import asyncio
import json
import resource
import socket
import statistics
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn

__all__ = ["run"]

DEMO = Path(__file__).resolve().parents[1] / "examples" / "models" / "demo.flm"
MAX_TOKENS = 64
PROMPT: dict[str, Any] = {"prompt": "Once upon a time", "params": {"max_tokens": MAX_TOKENS, "temperature": 0.0}}
ROUNDS = 5


def _rss_kib() -> int:
    # The process's peak resident set, in KiB: memory growth across rounds shows as a rising peak.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


async def _direct(model: Any) -> tuple[float, float, int]:
    """Tokens per second and first-token seconds of the backend's own loop."""
    generator = model.generator
    prepared = generator.prepare(_raw(), PROMPT["params"], {})
    started = time.perf_counter()
    first = 0.0
    tokens = 0
    async for delta in generator.backend.generate(prepared.prompt, prepared.params):
        if not tokens:
            first = time.perf_counter() - started
        tokens += delta.tokens
    return tokens / (time.perf_counter() - started), first, tokens


def _raw() -> Any:
    from flama.llm.transports import Raw

    return Raw(str(PROMPT["prompt"]))


async def _streamed(client: httpx.AsyncClient) -> tuple[float, float, int]:
    """Tokens per second and first-token seconds seen by an HTTP client of the native dialect."""
    started = time.perf_counter()
    stream_id = (await client.post("/llm/stream/", json=PROMPT)).json()["id"]
    first = 0.0
    tokens = 0
    async with client.stream("GET", f"/llm/stream/{stream_id}/") as response:
        event = ""
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "block.delta" and not first:
                first = time.perf_counter() - started
            elif line.startswith("data: ") and event == "message.delta":
                tokens = json.loads(line[6:])["usage"]["output_tokens"]
    return tokens / (time.perf_counter() - started), first, tokens


async def _concurrent(client: httpx.AsyncClient, count: int) -> int:
    results = await asyncio.gather(*(_streamed(client) for _ in range(count)), return_exceptions=True)
    return sum(1 for result in results if isinstance(result, BaseException) or result[2] == 0)


def _serve(app: Any) -> tuple[uvicorn.Server, threading.Thread, str]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    return server, thread, f"http://127.0.0.1:{port}"


async def _wait_healthy(client: httpx.AsyncClient) -> None:
    while (await client.get("/health")).status_code != 200:
        await asyncio.sleep(0.1)


def run(flm: Path = DEMO, backend: str | None = None) -> str:
    """Measure and return the section's Markdown."""
    from flama.http import Flama
    from flama.llm.resource import LLMResource
    from flama.models.module import ModelsModule

    app = Flama(schema=None, docs=None)
    models = app.modules.get("models")
    assert isinstance(models, ModelsModule)
    options = {} if backend is None else {"backend": backend}
    model = models.add_model(path="/llm/", model=flm, name="assistant", **options)
    assert isinstance(model, LLMResource)
    server, thread, url = _serve(app)

    async def measure() -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=url, timeout=120) as client:
            await _wait_healthy(client)
            await _direct(model)  # warm-up: first calls compile kernels
            await _streamed(client)
            direct = [await _direct(model) for _ in range(ROUNDS)]
            streamed = [await _streamed(client) for _ in range(ROUNDS)]
            memory, errors = [], 0
            for _ in range(3):
                errors += await _concurrent(client, 32)
                memory.append(_rss_kib())
        return {"direct": direct, "streamed": streamed, "errors": errors, "memory": memory}

    try:
        figures = asyncio.run(measure())
    finally:
        server.should_exit = True
        thread.join(timeout=30)
    direct_rate = statistics.median(r[0] for r in figures["direct"])
    streamed_rate = statistics.median(r[0] for r in figures["streamed"])
    added = statistics.median(s[1] for s in figures["streamed"]) - statistics.median(d[1] for d in figures["direct"])
    growth = figures["memory"][-1] / figures["memory"][0] - 1
    ratio = streamed_rate / direct_rate
    errors = figures["errors"]
    name = model.backend.name if model.backend is not None else backend
    rows = [
        f"Backend `{name}`, demo model, greedy, {MAX_TOKENS} tokens, median of {ROUNDS}.",
        "",
        "| measure | value | goal | met |",
        "|---|---:|---:|---|",
        f"| backend's own loop | {direct_rate:,.0f} tokens/s | | |",
        f"| streamed through the native dialect | {streamed_rate:,.0f} tokens/s | | |",
        f"| ratio | {ratio:.2f}x | ≥ 0.95x | {'yes' if ratio >= 0.95 else '**no**'} |",
        f"| added time to first token | {added * 1000:.2f} ms | ≤ 2 ms | {'yes' if added <= 0.002 else '**no**'} |",
        f"| 32 concurrent streams x 3: errors | {errors} | 0 | {'yes' if not errors else '**no**'} |",
        f"| memory growth, round 1 to 3 | {growth:.1%} | ≤ 5 % | {'yes' if growth <= 0.05 else '**no**'} |",
    ]
    return "\n".join(rows) + "\n"
