"""TensorFlow models: Keras models as `.keras` archives, other `tf.Module`s as a zipped SavedModel."""

from __future__ import annotations

import pathlib
import tempfile
import typing as t
import zipfile

from flama.models.exceptions import CorruptedFile
from flama.models.serializers.base import Serializer
from flama.models.serializers.keras import SERIALIZER as KERAS
from flama.models.serializers.keras import load_keras_file

__all__ = ["SERIALIZER", "TensorflowSerializer"]

_SAVED_MODEL: t.Final = "saved_model.pb"


def _tensorflow(purpose: str) -> t.Any:
    """The `tensorflow` module, or a `ModuleNotFoundError` that says what needed it."""
    try:
        import tensorflow
    except ModuleNotFoundError as e:
        raise ModuleNotFoundError(
            f"TensorFlow is not installed: it is needed {purpose} (pip install tensorflow)", name="tensorflow"
        ) from e
    return tensorflow


class TensorflowSerializer(Serializer):
    """TensorFlow models, under the library name Flama 2.x records for them (`tensorflow`).

    A Keras model is saved as a `.keras` archive, as Flama 2.x does, so it loads on any Keras backend without
    TensorFlow. Any other `tf.Module` is saved as a SavedModel, zipped into the payload; that needs TensorFlow both
    ways, and a clear `ModuleNotFoundError` says so when it is missing.
    """

    lib: t.ClassVar[str] = "tensorflow"
    distribution: t.ClassVar[str] = "tensorflow"
    bundle: t.ClassVar[bool] = False
    trust_options: t.ClassVar[frozenset[str]] = frozenset({"trusted"})
    _modules: t.ClassVar[tuple[str, ...]] = ("tensorflow", "tf_keras")

    def version(self) -> str | None:
        """TensorFlow's version, else Keras's (what Flama 2.x records, and what loads a Keras payload without TF)."""
        return super().version() or KERAS.version()

    def dump(self, obj: t.Any, destination: pathlib.Path, **options: t.Any) -> None:
        """Save a Keras model as a `.keras` archive, or another `tf.Module` as a zipped SavedModel.

        Args:
            obj: A Keras model or a `tf.Module`.
            destination: The payload file to write.
            **options: The Keras serializer's options for a Keras model (`flama2`, ...), else keyword arguments of
                `tf.saved_model.save`.

        Raises:
            ModuleNotFoundError: When `obj` is not a Keras model and TensorFlow is not installed.
        """
        if callable(getattr(obj, "get_config", None)) and callable(getattr(obj, "save", None)):
            KERAS.dump(obj, destination, **options)
            return
        tensorflow = _tensorflow(f"to save {type(obj).__name__} as a SavedModel")
        with tempfile.TemporaryDirectory(prefix="flama-savedmodel-") as directory:
            tensorflow.saved_model.save(obj, directory, **options)
            with zipfile.ZipFile(destination, "w", zipfile.ZIP_STORED) as archive:
                for path in sorted(pathlib.Path(directory).rglob("*")):
                    archive.write(path, path.relative_to(directory).as_posix())

    def load(self, source: pathlib.Path, *, trusted: bool = False, **options: t.Any) -> t.Any:
        """Load a `.keras` archive or HDF5 file (also as Flama 2.x wrote them), or a zipped SavedModel.

        Args:
            source: The payload file.
            trusted: Load a Keras model outside Keras's safe mode (a `Lambda` layer's code runs).
            **options: Keyword arguments of `keras.saving.load_model`, or of `tf.saved_model.load`.

        Returns:
            The Keras model, or the object `tf.saved_model.load` restores.

        Raises:
            ModuleNotFoundError: When the payload is a SavedModel and TensorFlow is not installed.
            CorruptedFile: When the payload is none of these formats.
        """
        model = load_keras_file(source, **({"safe_mode": not trusted} | options))
        if model is not None:
            return model
        if not zipfile.is_zipfile(source):
            raise CorruptedFile(f"tensorflow payload {source.name!r}", "not a Keras file nor a zipped SavedModel")
        with zipfile.ZipFile(source) as archive:
            if _SAVED_MODEL not in archive.namelist():
                raise CorruptedFile(f"tensorflow payload {source.name!r}", f"a zip archive without {_SAVED_MODEL}")
            tensorflow = _tensorflow(f"to load the SavedModel in {source.name!r}")
            # Beside the payload, so it goes when the artifact's directory does: a SavedModel reads its assets lazily.
            directory = source.with_name(source.name + ".savedmodel")
            archive.extractall(directory)
        return tensorflow.saved_model.load(str(directory), **options)


SERIALIZER = TensorflowSerializer()
