import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
import pytest
from flama.llm.packaging import detect_capabilities, package, read_chat_template
from flama.models import load, read_meta

from examples.models import build_demo_model as builder

LLAMA = {"model_type": "llama", "max_position_embeddings": 4096}
PLAIN = (
    "{% for m in messages %}<{{ m.role }}>{{ m.content }}</s>{% endfor %}{% if add_generation_prompt %}<a>{% endif %}"
)
TOOLS = (
    "{% if tools %}{% for t in tools %}{{ t | tojson }}{% endfor %}{% endif %}"
    "{% for m in messages %}{% if m.role == 'tool' %}<r>{{ m.content }}</r>"
    "{% elif m.tool_calls %}{% for c in m.tool_calls %}<c>{{ c.function.name }}</c>{% endfor %}"
    "{% else %}<{{ m.role }}>{{ m.content }}{% endif %}{% endfor %}"
)
# Tool-call arguments concatenated as a JSON string (as DeepSeek's templates do): an object raises TypeError.
STRING_ARGUMENTS = (
    "{% for t in tools or [] %}{{ t.function.name }}{% endfor %}{% for m in messages %}{% if m.tool_calls %}"
    "{% for c in m.tool_calls %}{{ '<c>' + c.function.arguments + '</c>' }}{% endfor %}"
    "{% else %}{{ m.content }}{% endif %}{% endfor %}"
)
QWEN_THINKING = (
    PLAIN + "{% if enable_thinking is defined and enable_thinking is false %}<think>\n\n</think>\n\n{% endif %}"
)
ALWAYS_THINKING = PLAIN + "<think>\n"
NO_CAPABILITIES = {
    "chat_template": False,
    "tools": False,
    "reasoning": False,
    "vision": False,
    "audio": False,
    "context_length": 4096,
}


@pytest.fixture
def checkpoint_factory(tmp_path: Path) -> Callable[..., Path]:
    def build(config: dict[str, Any] | None = None, template: Any = None, **files: Any) -> Path:
        (tmp_path / "config.json").write_text(json.dumps(LLAMA if config is None else config))
        tokenizer_config: dict[str, Any] = {"tokenizer_class": "PreTrainedTokenizerFast"}
        if template is not None:
            tokenizer_config["chat_template"] = template
        (tmp_path / "tokenizer_config.json").write_text(json.dumps({**tokenizer_config, **files.pop("tokenizer", {})}))
        for name, text in files.items():
            (tmp_path / name.replace("_jinja", ".jinja").replace("_json", ".json")).write_text(text)
        return tmp_path

    return build


class TestCaseDetectCapabilities:
    def test_demo_model(self, tmp_path):
        directory = builder.write_checkpoint(tmp_path / "assistant")

        assert detect_capabilities(directory) == {
            "chat_template": True,
            "tools": True,
            "reasoning": True,
            "vision": False,
            "audio": False,
            "context_length": 2048,
        }

    @pytest.mark.parametrize(
        ("template", "expected"),
        [
            pytest.param(None, {}, id="no_template"),
            pytest.param(PLAIN, {"chat_template": True}, id="plain"),
            pytest.param(TOOLS, {"chat_template": True, "tools": True}, id="tools"),
            pytest.param(
                "{% if tools %}{{ raise_exception('Tools are not supported') }}{% endif %}" + PLAIN,
                {"chat_template": True},
                id="tools_refused",
            ),
            pytest.param(
                "{% if tools %}{{ tools | tojson }}{% endif %}"
                + PLAIN.replace("in messages", "in messages if m.role != 'tool'"),
                {"chat_template": True},
                id="tool_results_not_rendered",
            ),
            pytest.param(STRING_ARGUMENTS, {"chat_template": True, "tools": True}, id="tool_arguments_as_string"),
            pytest.param(QWEN_THINKING, {"chat_template": True, "reasoning": True}, id="qwen3_thinking_switch"),
            pytest.param(ALWAYS_THINKING, {"chat_template": True}, id="always_thinking"),
            pytest.param(
                "{% for m in messages %}{% generation %}{{ m.content }}{% endgeneration %}{% endfor %}",
                {"chat_template": True},
                id="generation_block",
            ),
            pytest.param(
                [{"name": "tool_use", "template": TOOLS}, {"name": "default", "template": QWEN_THINKING}],
                {"chat_template": True, "reasoning": True},
                id="named_templates_default",
            ),
        ],
    )
    def test_template(self, checkpoint_factory, template, expected):
        assert detect_capabilities(checkpoint_factory(template=template)) == {**NO_CAPABILITIES, **expected}

    def test_template_file_first(self, checkpoint_factory):
        directory = checkpoint_factory(template=PLAIN, chat_template_jinja=QWEN_THINKING)

        assert read_chat_template(directory) == QWEN_THINKING
        assert detect_capabilities(directory)["reasoning"] is True

    def test_processor_template(self, checkpoint_factory):
        directory = checkpoint_factory(chat_template_json=json.dumps({"chat_template": TOOLS}))

        assert read_chat_template(directory) == TOOLS
        assert detect_capabilities(directory)["tools"] is True

    def test_special_tokens(self, checkpoint_factory):
        directory = checkpoint_factory(
            template="{{ bos_token + '' }}" + PLAIN + "{% if tools %}{{ tools | tojson }}{% endif %}",
            tokenizer={"bos_token": {"__type": "AddedToken", "content": "<s>"}, "eos_token": "</s>"},
        )

        assert detect_capabilities(directory) == {**NO_CAPABILITIES, "chat_template": True, "tools": True}

    def test_template_needing_a_missing_special_token(self, checkpoint_factory):
        with pytest.raises(jinja2.UndefinedError, match=r"^'bos_token' is undefined$"):
            detect_capabilities(checkpoint_factory(template="{{ bos_token + '' }}" + PLAIN))

    def test_broken_template(self, checkpoint_factory):
        with pytest.raises(jinja2.TemplateSyntaxError, match=r"^Unexpected end of template"):
            detect_capabilities(checkpoint_factory(template="{% for m in messages %}"))

    def test_template_failing_on_a_user_message(self, checkpoint_factory):
        with pytest.raises(jinja2.TemplateError, match=r"^Only system messages$"):
            detect_capabilities(checkpoint_factory(template="{{ raise_exception('Only system messages') }}"))

    @pytest.mark.parametrize(
        ("config", "expected"),
        [
            pytest.param(
                {"model_type": "llava", "vision_config": {"hidden_size": 32}, "text_config": LLAMA},
                {"vision": True},
                id="vision_tower",
            ),
            pytest.param(
                {"model_type": "qwen2_audio", "audio_config": {"d_model": 32}, "text_config": LLAMA},
                {"audio": True},
                id="audio_tower",
            ),
            pytest.param(
                {"model_type": "gemma3n", "text_config": LLAMA, "vision_config": {}, "audio_config": {"a": 1}},
                {"audio": True},
                id="empty_vision_config",
            ),
            pytest.param({"model_type": "gpt2", "n_positions": 1024}, {"context_length": 1024}, id="gpt2_positions"),
            pytest.param({"model_type": "x"}, {"context_length": None}, id="unknown_context"),
        ],
    )
    def test_config(self, checkpoint_factory, config, expected):
        assert detect_capabilities(checkpoint_factory(config=config)) == {**NO_CAPABILITIES, **expected}

    @pytest.mark.parametrize(
        ("limit", "expected"),
        [
            pytest.param(8192, 8192, id="tokenizer_limit"),
            pytest.param(1000000000000000019884624838656, None, id="no_limit_sentinel"),
        ],
    )
    def test_context_from_tokenizer(self, checkpoint_factory, limit, expected):
        directory = checkpoint_factory(config={"model_type": "x"}, tokenizer={"model_max_length": limit})

        assert detect_capabilities(directory)["context_length"] == expected

    def test_no_config(self, tmp_path):
        with pytest.raises(FileNotFoundError):
            detect_capabilities(tmp_path)


class TestCasePackage:
    @pytest.fixture(scope="class")
    @classmethod
    def checkpoint(cls, tmp_path_factory: pytest.TempPathFactory) -> Path:
        return builder.write_checkpoint(tmp_path_factory.mktemp("package") / "assistant")

    def test_file(self, checkpoint, tmp_path):
        meta = package(
            checkpoint,
            tmp_path / "assistant.flm",
            extra={"owner": "tests"},
            capabilities={"context_length": 1024, "languages": ["en"]},
        )

        assert (meta.family, meta.framework.lib, meta.extra) == ("llm", "transformers", {"owner": "tests"})
        assert meta.capabilities == {
            "chat_template": True,
            "tools": True,
            "reasoning": True,
            "vision": False,
            "audio": False,
            "context_length": 1024,
            "languages": ["en"],
        }
        assert read_meta(tmp_path / "assistant.flm").capabilities == meta.capabilities
        with load(tmp_path / "assistant.flm") as artifact:
            assert artifact.directory is not None
            assert {path.name: path.read_bytes() for path in artifact.directory.iterdir()} == {
                path.name: path.read_bytes() for path in checkpoint.iterdir()
            }

    def test_stream(self, checkpoint):
        stream = io.BytesIO()

        meta = package(checkpoint, stream, compression="none")

        assert read_meta(io.BytesIO(stream.getvalue())) == meta
        assert meta.capabilities["context_length"] == 2048

    def test_not_a_checkpoint(self, tmp_path):
        with pytest.raises(FileNotFoundError, match=r"config\.json"):
            package(tmp_path, tmp_path / "model.flm")

        assert list(tmp_path.iterdir()) == []
