"""Many users at once on one language model: continuous batching, prefix caching and freed slots, over HTTP.

``python -m benchmarks.llm_batching [--backend mlx|transformers] [--flm PATH] [--peers]`` measures, once per model
(the demo model ``examples/models/assistant.flm`` and the same checkpoint written into a ``.flm`` by Flama 2.2.2's own
``serialize.dump``, ``benchmarks/flama2_models.py``; ``--flm`` measures that one file instead), each subject served in
a child process and read over loopback:

- this tree (``benchmarks.llm_native``'s server, ``add_model`` defaults, so ``max_running`` 8) through the native
  dialect's one-request stream (``POST U/stream/`` with ``Accept: text/event-stream``);
- with ``--peers``, Flama 2.2.2 serving the same file with its own MLX backend (venv ``benchmarks/.venvs/flama2-llm``,
  ``benchmarks.llm_dialects``'s server: the end-of-sequence token banned for it, since it drops ``logit_bias``) through
  its OpenAI chat-completions stream, and ``mlx_lm.server --decode-concurrency 8`` on the same checkpoint through its
  own.

The figures, each a median of ``ROUNDS`` (greedy, the end-of-sequence token banned where a stream must run long):

- aggregate tokens per second of 8 concurrent streams of ``TOKENS`` tokens, divided by one stream's alone;
- the 8th client's time to first token divided by the 1st client's (the clients sorted by it), both times beside it,
  the eight streams read by bare socket clients (``benchmarks.rawhttp``); beside it the same of the burst read by
  httpx, with the time its last request took to leave the benchmark's process;
- one stream alone, tokens per second, divided by mlx-lm's own ``stream_generate`` on the same weights in this
  process (MLX subjects only; ``LONG`` tokens, runs alternated, the server idle meanwhile), the
  stream read by the bare socket client, and by httpx's ``AsyncClient`` beside it;
- the second turn of a conversation of about ``CONVERSATION`` tokens (the first turn's 8-token reply, then a new user
  message): its time to first token divided by the first turn's, each turn timed as a one-token stream read to its
  end (Flama 2.2.2 sends no event for a token without text), both times, and the cached prompt tokens the usage
  reports; read by the bare socket client, and by httpx beside it (rounds alternated);
- the wait added to an 8-token stream sent right after a client dropped a long stream (against the same request on
  the idle server; the server is let go idle again between rounds).

Streams are read by httpx's ``AsyncClient`` (as the vendors' SDKs read them), and by the bare client where a client's
own CPU would weigh on the figure compared with the target (see `Client`). The subjects run one after the other, never
at once. The load average is printed with each model's table.
"""

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from benchmarks import rawhttp
from benchmarks.environments import WORK, environment
from benchmarks.load import free_port

__all__ = ["conversation_of", "run"]

DEMO = Path(__file__).resolve().parents[1] / "examples" / "models" / "assistant.flm"
TOKENS = 200
LONG = 512
CLIENTS = 8
ROUNDS = 5  # the first-token spread of a burst is bimodal (the first request's prefill starts before the others
# arrive, or not) and the one-stream figure moves with each run of both sides: five rounds give a steadier median
CONVERSATION = 1500
QUICK = 8
DROPPED = 1500
HELLO = [{"role": "user", "content": "Once upon a time"}]

Messages = list[dict[str, str]]


@dataclass(frozen=True)
class Subject:
    """A server under test: how to start it and how to ask it for one streamed chat turn."""

    name: str
    port: int
    command: list[str]
    path: str
    body: Callable[[Messages, int, int | None], dict[str, Any]]  # messages, max tokens, token to ban
    first: bytes  # a marker of the first text delta
    text: Callable[[bytes], str]  # the reply's text, from the whole stream
    cached: Callable[[bytes], int | None]  # the cached prompt tokens the usage reports
    mlx: bool  # runs MLX, so it can be set beside stream_generate


def _events(raw: bytes) -> list[tuple[str, Any]]:
    """The ``(event name, decoded data)`` of an SSE stream (JSON data only)."""
    events = []
    for block in raw.replace(b"\r\n", b"\n").split(b"\n\n"):
        name, data = "", b""
        for line in block.split(b"\n"):
            if line.startswith(b"event:"):
                name = line[6:].strip().decode()
            elif line.startswith(b"data:"):
                data += line[5:].strip()
        if data and data != b"[DONE]":
            events.append((name, json.loads(data)))
    return events


def _native_body(messages: Messages, tokens: int, banned: int | None) -> dict[str, Any]:
    params: dict[str, Any] = {"max_tokens": tokens, "temperature": 0.0}
    if banned is not None:
        params["logit_bias"] = {str(banned): -100.0}
    return {"messages": messages, "params": params}


def _native_text(raw: bytes) -> str:
    return "".join(data["text"] for name, data in _events(raw) if name == "block.delta")


def _native_cached(raw: bytes) -> int | None:
    usage = [data["usage"] for name, data in _events(raw) if name == "message.delta"]
    return int(usage[-1].get("cached_input_tokens", 0)) if usage else None


def _openai_text(raw: bytes) -> str:
    return "".join(
        choice["delta"].get("content") or ""
        for _, data in _events(raw)
        for choice in data.get("choices", [])
        if "delta" in choice
    )


def _openai_cached(raw: bytes) -> int | None:
    for _, data in reversed(_events(raw)):
        if data.get("usage"):
            return int((data["usage"].get("prompt_tokens_details") or {}).get("cached_tokens", 0))
    return None


def _ours(flm: Path, backend: str, port: int) -> Subject:
    command = [sys.executable, "-m", "benchmarks.llm_native", str(flm), "--port", str(port), "--backend", backend]
    return Subject(
        "Flama",
        port,
        command,
        "/llm/stream/",
        _native_body,
        b"block.delta",
        _native_text,
        _native_cached,
        backend == "mlx",
    )


def _flama2(flm: Path, port: int) -> Subject:
    from benchmarks.llm_dialects import FLAMA2_SERVER
    from benchmarks.llm_native import FLAMA2_LLM

    python = environment("flama2-llm", FLAMA2_LLM, [], rebuild=False)

    def body(messages: Messages, tokens: int, banned: int | None) -> dict[str, Any]:
        # Its server bans the end-of-sequence token itself (2.2.2 drops logit_bias); no per-request thinking switch.
        return {"model": "assistant", "messages": messages, "stream": True, "max_tokens": tokens, "temperature": 0.0}

    command = [str(python), "-c", FLAMA2_SERVER, str(flm), str(port)]
    path = "/llm/openai/v1/chat/completions"
    return Subject("Flama 2.2.2", port, command, path, body, b'content":', _openai_text, _openai_cached, True)


def _mlx_server(directory: Path, port: int) -> Subject:
    def body(messages: Messages, tokens: int, banned: int | None) -> dict[str, Any]:
        request: dict[str, Any] = {
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": tokens,
            "temperature": 0.0,
            "chat_template_kwargs": {"enable_thinking": False},  # as the other subjects render it
        }
        if banned is not None:
            request["logit_bias"] = {str(banned): -100.0}
        return request

    command = [sys.executable, "-m", "mlx_lm.server", "--model", str(directory), "--port", str(port)]
    command += ["--decode-concurrency", str(CLIENTS)]
    return Subject(
        "mlx_lm.server", port, command, "/v1/chat/completions", body, b'content":', _openai_text, _openai_cached, True
    )


class Client:
    """Streams chat turns from one subject, timing the first text delta and the end.

    Streams are read by httpx's ``AsyncClient``, as the vendors' SDKs read them, and where a figure compares times the
    client's own CPU would weigh on, also by ``benchmarks.rawhttp``'s bare socket client, the figure compared with the
    target: in `single` the server is set beside a loop that has no client at all; in the burst, one process sending
    eight requests through httpx takes a dozen milliseconds of its own CPU on these two cores to get the last one out
    (eight users would send from eight machines), which the burst reports beside its httpx figure; in the second turn
    httpx's fixed cost per request (about 2 ms here) is added to both turns' times.
    """

    def __init__(self, subject: Subject, url: str, eos: int) -> None:
        self.subject = subject
        self.eos = eos
        self.http = httpx.AsyncClient(base_url=url, timeout=600)

    async def stream(
        self,
        messages: Messages = HELLO,
        tokens: int = TOKENS,
        ban: bool = True,
        *,
        drop: bool = False,
        extensions: dict[str, Any] | None = None,
    ) -> tuple[float, float, bytes]:
        """(seconds to the first text delta, or to the end if none came; seconds to the end; the whole stream).

        ``drop`` leaves at the first text delta; ``extensions`` go to httpx (a ``trace`` callback).
        """
        body = self.subject.body(messages, tokens, self.eos if ban else None)
        headers = {"Accept": "text/event-stream"}
        started = time.perf_counter()
        first = 0.0
        chunks = []
        stream = self.http.stream("POST", self.subject.path, json=body, headers=headers, extensions=extensions)
        async with stream as response:
            if response.status_code != 200:
                raise RuntimeError(f"{self.subject.name}: {response.status_code} {(await response.aread())[:300]!r}")
            async for chunk in response.aiter_raw():
                chunks.append(chunk)
                if not first and self.subject.first in b"".join(chunks[-2:]):
                    first = time.perf_counter() - started
                    if drop:
                        break
        end = time.perf_counter() - started
        if not first and drop:
            raise RuntimeError(f"{self.subject.name}: no text in {b''.join(chunks)[-300:]!r}")
        return first or end, end, b"".join(chunks)

    async def bare(
        self, messages: Messages = HELLO, tokens: int = TOKENS, ban: bool = True
    ) -> tuple[float, float, bytes]:
        """`stream`'s figures (no ``drop``), the stream read by the bare socket client; the body without its framing."""
        payload = self.subject.body(messages, tokens, self.eos if ban else None)
        request = rawhttp.request("127.0.0.1", "POST", self.subject.path, payload, "text/event-stream")
        started = time.perf_counter()
        first, raw = await rawhttp.read("127.0.0.1", self.subject.port, request, self.subject.first, started)
        end = time.perf_counter() - started
        status, body = rawhttp.body(raw)
        if status != 200:
            raise RuntimeError(f"{self.subject.name}: {status} {body[:300]!r}")
        return first or end, end, body

    async def _sent(self) -> tuple[float, float]:
        """`stream`'s first figure for a burst member, and the seconds its request took to leave this process."""
        started = time.perf_counter()
        sent = started

        async def trace(event: str, _: Any) -> None:
            nonlocal sent
            if event == "http11.send_request_body.complete":
                sent = time.perf_counter()

        first, _, _ = await self.stream(extensions={"trace": trace})
        return first, sent - started

    async def ready(self) -> None:
        """Stream once, retrying while the server is still starting (some bind their port before loading)."""
        deadline = time.monotonic() + 300
        while True:
            try:
                await self.stream(tokens=QUICK)
                return
            except (httpx.HTTPError, OSError, RuntimeError):
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)

    async def concurrency(self) -> dict[str, float]:
        """The burst's figures, each the median over the rounds.

        ``aggregate``: CLIENTS streams' tokens/s (httpx) ÷ one stream's alone. ``spread``: the last first token ÷ the
        first one of CLIENTS bare clients, ``earliest`` and ``latest`` those two in seconds; ``spread_httpx``,
        ``earliest_httpx`` and ``latest_httpx`` the same of the httpx burst, ``sent`` the seconds its last request took
        to leave this process.
        """
        rounds: dict[str, list[float]] = {}
        for _ in range(ROUNDS):
            _, alone, _ = await self.stream()
            started = time.perf_counter()
            results = await asyncio.gather(*(self._sent() for _ in range(CLIENTS)))
            wall = time.perf_counter() - started
            rounds.setdefault("aggregate", []).append((CLIENTS * TOKENS / wall) / (TOKENS / alone))
            rounds.setdefault("sent", []).append(max(sent for _, sent in results))
            _spread(rounds, [first for first, _ in results], "_httpx")
            await self.stream()  # the same warm-up as the httpx burst had
            _spread(rounds, [first for first, *_ in await asyncio.gather(*(self.bare() for _ in range(CLIENTS)))], "")
        return {key: statistics.median(values) for key, values in rounds.items()}

    async def single(self, directory: Path) -> tuple[float, float]:
        """One stream's tokens/s ÷ mlx-lm stream_generate's on the same weights (runs alternated).

        Read by the bare client, then by httpx.
        """
        ours, heavier, theirs = [], [], []
        for _ in range(ROUNDS):
            _, seconds, _ = await self.bare(tokens=LONG)
            ours.append(LONG / seconds)
            theirs.append(await asyncio.to_thread(_stream_generate, directory, self.eos))
            _, seconds, _ = await self.stream(tokens=LONG)
            heavier.append(LONG / seconds)
        reference = statistics.median(theirs)
        return statistics.median(ours) / reference, statistics.median(heavier) / reference

    async def second_turn(self, conversation: Messages) -> dict[str, Any]:
        """Second-turn first token ÷ first turn's (``turn``), each turn's median seconds, and the cached prompt tokens.

        Read by the bare client; the same figures read by httpx carry the suffix ``_httpx`` (rounds alternated).
        """
        rounds: dict[str, list[float]] = {}
        cached = None
        for number in range(ROUNDS):
            for suffix, read in (("", self.bare), ("_httpx", self.stream)):
                # A fresh prefix each round. Each turn is timed as a one-token stream read to its end: the same figure
                # for every subject, even where a first token carries no text.
                turn = [{**conversation[0], "content": f"{number}{suffix} {conversation[0]['content']}"}]
                _, first, _ = await read(turn, 1, False)
                _, _, raw = await read(turn, QUICK, False)  # the reply the conversation goes on with
                follow = [*turn, {"role": "assistant", "content": self.subject.text(raw)}]
                follow.append({"role": "user", "content": "And then?"})
                _, second, raw = await read(follow, 1, False)
                rounds.setdefault(f"turn{suffix}", []).append(second / first)
                rounds.setdefault(f"first_turn{suffix}", []).append(first)
                rounds.setdefault(f"second_turn{suffix}", []).append(second)
                cached = self.subject.cached(raw)
        return {**{key: statistics.median(values) for key, values in rounds.items()}, "cached": cached}

    async def after_disconnect(self) -> float:
        """Seconds a quick stream waits more right after a client dropped a long one than on the idle server."""
        added = []
        for _ in range(ROUNDS):
            _, idle, _ = await self.stream(tokens=QUICK)
            await self.stream(tokens=DROPPED, drop=True)
            _, waited, _ = await self.stream(tokens=QUICK)
            added.append(waited - idle)
            await self._idle(idle)
        return statistics.median(added)

    async def _idle(self, idle: float) -> None:
        """Wait until a quick stream takes about as long as on the idle server (a dropped stream may still run)."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            await asyncio.sleep(1)
            _, seconds, _ = await self.stream(tokens=QUICK)
            if seconds < 2 * idle + 0.05:
                return

    async def measure(self, directory: Path, conversation: Messages) -> dict[str, Any]:
        figures: dict[str, Any] = {}
        stage = "start"
        try:
            await self.ready()
            stage = "concurrency"
            figures.update(await self.concurrency())
            if self.subject.mlx:
                stage = "single"
                figures["single"], figures["single_httpx"] = await self.single(directory)
            stage = "second turn"
            figures.update(await self.second_turn(conversation))
            stage = "disconnect"
            figures["disconnect"] = await self.after_disconnect()
        except Exception as error:
            figures["error"] = f"{stage}: {error!r}"[:400]
        finally:
            await self.http.aclose()
        return figures


def _spread(rounds: dict[str, list[float]], firsts: list[float], suffix: str) -> None:
    """Add a burst's last first token ÷ first one, and both, to the rounds' figures (keys ending in ``suffix``)."""
    ordered = sorted(firsts)
    rounds.setdefault(f"spread{suffix}", []).append(ordered[-1] / ordered[0])
    rounds.setdefault(f"earliest{suffix}", []).append(ordered[0])
    rounds.setdefault(f"latest{suffix}", []).append(ordered[-1])


def _stream_generate(directory: Path, eos: int) -> float:
    """mlx-lm's own stream_generate: tokens per second of LONG greedy tokens."""
    import mlx_lm
    from mlx_lm.sample_utils import make_logits_processors

    model, tokenizer = mlx_lm.load(str(directory))
    prompt = tokenizer.apply_chat_template(HELLO, add_generation_prompt=True, enable_thinking=False)
    processors = make_logits_processors(logit_bias={eos: -100.0})
    started = time.perf_counter()
    count = sum(
        1 for _ in mlx_lm.stream_generate(model, tokenizer, prompt, max_tokens=LONG, logits_processors=processors)
    )
    return count / (time.perf_counter() - started)


def conversation_of(tokenizer: Any) -> Messages:
    """One user message of about ``CONVERSATION`` tokens (the second-turn measure's first turn)."""
    words: list[str] = []
    while len(tokenizer.encode(" ".join(words))) < CONVERSATION:
        words.extend(["the", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog", "and", "tells", "a"])
    return [{"role": "user", "content": " ".join(words)}]


def _measure(subject: Subject, directory: Path, eos: int, conversation: Messages) -> dict[str, Any]:
    """Start the subject's server, measure it, stop it; a failure is reported in place of the figures."""
    log = WORK / "llm-batching.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as output:
        child = subprocess.Popen(subject.command, stdout=output, stderr=output)
        try:
            figures = asyncio.run(
                Client(subject, f"http://127.0.0.1:{subject.port}", eos).measure(directory, conversation)
            )
        finally:
            child.terminate()
            child.wait(timeout=60)
    print(subject.name, figures, flush=True)  # kept if a later subject fails
    return figures


def _cell(figures: dict[str, Any], key: str) -> str:
    value = figures.get(key)
    if value is None and "error" in figures:
        return "failed"
    if value is None:
        return "—"
    if key == "disconnect":
        return f"{value * 1000:.0f} ms"
    if key.startswith("spread"):
        suffix = key.removeprefix("spread")
        times = f"{figures['earliest' + suffix] * 1000:.1f} -> {figures['latest' + suffix] * 1000:.1f} ms"
        if suffix:
            times += f"; its last request out after {figures['sent'] * 1000:.1f} ms"
        return f"{value:.2f} ({times})"
    if key.startswith("turn"):
        suffix = key.removeprefix("turn")
        cached = figures.get("cached")
        turns = f"{figures['first_turn' + suffix] * 1000:.1f} -> {figures['second_turn' + suffix] * 1000:.1f} ms"
        return f"{value:.2f} ({turns}" + ("" if cached is None or suffix else f", {cached:,} cached") + ")"
    return f"{value:.2f}"


def _table(label: str, backend: str, measured: dict[str, dict[str, Any]]) -> list[str]:
    names = list(measured)
    rows = [
        f"**{label}**: Flama on `{backend}`; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the"
        " end.",
        "",
        f"| measure | {' | '.join(names)} | target |",
        f"|---|{'---:|' * len(names)}---|",
    ]
    measures = [
        (
            "aggregate",
            f"aggregate tokens/s, {CLIENTS} streams ÷ one alone",
            "≥ mlx_lm.server (MLX), ≥ 2.5 (transformers)",
        ),
        ("spread", f"{CLIENTS}th client's first token ÷ 1st's, bare clients (the medians of both)", "≤ 1.5"),
        ("spread_httpx", "the same, the streams read by httpx's AsyncClient (as the row above)", "—"),
        ("single", f"one stream, tokens/s ÷ mlx-lm stream_generate ({LONG} tokens), bare client", "≥ 0.95"),
        ("single_httpx", "the same, the stream read by httpx's AsyncClient", "—"),
        (
            "turn",
            f"second turn of a {CONVERSATION:,}-token conversation, first token ÷ first turn's, bare client",
            "≤ 0.3",
        ),
        ("turn_httpx", "the same, read by httpx's AsyncClient", "—"),
        ("disconnect", f"{QUICK}-token request right after a client dropped a stream: added wait", "≤ 50 ms"),
    ]
    for key, title, target in measures:
        rows.append(f"| {title} | {' | '.join(_cell(measured[name], key) for name in names)} | {target} |")
    errors = [f"{name}: {figures['error']}" for name, figures in measured.items() if "error" in figures]
    return rows + (["", *errors] if errors else [])


def run(flm: Path | None = None, backend: str = "mlx", peers: bool = False) -> str:
    """Measure and return the section's Markdown: a table per model (``flm``, or the demo model and its 2.2.2 copy)."""
    from flama.models import load
    from transformers import AutoTokenizer

    from benchmarks.flama2_models import flama2_demo_model

    models = [("the given model", flm)] if flm else [("demo model", DEMO), ("demo model written by Flama 2.2.2", None)]
    rows = [
        f"Greedy, {CLIENTS} clients x {TOKENS} tokens, medians of {ROUNDS} rounds; subjects one after the other.",
    ]
    for label, path in models:
        path = path or flama2_demo_model()
        with load(path) as artifact:
            assert artifact.directory is not None
            directory = Path(artifact.directory)
            tokenizer = AutoTokenizer.from_pretrained(directory)
            eos = int(tokenizer.eos_token_id)
            conversation = conversation_of(tokenizer)
            measured = {}
            subjects = [_ours(path, backend, free_port())]
            if peers:
                subjects += [_flama2(path, free_port()), _mlx_server(directory, free_port())]
            for subject in subjects:
                measured[subject.name] = _measure(subject, directory, eos, conversation)
        rows += ["", *_table(label, backend, measured)]
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="continuous batching, prefix caching and freed slots over HTTP")
    parser.add_argument("--flm", type=Path, default=None)
    parser.add_argument("--backend", default="mlx")
    parser.add_argument("--peers", action="store_true", help="also Flama 2.2.2 and mlx_lm.server")
    arguments = parser.parse_args()
    print(run(arguments.flm, arguments.backend, arguments.peers))
