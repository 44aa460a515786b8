"""scikit-learn estimators, stored as pickle (what Flama 2.x writes) or, on request, with skops.

Pickle runs code while it loads: a pickle payload loads only from a trusted file. skops loads only the types it is
told to trust (skops's own defaults plus the ``trusted_types`` given), which makes it the format for files from
elsewhere. The format recorded in the file decides the loader; the bytes are never sniffed past it.
"""

import base64
import math
import pathlib
import pickle
from typing import Any, Final, Literal

from flama.models.exceptions import CorruptedFile, UntrustedModel
from flama.models.serializers.base import Serializer
from flama.models.serializers.skops_io import skops_io

__all__ = ["SERIALIZER", "SklearnSerializer"]

Format = Literal["pickle", "skops"]
_ZIP_MAGIC: Final = b"PK\x03\x04"  # a skops file is a zip archive


def _json_safe(value: Any) -> Any:
    """A JSON-safe copy of an estimator parameter: scalars, lists and dicts kept, anything else as its repr."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_json_safe(v) for v in value]
    return repr(value)


class SklearnSerializer(Serializer):
    """scikit-learn estimators and pipelines.

    Dump options: ``format="pickle"`` (default; readable by Flama 2.x) or ``format="skops"`` (needs skops).
    Load options: ``format`` as recorded in the framework config (absent in Flama 2.x's files: pickle); ``trusted``
    to load a pickle, or any type a skops file holds; ``trusted_types``, the type names a skops file may hold beyond
    those skops trusts by default.
    """

    lib = "sklearn"
    distribution = "scikit-learn"
    config_keys = frozenset({"format"})
    trust_options = frozenset({"trusted", "trusted_types"})
    bundle = False
    _modules = ("sklearn",)

    def dump(self, obj: Any, destination: pathlib.Path, **options: Any) -> None:
        """Write the estimator as base64 pickle (Flama 2.x's payload) or as a skops file."""
        fmt: Format = options.pop("format", "pickle")
        if options:
            raise TypeError(f"Unknown sklearn dump options: {', '.join(sorted(options))}")
        if fmt == "skops":
            with skops_io() as skops:
                skops.dump(obj, destination)
        elif fmt == "pickle":
            destination.write_bytes(base64.encodebytes(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)))
        else:
            raise ValueError(f"Unknown sklearn format {fmt!r} (use 'pickle' or 'skops')")

    def untrusted(self, source: pathlib.Path, **options: Any) -> str | None:
        """A pickle payload (recorded as such, or with no format as Flama 2.x writes it) runs code; skops does not."""
        if options.get("format") == "skops":
            return None
        return "its payload is a pickle, and unpickling runs code"

    def load(
        self,
        source: pathlib.Path,
        *,
        format: str | None = None,
        trusted: bool = False,
        trusted_types: tuple[str, ...] = (),
        **options: Any,
    ) -> Any:
        """Load a payload in the recorded format: pickle (Flama 2.x's, when none is recorded) or skops.

        Raises:
            TypeError: For an option other than these.
            UntrustedModel: For a pickle that is not trusted, or a skops file holding types outside the trusted ones.
            CorruptedFile: When the payload is not in the recorded format, or the format is unknown.
        """
        if options:
            raise TypeError(f"Unknown sklearn load options: {', '.join(sorted(options))}")
        if format == "skops":
            return self._load_skops(source, trusted=trusted, trusted_types=trusted_types)
        if format not in (None, "pickle"):
            raise CorruptedFile(f"sklearn payload {source.name!r}", f"unknown recorded format {format!r}")
        if not trusted:
            raise UntrustedModel(self.lib, "its payload is a pickle, and unpickling runs code")
        try:
            return pickle.loads(base64.decodebytes(source.read_bytes()))
        except (ValueError, pickle.UnpicklingError, EOFError) as exc:  # binascii.Error is a ValueError
            raise CorruptedFile(f"sklearn payload {source.name!r}", f"not a base64 pickle ({exc})") from exc

    @staticmethod
    def _load_skops(source: pathlib.Path, *, trusted: bool, trusted_types: tuple[str, ...]) -> Any:
        with source.open("rb") as payload:
            if payload.read(len(_ZIP_MAGIC)) != _ZIP_MAGIC:
                raise CorruptedFile(f"sklearn payload {source.name!r}", "recorded as skops but not a skops archive")
        with skops_io() as skops:
            from skops.io.exceptions import UntrustedTypesFoundException

            allowed = list(trusted_types)
            if trusted:
                allowed += skops.get_untrusted_types(file=source)
            try:
                return skops.load(source, trusted=allowed)
            except UntrustedTypesFoundException as exc:
                reason = f"its skops payload holds types outside the trusted list ({exc}); name those you trust with "
                raise UntrustedModel("sklearn", reason + "trusted_types=[...]") from None

    def config(self, obj: Any, **options: Any) -> dict[str, Any] | None:
        """Records the format, so a reader knows which loader (and which trust rules) apply."""
        return {"format": options.get("format", "pickle")}

    def describe(self, obj: Any) -> dict[str, Any]:
        """Class path, the estimator's parameters, and an input schema when the estimator was fitted."""
        described = super().describe(obj)
        get_params = getattr(obj, "get_params", None)
        if callable(get_params):
            described["params"] = _json_safe(get_params(deep=False))
        features = getattr(obj, "n_features_in_", None)
        if isinstance(features, int):
            names = getattr(obj, "feature_names_in_", None)
            item: dict[str, Any] = {"type": "array", "items": {"type": "number"}, "minItems": features}
            item["maxItems"] = features
            info: dict[str, Any] = {"input": {"type": "array", "items": item}}
            if names is not None:
                info["features"] = [str(n) for n in names]
            described["info"] = info
        return described


SERIALIZER: Final = SklearnSerializer()
