"""Keras 3 models, written as `.keras` archives (any backend)."""

from __future__ import annotations

import contextlib
import io
import os
import pathlib
import tempfile
import typing as t
import zipfile

from flama.models.exceptions import CorruptedFile
from flama.models.serializers.base import Serializer
from flama.models.serializers.payload import array_schema, decode_base64, encode_base64, sequence_schema

if t.TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["SERIALIZER", "KerasSerializer", "load_keras_file"]

_ZIP_MAGIC: t.Final = b"PK\x03\x04"
_HDF5_MAGIC: t.Final = b"\x89HDF\r\n\x1a\n"
_KERAS_CONFIG: t.Final = "config.json"  # the model's architecture, at the root of every `.keras` archive


@contextlib.contextmanager
def _named(source: pathlib.Path, suffix: str, content: bytes | None) -> Iterator[pathlib.Path]:
    """A path ending in `suffix` for a payload, which Keras requires: a link to `source`, or `content` written out."""
    with tempfile.TemporaryDirectory(prefix="flama-keras-") as directory:
        path = pathlib.Path(directory, "model" + suffix)
        if content is not None:
            path.write_bytes(content)
        else:
            try:
                os.symlink(source.resolve(), path)
            except OSError:  # no symbolic links on this file system (or for this user): a copy will do
                path.write_bytes(source.read_bytes())
        yield path


def _is_keras_archive(payload: t.BinaryIO) -> bool:
    """Whether `payload` is a readable zip archive with a Keras model's config at its root."""
    try:
        with zipfile.ZipFile(payload) as archive:
            return _KERAS_CONFIG in archive.namelist()
    except zipfile.BadZipFile:
        return False


def load_keras_file(source: pathlib.Path, **options: t.Any) -> t.Any | None:
    """Load a Keras model file (`.keras` archive or legacy HDF5), also as base64 text as Flama 2.x stored it.

    Args:
        source: The payload file.
        **options: Keyword arguments of `keras.saving.load_model` (`safe_mode`, `compile`, `custom_objects`).

    Returns:
        The model, or None when the payload is neither a `.keras` archive nor an HDF5 file.
    """
    content = decode_base64(source)
    with io.BytesIO(content) if content is not None else source.open("rb") as payload:
        magic = payload.read(len(_HDF5_MAGIC))
        if magic == _HDF5_MAGIC:
            suffix = ".h5"
        elif magic.startswith(_ZIP_MAGIC) and _is_keras_archive(payload):
            suffix = ".keras"
        else:
            return None
    import keras

    with _named(source, suffix, content) as path:
        return keras.saving.load_model(path, **options)


class KerasSerializer(Serializer):
    """Keras 3 models, saved as a `.keras` archive, loadable on any Keras backend.

    Loading is in Keras's safe mode unless the file is trusted (or `safe_mode=False` is given): a `Lambda` layer's
    code is not run. Payloads written by Flama 2.x (base64 of a `.keras` archive, or of a legacy HDF5 file) load as
    well.
    """

    lib: t.ClassVar[str] = "keras"
    distribution: t.ClassVar[str] = "keras"
    bundle: t.ClassVar[bool] = False
    trust_options: t.ClassVar[frozenset[str]] = frozenset({"trusted"})
    _modules: t.ClassVar[tuple[str, ...]] = ("keras",)

    def dump(self, obj: t.Any, destination: pathlib.Path, *, flama2: bool = True, **options: t.Any) -> None:
        """Save `obj` as a `.keras` archive at `destination`.

        Args:
            obj: A Keras model.
            destination: The payload file to write.
            flama2: Write the archive as base64 text, as Flama 2.x reads it (the default); False writes the bare
                archive, a quarter smaller, which Flama 2.x cannot read.
            **options: Keyword arguments of `keras.saving.save_model`.

        Raises:
            TypeError: When `obj` is not a Keras model.
        """
        import keras

        if not isinstance(obj, keras.Model):
            raise TypeError(f"Cannot save {type(obj).__name__}: a keras.Model is expected")

        # Keras insists on the `.keras` suffix.
        archive = destination.with_name(destination.name + ".keras")
        keras.saving.save_model(obj, archive, **options)
        archive.replace(destination)
        if flama2:
            encode_base64(destination)

    def load(self, source: pathlib.Path, *, trusted: bool = False, **options: t.Any) -> t.Any:
        """Load a `.keras` archive (or a legacy HDF5 file).

        Args:
            source: The payload file.
            trusted: Load outside Keras's safe mode (a `Lambda` layer's code runs) unless `safe_mode` is given.
            **options: Keyword arguments of `keras.saving.load_model` (`safe_mode`, `compile`, `custom_objects`).

        Returns:
            The Keras model.

        Raises:
            CorruptedFile: When the payload is neither a `.keras` archive nor an HDF5 file.
        """
        options.setdefault("safe_mode", not trusted)
        model = load_keras_file(source, **options)
        if model is None:
            raise CorruptedFile(f"keras payload {source.name!r}", "neither a .keras archive nor an HDF5 file")
        return model

    def describe(self, obj: t.Any) -> dict[str, t.Any]:
        """The class path of `obj`, and the JSON Schemas of its inputs and outputs once it is built.

        Args:
            obj: A Keras model.

        Returns:
            `{"obj": ..., "params": {"parameters": ...}, "info": {"input": ..., "output": ...}}`; `params` and `info`
            are absent until the model is built (its input shape is known).
        """
        description = super().describe(obj)
        try:
            inputs, outputs = list(obj.inputs), list(obj.outputs)
        except (AttributeError, TypeError, ValueError):  # a subclassed or unbuilt model has no symbolic tensors
            return description
        description["params"] = {"parameters": int(obj.count_params())}
        description["info"] = {
            "input": sequence_schema([array_schema(tuple(x.shape), str(x.dtype)) for x in inputs]),
            "output": sequence_schema([array_schema(tuple(y.shape), str(y.dtype)) for y in outputs]),
        }
        return description


SERIALIZER = KerasSerializer()
