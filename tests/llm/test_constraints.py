"""Grammars of constrained decoding: built in each family's syntax, and what a guide allows holds to them.

A random walk over the demo tokenizer stands in for a model: at each step it draws any token the guide allows, so the
output is whatever the grammar permits, not what a trained model would write. Every walk must still end in output
the decoder reads as asked (JSON valid against the schema, a call of the right tool, a bounded thought).
"""

import dataclasses
import json
import random
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from flama.llm.constraints import Constraint, Guides, bind
from flama.llm.decoder import SPECS, DecoderSpec, detect_spec
from flama.llm.exceptions import InvalidParameter

from tests.llm.decoding import blocks, decode

PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string", "maxLength": 12}, "age": {"type": "integer", "minimum": 0}},
    "required": ["name", "age"],
    "additionalProperties": False,
}
WEATHER = {
    "type": "object",
    "properties": {"city": {"type": "string", "maxLength": 10}},
    "required": ["city"],
    "additionalProperties": False,
}
TIME = {"type": "object", "properties": {"zone": {"enum": ["UTC", "CET"]}}, "required": ["zone"]}


@pytest.fixture(scope="module")
def tokenizer(demo_model_dir: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(demo_model_dir)


@pytest.fixture(scope="module")
def qwen3(tokenizer: Any) -> DecoderSpec:
    spec = detect_spec(tokenizer.chat_template, tokenizer.all_special_tokens + list(tokenizer.get_added_vocab()))
    assert spec.name == "qwen3"
    return dataclasses.replace(spec, starts_in_reasoning=False)


def walk(tokenizer: Any, constraint: Constraint, seed: int, limit: int = 400) -> tuple[list[int], str]:
    """Draw allowed tokens at random until the end-of-sequence token: the tokens and their text."""
    guide = Guides(tokenizer, [tokenizer.eos_token_id]).start(constraint, 0)
    assert guide is not None
    draw = random.Random(seed)
    tokens: list[int] = []
    while len(tokens) < limit:
        allowed = guide.allowed(tokens, len(tokenizer)).nonzero()[0].tolist()
        # Favour the end once it is allowed, so walks stay short.
        token = tokenizer.eos_token_id if tokenizer.eos_token_id in allowed and draw.random() < 0.5 else None
        token = token if token is not None else draw.choice(allowed)
        if token == tokenizer.eos_token_id:
            return tokens, tokenizer.decode(tokens, skip_special_tokens=False)
        tokens.append(token)
    raise AssertionError(f"no end after {limit} tokens: {tokenizer.decode(tokens)!r}")


@pytest.mark.parametrize("seed", range(4))
def test_json_schema_output_validates(tokenizer: Any, seed: int) -> None:
    _, text = walk(tokenizer, bind(Constraint.json(PERSON), SPECS["hermes"], tokenizer), seed)
    jsonschema.validate(json.loads(text), PERSON)


@pytest.mark.parametrize("seed", range(3))
def test_json_object_after_a_prompted_thought(tokenizer: Any, qwen3: DecoderSpec, seed: int) -> None:
    spec = dataclasses.replace(qwen3, starts_in_reasoning=True)
    _, text = walk(tokenizer, bind(Constraint.json().also(thinking_budget=8), spec, tokenizer), seed)
    found = blocks(decode(spec, [text])[0])
    assert [block["kind"] for block in found] == ["thinking", "text"]
    assert isinstance(json.loads(found[-1]["text"]), dict)


@pytest.mark.parametrize("seed", range(4))
def test_forced_tool_call_is_a_call_of_an_offered_tool(tokenizer: Any, qwen3: DecoderSpec, seed: int) -> None:
    tools = [("get_weather", WEATHER, "tools[0]"), ("get_time", TIME, "tools[1]")]
    # A bounded thought may come first (the walk would otherwise wander in an unbounded one).
    constraint = bind(Constraint.tool_call(tools).also(thinking_budget=4), qwen3, tokenizer)
    _, text = walk(tokenizer, constraint, seed)
    found = [block for block in blocks(decode(qwen3, [text])[0]) if block["kind"] != "thinking"]
    assert found
    assert all(block["kind"] == "tool_call" for block in found)
    for block in found:
        schemas: dict[str, Any] = {"get_weather": WEATHER, "get_time": TIME}
        jsonschema.validate(block["arguments"], schemas[block["name"]])


@pytest.mark.parametrize("seed", range(4))
def test_single_named_call(tokenizer: Any, qwen3: DecoderSpec, seed: int) -> None:
    constraint = bind(
        Constraint.tool_call([("get_time", TIME, "tools[0]")], single=True).also(thinking_budget=4), qwen3, tokenizer
    )
    _, text = walk(tokenizer, constraint, seed)
    found = [block for block in blocks(decode(qwen3, [text])[0]) if block["kind"] != "thinking"]
    assert [block["name"] for block in found] == ["get_time"]


@pytest.mark.parametrize("seed", range(4))
def test_at_most_one_call_after_free_text(tokenizer: Any, qwen3: DecoderSpec, seed: int) -> None:
    _, text = walk(tokenizer, bind(Constraint(single=True, thinking_budget=4), qwen3, tokenizer), seed)
    assert text.count("<tool_call>") <= 1


@pytest.mark.parametrize("budget", [1, 5, 20])
def test_thinking_budget_bounds_the_thought(tokenizer: Any, qwen3: DecoderSpec, budget: int) -> None:
    spec = dataclasses.replace(qwen3, starts_in_reasoning=True)
    close = tokenizer.convert_tokens_to_ids("</think>")
    for seed in range(3):
        tokens, _ = walk(tokenizer, bind(Constraint(thinking_budget=budget), spec, tokenizer), seed)
        assert close in tokens
        assert tokens.index(close) <= budget


@pytest.mark.parametrize(
    ("schema", "reason"),
    [(3, "must be a JSON schema"), ({"type": "objectx"}, "invalid JSON schema"), ({"properties": 3}, "invalid")],
)
def test_invalid_schema_names_the_field(schema: Any, reason: str) -> None:
    with pytest.raises(InvalidParameter, match=reason) as caught:
        Constraint.json(schema, field="response_format.json_schema.schema")
    assert caught.value.name == "response_format.json_schema.schema"


def test_tool_schema_errors_name_the_tool() -> None:
    with pytest.raises(InvalidParameter) as caught:
        Constraint.tool_call([("f", {"type": 7}, "tools[2].function.parameters")])
    assert caught.value.name == "tools[2].function.parameters"
    with pytest.raises(InvalidParameter, match="no tool is offered"):
        Constraint.tool_call([])


def test_families_that_cannot_express_it_are_refused(tokenizer: Any) -> None:
    with pytest.raises(InvalidParameter, match="cannot be enforced for the 'plain'"):
        bind(Constraint.tool_call([("f", None, "tools[0]")]), SPECS["plain"], tokenizer)
    with pytest.raises(InvalidParameter, match="no reasoning"):
        bind(Constraint(thinking_budget=10, field="thinking"), SPECS["plain"], tokenizer)


def test_unbound_constraint_is_a_programming_error(tokenizer: Any) -> None:
    guides = Guides(tokenizer, [tokenizer.eos_token_id])
    assert guides.start(None, 3) is None
    with pytest.raises(ValueError, match="bind"):
        guides.start(Constraint.json(), 3)
