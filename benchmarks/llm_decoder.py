"""flama-llm decoder throughput (issue 5): a 1 MB transcript with markers, fed as token-sized and as large deltas.

``python -m benchmarks run --suite decoder`` counts instructions per 1 MB decoded (callgrind, like every suite);
``python -m benchmarks.llm_decoder`` prints instructions per byte and MB/s measured on this machine.
"""

import sys
import time
from pathlib import Path

from benchmarks.callgrind import measure
from benchmarks.core import Case, Suite, Target
from benchmarks.environments import WORK

SUBJECT = "flama-llm decoder"
SIZE = 1_000_000
# Token-sized deltas are what backends stream; 16 KB deltas show the scanner's own speed on plain text.
DELTAS = {"4-character deltas": 4, "16 KB deltas": 16_384}

# One Qwen3 turn with reasoning, an answer and a tool call, repeated to 1 MB: mostly plain prose, with markers and
# a few '<' that are not markers, as real output has.
SETUP = f"""
from flama.llm.decoder import Decoder, spec_by_name

TURN = (
    "<think>\\nThe user asks about the weather in Paris. I should call the <b>weather</b> tool, then summarise "
    "the forecast in two sentences, keeping the units the user prefers.\\n</think>\\n\\n"
    "Let me check the forecast for Paris. Temperatures < 30 degrees are expected for the whole week, with light "
    "winds from the west and a chance of showers on Thursday afternoon; pack an umbrella just in case.\\n"
    '<tool_call>\\n{{"name": "get_weather", "arguments": {{"city": "Paris", "days": 7}}}}\\n</tool_call>\\n'
)
TRANSCRIPT = (TURN * ({SIZE} // len(TURN) + 1))[:{SIZE}]
SPEC = spec_by_name("qwen3")


def run(size):
    decoder = Decoder(SPEC, seed=0)
    feed = decoder.feed
    for start in range(0, len(TRANSCRIPT), size):
        feed(TRANSCRIPT[start : start + size])
    decoder.finish()
"""


def cases() -> list[Case]:
    """Decoding the transcript once per delta size."""
    return [
        Case(f"decode 1 MB transcript, {label}", SUBJECT, SETUP + f"run({size})\n", f"run({size})", 1, "workspace")
        for label, size in DELTAS.items()
    ]


def targets() -> list[Target]:
    """A regression bound (the issue sets no goal): at most 500 instructions per byte with large deltas."""
    large = (f"decode 1 MB transcript, {next(reversed(DELTAS))}", SUBJECT)
    return [Target("decoder, 16 KB deltas, per 1 MB", large, None, 500 * SIZE, lower=True)]


SUITE: Suite = (cases, targets)


def main() -> int:
    """Print instructions per byte (callgrind) and MB/s (best of five) for each delta size."""
    namespace: dict[str, object] = {}
    exec(SETUP, namespace)  # the same setup text the callgrind cases run
    run = namespace["run"]
    assert callable(run)
    WORK.mkdir(parents=True, exist_ok=True)
    sys.stdout.write("| deltas | instructions per byte | MB/s |\n|---|---:|---:|\n")
    for label, size in DELTAS.items():
        seconds = []
        for _ in range(5):
            start = time.perf_counter()
            run(size)
            seconds.append(time.perf_counter() - start)
        setup = SETUP + f"run({size})\n"
        instructions = measure(Path(sys.executable), setup, f"run({size})", 1, WORK).instructions
        sys.stdout.write(f"| {label} | {instructions / SIZE:,.0f} | {SIZE / min(seconds) / 1e6:,.1f} |\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
