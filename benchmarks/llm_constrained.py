"""What constrained decoding costs per token: tokens per second with and without a JSON constraint, side by side.

``python -m benchmarks.llm_constrained [--backend mlx|transformers|both] [--tokens N] [--rounds R]`` loads the demo
model and runs, alternately in the same process, the same greedy generation of exactly N tokens (default 256):

- free: the end-of-sequence token banned (``logit_bias``), so every run makes exactly N tokens;
- json_object: the same, constrained to a JSON object (``Constraint.json()``). The tiny demo model never closes its
  first string, so the constrained run also makes exactly N tokens, every one of them masked by llguidance.

It reports the best round of each (tokens per second), their ratio, and the per-token overhead in microseconds, with
the load average next to them: on a busy machine the figures are rough.
"""

import argparse
import asyncio
import os
import time
from pathlib import Path

from flama.llm.backends import backend_class
from flama.llm.backends.base import Backend, GenerationParams
from flama.llm.constraints import Constraint, bind
from flama.llm.decoder import detect_spec
from flama.models import load

DEMO = Path(__file__).resolve().parent.parent / "examples" / "models" / "assistant.flm"
PROMPT = "<|begin|>user\nHello! Who are you?<|end|>\n<|begin|>assistant\n"


async def timed(backend: Backend, params: GenerationParams) -> tuple[float, int]:
    """Seconds and tokens of one generation."""
    started = time.perf_counter()
    tokens = sum([delta.tokens async for delta in backend.generate(PROMPT, params)])
    return time.perf_counter() - started, tokens


async def measure(name: str, tokens: int, rounds: int) -> None:
    """Print the free and constrained rates of one backend."""
    with load(DEMO) as artifact:
        assert artifact.directory is not None
        backend = await backend_class(name).load(artifact.directory)
    try:
        eos = backend.tokenizer.eos_token_id
        ban = {eos: -100.0}
        spec = detect_spec(backend.tokenizer_template, backend.special_tokens).for_prompt(PROMPT)
        constraint = bind(Constraint.json(), spec, backend.tokenizer)
        free = GenerationParams(max_tokens=tokens, temperature=0.0, logit_bias=ban)
        constrained = GenerationParams(max_tokens=tokens, temperature=0.0, logit_bias=ban, constraint=constraint)
        await timed(backend, free)  # warm up both paths (the llguidance tokenizer is converted on first use)
        await timed(backend, constrained)
        best = {"free": 0.0, "json_object": 0.0}
        for _ in range(rounds):
            for label, params in (("free", free), ("json_object", constrained)):
                seconds, made = await timed(backend, params)
                assert made == tokens, f"{label}: {made} tokens, expected {tokens}"
                best[label] = max(best[label], made / seconds)
        overhead = (1 / best["json_object"] - 1 / best["free"]) * 1e6
        load_average = ", ".join(f"{value:.1f}" for value in os.getloadavg())
        print(
            f"{name}: free {best['free']:.0f} tok/s, json_object {best['json_object']:.0f} tok/s, "
            f"ratio {best['json_object'] / best['free']:.2f}, overhead {overhead:.0f} us/token "
            f"({tokens} tokens, best of {rounds}; load average {load_average})"
        )
    finally:
        await backend.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("mlx", "transformers", "both"), default="both")
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args()
    names = ("mlx", "transformers") if arguments.backend == "both" else (arguments.backend,)
    for name in names:
        asyncio.run(measure(name, arguments.tokens, arguments.rounds))


if __name__ == "__main__":
    main()
