import datetime

import pytest
from flama.models import CorruptedFile, FrameworkInfo, Metadata, ModelInfo

META = Metadata(
    id="m-1",
    timestamp=datetime.datetime(2026, 5, 6, 7, 8, 9, tzinfo=datetime.timezone.utc),
    family="llm",
    framework=FrameworkInfo(lib="transformers", version="4.57.0", config={"task": "text-generation"}),
    model=ModelInfo(obj="x.Llama", info={"input": {"type": "string"}}, params={"p": 1}, metrics={"m": 0.5}),
    extra={"owner": "fish"},
    capabilities={"tools": True},
    checksums={"model": "ab" * 32},
)


class TestCaseMetadata:
    def test_to_dict_uses_flama2_keys(self):
        assert META.to_dict() == {
            "id": "m-1",
            "timestamp": "2026-05-06T07:08:09+00:00",
            "framework": {
                "family": "llm",
                "lib": "transformers",
                "version": "4.57.0",
                "config": {"task": "text-generation"},
            },
            "model": {
                "obj": "x.Llama",
                "info": {"input": {"type": "string"}},
                "params": {"p": 1},
                "metrics": {"m": 0.5},
            },
            "extra": {"owner": "fish"},
            "capabilities": {"kind": "llm", "tools": True},
            "checksums": {"model": "ab" * 32},
        }

    def test_round_trip(self):
        assert Metadata.from_dict(META.to_dict()) == META

    def test_minimal_flama2_document(self):
        meta = Metadata.from_dict(
            {
                "id": "0c3c5f2e-0000-0000-0000-000000000000",
                "timestamp": "2024-01-01T00:00:00",
                "framework": {"lib": "sklearn", "version": "1.4.0"},
                "model": {"obj": "LogisticRegression", "info": None},
                "extra": None,
            }
        )

        assert meta.family == "ml"
        assert meta.framework == FrameworkInfo(lib="sklearn", version="1.4.0", config=None)
        assert meta.model == ModelInfo(obj="LogisticRegression")
        assert meta.capabilities == {}
        assert meta.checksums == {}

    def test_empty_optional_sections_are_omitted(self):
        meta = Metadata(id="a", timestamp=META.timestamp, family="ml", framework=FrameworkInfo(lib="sklearn"))

        assert "capabilities" not in meta.to_dict()
        assert "checksums" not in meta.to_dict()

    @pytest.mark.parametrize(
        ("document", "message"),
        [
            pytest.param({"timestamp": "2024-01-01", "framework": {"lib": "x"}}, r"KeyError: 'id'", id="no-id"),
            pytest.param(
                {"id": "a", "timestamp": "yesterday", "framework": {"lib": "x"}}, r"ValueError", id="bad-date"
            ),
            pytest.param(
                {"id": "a", "timestamp": "2024-01-01", "framework": {"lib": "x", "family": "cv"}},
                r"unknown family 'cv'",
                id="bad-family",
            ),
        ],
    )
    def test_invalid(self, document, message):
        with pytest.raises(CorruptedFile, match=rf"Corrupted \.flm file: metadata: .*{message}"):
            Metadata.from_dict(document)
