"""PyTorch models, written with `torch.export` as a `.pt2` archive."""

from __future__ import annotations

import io
import typing as t
import warnings
import zipfile

from flama.models.exceptions import CorruptedFile
from flama.models.serializers.base import Serializer
from flama.models.serializers.payload import array_schema, decode_base64, encode_base64, sequence_schema

if t.TYPE_CHECKING:
    import pathlib

__all__ = ["SERIALIZER", "TorchSerializer"]


class TorchSerializer(Serializer):
    """PyTorch modules, exported with `torch.export` and saved as a `.pt2` archive.

    Exporting traces the module with example inputs. They come from the `example_inputs` dump option, else the
    module's own `example_inputs` attribute, else they are made up from the first `Linear` or `Conv` layer (a batch
    of 2 random rows of its input size). Dimensions the model does not fix (such as the batch) stay dynamic.

    Loading returns a callable module (`ExportedProgram.module()`). Payloads written by Flama 2.x (base64 of a `.pt2`
    archive) and TorchScript archives written by Flama 1.x load as well; a TorchScript archive loads with
    `torch.jit.load`.
    """

    lib: t.ClassVar[str] = "torch"
    distribution: t.ClassVar[str] = "torch"
    bundle: t.ClassVar[bool] = False
    _modules: t.ClassVar[tuple[str, ...]] = ("torch",)

    def dump(
        self,
        obj: t.Any,
        destination: pathlib.Path,
        *,
        example_inputs: t.Any = None,
        dynamic_shapes: t.Any = None,
        flama2: bool = True,
        **options: t.Any,
    ) -> None:
        """Export `obj` and save it as a `.pt2` archive at `destination`.

        Args:
            obj: A `torch.nn.Module`, or an `ExportedProgram` (saved as it is).
            destination: The payload file to write.
            example_inputs: A tensor or a tuple of tensors to trace the module with.
            dynamic_shapes: `torch.export.export`'s `dynamic_shapes`; by default every dimension of every input is
                `Dim.AUTO`: dynamic unless the model needs it fixed (the batch stays free, feature sizes do not).
            flama2: Write the archive as base64 text, as Flama 2.x reads it (the default); False writes the bare
                archive, a quarter smaller, which Flama 2.x cannot read.
            **options: Further keyword arguments of `torch.export.export` (such as `strict`).

        Raises:
            TypeError: When `obj` is neither a module nor an exported program.
            ValueError: When no example inputs are given and none can be inferred, or the export fails.
        """
        import torch

        if isinstance(obj, torch.export.ExportedProgram):
            program = obj
        elif not isinstance(obj, torch.nn.Module):
            raise TypeError(f"Cannot export {type(obj).__name__}: a torch.nn.Module or an ExportedProgram is expected")
        else:
            program = self._export(obj, self._example_inputs(obj, example_inputs), dynamic_shapes, options)
        # torch wants a `.pt2` name for a path; a file object has none to check.
        with destination.open("wb") as file:
            torch.export.save(program, file)
        if flama2:
            encode_base64(destination)

    def untrusted(self, source: pathlib.Path, **options: t.Any) -> str | None:
        """A TorchScript archive (Flama 1.x) is code; a `.pt2` archive runs none.

        Args:
            source: The payload file.
            **options: Options recorded by other writers; ignored.
        """
        legacy = decode_base64(source)
        with io.BytesIO(legacy) if legacy is not None else source.open("rb") as payload:
            try:
                with zipfile.ZipFile(payload) as archive:
                    names = archive.namelist()
            except zipfile.BadZipFile:
                return None  # loading says what is wrong with it
        if any(name.endswith("/archive_format") for name in names):
            return None
        if any(name.endswith("/constants.pkl") for name in names):
            return "its payload is a TorchScript archive, which is code (and pickles)"
        return None

    def load(self, source: pathlib.Path, **options: t.Any) -> t.Any:
        """Load a `.pt2` archive (or a TorchScript one) as a callable module.

        Args:
            source: The payload file.
            **options: Options recorded by other writers; ignored.

        Returns:
            The module of the exported program, or a `torch.jit.ScriptModule` for a TorchScript archive.

        Raises:
            CorruptedFile: When the payload is neither a `.pt2` nor a TorchScript archive.
        """
        import torch

        legacy = decode_base64(source)
        with io.BytesIO(legacy) if legacy is not None else source.open("rb") as payload:
            if not zipfile.is_zipfile(payload):
                raise CorruptedFile(f"torch payload {source.name!r}", "not a zip archive (.pt2 or TorchScript)")
            with zipfile.ZipFile(payload) as archive:
                names = archive.namelist()
            payload.seek(0)
            if any(name.endswith("/archive_format") for name in names):
                return torch.export.load(payload).module()
            if any(name.endswith("/constants.pkl") for name in names):
                with warnings.catch_warnings():
                    # TorchScript is deprecated, yet torch.jit.load is the only reader of what Flama 1.x wrote.
                    warnings.simplefilter("ignore", DeprecationWarning)
                    return torch.jit.load(payload, map_location="cpu")
        raise CorruptedFile(f"torch payload {source.name!r}", "a zip archive but neither .pt2 nor TorchScript")

    def describe(self, obj: t.Any) -> dict[str, t.Any]:
        """The class path of `obj`, and the JSON Schemas of its input and output when example inputs are known.

        Args:
            obj: A `torch.nn.Module` or an `ExportedProgram`.

        Returns:
            `{"obj": ..., "info": {"input": ..., "output": ...}}`; `info` is absent when no example inputs are known.
        """
        import torch

        description = super().describe(obj)
        if isinstance(obj, torch.export.ExportedProgram):
            module, inputs = obj.module(), obj.example_inputs[0]
        else:
            module = obj
            try:
                inputs = self._example_inputs(obj, None)
            except ValueError:
                return description
        with torch.no_grad():
            outputs = module(*inputs)
        description["info"] = {"input": self._schema(inputs), "output": self._schema(outputs)}
        return description

    @staticmethod
    def _example_inputs(module: t.Any, given: t.Any) -> tuple[t.Any, ...]:
        """The example inputs to trace `module` with: `given`, the module's own, or made up from its first layer."""
        import torch

        inputs = given if given is not None else getattr(module, "example_inputs", None)
        if inputs is None:
            for layer in module.modules():
                if isinstance(layer, torch.nn.Linear):
                    inputs = torch.randn(2, layer.in_features)
                    break
                if isinstance(layer, torch.nn.modules.conv._ConvNd):
                    # A convolution takes any spatial size its kernel fits in; the layers after it may not.
                    size = [max(8, k) for k in layer.kernel_size]
                    inputs = torch.randn(2, layer.in_channels, *size)
                    break
            else:
                raise ValueError(
                    f"Cannot infer example inputs of {type(module).__name__}: pass example_inputs= to dump, "
                    "or give the module an example_inputs attribute"
                )
        return inputs if isinstance(inputs, tuple) else (inputs,)

    @staticmethod
    def _export(module: t.Any, inputs: tuple[t.Any, ...], dynamic_shapes: t.Any, options: dict[str, t.Any]) -> t.Any:
        """Export `module` in evaluation mode (dropout off, batch norm frozen), restoring its mode afterwards."""
        import torch

        if dynamic_shapes is None:
            dynamic_shapes = tuple(
                dict.fromkeys(range(x.dim()), torch.export.Dim.AUTO) if isinstance(x, torch.Tensor) else None
                for x in inputs
            )
        training = module.training
        module.eval()
        try:
            return torch.export.export(module, inputs, dynamic_shapes=dynamic_shapes, **options)
        except Exception as e:
            raise ValueError(f"Cannot export {type(module).__name__} with torch.export: {e}") from e
        finally:
            module.train(training)

    @classmethod
    def _schema(cls, value: t.Any) -> dict[str, t.Any]:
        """The JSON Schema of a tensor (nested arrays, any batch size) or of a tuple of them (one alone: its own)."""
        import torch

        if isinstance(value, torch.Tensor):
            return array_schema(value.shape, str(value.dtype).removeprefix("torch."))
        if isinstance(value, (tuple, list)):
            return sequence_schema([cls._schema(v) for v in value])
        return {}


SERIALIZER = TorchSerializer()
