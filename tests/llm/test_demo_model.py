import json
from pathlib import Path
from typing import Any

import pytest
from flama.llm.decoder import Decoder, detect_spec
from flama.llm.events import BlockDelta, BlockStart, Event
from flama.models import read_meta

from examples.models import build_demo_model as builder
from tests.libraries import needs
from tests.llm.conftest import DEMO_MODEL

CHECKPOINT_FILES = [
    "config.json",
    "generation_config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
]


def conversations(expectations: dict[str, dict[str, Any]]) -> list[builder.Conversation]:
    return [
        builder.Conversation(
            id=record["id"],
            messages=record["messages"],
            reply=record["reply"],
            tools=record["tools"],
            template_kwargs=record["template_kwargs"],
        )
        for record in expectations.values()
    ]


class TestCaseDemoModelFile:
    def test_metadata(self):
        meta = read_meta(DEMO_MODEL)

        assert (meta.family, meta.framework.lib) == ("llm", "transformers")
        assert meta.capabilities == {
            "chat_template": True,
            "tools": True,
            "reasoning": True,
            "vision": False,
            "audio": False,
            "context_length": 2048,
        }
        assert list(meta.checksums) == ["model"]

    def test_small(self):
        assert DEMO_MODEL.stat().st_size < 1 << 20

    def test_extracted_checkpoint(self, demo_model_dir):
        assert sorted(path.name for path in demo_model_dir.iterdir()) == CHECKPOINT_FILES
        config = json.loads((demo_model_dir / "config.json").read_text())
        assert (config["model_type"], config["hidden_size"], config["num_hidden_layers"]) == ("llama", 64, 2)
        tokenizer_config = json.loads((demo_model_dir / "tokenizer_config.json").read_text())
        assert tokenizer_config["chat_template"] == builder.CHAT_TEMPLATE


class TestCaseDemoModelReplies:
    def test_expectations_cover_text_thinking_and_tool_call(self, demo_expectations):
        assert list(demo_expectations) == [conversation.id for conversation in builder.CONVERSATIONS]
        assert demo_expectations["thinking"]["prompt"].endswith("<|begin|>assistant\n<think>\n")
        assert "</think>\n" in demo_expectations["thinking"]["reply"]
        assert demo_expectations["tool_call"]["reply"] == (
            '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'
        )
        assert demo_expectations["plain"]["prompt"] == "<|begin|>user\nHello! Who are you?<|end|>\n<|begin|>assistant\n"

    @needs("torch")
    def test_transformers_reproduces_every_reply(self, demo_model_dir, demo_expectations):
        replies = builder.generate_transformers(demo_model_dir, conversations(demo_expectations))

        assert replies == {key: (record["reply"], "stop") for key, record in demo_expectations.items()}

    def test_mlx_reproduces_every_reply(self, demo_model_dir, demo_expectations):
        replies = builder.generate_mlx(demo_model_dir, conversations(demo_expectations))

        assert replies == {key: (record["reply"], "stop") for key, record in demo_expectations.items()}


@pytest.fixture(scope="module")
def random_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return builder.write_checkpoint(tmp_path_factory.mktemp("random") / "assistant")


class TestCaseDemoModelBuild:
    def test_files(self, random_dir):
        assert sorted(path.name for path in random_dir.iterdir()) == CHECKPOINT_FILES
        config = json.loads((random_dir / "config.json").read_text())
        assert (config["model_type"], config["hidden_size"], config["num_hidden_layers"]) == ("llama", 64, 2)
        assert config["vocab_size"] == builder.VOCAB_SIZE
        end = config["eos_token_id"]
        assert json.loads((random_dir / "generation_config.json").read_text())["eos_token_id"] == [end]

    def test_tokenizer_markers_are_single_tokens(self, random_dir):
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(random_dir / "tokenizer.json"))
        text = "<|begin|>assistant\n<think>\nhm\n</think>\n<tool_call>\n{}\n</tool_call><|end|>"
        tokens = tokenizer.encode(text).tokens

        for marker in ("<|begin|>", "<think>", "</think>", "<tool_call>", "</tool_call>", "<|end|>"):
            assert tokens.count(marker) == 1
        assert tokenizer.decode(tokenizer.encode(text).ids, skip_special_tokens=False) == text
        assert (
            tokenizer.decode(tokenizer.encode(text).ids)
            == "assistant\n<think>\nhm\n</think>\n<tool_call>\n{}\n</tool_call>"
        )

    @needs("torch")
    def test_transformers_loads_the_random_build(self, random_dir, demo_expectations):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(random_dir)
        model = AutoModelForCausalLM.from_pretrained(random_dir)

        assert type(model).__name__ == "LlamaForCausalLM"
        assert sum(parameter.numel() for parameter in model.parameters()) == 131_392
        for conversation in conversations(demo_expectations):
            assert conversation.render(tokenizer) == demo_expectations[conversation.id]["prompt"]

    def test_mlx_loads_the_random_build(self, random_dir, demo_expectations):
        from mlx_lm import load

        model, tokenizer = load(str(random_dir))[:2]

        assert model.args.model_type == "llama"
        assert tokenizer.eos_token_ids == {json.loads((random_dir / "config.json").read_text())["eos_token_id"]}
        for conversation in conversations(demo_expectations):
            assert conversation.render(tokenizer) == demo_expectations[conversation.id]["prompt"]

    def test_command_line_random_build(self, tmp_path, capsys):
        assert builder.main(["--random", "--directory", str(tmp_path / "assistant")]) == 0

        assert sorted(path.name for path in (tmp_path / "assistant").iterdir()) == CHECKPOINT_FILES
        assert f"checkpoint written to {tmp_path / 'assistant'}" in capsys.readouterr().err

    def test_command_line_random_needs_a_directory(self, capsys):
        with pytest.raises(SystemExit) as exc_info:
            builder.main(["--random"])

        assert exc_info.value.code == 2
        assert "error: --random writes a checkpoint directory only: give --directory" in capsys.readouterr().err


def blocks(events: list[Event]) -> list[tuple[str, str | None, str]]:
    found: dict[int, tuple[str, str | None, str]] = {}
    for event in events:
        if isinstance(event, BlockStart):
            found[event.index] = (event.kind, event.tool_name, "")
        elif isinstance(event, BlockDelta):
            kind, name, text = found[event.index]
            found[event.index] = (kind, name, text + event.text)
    return list(found.values())


class TestCaseDemoModelDecoding:
    @pytest.mark.parametrize(
        ("key", "expected", "tool_called"),
        [
            pytest.param("plain", [("text", None, "Hello! I am the tiny demo assistant of Flama.")], False, id="plain"),
            pytest.param(
                "thinking",
                [
                    ("thinking", None, "The user asks for 2 + 3. Two plus three is five."),
                    ("text", None, "The answer is 5."),
                ],
                False,
                id="thinking",
            ),
            pytest.param("no_thinking", [("text", None, "The answer is 5.")], False, id="no_thinking"),
            pytest.param("tool_call", [("tool_call", "get_weather", '{"city": "Paris"}')], True, id="tool_call"),
        ],
    )
    def test_reply_blocks(self, demo_expectations, key, expected, tool_called):
        record = demo_expectations[key]
        spec = detect_spec(builder.CHAT_TEMPLATE, [*builder.SPECIAL_TOKENS, *builder.MARKER_TOKENS])
        decoder = Decoder(spec.for_prompt(record["prompt"]))

        events = [event for character in record["reply"] for event in decoder.feed(character)] + decoder.finish()

        assert blocks(events) == expected
        assert decoder.tool_called is tool_called
