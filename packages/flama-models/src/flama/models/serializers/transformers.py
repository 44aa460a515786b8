"""transformers pipelines and checkpoints, bundled as a `save_pretrained` directory."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import typing as t

from flama.models.serializers.base import Serializer

__all__ = ["SERIALIZER", "TransformersSerializer"]

_CAUSAL_LM: t.Final = "ForCausalLM"
# Files that run code when transformers (or torch) reads them: pickles and Python modules (remote code).
_CODE_SUFFIXES: t.Final = frozenset({".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".py"})


class TransformersSerializer(Serializer):
    """transformers pipelines, models and checkpoint directories, stored as a bundle (a directory).

    Dumping a pipeline saves its model with its tokenizer, processor or feature extractor, and records its task in
    the framework config; loading such a bundle gives the pipeline back. A bare model is saved with the `tokenizer` or
    `processor` given as dump options and loads as that model's class. A directory is bundled as it is.

    A causal language model (an architecture named `...ForCausalLM`) is of the `llm` family; anything else `ml`.
    """

    lib: t.ClassVar[str] = "transformers"
    distribution: t.ClassVar[str] = "transformers"
    config_keys: t.ClassVar[frozenset[str]] = frozenset({"task"})
    bundle: t.ClassVar[bool] = True
    _modules: t.ClassVar[tuple[str, ...]] = ("transformers",)

    def family(self, obj: t.Any) -> t.Literal["ml", "llm"]:
        """`llm` for a causal language model (its architecture or class ends in `ForCausalLM`), else `ml`.

        Args:
            obj: A pipeline, a model, or a checkpoint directory.
        """
        return "llm" if any(name.endswith(_CAUSAL_LM) for name in self._architectures(obj)) else "ml"

    def dump(
        self,
        obj: t.Any,
        destination: pathlib.Path,
        *,
        tokenizer: t.Any = None,
        processor: t.Any = None,
        **options: t.Any,
    ) -> None:
        """Save `obj` into the new directory `destination` with `save_pretrained`, or copy a checkpoint directory.

        Args:
            obj: A pipeline, a model, or a checkpoint directory.
            destination: The directory to create.
            tokenizer: A tokenizer to save beside a bare model.
            processor: A processor (or feature extractor, image processor) to save beside a bare model.
            **options: Keyword arguments of the model's `save_pretrained` (such as `max_shard_size`).

        Raises:
            TypeError: When `obj` is none of these.
        """
        if isinstance(obj, (str, os.PathLike)):
            shutil.copytree(obj, destination)
            return
        if not callable(getattr(obj, "save_pretrained", None)):
            expected = "a transformers pipeline, model or checkpoint directory is expected"
            raise TypeError(f"Cannot bundle {type(obj).__name__}: {expected}")
        obj.save_pretrained(destination, **options)
        for companion in (tokenizer, processor):
            if companion is not None:
                companion.save_pretrained(destination)

    def config(self, obj: t.Any, **options: t.Any) -> dict[str, t.Any] | None:
        """The task of a pipeline (`{"task": ...}`), which loading needs to build it again; None for anything else."""
        task = getattr(obj, "task", None)
        return {"task": task} if isinstance(task, str) else None

    def untrusted(self, source: pathlib.Path, **options: t.Any) -> str | None:
        """A checkpoint holding pickles (`*.bin`, `*.pt`...) or Python files runs code; safetensors and JSON do not.

        Args:
            source: The extracted bundle directory.
            **options: The recorded task; ignored.
        """
        found = sorted(
            path.relative_to(source).as_posix()
            for path in source.rglob("*")
            if path.suffix.lower() in _CODE_SUFFIXES and path.is_file()
        )
        if not found:
            return None
        shown = ", ".join(found[:3]) + (", ..." if len(found) > 3 else "")
        return f"its checkpoint holds files that run code when they are read ({shown}): pickles or Python modules"

    def load(self, source: pathlib.Path, *, task: str | None = None, **options: t.Any) -> t.Any:
        """Load a pipeline when a task is given (as recorded for a pipeline), else the model of the checkpoint.

        Args:
            source: The extracted bundle directory.
            task: The pipeline task, such as `text-classification`.
            **options: Keyword arguments of `transformers.pipeline`, or of the model class's `from_pretrained`.

        Returns:
            A `transformers.Pipeline`, or a model of the class named first in the checkpoint's `architectures`
            (`AutoModel`'s choice when it names none).
        """
        import transformers

        # Flama 2.x recorded the deep-learning framework ("pt"); transformers 5 reads PyTorch weights only.
        options.pop("framework", None)
        if task is not None:
            return transformers.pipeline(task=task, model=str(source), **options)
        architecture = next(iter(self._architectures(source)), None)
        model_class = getattr(transformers, architecture, None) if architecture else None
        return (model_class or transformers.AutoModel).from_pretrained(source, **options)

    def describe(self, obj: t.Any) -> dict[str, t.Any]:
        """The class path of `obj`, and the task, model class and model config where `obj` has them.

        Args:
            obj: A pipeline, a model, or a checkpoint directory.

        Returns:
            `{"obj": ..., "info": {"task": ..., "model": ..., "config": {...}}}` with the keys that apply.
        """
        if isinstance(obj, (str, os.PathLike)):
            config = self._checkpoint_config(pathlib.Path(obj))
            description: dict[str, t.Any] = {"obj": None}
            return description | ({"info": {"config": config}} if config is not None else {})
        description = super().describe(obj)
        info: dict[str, t.Any] = {}
        if isinstance(task := getattr(obj, "task", None), str):
            info["task"] = task
        model = self._model(obj)
        if model is not obj:
            info["model"] = f"{type(model).__module__}.{type(model).__qualname__}"
        if callable(to_json := getattr(getattr(model, "config", None), "to_json_string", None)):
            info["config"] = json.loads(to_json())
        return description | ({"info": info} if info else {})

    @classmethod
    def _architectures(cls, obj: t.Any) -> list[str]:
        """The architectures a checkpoint directory's config names, or those of a model's config and its class."""
        if isinstance(obj, (str, os.PathLike)):
            config = cls._checkpoint_config(pathlib.Path(obj)) or {}
            names = config.get("architectures")
            return [str(name) for name in names] if isinstance(names, list) else []
        model = cls._model(obj)
        names = getattr(getattr(model, "config", None), "architectures", None)
        return [*(names or ()), type(model).__name__]

    @staticmethod
    def _model(obj: t.Any) -> t.Any:
        """The model of a pipeline; `obj` itself otherwise (a model's own `model` attribute is its base model)."""
        import transformers

        return obj.model if isinstance(obj, transformers.Pipeline) else obj

    @staticmethod
    def _checkpoint_config(directory: pathlib.Path) -> dict[str, t.Any] | None:
        """The `config.json` of a checkpoint directory, or None when it has none (or not a JSON object)."""
        try:
            config = json.loads((directory / "config.json").read_text())
        except (OSError, ValueError):
            return None
        return config if isinstance(config, dict) else None


SERIALIZER = TransformersSerializer()
