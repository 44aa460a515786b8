"""Golden tests per template family: a template excerpt, its detected spec, and model outputs decoded into blocks.

Each output is decoded whole, one character at a time and in pieces of several sizes; every way must give the same
blocks, which must match the golden file.
"""

import json
import random
from pathlib import Path
from typing import Any

import pytest
from flama.llm.decoder import detect_spec

from tests.llm.decoding import blocks, chunked, decode

GOLDEN = Path(__file__).parent / "golden" / "decoder"
FAMILIES = {path.stem: json.loads(path.read_text()) for path in sorted(GOLDEN.glob("*.json"))}
CASES = [
    pytest.param(family, case, id=f"{name}-{case['id']}")
    for name, family in FAMILIES.items()
    for case in family["cases"]
]


def splits(text: str) -> dict[str, list[str]]:
    """The ways each output is fed: whole, per character, fixed sizes, and seeded random cuts."""
    generator = random.Random(text)
    cuts = sorted(generator.sample(range(1, len(text)), min(len(text) - 1, len(text) // 4)))
    randomly = [text[start:end] for start, end in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    return {
        "whole": [text],
        "characters": list(text),
        **{f"size {size}": chunked(text, size) for size in (2, 3, 5, 8)},
        "random": randomly,
    }


class TestCaseGoldenFamilies:
    @pytest.mark.parametrize("name", [pytest.param(name, id=name) for name in FAMILIES])
    def test_detect(self, name):
        family = FAMILIES[name]
        spec = detect_spec(family["template"], family["special_tokens"])
        assert spec.name == family["spec"]
        assert spec.starts_in_reasoning is family.get("starts_in_reasoning", False)

    @pytest.mark.parametrize(("family", "case"), CASES)
    def test_decode(self, family: dict[str, Any], case: dict[str, Any]):
        spec = detect_spec(family["template"], family["special_tokens"])
        for how, chunks in splits(case["output"]).items():
            events, decoder = decode(spec, chunks)
            assert blocks(events) == case["blocks"], how
            assert decoder.tool_called is case.get("tool_called", False), how
