import pathlib
import re
import typing as t

import flama
import pytest
import transformers
from flama.models.serializers.transformers import SERIALIZER, TransformersSerializer
from tokenizers import Tokenizer, models, pre_tokenizers

from tests.libraries import require

if t.TYPE_CHECKING:
    import torch
else:
    torch = require("torch")

WORDS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello", "world", "good", "bad", "movie")
TEXTS = ["hello world", "good movie", "bad bad movie"]


@pytest.fixture(autouse=True)
def quiet_transformers():
    # Loading and saving draw progress bars on stderr; they say nothing a test reads.
    transformers.utils.logging.disable_progress_bar()
    yield
    transformers.utils.logging.enable_progress_bar()


def tokenizer() -> t.Any:
    backend = Tokenizer(models.WordLevel({word: i for i, word in enumerate(WORDS)}, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]"
    )


def classifier() -> t.Any:
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=len(WORDS),
        hidden_size=8,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=16,
        max_position_embeddings=32,
        num_labels=2,
    )
    return transformers.BertForSequenceClassification(config).eval()


def causal_lm() -> t.Any:
    torch.manual_seed(0)
    config = transformers.LlamaConfig(
        vocab_size=len(WORDS),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=32,
    )
    return transformers.LlamaForCausalLM(config).eval()


def pipeline() -> t.Any:
    return transformers.pipeline("text-classification", model=classifier(), tokenizer=tokenizer())


def logits(model: t.Any) -> torch.Tensor:
    with torch.no_grad():
        return model(input_ids=torch.tensor([[4, 5, 6, 8]])).logits


class TestCaseTransformersSerializer:
    def test_attributes(self):
        assert isinstance(SERIALIZER, TransformersSerializer)
        assert (SERIALIZER.lib, SERIALIZER.distribution, SERIALIZER.bundle) == ("transformers", "transformers", True)
        assert SERIALIZER.version() == transformers.__version__

    @pytest.mark.parametrize(
        ("factory", "accepted"),
        [
            pytest.param(pipeline, True, id="pipeline"),
            pytest.param(causal_lm, True, id="model"),
            pytest.param(tokenizer, True, id="tokenizer"),
            pytest.param(lambda: torch.nn.Linear(2, 2), False, id="torch"),
            pytest.param(lambda: pathlib.Path("."), False, id="path"),
        ],
    )
    def test_accepts(self, factory, accepted):
        assert TransformersSerializer.accepts(factory()) is accepted

    @pytest.mark.parametrize(
        ("factory", "family"),
        [
            pytest.param(pipeline, "ml", id="classifier-pipeline"),
            pytest.param(classifier, "ml", id="classifier"),
            pytest.param(causal_lm, "llm", id="causal-lm"),
            pytest.param(
                lambda: transformers.pipeline("text-generation", model=causal_lm(), tokenizer=tokenizer()),
                "llm",
                id="generation-pipeline",
            ),
        ],
    )
    def test_family(self, factory, family):
        assert SERIALIZER.family(factory()) == family

    @pytest.mark.parametrize(
        ("config", "family"),
        [
            pytest.param('{"architectures": ["LlamaForCausalLM"]}', "llm", id="causal-lm"),
            pytest.param('{"architectures": ["BertModel"]}', "ml", id="encoder"),
            pytest.param('{"model_type": "bert"}', "ml", id="no-architectures"),
            pytest.param("not json", "ml", id="broken"),
            pytest.param(None, "ml", id="no-config"),
        ],
    )
    def test_family_of_directory(self, tmp_path, config, family):
        if config is not None:
            (tmp_path / "config.json").write_text(config)

        assert SERIALIZER.family(tmp_path) == family

    def test_round_trip_pipeline(self, tmp_path):
        original = pipeline()
        destination = tmp_path / "bundle"

        SERIALIZER.dump(original, destination)
        config = SERIALIZER.config(original)
        loaded = SERIALIZER.load(destination, task="text-classification")

        assert config == {"task": "text-classification"}
        assert sorted(path.name for path in destination.iterdir()) == [
            "config.json",
            "model.safetensors",
            "tokenizer.json",
            "tokenizer_config.json",
        ]
        assert isinstance(loaded, transformers.TextClassificationPipeline)
        assert loaded.task == "text-classification"
        assert loaded(TEXTS) == original(TEXTS)

    def test_round_trip_model_with_tokenizer(self, tmp_path):
        model = causal_lm()
        destination = tmp_path / "bundle"

        SERIALIZER.dump(model, destination, tokenizer=tokenizer())
        loaded = SERIALIZER.load(destination, **(SERIALIZER.config(model) or {}))

        assert SERIALIZER.config(model) is None
        assert (destination / "tokenizer.json").is_file()
        assert type(loaded) is transformers.LlamaForCausalLM
        assert torch.equal(logits(loaded), logits(model))
        assert SERIALIZER.family(destination) == "llm"

    def test_round_trip_directory(self, tmp_path):
        model = classifier()
        checkpoint = tmp_path / "checkpoint"
        model.save_pretrained(checkpoint)
        destination = tmp_path / "bundle"

        SERIALIZER.dump(checkpoint, destination)
        loaded = SERIALIZER.load(destination)

        assert sorted(p.name for p in destination.iterdir()) == sorted(p.name for p in checkpoint.iterdir())
        assert type(loaded) is transformers.BertForSequenceClassification
        assert torch.equal(logits(loaded), logits(model))

    def test_load_flama2_config(self, tmp_path):
        # Flama 2.x recorded the framework beside the task; transformers 5 has no such parameter.
        SERIALIZER.dump(pipeline(), tmp_path / "bundle")

        loaded = SERIALIZER.load(tmp_path / "bundle", task="text-classification", framework="pt")

        assert loaded(TEXTS) == pipeline()(TEXTS)

    def test_load_without_architectures(self, tmp_path):
        model = classifier()
        model.save_pretrained(tmp_path)
        config = (tmp_path / "config.json").read_text()
        (tmp_path / "config.json").write_text(re.sub(r'"architectures": \[[^]]*\],', "", config))

        loaded = SERIALIZER.load(tmp_path)

        assert type(loaded) is transformers.BertModel

    @pytest.mark.parametrize(
        "obj",
        [pytest.param(object(), id="object"), pytest.param(torch.nn.Linear(2, 2), id="torch")],
    )
    def test_dump_unsupported(self, tmp_path, obj):
        name = type(obj).__name__
        message = f"Cannot bundle {name}: a transformers pipeline, model or checkpoint directory is expected"

        with pytest.raises(TypeError, match=f"^{re.escape(message)}$"):
            SERIALIZER.dump(obj, tmp_path / "bundle")

        assert not (tmp_path / "bundle").exists()

    def test_describe_pipeline(self):
        description = SERIALIZER.describe(pipeline())

        assert description["obj"] == "transformers.pipelines.text_classification.TextClassificationPipeline"
        assert description["info"]["task"] == "text-classification"
        assert description["info"]["model"] == "transformers.models.bert.modeling_bert.BertForSequenceClassification"
        assert description["info"]["config"]["hidden_size"] == 8
        assert description["info"]["config"]["model_type"] == "bert"

    def test_describe_model(self):
        description = SERIALIZER.describe(causal_lm())

        assert description["obj"] == "transformers.models.llama.modeling_llama.LlamaForCausalLM"
        assert list(description["info"]) == ["config"]
        assert description["info"]["config"]["num_hidden_layers"] == 1

    def test_describe_directory(self, tmp_path):
        (tmp_path / "config.json").write_text('{"model_type": "llama", "architectures": ["LlamaForCausalLM"]}')

        assert SERIALIZER.describe(tmp_path) == {
            "obj": None,
            "info": {"config": {"model_type": "llama", "architectures": ["LlamaForCausalLM"]}},
        }
        assert SERIALIZER.describe(tmp_path / "missing") == {"obj": None}


class TestCaseTransformersArtifact:
    def test_round_trip_pipeline(self, tmp_path):
        original = pipeline()

        meta = flama.dump(original, tmp_path / "model.flm")

        assert (meta.family, meta.framework.lib) == ("ml", "transformers")
        assert meta.framework.config == {"task": "text-classification"}
        assert meta.model.info is not None
        assert meta.model.info["task"] == "text-classification"
        with flama.load(tmp_path / "model.flm") as artifact:
            assert artifact.directory is not None
            assert (artifact.directory / "tokenizer.json").is_file()
            assert isinstance(artifact.model, transformers.TextClassificationPipeline)
            assert artifact.model(TEXTS) == original(TEXTS)

    def test_round_trip_causal_lm(self, tmp_path):
        model = causal_lm()

        meta = flama.dump(model, tmp_path / "model.flm", tokenizer=tokenizer())

        assert (meta.family, meta.framework.lib, meta.framework.config) == ("llm", "transformers", None)
        with flama.load(tmp_path / "model.flm") as artifact:
            assert artifact.directory is not None
            assert (artifact.directory / "tokenizer.json").is_file()
            assert torch.equal(logits(artifact.model), logits(model))

    def test_round_trip_checkpoint_directory(self, tmp_path):
        model = causal_lm()
        model.save_pretrained(tmp_path / "checkpoint")

        meta = flama.dump(tmp_path / "checkpoint", tmp_path / "model.flm", lib="transformers")

        assert (meta.family, meta.framework.lib) == ("llm", "transformers")
        with flama.load(tmp_path / "model.flm") as artifact:
            assert type(artifact.model) is transformers.LlamaForCausalLM
            assert torch.equal(logits(artifact.model), logits(model))
