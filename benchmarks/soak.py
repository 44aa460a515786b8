"""Soak: memory under sustained load, in a real uvicorn server (issue 9).

``python -m benchmarks soak`` (``make soak``) runs two scenarios, each against a server in a child process on loopback,
and writes the ``soak`` section of RESULTS.md:

- **LLM streams.** The demo model (``examples/models/assistant.flm``) served through the native dialect; 32 clients
  each open a stream (``POST /llm/stream/``), read its server-sent events to the end (``GET /llm/stream/{id}/``) and
  start the next, for ``SOAK_SECONDS`` seconds (600 by default). The server's resident memory is sampled every
  ``SAMPLE_SECONDS``; the growth is the last sample against the first one taken after a warm-up minute (a tenth of
  the run when shorter). Target: growth below 5 %.
- **Predictive burst.** A scikit-learn ``.flm`` served by ``app.models``; after a warm-up, 500 prediction requests
  of 1,000 rows each are sent at once. Target: the server's resident memory, once the burst is answered, back within
  10 % of the baseline taken before it. Refusals (429 with ``Retry-After`` when the queue is full) are counted apart
  from errors: they are the server protecting itself, not a failure. The server also traces its Python heap
  (``tracemalloc``, reported at ``/soak/heap``), which tells a leak (objects kept) from memory the C allocator keeps
  for reuse after freeing it (RSS stays up, the heap does not).

Both servers start with the limits ``flama serve`` uses (:func:`flama.http.server_defaults`). The clients keep an
idle pooled connection for half the server's keep-alive timeout: a client that keeps it as long as the server does
(httpx's default, 5 s, is uvicorn's) sometimes sends a request on a connection the server is closing at that very
moment, and reads a reset (``ReadError``) or an early close instead of an answer. Each error is counted with the
request it hit (``POST``: opening the stream, ``GET``: reading it).

Memory is the kernel's ``VmRSS`` of the server process (Linux ``/proc``). The figures depend on the machine and on
what else runs on it.

One scenario alone, its figures printed (RESULTS.md untouched): ``python -m benchmarks.soak llm --seconds 180`` or
``python -m benchmarks.soak burst``.
"""

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from flama.http.server import DEFAULT_SERVER_LIMITS

from benchmarks.load import free_port, resident_bytes

__all__ = ["run"]

DEMO = Path(__file__).resolve().parents[1] / "examples" / "models" / "assistant.flm"
STREAMS = 32
BURST = 500
BURST_ROWS = 1000
FEATURES = 20
SAMPLE_SECONDS = 5.0
# Shorter than the server's keep-alive timeout, so that the client never reuses a connection the server is closing.
KEEPALIVE_EXPIRY = DEFAULT_SERVER_LIMITS.keep_alive_timeout / 2
PROMPT = {
    "messages": [{"role": "user", "content": "Hello! Who are you?"}],
    "params": {"temperature": 0.0, "max_tokens": 64},
}


def serve(kind: str, port: int) -> None:
    """The child process: the demo LLM (``llm``) or a scikit-learn model (``predictive``) under uvicorn."""
    import uvicorn
    from flama.http import Flama, server_defaults

    app = Flama(schema=None, docs=None)
    if kind == "llm":
        app.models.add_model(path="/llm/", model=DEMO, name="assistant", max_queued=STREAMS * 2)
    else:
        import gc
        import tracemalloc

        import flama
        import numpy as np
        from flama.http.responses import JSONResponse
        from sklearn.linear_model import LogisticRegression

        tracemalloc.start()

        async def heap() -> JSONResponse:
            gc.collect()
            return JSONResponse({"bytes": tracemalloc.get_traced_memory()[0]})

        app.add_route("/soak/heap", heap, methods=["GET"])
        rng = np.random.default_rng(0)
        inputs = rng.random((2000, FEATURES))
        model = LogisticRegression().fit(inputs, (inputs[:, 0] > 0.5).astype(int))
        path = Path(tempfile.mkdtemp(prefix="soak-")) / "classifier.flm"
        flama.dump(model, path)  # dumped by this process: loading it back needs no trust
        app.models.add_model(path="/classifier/", model=path, name="classifier")
    uvicorn.run(app, **{**server_defaults(), "host": "127.0.0.1", "port": port, "log_level": "warning"})


async def _ready(client: httpx.AsyncClient) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if (await client.get("/health")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError("the server did not become ready in 300 s")


async def _one_stream(client: httpx.AsyncClient) -> str | None:
    """One native stream read to its end; None when it ended with ``message.stop``, else what went wrong."""
    try:
        opened = await client.post("/llm/stream/", json=PROMPT)
    except httpx.HTTPError as exc:
        return f"POST {type(exc).__name__}"
    if opened.status_code != 200:
        return f"POST stream/ answered {opened.status_code}"
    stopped = False
    try:
        async with client.stream("GET", f"/llm/stream/{opened.json()['id']}/") as events:
            if events.status_code != 200:
                return f"GET stream/{{id}}/ answered {events.status_code}"
            error = False  # within an event named error, whose data says what went wrong
            async for line in events.aiter_lines():
                if error and line.startswith("data:"):
                    return f"error event {line[5:].strip()[:120]}"
                error = line.startswith("event: error") or (error and line != "")
                stopped = stopped or line.startswith("event: message.stop")
    except httpx.HTTPError as exc:
        return f"GET {type(exc).__name__}"
    return None if stopped else "the stream ended without message.stop"


async def _streams(url: str, pid: int, seconds: float) -> dict[str, Any]:
    limits = httpx.Limits(
        max_connections=STREAMS * 2, max_keepalive_connections=STREAMS * 2, keepalive_expiry=KEEPALIVE_EXPIRY
    )
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        await _ready(client)
        started = time.monotonic()
        deadline = started + seconds
        counts = {"streams": 0, "errors": 0}
        kinds: dict[str, int] = {}
        samples: list[tuple[float, int]] = []

        async def worker() -> None:
            while time.monotonic() < deadline:
                failure = await _one_stream(client)
                counts["streams" if failure is None else "errors"] += 1
                if failure is not None:
                    kinds[failure] = kinds.get(failure, 0) + 1

        async def sampler() -> None:
            while time.monotonic() < deadline:
                samples.append((time.monotonic() - started, resident_bytes(pid)))
                await asyncio.sleep(SAMPLE_SECONDS)

        await asyncio.gather(sampler(), *(worker() for _ in range(STREAMS)))
        samples.append((time.monotonic() - started, resident_bytes(pid)))
    warm = min(60.0, seconds / 10)
    after = [rss for at, rss in samples if at >= warm] or [samples[-1][1]]
    shown = "; ".join(f"{kind} ({count})" for kind, count in sorted(kinds.items())) or "none"
    peak = max(r for _, r in samples)
    return {**counts, "kinds": shown, "seconds": seconds, "first": after[0], "last": after[-1], "peak": peak}


async def _burst(url: str, pid: int) -> dict[str, Any]:
    rows = [[(i * 7 + j) % 10 / 10 for j in range(FEATURES)] for i in range(BURST_ROWS)]
    body = json.dumps({"input": rows}).encode()
    headers = {"content-type": "application/json"}
    limits = httpx.Limits(max_connections=BURST, max_keepalive_connections=BURST, keepalive_expiry=KEEPALIVE_EXPIRY)
    async with httpx.AsyncClient(base_url=url, timeout=300, limits=limits) as client:
        await _ready(client)
        for _ in range(20):  # warm-up: worker threads started, caches filled
            (await client.post("/classifier/predict/", content=body, headers=headers)).raise_for_status()
        await asyncio.sleep(2)
        heap_before = (await client.get("/soak/heap")).json()["bytes"]
        baseline = resident_bytes(pid)
        peak = baseline
        done = asyncio.Event()

        async def sampler() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, resident_bytes(pid))
                await asyncio.sleep(0.05)

        watcher = asyncio.create_task(sampler())
        started = time.monotonic()
        answers = await asyncio.gather(
            *(client.post("/classifier/predict/", content=body, headers=headers) for _ in range(BURST)),
            return_exceptions=True,
        )
        elapsed = time.monotonic() - started
        done.set()
        await watcher
        await asyncio.sleep(5)  # what the server frees once it is idle again
        after = resident_bytes(pid)
        heap_after = (await client.get("/soak/heap")).json()["bytes"]
    statuses = [a.status_code if isinstance(a, httpx.Response) else type(a).__name__ for a in answers]
    errors = [str(s) for s in statuses if s not in (200, 429)]
    return {
        "ok": statuses.count(200),
        "refused": statuses.count(429),
        "errors": len(errors),
        "error_kinds": ", ".join(sorted(set(errors))) or "none",
        "heap_before": heap_before,
        "heap_after": heap_after,
        "seconds": elapsed,
        "baseline": baseline,
        "peak": peak,
        "after": after,
    }


def _scenario(kind: str, measure: Any) -> dict[str, Any]:
    port = free_port()
    child = subprocess.Popen([sys.executable, "-m", "benchmarks.soak", "serve", kind, str(port)])
    try:
        result: dict[str, Any] = asyncio.run(measure(f"http://127.0.0.1:{port}", child.pid))
        return result
    finally:
        child.terminate()
        child.wait(timeout=60)


def _mb(size: float) -> str:
    return f"{size / (1 << 20):,.0f} MB"


def run(seconds: float | None = None) -> str:
    """Run both scenarios; the section's Markdown."""
    seconds = float(os.environ.get("SOAK_SECONDS", 600)) if seconds is None else seconds
    streams = _scenario("llm", lambda url, pid: _streams(url, pid, seconds))
    burst = _scenario("predictive", _burst)
    growth = streams["last"] / streams["first"] - 1
    back = burst["after"] / burst["baseline"] - 1
    heap = burst["heap_after"] / burst["heap_before"] - 1
    rate = streams["streams"] / seconds
    lines = [
        f"{STREAMS} concurrent native streams of the demo model for {seconds:.0f} s (uvicorn, loopback, "
        f"`max_tokens` 64); {BURST} predictions of {BURST_ROWS} rows sent at once to a scikit-learn model. "
        "Resident memory of the server process.",
        "",
        "| scenario | figure |",
        "|---|---:|",
        f"| LLM streams completed | {streams['streams']:,} ({rate:.1f}/s) |",
        f"| LLM stream errors | {streams['errors']} |",
        f"| LLM stream errors, by kind | {streams['kinds']} |",
        f"| LLM server RSS after warm-up → end (peak) | {_mb(streams['first'])} → {_mb(streams['last'])} "
        f"({_mb(streams['peak'])}) |",
        f"| burst answered 200 / refused 429 / errors | {burst['ok']} / {burst['refused']} / {burst['errors']} |",
        f"| burst duration | {burst['seconds']:.1f} s |",
        f"| predictive server RSS before → peak → 5 s after | {_mb(burst['baseline'])} → {_mb(burst['peak'])} → "
        f"{_mb(burst['after'])} |",
        f"| predictive server Python heap before → after | {_mb(burst['heap_before'])} → {_mb(burst['heap_after'])} |",
        f"| burst errors, by kind | {burst['error_kinds']} |",
        "",
        "| target | goal | reached | met |",
        "|---|---:|---:|---|",
        f"| LLM server RSS growth over the run | < 5 % | {growth:+.1%} | {'yes' if growth < 0.05 else '**no**'} |",
        f"| LLM stream errors | 0 | {streams['errors']} | {'yes' if not streams['errors'] else '**no**'} |",
        f"| memory after the burst against its baseline | within 10 % | {back:+.1%} | "
        f"{'yes' if back < 0.10 else '**no**'} |",
        f"| Python heap after the burst against its baseline | within 10 % | {heap:+.1%} | "
        f"{'yes' if heap < 0.10 else '**no**'} |",
        f"| burst errors (not 200 or 429) | 0 | {burst['errors']} | {'yes' if not burst['errors'] else '**no**'} |",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> None:
    """``serve KIND PORT`` (the child server), ``llm [--seconds S]`` or ``burst`` (one scenario, figures printed)."""
    if argv[:1] == ["serve"]:
        serve(argv[1], int(argv[2]))
        return
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak")
    parser.add_argument("scenario", choices=["llm", "burst"])
    parser.add_argument("--seconds", type=float, default=180.0, help="LLM streaming time (180 s)")
    args = parser.parse_args(argv)
    if args.scenario == "llm":
        figures = _scenario("llm", lambda url, pid: _streams(url, pid, args.seconds))
    else:
        figures = _scenario("predictive", _burst)
    sys.stdout.write(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
