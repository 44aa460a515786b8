"""The metadata document of a `.flm` file, in Flama 2.x's JSON keys plus per-section checksums and sizes."""

import dataclasses
import datetime
import uuid
from collections.abc import Mapping
from typing import Any, Literal, cast

from flama.models.exceptions import CorruptedFile

__all__ = ["Family", "FrameworkInfo", "Metadata", "ModelInfo"]

Family = Literal["ml", "llm"]

_FAMILIES: tuple[Family, ...] = ("ml", "llm")


@dataclasses.dataclass(frozen=True, slots=True)
class FrameworkInfo:
    """The library that wrote the model payload.

    Attributes:
        lib: Library name as Flama 2.x writes it (``sklearn``, ``torch``, ``keras``, ``tensorflow``,
            ``transformers``).
        version: Installed version of the library when the file was written.
        config: Options the serializer recorded for loading (e.g. the sklearn format, a pipeline task).
    """

    lib: str
    version: str | None = None
    config: dict[str, Any] | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class ModelInfo:
    """What the model is: its class, description, user parameters and metrics.

    Attributes:
        obj: Dotted class path of the model object.
        info: Free description; ``input``/``output`` JSON schemas when the serializer knows them.
        params: Parameters given by the user (or the estimator's own, JSON-safe).
        metrics: Metrics given by the user.
    """

    obj: str | None = None
    info: dict[str, Any] | None = None
    params: dict[str, Any] | None = None
    metrics: dict[str, Any] | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Metadata:
    """The JSON metadata section of a `.flm` file.

    Attributes:
        id: Identifier of the model file (a UUID unless given).
        timestamp: When the file was written.
        family: ``ml`` for predictive models, ``llm`` for language models.
        framework: The library that wrote the payload.
        model: Class, description, parameters and metrics.
        extra: User data stored as given.
        capabilities: What the model accepts and produces (free keys; ``kind`` is written for Flama 2.x).
        checksums: SHA-256 hex digest per artifact name, and under ``"model"`` for the payload.
        sizes: Decompressed size in bytes per artifact name, and under ``"model"`` for the payload.
    """

    id: str
    timestamp: datetime.datetime
    family: Family
    framework: FrameworkInfo
    model: ModelInfo = dataclasses.field(default_factory=ModelInfo)
    extra: dict[str, Any] | None = None
    capabilities: dict[str, Any] = dataclasses.field(default_factory=dict)
    checksums: dict[str, str] = dataclasses.field(default_factory=dict)
    sizes: dict[str, int] = dataclasses.field(default_factory=dict)

    @staticmethod
    def new_id() -> str:
        """A fresh random identifier."""
        return str(uuid.uuid4())

    def to_dict(self) -> dict[str, Any]:
        """The JSON document, with Flama 2.x's keys for every field the two versions share."""
        document: dict[str, Any] = {
            "id": self.id,
            "timestamp": self.timestamp.isoformat(),
            "framework": {
                "family": self.family,
                "lib": self.framework.lib,
                "version": self.framework.version,
                "config": self.framework.config,
            },
            "model": {
                "obj": self.model.obj,
                "info": self.model.info,
                "params": self.model.params,
                "metrics": self.model.metrics,
            },
            "extra": self.extra,
        }
        if self.capabilities:
            # Flama 2.x picks its capabilities class from `kind`, which is the family.
            document["capabilities"] = {"kind": self.family, **self.capabilities}
        if self.checksums:
            document["checksums"] = dict(self.checksums)
        if self.sizes:
            document["sizes"] = dict(self.sizes)
        return document

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> "Metadata":
        """Build metadata from its JSON document (ours or Flama 2.x's).

        Raises:
            CorruptedFile: When a required key is missing or has the wrong type.
        """
        try:
            if not isinstance(document, Mapping):
                raise TypeError("the document is not a JSON object")
            framework = _object(document, "framework", required=True)
            model = _object(document, "model") or {}
            family = framework.get("family", "ml")
            if family not in _FAMILIES:
                raise CorruptedFile("metadata", f"unknown family {family!r}")
            timestamp = document["timestamp"]
            capabilities = {k: v for k, v in (_object(document, "capabilities") or {}).items() if k != "kind"}
            sizes = {str(k): v for k, v in (_object(document, "sizes") or {}).items()}
            if any(not isinstance(v, int) or isinstance(v, bool) or v < 0 for v in sizes.values()):
                raise TypeError("'sizes' holds a value that is not a byte count")
            version = framework.get("version")
            return cls(
                id=str(document["id"]),
                timestamp=datetime.datetime.fromisoformat(timestamp),
                family=cast("Family", family),
                framework=FrameworkInfo(
                    lib=str(framework["lib"]),
                    version=None if version is None else str(version),
                    config=_object(framework, "config"),
                ),
                model=ModelInfo(
                    obj=model.get("obj"),
                    info=_object(model, "info"),
                    params=_object(model, "params"),
                    metrics=_object(model, "metrics"),
                ),
                extra=_object(document, "extra"),
                capabilities=capabilities,
                checksums={str(k): str(v) for k, v in (_object(document, "checksums") or {}).items()},
                sizes=sizes,
            )
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            if isinstance(exc, CorruptedFile):
                raise
            raise CorruptedFile("metadata", f"invalid document ({type(exc).__name__}: {exc})") from exc


def _object(document: Mapping[str, Any], key: str, *, required: bool = False) -> Any:
    """The JSON object under ``key``, or None when it is missing or null (unless required).

    Raises:
        KeyError: When a required key is missing.
        TypeError: When the value is not a JSON object.
    """
    value = document[key] if required else document.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, Mapping):
        raise TypeError(f"{key!r} must be a JSON object, not {type(value).__name__}")
    return value
