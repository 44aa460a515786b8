"""Fixtures for flama-llm's tests: the demo model (``examples/models/assistant.flm``) and its expected replies."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flama.models import load

from examples.models import build_demo_model

MODELS = Path(build_demo_model.__file__).parent
DEMO_MODEL = MODELS / build_demo_model.FLM_NAME


@pytest.fixture(scope="session")
def demo_model_dir() -> Iterator[Path]:
    """The demo model's checkpoint directory (config, weights, tokenizer, chat template), extracted once a session.

    Read-only: tests that change files copy it first.
    """
    with load(DEMO_MODEL) as artifact:
        assert artifact.directory is not None
        yield artifact.directory


@pytest.fixture(scope="session")
def demo_expectations() -> dict[str, dict[str, Any]]:
    """``assistant.expect.json``'s conversations by id: messages, tools, template kwargs, prompt, exact reply."""
    expectations = json.loads((MODELS / build_demo_model.EXPECT_NAME).read_text(encoding="utf-8"))
    return {conversation["id"]: conversation for conversation in expectations["conversations"]}
