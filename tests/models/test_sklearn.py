import pathlib
import subprocess
import sys
import types

import numpy as np
import pytest
from flama.models import dump, load
from flama.models.serializers import serializer_for, serializer_for_lib
from flama.models.serializers.sklearn import SERIALIZER
from flama.models.serializers.skops_io import is_alias_module, skops_io


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


def _trap(name: str) -> types.ModuleType:
    """A lazy alias module, as transformers 5 registers them, whose every lookup fails as one of its targets does."""
    module = types.ModuleType(name)
    module.__file__ = None

    def lookup(attribute: str) -> object:
        raise NameError(f"name {attribute!r} is not defined")

    module.__getattr__ = lookup  # type: ignore[method-assign]
    return module


class TestCaseSkopsBesideAliasModules:
    """skops names a ufunc by looking it up in every loaded module; lazy alias modules stay out of that search."""

    def test_is_alias_module(self):
        assert is_alias_module(_trap("trap"))
        assert not is_alias_module(np)  # numpy computes some attributes too, but it is a file
        assert not is_alias_module(types.ModuleType("plain"))
        assert not is_alias_module(object())

    def test_aliases_out_of_sys_modules_while_skops_runs(self, monkeypatch):
        trap = _trap("flama_tests_alias_trap")
        monkeypatch.setitem(sys.modules, "flama_tests_alias_trap", trap)

        with skops_io() as skops:
            assert skops.__name__ == "skops.io"
            assert "flama_tests_alias_trap" not in sys.modules

        assert sys.modules["flama_tests_alias_trap"] is trap

    def test_in_a_process_that_imported_transformers(self, tmp_path):
        # The real case, in a fresh interpreter (skops reads sys.modules when it is first imported, too): an
        # application serving a transformers LLM loads a skops model afterwards.
        script = (
            "import sys, numpy as np, transformers\n"
            "from sklearn.preprocessing import FunctionTransformer\n"
            "from flama.models import dump, load\n"
            "assert 'skops' not in sys.modules\n"
            "dump(FunctionTransformer(func=np.log1p), sys.argv[1], format='skops')\n"
            "with load(sys.argv[1]) as artifact:\n"
            "    print(artifact.model.transform(np.array([[1.0]])).tolist())\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", script, str(tmp_path / "m.flm")], capture_output=True, text=True, timeout=300
        )

        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.strip() == str([[float(np.log1p(1.0))]])
