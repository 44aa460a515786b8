"""Models written by Flama 2.2.2, for the benchmarks that serve a file 2.2.2 wrote beside one this tree wrote.

``flama2_demo_model()`` packs the demo model's checkpoint (``examples/models/assistant.flm``, same weights,
tokenizer and chat template) into a ``.flm`` with Flama 2.2.2's own ``flama.serialize.dump``, run in the Flama 2.2.2
LLM venv (``benchmarks/.venvs/flama2-llm``), and caches it under ``benchmarks/.work`` keyed by the demo file's digest.
"""

import hashlib
import subprocess
import tempfile
from pathlib import Path

import flama.models

from benchmarks.environments import WORK, environment
from benchmarks.llm_native import DEMO, FLAMA2_LLM

__all__ = ["flama2_demo_model"]

# argv: checkpoint directory, destination. 2.2.2's dump records the library and reads the capabilities itself.
WRITER = """
import sys
import flama.serialize
flama.serialize.dump(sys.argv[1], path=sys.argv[2], family="llm", lib="transformers")
"""


def flama2_demo_model() -> Path:
    """The demo model written by Flama 2.2.2 (built on first use, then cached); returns the ``.flm``'s path."""
    digest = hashlib.sha256(DEMO.read_bytes()).hexdigest()[:16]
    target = WORK / f"assistant-flama2-{digest}.flm"
    if target.exists():
        return target
    python = environment("flama2-llm", FLAMA2_LLM, [], rebuild=False)
    WORK.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    with tempfile.TemporaryDirectory() as scratch, flama.models.load(DEMO) as demo:
        assert demo.directory is not None, "the demo model is a bundle"
        subprocess.run([python, "-c", WRITER, demo.directory, partial], check=True, cwd=scratch)
    partial.replace(target)
    return target
