"""The serializer contract: one subclass per model library, turning a model into a payload and back."""

import abc
import functools
import importlib.metadata
import pathlib
from typing import Any, ClassVar, Literal

__all__ = ["Serializer"]


class Serializer(abc.ABC):
    """Turns models of one library into a `.flm` payload (a file or a directory) and back.

    Attributes:
        lib: ``framework.lib`` as Flama 2.x writes it (``sklearn``, ``torch``, ``keras``, ``tensorflow``,
            ``transformers``).
        distribution: The PyPI distribution whose version is recorded (``scikit-learn``, ``torch``, ...).
        bundle: True when the payload is a directory (stored as a tar bundle), False for one file.
        config_keys: The framework-config keys that `load` takes from a file; any other key a file records is
            ignored, so a file cannot pass options such as Keras's ``safe_mode=False`` to its own loading.
        trust_options: The trust keywords `load` takes from the caller of `flama.load` (never from the file):
            ``trusted`` (a bool) and ``trusted_types`` (type names, for skops).
    """

    lib: ClassVar[str]
    distribution: ClassVar[str]
    bundle: ClassVar[bool] = False
    config_keys: ClassVar[frozenset[str]] = frozenset()
    trust_options: ClassVar[frozenset[str]] = frozenset()
    _modules: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def accepts(cls, obj: Any) -> bool:
        """Whether ``obj`` belongs to this library, judged from the modules of its classes (never imports it).

        The default checks the top-level module of every class in ``type(obj).__mro__`` against ``_modules``.
        """
        return any(klass.__module__.split(".", 1)[0] in cls._modules for klass in type(obj).__mro__)

    def version(self) -> str | None:
        """The installed version of ``distribution``, or None when it is not installed."""
        return _installed_version(self.distribution)

    def family(self, obj: Any) -> Literal["ml", "llm"]:
        """The family a model of this library belongs to; predictive (``ml``) unless a subclass says otherwise."""
        return "ml"

    @abc.abstractmethod
    def dump(self, obj: Any, destination: pathlib.Path, **options: Any) -> None:
        """Write the payload of ``obj`` at ``destination``: a file, or a new directory when ``bundle`` is True."""

    @abc.abstractmethod
    def load(self, source: pathlib.Path, **options: Any) -> Any:
        """Load a model from its payload file or extracted directory (also those written by Flama 2.x)."""

    def untrusted(self, source: pathlib.Path, **options: Any) -> str | None:
        """Why loading this payload would run code from the file, or None when its format runs none.

        `flama.models.ModelFile.model` refuses such a payload unless the file is trusted. The default: none.

        Args:
            source: The payload file or extracted directory.
            **options: The framework-config options recorded for loading (``config_keys``).
        """
        return None

    def config(self, obj: Any, **options: Any) -> dict[str, Any] | None:
        """The framework config to record for a dump of ``obj`` with these options (None: nothing to record).

        Its `config_keys` are given back to `load` as options: what loading needs to know (a format, a task).
        """
        return None

    def describe(self, obj: Any) -> dict[str, Any]:
        """The `ModelInfo` fields for ``obj``: ``obj`` (its dotted class path), and ``params``/``info`` when known."""
        klass = type(obj)
        return {"obj": f"{klass.__module__}.{klass.__qualname__}"}


@functools.cache
def _installed_version(distribution: str) -> str | None:
    # Reading package metadata scans site-packages (tens of milliseconds in a large environment); it cannot change
    # while the process runs, so it is read once per distribution.
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None
