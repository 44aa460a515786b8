import pathlib

import pytest
from flama.models import dump, load
from flama.models.serializers import serializer_for, serializer_for_lib
from flama.models.serializers.sklearn import SERIALIZER


class TestCaseSklearnSerializer:
    def test_resolution(self, sklearn_factory):
        model, _ = sklearn_factory()

        assert serializer_for(model) is SERIALIZER
        assert serializer_for_lib("sklearn") is SERIALIZER
        assert SERIALIZER.accepts(model)
        assert not SERIALIZER.accepts(object())
        assert (SERIALIZER.lib, SERIALIZER.distribution, SERIALIZER.bundle) == ("sklearn", "scikit-learn", False)

    def test_describe(self, sklearn_factory):
        model, _ = sklearn_factory(features=2)

        described = SERIALIZER.describe(model)

        assert described["obj"] == "sklearn.linear_model._logistic.LogisticRegression"
        assert described["params"]["solver"] == "lbfgs"
        assert described["info"] == {
            "input": {
                "type": "array",
                "items": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
            }
        }

    def test_describe_unfitted_pipeline(self):
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler

        described = SERIALIZER.describe(Pipeline([("scale", StandardScaler())]))

        assert described["params"]["steps"] == [["scale", "StandardScaler()"]]
        assert "info" not in described

    def test_pickle_payload_is_base64(self, sklearn_factory, tmp_path):
        SERIALIZER.dump(sklearn_factory()[0], tmp_path / "payload")

        assert (tmp_path / "payload").read_bytes()[:4] == b"gAWV"  # base64 of a pickle protocol 5 header

    def test_skops(self, sklearn_factory, tmp_path):
        model, inputs = sklearn_factory()

        meta = dump(model, tmp_path / "m.flm", format="skops")

        assert meta.framework.config == {"format": "skops"}
        with load(tmp_path / "m.flm") as artifact:
            assert artifact.payload.read_bytes()[:4] == b"PK\x03\x04"
            assert artifact.model.predict(inputs).tolist() == model.predict(inputs).tolist()

    def test_unknown_format(self, sklearn_factory, tmp_path):
        with pytest.raises(ValueError, match=r"Unknown sklearn format 'joblib' \(use 'pickle' or 'skops'\)"):
            dump(sklearn_factory()[0], tmp_path / "m.flm", format="joblib")
        assert not pathlib.Path(tmp_path / "m.flm").exists()

    def test_unknown_option(self, sklearn_factory, tmp_path):
        with pytest.raises(TypeError, match=r"Unknown sklearn dump options: level"):
            dump(sklearn_factory()[0], tmp_path / "m.flm", level=3)
