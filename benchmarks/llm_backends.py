"""flama-llm backends: tokens per second of our async stream beside each library's own generate loop.

Both run greedy decoding of the same number of tokens (end of sequence banned) on the demo model's architecture with
random weights, in this interpreter, best of a few runs after a warm-up. Our figure includes everything a dialect
gets: the worker thread, detokenization, stop-sequence checks and the hop back to the event loop.
"""

import asyncio
import functools
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flama.llm.backends import GenerationParams
from flama.llm.backends.batching import BatchedBackend
from flama.llm.backends.mlx import MLXBackend
from flama.llm.backends.transformers import TransformersBackend

from examples.models import build_demo_model

RUNS = 3
GOAL = 0.95


def best(runs: int, once: Callable[[], float]) -> float:
    """The shortest of ``runs`` timings, after one warm-up run."""
    once()
    return min(once() for _ in range(runs))


def mlx_loop(backend: BatchedBackend, prompt: str, tokens: int, eos: int) -> float:
    """Seconds mlx-lm's stream_generate takes for ``tokens`` tokens."""
    from mlx_lm import stream_generate
    from mlx_lm.sample_utils import make_logits_processors

    start = time.perf_counter()
    count = 0
    for _ in stream_generate(
        backend.model,
        backend.tokenizer,
        prompt,
        max_tokens=tokens,
        logits_processors=make_logits_processors(logit_bias={eos: -100}),
    ):
        count += 1
    assert count == tokens, count
    return time.perf_counter() - start


def transformers_loop(backend: BatchedBackend, prompt: str, tokens: int, eos: int) -> float:
    """Seconds transformers' generate takes for ``tokens`` tokens."""
    import torch

    model: Any = backend.model
    ids = torch.tensor([backend.encode(prompt)])
    start = time.perf_counter()
    with torch.inference_mode():
        output = model.generate(
            ids, do_sample=False, max_new_tokens=tokens, min_new_tokens=tokens, suppress_tokens=[eos], pad_token_id=eos
        )
    assert output.shape[1] - ids.shape[1] == tokens
    return time.perf_counter() - start


async def ours(backend: BatchedBackend, prompt: str, tokens: int, eos: int) -> tuple[float, float]:
    """Seconds our stream takes for ``tokens`` tokens, and its time to the first delta."""
    params = GenerationParams(temperature=0.0, max_tokens=tokens, logit_bias={eos: -100.0})
    start = time.perf_counter()
    first = 0.0
    count = 0
    async for delta in backend.generate(prompt, params):
        if not first:
            first = time.perf_counter() - start
        count += delta.tokens
    assert count == tokens, count
    return time.perf_counter() - start, first


def run(tokens: int) -> str:
    """Measure every backend that runs here; return the RESULTS.md section's table."""
    lines = [
        "| backend | library's own loop | flama-llm stream | ratio | our time to first token |",
        "|---|---:|---:|---:|---:|",
    ]
    loops = ((MLXBackend, mlx_loop), (TransformersBackend, transformers_loop))
    with tempfile.TemporaryDirectory() as work:
        directory = build_demo_model.build(Path(work) / "model", trained=False)
        for cls, loop in loops:
            if not cls.available():
                continue
            backend = asyncio.run(cls.load(directory))
            prompt = backend.render([{"role": "user", "content": "Hello! Who are you?"}])
            eos = backend.tokenizer.eos_token_id
            theirs = best(RUNS, functools.partial(loop, backend, prompt, tokens, eos))
            timings = [asyncio.run(ours(backend, prompt, tokens, eos)) for _ in range(RUNS + 1)][1:]
            asyncio.run(backend.close())
            elapsed, first = min(timings)
            ratio = theirs / elapsed
            lines.append(
                f"| {cls.name} | {tokens / theirs:,.0f} tokens/s | {tokens / elapsed:,.0f} tokens/s "
                f"| {ratio:.2f}x{'' if ratio >= GOAL else ' (**below 0.95**)'} | {first * 1000:.1f} ms |"
            )
    return f"{tokens} tokens per run, greedy, best of {RUNS} after a warm-up.\n\n" + "\n".join(lines) + "\n"
