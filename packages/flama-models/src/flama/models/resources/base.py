"""The contract every model resource follows: built when a model is added, loaded at startup, served under a path."""

import abc
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from flama.http.exceptions import ErrorStatus
from flama.http.metrics import Metrics
from flama.http.routing import BaseRoute
from flama.models.components import Model, ModelComponent, model_title

if TYPE_CHECKING:
    from flama.models.limits import Limits

__all__ = ["ModelResource"]


class ModelResource(abc.ABC):
    """A model served under a path: its routes, its loading and unloading, and what ``GET {path}`` tells about it.

    :class:`~flama.models.module.ModelsModule` builds one per added model (the class registered for the model's
    family in the ``flama.models.resources`` entry-point group), mounts :meth:`routes` at ``path`` and calls
    :meth:`load` during the application's startup and :meth:`unload` at shutdown. Building one must stay cheap (read
    headers, not weights): the heavy work belongs in :meth:`load`.

    Args:
        path: Where the module mounts the routes, e.g. ``/model/``.
        name: The model's name (route names, schema titles, ``/health``).
        source: A ``.flm`` path, a loaded :class:`~flama.models.ModelFile` or a model object.
        trusted: Whether a ``.flm`` file's payload may run code as it loads (``True``, or the SHA-256 digests of
            the files to trust); see :func:`flama.models.load`.
        limits: Caps on what reading a ``.flm`` file may decompress; :class:`~flama.models.Limits` defaults.
        options: Options of the concrete resource.

    Attributes:
        errors: How the domain errors this resource's routes raise are answered; the module registers them on the
            application when the resource is added, so routes raise errors and never build error responses.
        ready: Whether :meth:`load` has finished; requests are answered with 503 until it has.
        failure: Why loading failed, once it has: the model's routes and ``/health`` both say so.
        model_type: The type of :attr:`handle`, made for this model: annotate a parameter with it to be given the
            model (see :mod:`flama.models.components`).
        handle: The model as routes and components use it (predict, stream, query...).
        component: What injects :attr:`handle`; ``app.models`` registers it.
        metrics: The application's metrics (set by the module when the resource is added), where the resource
            counts its predictions or generations; ``None`` measures nothing.
    """

    errors: ClassVar[Mapping[type[Exception], ErrorStatus[Any]]] = {}
    handle_class: ClassVar[type[Model]] = Model

    def __init__(
        self,
        *,
        path: str,
        name: str,
        source: Any,
        trusted: "bool | Collection[str]" = False,
        limits: "Limits | None" = None,
        **options: Any,
    ) -> None:
        self.path = path
        self.name = name
        self.source = source
        self.trusted = trusted
        self.limits = limits
        self.options = options
        self.ready = False
        self.failure: BaseException | None = None
        self.metrics: Metrics | None = None
        # A type of this model's own, so that routes can ask for this one by annotation (Flama 2.x's way).
        self.model_type: type[Model] = type(f"{model_title(name)}Model", (self.handle_class,), {})
        self.handle = self.model_type(self)
        self.component = ModelComponent(self.handle)

    @abc.abstractmethod
    async def load(self) -> None:
        """Load the model (in worker threads: the event loop keeps serving) and set :attr:`ready`."""

    @abc.abstractmethod
    async def unload(self) -> None:
        """Release the model and what loading it created; :attr:`ready` becomes false."""

    @abc.abstractmethod
    def routes(self) -> list[BaseRoute]:
        """The routes to serve, relative to :attr:`path` (``/`` is the path itself)."""

    @abc.abstractmethod
    def inspect(self) -> dict[str, Any]:
        """What ``GET {path}`` answers: the name, the metadata, the artifacts, the schemas known."""
