import os

os.environ.setdefault("KERAS_BACKEND", "torch")  # TensorFlow is not installed; the torch backend runs Keras here

import base64
import json
import pathlib
import re
import typing as t
import zipfile

import flama
import numpy as np
import pytest
from flama.models import CorruptedFile, UnverifiedFileWarning
from flama.models.serializers.keras import SERIALIZER, KerasSerializer
from flama.models.serializers.tensorflow import SERIALIZER as TENSORFLOW
from flama.models.serializers.tensorflow import TensorflowSerializer

from tests.libraries import require
from tests.models.fixtures import flama2
from tests.models.fixtures.models import keras_model

keras = require("keras")

FLAMA2 = flama2.HERE

# Keras's torch backend turns its variables into numpy arrays through an `__array__` without numpy 2's `copy` keyword.
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)


def round_trip(model: t.Any, directory: pathlib.Path, **options: t.Any) -> t.Any:
    path = directory / "payload"
    SERIALIZER.dump(model, path, **options)
    return SERIALIZER.load(path)


def two_inputs_model() -> t.Any:
    left, right = keras.Input(shape=(2,), name="left"), keras.Input(shape=(3,), dtype="int32", name="right")
    doubled = keras.layers.Lambda(lambda x: x * 2, output_shape=(2,))(left)
    return keras.Model([left, right], [keras.layers.Dense(1)(doubled), keras.layers.Identity()(right)])


class TestCaseKerasSerializer:
    def test_attributes(self):
        assert isinstance(SERIALIZER, KerasSerializer)
        assert (SERIALIZER.lib, SERIALIZER.distribution, SERIALIZER.bundle) == ("keras", "keras", False)
        assert SERIALIZER.version() == keras.__version__

    @pytest.mark.parametrize(
        ("obj", "accepted"),
        [
            pytest.param(keras_model(), True, id="sequential"),
            pytest.param(keras.layers.Dense(2), True, id="layer"),
            pytest.param(object(), False, id="object"),
            pytest.param(np.zeros(2), False, id="array"),
        ],
    )
    def test_accepts(self, obj, accepted):
        assert KerasSerializer.accepts(obj) is accepted

    def test_family(self):
        assert SERIALIZER.family(keras_model()) == "ml"

    def test_round_trip(self, tmp_path):
        model = keras_model()
        x = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")

        loaded = round_trip(model, tmp_path)

        assert isinstance(loaded, keras.Sequential)
        np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
        assert base64.decodebytes((tmp_path / "payload").read_bytes()).startswith(b"PK\x03\x04")

    def test_round_trip_bare_archive(self, tmp_path):
        model = keras_model()
        x = np.ones((2, 4), dtype="float32")

        loaded = round_trip(model, tmp_path, flama2=False)

        assert "config.json" in zipfile.ZipFile(tmp_path / "payload").namelist()
        assert not (tmp_path / "payload.keras").exists()
        np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))

    def test_load_refuses_lambda_in_safe_mode(self, tmp_path):
        path = tmp_path / "payload"
        SERIALIZER.dump(two_inputs_model(), path)

        with pytest.raises(ValueError, match=r"Requested the deserialization of a `Lambda` layer"):
            SERIALIZER.load(path)

    def test_load_lambda_unsafe(self, tmp_path):
        model = two_inputs_model()
        x = [np.ones((2, 2), dtype="float32"), np.ones((2, 3), dtype="int32")]
        path = tmp_path / "payload"
        SERIALIZER.dump(model, path)

        loaded = SERIALIZER.load(path, safe_mode=False)

        for got, expected in zip(loaded.predict(x, verbose=0), model.predict(x, verbose=0), strict=True):
            np.testing.assert_array_equal(got, expected)

    def test_load_flama2_payload(self):
        model = keras_model()
        x = np.random.default_rng(1).normal(size=(3, 4)).astype("float32")

        loaded = SERIALIZER.load(FLAMA2 / "tensorflow.payload")

        np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))

    def test_load_hdf5(self, tmp_path):
        model = keras_model()
        x = np.ones((2, 4), dtype="float32")
        keras.saving.save_model(model, tmp_path / "model.h5")
        (tmp_path / "payload").write_bytes(base64.encodebytes((tmp_path / "model.h5").read_bytes()))

        loaded = SERIALIZER.load(tmp_path / "payload", compile=False)

        np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=0, atol=0)

    @pytest.mark.parametrize(
        "content",
        [
            pytest.param(b"\x00\x01 not keras", id="garbage"),
            pytest.param(b"", id="empty"),
            pytest.param(base64.encodebytes(b"\x00 decoded, still garbage"), id="base64"),
        ],
    )
    def test_load_unsupported(self, tmp_path, content):
        (tmp_path / "payload").write_bytes(content)
        message = "Corrupted .flm file: keras payload 'payload': neither a .keras archive nor an HDF5 file"

        with pytest.raises(CorruptedFile, match=f"^{re.escape(message)}$"):
            SERIALIZER.load(tmp_path / "payload")

    @pytest.mark.parametrize(
        "obj",
        [pytest.param(object(), id="object"), pytest.param(keras.layers.Dense(2), id="layer")],
    )
    def test_dump_unsupported(self, tmp_path, obj):
        message = f"Cannot save {type(obj).__name__}: a keras.Model is expected"

        with pytest.raises(TypeError, match=f"^{re.escape(message)}$"):
            SERIALIZER.dump(obj, tmp_path / "payload")

        assert list(tmp_path.iterdir()) == []

    def test_describe(self):
        assert SERIALIZER.describe(keras_model()) == {
            "obj": "keras.src.models.sequential.Sequential",
            "params": {"parameters": 67},
            "info": {
                "input": {
                    "type": "array",
                    "items": {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4},
                    "x-dtype": "float32",
                    "x-shape": [None, 4],
                },
                "output": {
                    "type": "array",
                    "items": {"type": "array", "items": {"type": "number"}, "minItems": 3, "maxItems": 3},
                    "x-dtype": "float32",
                    "x-shape": [None, 3],
                },
            },
        }

    def test_describe_several_inputs(self):
        info = SERIALIZER.describe(two_inputs_model())["info"]

        assert info["input"]["items"] is False
        assert [schema["x-dtype"] for schema in info["input"]["prefixItems"]] == ["float32", "int32"]
        assert info["input"]["prefixItems"][1]["items"]["items"] == {"type": "integer"}
        assert [schema["x-shape"] for schema in info["output"]["prefixItems"]] == [[None, 1], [None, 3]]

    def test_describe_unbuilt(self):
        assert SERIALIZER.describe(keras.Sequential([keras.layers.Dense(2)])) == {
            "obj": "keras.src.models.sequential.Sequential"
        }


class NotKeras:
    """Stands for a `tf.Module`: the serializer judges by module name, and TensorFlow is not installed here."""


NotKeras.__module__ = "tensorflow.python.module.module"


class TestCaseTensorflowSerializer:
    def test_attributes(self):
        assert isinstance(TENSORFLOW, TensorflowSerializer)
        assert (TENSORFLOW.lib, TENSORFLOW.distribution, TENSORFLOW.bundle) == ("tensorflow", "tensorflow", False)
        assert TENSORFLOW.version() == keras.__version__  # TensorFlow is not installed here

    @pytest.mark.parametrize(
        ("obj", "accepted"),
        [
            pytest.param(NotKeras(), True, id="tf-module"),
            pytest.param(keras_model(), False, id="keras"),
            pytest.param(object(), False, id="object"),
        ],
    )
    def test_accepts(self, obj, accepted):
        assert TensorflowSerializer.accepts(obj) is accepted

    def test_round_trip_keras_model(self, tmp_path):
        model = keras_model()
        x = np.ones((3, 4), dtype="float32")
        path = tmp_path / "payload"

        TENSORFLOW.dump(model, path)
        loaded = TENSORFLOW.load(path)

        assert path.read_bytes() != b""
        assert base64.decodebytes(path.read_bytes()).startswith(b"PK\x03\x04")
        np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))

    def test_load_flama2_payload(self):
        model = keras_model()
        x = np.ones((2, 4), dtype="float32")

        loaded = TENSORFLOW.load(FLAMA2 / "tensorflow.payload")

        np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))

    def test_dump_module_without_tensorflow(self, tmp_path):
        message = "TensorFlow is not installed: it is needed to save NotKeras as a SavedModel (pip install tensorflow)"

        with pytest.raises(ModuleNotFoundError, match=f"^{re.escape(message)}$") as exc_info:
            TENSORFLOW.dump(NotKeras(), tmp_path / "payload")

        assert exc_info.value.name == "tensorflow"
        assert not (tmp_path / "payload").exists()

    def test_load_saved_model_without_tensorflow(self, tmp_path):
        with zipfile.ZipFile(tmp_path / "payload", "w") as archive:
            archive.writestr("saved_model.pb", b"\x08\x01")
            archive.writestr("variables/variables.index", b"")
        message = (
            "TensorFlow is not installed: it is needed to load the SavedModel in 'payload' (pip install tensorflow)"
        )

        with pytest.raises(ModuleNotFoundError, match=f"^{re.escape(message)}$"):
            TENSORFLOW.load(tmp_path / "payload")

    @pytest.mark.parametrize(
        ("files", "message"),
        [
            pytest.param(
                None,
                "Corrupted .flm file: tensorflow payload 'payload': not a Keras file nor a zipped SavedModel",
                id="garbage",
            ),
            pytest.param(
                {"readme.txt": b"hello"},
                "Corrupted .flm file: tensorflow payload 'payload': a zip archive without saved_model.pb",
                id="zip",
            ),
        ],
    )
    def test_load_unsupported(self, tmp_path, files, message):
        path = tmp_path / "payload"
        if files is None:
            path.write_bytes(b"PK\x03\x04 truncated")
        else:
            with zipfile.ZipFile(path, "w") as archive:
                for name, content in files.items():
                    archive.writestr(name, content)

        with pytest.raises(CorruptedFile, match=f"^{re.escape(message)}$"):
            TENSORFLOW.load(path)


class TestCaseKerasArtifact:
    def test_round_trip(self, tmp_path):
        model = keras_model()
        x = np.ones((2, 4), dtype="float32")

        meta = flama.dump(model, tmp_path / "model.flm")

        assert (meta.family, meta.framework.lib, meta.framework.version) == ("ml", "keras", keras.__version__)
        assert meta.model.obj == "keras.src.models.sequential.Sequential"
        assert meta.model.params == {"parameters": 67}
        with flama.load(tmp_path / "model.flm") as artifact:
            assert artifact.meta == meta
            np.testing.assert_array_equal(artifact.model.predict(x, verbose=0), model.predict(x, verbose=0))

    def test_load_flama2_file(self):
        model = keras_model()
        x = np.ones((2, 4), dtype="float32")

        # Flama 2.x wrote no checksums; a .keras archive loads in safe mode with no trust needed.
        with pytest.warns(UnverifiedFileWarning):
            artifact = flama.load(FLAMA2 / "tensorflow.flm")
        with artifact:
            assert (artifact.meta.family, artifact.meta.framework.lib) == ("ml", "tensorflow")
            np.testing.assert_array_equal(artifact.model.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.slow
class TestCaseKerasInFlama2:
    def test_load_in_flama2(self, tmp_path):
        model = keras_model()
        flama.dump(model, tmp_path / "model.flm")

        run = flama2.check(tmp_path / "model.flm")

        assert run.returncode == 0, run.stderr
        expected = model.predict(np.array(flama2.INPUT, dtype="float32"), verbose=0).tolist()
        assert json.loads(run.stdout) == {"lib": "keras", "output": expected}
