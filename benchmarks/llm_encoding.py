"""A conversation's next turn encoded whole, and reusing the last turn's token ids (``RecentPrompts``).

``python -m benchmarks.llm_encoding [--rounds R]`` renders, with the demo model's chat template and tokenizer, the
conversation of ``benchmarks.llm_batching``'s second turn (a 1,500-token user message, an 8-word reply, a new user
message) and a 24-turn conversation that grows to about 6,000 tokens, and times the encoding of each next prompt two
ways, alternated round by round: the tokenizer's encode of the whole prompt (``Backend``'s encode without kept
prompts), and ``Backend.encode`` with the previous turn's prompt kept. Every prompt's ids are checked to be the same
both ways. Medians of the rounds, written to RESULTS.md (section ``encoding``).
"""

import argparse
import functools
import os
import statistics
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flama.llm.backends.encoding import DEFAULT_RECENT_BYTES, RecentPrompts, boundary_tokens
from flama.models import load
from transformers import AutoTokenizer

from benchmarks.__main__ import milliseconds, write_section
from benchmarks.llm_batching import DEMO, conversation_of

WORDS = ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "and", "tells", "a", "story"]


def _prompts(tokenizer: Any) -> dict[str, list[str]]:
    """Each case's prompts in order: every one after the first is a conversation's next turn."""

    def render(messages: list[dict[str, str]]) -> str:
        return str(tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False))

    first = conversation_of(tokenizer)
    reply = [*first, {"role": "assistant", "content": " ".join(WORDS[:8])}, {"role": "user", "content": "And then?"}]
    growing: list[dict[str, str]] = []
    turns = []
    for turn in range(24):
        words = [WORDS[(turn * 7 + index) % len(WORDS)] for index in range(180)]
        growing.append({"role": "user" if turn % 2 == 0 else "assistant", "content": " ".join(words)})
        if turn % 2 == 0:
            turns.append(render(growing))
    return {
        "second turn of a 1,500-token conversation": [render(first), render(reply)],
        "24-turn conversation, each user turn's prompt (to about 6,000 tokens)": turns,
    }


def _timed(encode: Callable[[str], list[int]], prompts: list[str]) -> tuple[float, list[list[int]]]:
    """Seconds to encode every prompt after the first (the first one primes what is kept), and every prompt's ids."""
    ids = [encode(prompts[0])]
    started = time.perf_counter()
    ids += [encode(prompt) for prompt in prompts[1:]]
    return time.perf_counter() - started, ids


def measure(rounds: int) -> dict[str, dict[str, list[float]]]:
    with load(DEMO) as artifact:
        assert artifact.directory is not None
        tokenizer = AutoTokenizer.from_pretrained(Path(artifact.directory))
    rust = tokenizer._tokenizer

    def whole(text: str, special: bool) -> list[int]:
        return list(rust.encode_batch_fast([text], add_special_tokens=special)[0].ids)

    boundaries = boundary_tokens(rust.get_added_tokens_decoder().items(), tokenizer.chat_template)
    results: dict[str, dict[str, list[float]]] = {}
    for name, prompts in _prompts(tokenizer).items():
        for _ in range(rounds):
            recent = RecentPrompts(whole, boundaries, 8, DEFAULT_RECENT_BYTES)
            plain, expected = _timed(lambda text: whole(text, True), prompts)
            reused, ids = _timed(functools.partial(recent.encode, special=True), prompts)
            assert ids == expected, f"{name}: different ids"
            figures = results.setdefault(name, {"whole": [], "reused": []})
            figures["whole"].append(plain / (len(prompts) - 1))
            figures["reused"].append(reused / (len(prompts) - 1))
    return results


def report(results: dict[str, dict[str, list[float]]]) -> str:
    load_average = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    rounds = len(next(iter(results.values()))["whole"])
    rows = [
        f"Medians of {rounds} rounds, alternated; load average {load_average}. Per next prompt:",
        "",
        "| conversation | encoded whole | reusing the last turn's ids | ratio |",
        "|---|---:|---:|---:|",
    ]
    for name, figures in results.items():
        ratio = statistics.median(figures["reused"]) / statistics.median(figures["whole"])
        rows.append(
            f"| {name} | {milliseconds(figures['whole'], 3)} | {milliseconds(figures['reused'], 3)} | {ratio:.2f} |"
        )
    return "\n".join(rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    arguments = parser.parse_args()
    table = report(measure(arguments.rounds))
    print(table)
    intro = textwrap.fill(
        f"Recorded {time.strftime('%Y-%m-%d')} by `make bench-encoding` (`benchmarks/llm_encoding.py`): the demo "
        "model's tokenizer (a Rust byte-level BPE), prompts rendered by its chat template; the same ids both ways.",
        width=118,
    )
    write_section("encoding", intro + "\n\n" + table)


if __name__ == "__main__":
    main()
