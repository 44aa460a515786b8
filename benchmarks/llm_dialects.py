"""The vendor dialects' overhead beside the native one and beside Flama 2.2.2: streamed tokens/s, time to first token.

``python -m benchmarks dialects [--flm PATH] [--backend NAME] [--quick]`` runs once per model: the demo model
(``examples/models/assistant.flm``) and the same checkpoint written into a ``.flm`` by Flama 2.2.2's own
``serialize.dump`` (``benchmarks/flama2_models.py``); ``--flm`` measures that one file instead. For each model it serves
the file in a child process (uvicorn) with every dialect, and Flama 2.2.2 serves the same file in another (its MLX
backend, in the venv ``benchmarks/.venvs/flama2-llm``). The end-of-sequence token is banned (so every stream generates
exactly ``MAX_TOKENS`` greedy tokens, whichever route asks) and the same chat turn is streamed, alternated, through:

- the backend's own ``generate`` loop, loaded in this process (the reference);
- this tree's native dialect (``POST U/stream/`` then ``GET U/stream/{id}/``), and its one-request stream
  (``POST U/stream/`` with ``Accept: text/event-stream``);
- this tree's OpenAI ``POST U/openai/v1/chat/completions``, Anthropic ``POST U/anthropic/v1/messages`` and Ollama
  ``POST U/ollama/api/chat``, each one request;
- Flama 2.2.2's routes of the same names, given the same bodies.

Flama 2.2.2 drops ``logit_bias`` and Ollama's ``options`` without a word, so its server is started with two stand-ins
for what the request asks of this tree: mlx-lm's own logit-bias processor banning the end-of-sequence tokens is
handed to every ``stream_generate`` call, and its resources' ``reasoning`` default is off (the request asks for no
thinking; 2.2.2's chat completions have no per-request switch). Its Ollama route is also given ``max_tokens`` and
``temperature`` at the top level, where it reads them. 2.2.2 counts only tokens that carry text, so its token count is
taken from its stop reason: a stream that stops for length generated ``MAX_TOKENS`` tokens; any other stop fails the
run.

Reported per route: tokens per second as a ratio to this tree's native dialect (target ≥ 0.97x) and to the backend's
own loop, and the time to first token the route adds over the backend's own first token (target ≤ 2 ms), both with
the HTTP request included (an upper bound) and less the loopback round trips its protocol takes (one for a vendor
route, two for the native one, measured with a trivial request to the same server; on a loaded machine that estimate
is noisy and can exceed the real cost). Ratios are medians of per-round ratios (the runs of one round are
neighbours in time), with their range. Under each table, each route's own cost per token without a model or a
network (``_costs``), a figure that depends little on the machine's load. The load average is printed beside each
model's run, at its start and end.
Each stream is read over a bare asyncio socket (``Connection: close``) so that the client's parsing costs next to
nothing.
"""

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from benchmarks import rawhttp
from benchmarks.environments import WORK, environment
from benchmarks.flama2_models import flama2_demo_model
from benchmarks.llm_native import DEMO, FLAMA2_LLM
from benchmarks.load import free_port

__all__ = ["DEMO", "run"]

FLAMA2_MLX_LM = next(pin.split("==")[1] for pin in FLAMA2_LLM if pin.startswith("mlx-lm=="))
MAX_TOKENS = 256
ROUNDS = 7
QUICK_ROUNDS = 3
COST_RUNS = 60
QUESTION = [{"role": "user", "content": "Tell me a story."}]
TEMPLATE = {"enable_thinking": False}
# argv: .flm, port. The two stand-ins the module docstring describes, then 2.2.2's own add_model.
FLAMA2_SERVER = """
import sys, flama, uvicorn
import flama.models.engine.backend.llm.mlx as mlx_backend
from flama.models.resources.llm import BaseLLMResource
from mlx_lm.sample_utils import make_logits_processors

BaseLLMResource.reasoning = False
stream_generate = mlx_backend.stream_generate

def banned(model, tokenizer, **kwargs):
    bias = {token: -100.0 for token in tokenizer.eos_token_ids}
    return stream_generate(model, tokenizer, logits_processors=make_logits_processors(logit_bias=bias), **kwargs)

mlx_backend.stream_generate = banned
app = flama.Flama(schema=None, docs=None)
app.models.add_model("/llm/", model=sys.argv[1], name="assistant")
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


@dataclass(frozen=True)
class Route:
    """One streamed request: where it goes, its body, and how its stream is read."""

    path: str
    body: dict[str, Any]
    first: bytes  # a marker of the first text delta
    tokens: Callable[[bytes], int]  # the tokens generated, read from the whole response
    accept: str | None = None  # the Accept header, where the route answers by it


def _count(marker: bytes) -> Callable[[bytes], int]:
    """Read the number after the last ``marker``."""

    def tokens(raw: bytes) -> int:
        at = raw.rfind(marker)
        if at < 0:
            raise RuntimeError(f"the stream ended without a token count: {raw[-300:]!r}")
        digits = raw[at + len(marker) :].lstrip()
        return int(digits[: len(digits) - len(digits.lstrip(b"0123456789"))])

    return tokens


def _stopped_for_length(marker: bytes) -> Callable[[bytes], int]:
    """``MAX_TOKENS`` when the stream says it stopped for length (``marker``), else fail."""

    def tokens(raw: bytes) -> int:
        if marker not in raw:
            raise RuntimeError(f"the stream did not stop for length: {raw[-300:]!r}")
        return MAX_TOKENS

    return tokens


OPENAI = {
    "model": "assistant",
    "messages": QUESTION,
    "stream": True,
    "stream_options": {"include_usage": True},
    "max_tokens": MAX_TOKENS,
    "temperature": 0.0,
    "reasoning_effort": "none",
}
ANTHROPIC = {"model": "assistant", "messages": QUESTION, "stream": True, "max_tokens": MAX_TOKENS, "temperature": 0.0}
OLLAMA = {
    "model": "assistant",
    "messages": QUESTION,
    "think": False,
    "options": {"num_predict": MAX_TOKENS, "temperature": 0.0},
}
OPENAI_PATH = "/llm/openai/v1/chat/completions"
ANTHROPIC_PATH = "/llm/anthropic/v1/messages"
OLLAMA_PATH = "/llm/ollama/api/chat"
NATIVE = {"messages": QUESTION, "params": {"max_tokens": MAX_TOKENS, "temperature": 0.0}, "template": TEMPLATE}
OURS = {
    # The native dialect's one-request stream (issue 12): POST U/stream/ answering server-sent events at once.
    "native, one request": Route(
        "/llm/stream/", NATIVE, b"event: block.delta", _count(b'"output_tokens":'), "text/event-stream"
    ),
    "openai": Route(OPENAI_PATH, OPENAI, b'"delta":{"content"', _count(b'"completion_tokens":')),
    "anthropic": Route(ANTHROPIC_PATH, ANTHROPIC, b"text_delta", _count(b'"output_tokens":')),
    "ollama": Route(OLLAMA_PATH, OLLAMA, b'"done":false', _count(b'"eval_count":')),
}
FLAMA2 = {
    "openai": Route(OPENAI_PATH, OPENAI, b'"delta":{"content"', _stopped_for_length(b'"finish_reason":"length"')),
    "anthropic": Route(ANTHROPIC_PATH, ANTHROPIC, b"text_delta", _stopped_for_length(b'"stop_reason":"max_tokens"')),
    "ollama": Route(
        OLLAMA_PATH,
        {**OLLAMA, "max_tokens": MAX_TOKENS, "temperature": 0.0},
        b'"done":false',
        _stopped_for_length(b'"done_reason":"length"'),
    ),
}

Figure = tuple[float, float, int]  # tokens per second, seconds to the first token, tokens


async def _read(url: httpx.URL, request: bytes, first_marker: bytes, started: float) -> tuple[float, bytes]:
    """Seconds to the first text delta (from ``started``) and the whole response of one raw HTTP request."""
    assert url.port is not None
    first, raw = await rawhttp.read(url.host, url.port, request, first_marker, started)
    if not first:
        raise RuntimeError(f"no text delta in the response: {raw[:300]!r}")
    _check(raw)
    return first, raw


def _check(raw: bytes) -> None:
    """Fail on a stream that reports an error (an escaped quote inside generated text cannot match)."""
    if any(marker in raw for marker in (b'"error":{', b'"error":"', b"event: error")):
        raise RuntimeError(f"the stream reported an error: {raw[-400:]!r}")


async def _vendor(url: httpx.URL, route: Route) -> Figure:
    request = rawhttp.request(url.host, "POST", route.path, route.body, route.accept)
    started = time.perf_counter()
    first, raw = await _read(url, request, route.first, started)
    elapsed = time.perf_counter() - started
    tokens = route.tokens(raw)
    return tokens / elapsed, first, tokens


async def _native(client: httpx.AsyncClient) -> Figure:
    started = time.perf_counter()
    opened = await client.post("/llm/stream/", json=NATIVE)
    opened.raise_for_status()
    url = client.base_url
    request = rawhttp.request(url.host, "GET", f"/llm/stream/{opened.json()['id']}/")
    first, raw = await _read(url, request, b"event: block.delta", started)
    elapsed = time.perf_counter() - started
    tokens = _count(b'"output_tokens":')(raw)
    return tokens / elapsed, first, tokens


async def _direct(resource: Any, recorded: list[Any] | None = None) -> Figure:
    """The backend's own loop on the chat turn; its deltas are appended to ``recorded`` unless it is ``None``."""
    from flama.llm.prompts import Conversation

    prepared = resource.pipeline.prepare(
        Conversation(tuple(QUESTION)), {"max_tokens": MAX_TOKENS, "temperature": 0.0}, TEMPLATE
    )
    started = time.perf_counter()
    first = 0.0
    tokens = 0
    async for delta in resource.backend.generate(prepared.prompt, prepared.params):
        if not tokens:
            first = time.perf_counter() - started
        tokens += delta.tokens
        if recorded is not None:
            recorded.append(delta)
    return tokens / (time.perf_counter() - started), first, tokens


async def _round_trip(url: httpx.URL) -> float:
    """Seconds of one trivial request over a fresh connection, as the streams above open theirs."""
    request = rawhttp.request(url.host, "GET", "/llm/ollama/api/version")
    started = time.perf_counter()
    await _read(url, request, b"200", started)
    return time.perf_counter() - started


async def _ready(check: Callable[[], Awaitable[Any]], server: subprocess.Popen[bytes]) -> None:
    """Call ``check`` until it succeeds (a server binds its port before its model is loaded), for up to 5 minutes."""
    deadline = time.monotonic() + 300
    while True:
        try:
            await check()
            return
        except (httpx.HTTPError, OSError, RuntimeError):
            if time.monotonic() > deadline or server.poll() is not None:
                raise
            await asyncio.sleep(0.5)


async def _measure(
    flm: Path, backend: str | None, servers: list[tuple[str, subprocess.Popen[bytes]]], rounds: int
) -> dict[str, Any]:
    """Every subject, alternated, against ``servers``: this tree's, then Flama 2.2.2's if there is one (URL, child)."""
    (ours, our_child), *others = servers
    from flama.llm.resource import LLMResource

    resource = LLMResource(path="/llm/", name="assistant", source=flm, backend=backend)
    await resource.load()
    try:
        eos = resource.backend.tokenizer.eos_token_id  # type: ignore[union-attr]
        ban = {"logit_bias": {str(eos): -100.0}}
        resource.pipeline.defaults = ban
        name = resource.backend.name  # type: ignore[union-attr]
        async with httpx.AsyncClient(base_url=ours, timeout=300) as client:

            async def healthy() -> None:
                (await client.get("/health")).raise_for_status()

            await _ready(healthy, our_child)
            (await client.put("/llm/", json=ban)).raise_for_status()
            subjects: dict[str, Callable[[], Awaitable[Figure]]] = {
                "backend": lambda: _direct(resource),
                "native": lambda: _native(client),
                **{key: _bound(client.base_url, route) for key, route in OURS.items()},
            }
            urls = {"ours": client.base_url}
            # 2.2.2 runs its MLX backend only: beside another backend its ratios would compare two backends.
            if others and name == "mlx":
                theirs, their_child = others[0]
                urls["flama2"] = httpx.URL(theirs)
                subjects |= {f"flama2 {key}": _bound(urls["flama2"], route) for key, route in FLAMA2.items()}
                await _ready(subjects["flama2 openai"], their_child)  # also the warm-up, as below
            deltas: list[Any] = []
            await _direct(resource, deltas)  # warm-up, and the deltas the per-token cost replays
            for measure in subjects.values():
                await measure()
            figures: dict[str, list[Figure]] = {key: [] for key in subjects}
            load = [os.getloadavg()[0]]
            # Alternated, so that every subject sees the same share of whatever else the machine is doing.
            for number in range(rounds):
                for key, measure in subjects.items():
                    figures[key].append(await measure())
                sys.stderr.write(f"round {number + 1}/{rounds}, load average {os.getloadavg()[0]:.1f}\n")
            load.append(os.getloadavg()[0])
            trips = {server: [await _round_trip(url) for _ in range(rounds * 4)] for server, url in urls.items()}
    finally:
        await resource.unload()
    trip = {server: statistics.median(each) for server, each in trips.items()}
    return {"backend": name, "figures": figures, "trip": trip, "load": load, "deltas": deltas}


def _bound(url: httpx.URL, route: Route) -> Callable[[], Awaitable[Figure]]:
    return lambda: _vendor(url, route)


async def _replay(deltas: list[Any], limit: int) -> AsyncIterator[Any]:
    for delta in deltas[:limit]:
        await asyncio.sleep(0)  # like a real backend: each delta arrives on its own turn of the loop
        yield delta


def _costs(flm: Path, backend: str, deltas: list[Any]) -> dict[str, float]:
    """Microseconds per token each route's streaming path adds to a replay of the backend's own deltas.

    The model is served in this process by a backend that loads the checkpoint as the real one does (tokenizer, chat
    template, special tokens) but replays the deltas the real one generated for the chat turn instead of running the
    model; each route's request goes through the ASGI application (``benchmarks.asgi``, no network), and the replay
    alone is subtracted. The fastest of ``COST_RUNS`` alternated runs is kept, so the figure depends little on the
    load.
    """
    from flama.http import Flama
    from flama.llm.backends import select_backend
    from flama.models.module import ModelsModule

    from benchmarks.asgi import Driver

    class Replay(select_backend(backend)):  # type: ignore[misc]
        def stream(self, ids: list[int], params: Any, limit: int) -> AsyncIterator[Any]:
            return _replay(deltas, limit)

    app = Flama(schema=None, docs=None)
    models = app.modules.get("models")
    assert isinstance(models, ModelsModule)
    models.add_model(path="/llm/", model=flm, name="assistant", family="llm", backend=Replay)
    driver = Driver(app)
    headers = [("host", "127.0.0.1"), ("content-type", "application/json")]
    driver.prepare("GET", "/health", headers[:1])
    while driver.response()[0] != 200:  # the model loads on the application's loop after startup
        driver.loop.run_until_complete(asyncio.sleep(0.1))

    async def alone() -> None:
        async for _ in _replay(deltas, MAX_TOKENS):
            pass

    def native() -> bytes:
        body = {"messages": QUESTION, "params": {"max_tokens": MAX_TOKENS}, "template": TEMPLATE}
        driver.prepare("POST", "/llm/stream/", headers, json.dumps(body).encode())
        status, _, answer = driver.response()
        if status != 200:
            raise RuntimeError(f"POST /llm/stream/ answered {status}: {answer[:300]!r}")
        opened = json.loads(answer)["id"]
        driver.prepare("GET", f"/llm/stream/{opened}/", headers[:1])
        return driver.response()[2]

    def vendor(route: Route) -> Callable[[], bytes]:
        accept = [] if route.accept is None else [("accept", route.accept)]

        def call() -> bytes:
            driver.prepare("POST", route.path, headers + accept, json.dumps(route.body).encode())
            return driver.response()[2]

        return call

    calls = {"native": native, **{key: vendor(route) for key, route in OURS.items()}}
    for key, call in calls.items():  # each route answers with the whole generation
        raw = call()
        _check(raw)
        tokens = (_count(b'"output_tokens":') if key == "native" else OURS[key].tokens)(raw)
        if tokens != MAX_TOKENS:
            raise RuntimeError(f"{key} streamed {tokens} tokens from the replay, not {MAX_TOKENS}")
    timed: dict[str, Callable[[], object]] = {**calls, "replay": lambda: driver.loop.run_until_complete(alone())}
    fastest = dict.fromkeys(timed, float("inf"))
    for _ in range(COST_RUNS):  # alternated, so that a quiet moment reaches every route
        for key, run_once in timed.items():
            started = time.perf_counter()
            run_once()
            fastest[key] = min(fastest[key], time.perf_counter() - started)
    base = fastest.pop("replay")
    return {key: (seconds - base) / MAX_TOKENS * 1e6 for key, seconds in fastest.items()}


def _serve(label: str, flm: Path, backend: str | None, flama2: Path | None, rounds: int, log: Path) -> dict[str, Any]:
    """Start this tree's server and Flama 2.2.2's on ``flm`` (unless ``flama2`` is None), measure, stop them."""
    ours_port, theirs_port = free_port(), free_port()
    command = [sys.executable, "-m", "benchmarks.llm_native", str(flm), "--port", str(ours_port)]
    ours = subprocess.Popen([*command, *(["--backend", backend] if backend else [])])
    servers = [(f"http://127.0.0.1:{ours_port}", ours)]
    with log.open("wb") as output:
        if flama2 is not None:
            # 2.2.2's import name is flama too: nothing of this tree's may come first on its path.
            env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
            theirs = [str(flama2), "-c", FLAMA2_SERVER, str(flm), str(theirs_port)]
            servers.append((f"http://127.0.0.1:{theirs_port}", subprocess.Popen(theirs, stderr=output, env=env)))
        try:
            return asyncio.run(_measure(flm, backend, servers, rounds))
        except Exception as error:
            raise RuntimeError(f"{label}: {error!r}; Flama 2.2.2's server said: {log.read_text()[-800:]!r}") from error
        finally:
            for _, child in servers:
                child.terminate()
                child.wait(timeout=60)


def _table(label: str, measured: dict[str, Any], rounds: int) -> list[str]:
    figures, trip = measured["figures"], measured["trip"]
    rate = {key: statistics.median(run[0] for run in runs) for key, runs in figures.items()}

    def paired(key: str, reference: str) -> tuple[float, str]:
        """The median of the per-round ratios to ``reference`` (each round's runs are neighbours), and its range."""
        ratios = [run[0] / other[0] for run, other in zip(figures[key], figures[reference], strict=True)]
        return statistics.median(ratios), f"{statistics.median(ratios):.2f}x ({min(ratios):.2f} to {max(ratios):.2f})"

    first = {key: statistics.median(run[1] for run in runs) for key, runs in figures.items()}
    tokens = {key: statistics.median(run[2] for run in runs) for key, runs in figures.items()}
    trips = ", ".join(f"{'Flama 2.2.2' if k == 'flama2' else 'ours'} {v * 1000:.2f} ms" for k, v in trip.items())
    start, end = measured["load"]
    rows = [
        f"Backend `{measured['backend']}`, {label}, one chat turn, greedy, {MAX_TOKENS} tokens (end of sequence "
        f"banned), median of {rounds} alternated runs; loopback round trip {trips}; **load average {start:.1f} at "
        f"the start, {end:.1f} at the end**, on {os.cpu_count()} cores.",
        *(
            [
                "",
                f"Flama 2.2.2 runs its own MLX backend on mlx-lm {FLAMA2_MLX_LM} (it requires < 0.32); its ÷ backend "
                "is to this tree's backend loop above, each round's runs paired.",
            ]
            if any(key.startswith("flama2 ") for key in figures)
            else []
        ),
        "",
        "| subject | tokens | streamed tokens/s | ÷ native | ÷ backend | first token | added, HTTP included "
        "| added, round trips subtracted | goals met |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
        f"| backend's own loop | {tokens['backend']:.0f} | {rate['backend']:,.0f} | | | "
        f"{first['backend'] * 1000:.2f} ms | | | |",
    ]
    for key in figures:
        if key == "backend":
            continue
        old = key.startswith("flama2 ")
        raw = first[key] - first["backend"]
        added = raw - (2 if key == "native" else 1) * trip["flama2" if old else "ours"]
        ratio, over_native = paired(key, "native")
        # The goal on the first token is checked on the figure with HTTP included: an upper bound, never negative.
        met = "" if key == "native" or old else ("yes" if ratio >= 0.97 and raw <= 0.002 else "**no**")
        subject = f"Flama 2.2.2 {key.removeprefix('flama2 ')}" if old else key
        rows.append(
            f"| {subject} | {tokens[key]:.0f} | {rate[key]:,.0f} | {'' if old else over_native} | "
            f"{paired(key, 'backend')[1]} | {first[key] * 1000:.2f} ms | {raw * 1000:.2f} ms | "
            f"{added * 1000:.2f} ms | {met} |"
        )
    per_token = 1e6 / rate["backend"]
    costs = measured["costs"]
    rows += [
        "",
        f"Each route's streaming path per token, with no model and no network (the backend's deltas replayed through "
        f"the ASGI app, fastest of {COST_RUNS}); the backend's own loop takes {per_token:,.0f} µs per token here.",
        "",
        "| route | µs per token | over native | share of the backend's time per token |",
        "|---|---:|---:|---:|",
        *(
            f"| {key} | {cost:.1f} | {cost - costs['native']:+.1f} | {cost / per_token:.1%} |"
            for key, cost in costs.items()
        ),
    ]
    return rows


def run(flm: Path | None = None, backend: str | None = None, quick: bool = False) -> str:
    """Measure and return the section's Markdown: one table per model (``flm``, or the demo model and its 2.2.2 copy).

    ``quick`` takes the median of fewer alternated runs.
    """
    started = time.monotonic()
    rounds = QUICK_ROUNDS if quick else ROUNDS
    flama2 = environment("flama2-llm", FLAMA2_LLM, [], rebuild=False)
    models = [("the given model", flm)] if flm else [("demo model", DEMO), ("demo model written by Flama 2.2.2", None)]
    log = WORK / "flama2-dialects.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    rows: list[str] = []
    for label, path in models:
        model = path or flama2_demo_model()
        measured = _serve(label, model, backend, flama2, rounds, log)
        measured["costs"] = _costs(model, measured["backend"], measured["deltas"])
        rows += [*([""] if rows else []), *_table(label, measured, rounds)]
    options = [*(["--flm", str(flm)] if flm else []), *(["--backend", backend] if backend else [])]
    command = " ".join(["python -m benchmarks dialects", *options, *(["--quick"] if quick else [])])
    rows = [f"`{command}`; the whole run took {time.monotonic() - started:.0f} s.", "", *rows]
    return "\n".join(rows) + "\n"
