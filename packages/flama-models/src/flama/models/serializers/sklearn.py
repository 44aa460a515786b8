"""scikit-learn estimators, stored as pickle (what Flama 2.x writes) or, on request, with skops.

Pickle runs code while it loads: load only `.flm` files from sources you trust. skops loads only the types it is
told to trust, which makes it the safer format for files from elsewhere.
"""

import base64
import math
import pathlib
import pickle
from typing import Any, Final, Literal

from flama.models.serializers.base import Serializer

__all__ = ["SERIALIZER", "SklearnSerializer"]

Format = Literal["pickle", "skops"]
_ZIP_MAGIC: Final = b"PK\x03\x04"  # a skops file is a zip archive; a Flama 2.x payload is base64 text


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
    Load options: ``format`` as recorded in the framework config, and for skops ``trusted``, the extra type names
    to trust beyond those skops trusts by default.
    """

    lib = "sklearn"
    distribution = "scikit-learn"
    config_keys = frozenset({"format"})
    bundle = False
    _modules = ("sklearn",)

    def dump(self, obj: Any, destination: pathlib.Path, **options: Any) -> None:
        """Write the estimator as base64 pickle (Flama 2.x's payload) or as a skops file."""
        fmt: Format = options.pop("format", "pickle")
        if options:
            raise TypeError(f"Unknown sklearn dump options: {', '.join(sorted(options))}")
        if fmt == "skops":
            import skops.io

            skops.io.dump(obj, destination)
        elif fmt == "pickle":
            destination.write_bytes(base64.encodebytes(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)))
        else:
            raise ValueError(f"Unknown sklearn format {fmt!r} (use 'pickle' or 'skops')")

    def load(self, source: pathlib.Path, **options: Any) -> Any:
        """Load a payload written by `dump` or by Flama 2.x (the format is recognised from the bytes)."""
        with source.open("rb") as payload:
            magic = payload.read(len(_ZIP_MAGIC))
        if magic == _ZIP_MAGIC:
            import skops.io

            trusted = list(options.get("trusted") or ())
            trusted += [t for t in skops.io.get_untrusted_types(file=source) if t.startswith("sklearn.")]
            return skops.io.load(source, trusted=trusted)
        return pickle.loads(base64.decodebytes(source.read_bytes()))

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
