"""Fixtures for flama-llm's tests: the demo model (``examples/models/assistant.flm``) and its expected replies."""

import json
from pathlib import Path
from typing import Any

import pytest

from examples.models import build_demo_model

MODELS = Path(build_demo_model.__file__).parent


@pytest.fixture(scope="session")
def demo_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo model's checkpoint directory (config, weights, tokenizer, chat template), shared by the session.

    Read-only: tests that change files copy it first.
    """
    return build_demo_model.build(tmp_path_factory.mktemp("demo-model") / "assistant")


@pytest.fixture(scope="session")
def demo_expectations() -> dict[str, dict[str, Any]]:
    """``assistant.expect.json``'s conversations by id: messages, tools, template kwargs, prompt, exact reply."""
    expectations = json.loads((MODELS / build_demo_model.EXPECT_NAME).read_text(encoding="utf-8"))
    return {conversation["id"]: conversation for conversation in expectations["conversations"]}
