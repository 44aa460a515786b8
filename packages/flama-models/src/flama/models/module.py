"""``app.models``: serve models with one line, ``app.models.add_model("/model/", "model.flm", "fish")``.

Every Flama application has this module (it is registered in the ``flama.modules`` entry-point group). Adding a model
reads its family (``ml`` or ``llm``; from the ``.flm`` header only, not the weights) and builds the resource class
registered for that family in the ``flama.models.resources`` entry-point group (flama-models registers ``ml``,
flama-llm ``llm``), whose routes are mounted at the path. Models are added before the application starts; they load
when it starts, in the background and several at once, so the server answers at once; ``GET /health`` (``app.health``)
is 503 until every model is loaded.

For settings other than the defaults, register the module explicitly::

    app = Flama(modules=[ModelsModule(workers=8, max_queued=64)])
"""

import functools
import importlib.metadata
import inspect
import os
import sys
from collections.abc import Collection
from typing import TYPE_CHECKING, Any, Literal, overload

import anyio
from flama.http.health import HealthModule
from flama.http.metrics import metrics_of
from flama.http.modules import Module
from flama.http.routing import Mount
from flama.models.exceptions import ERRORS
from flama.models.loading import Loader
from flama.models.options import LanguageModelOptions, ModelOptions, PredictiveOptions
from flama.models.resources.base import ModelResource

if sys.version_info >= (3, 11):
    from typing import Unpack
else:
    from typing_extensions import Unpack

__all__ = ["RESOURCES_GROUP", "ModelsModule"]

if TYPE_CHECKING:
    from flama.models.limits import Limits

RESOURCES_GROUP = "flama.models.resources"


def _family(model: Any, limits: "Limits | None" = None) -> str:
    """The family of a ``.flm`` path, a loaded artifact or a model object (``ml`` for objects no serializer knows)."""
    from flama.models.exceptions import UnknownLibrary
    from flama.models.modelfile import ModelFile, read_meta
    from flama.models.serializers import serializer_for

    if isinstance(model, (str, os.PathLike)):
        return read_meta(model, limits=limits).family
    if isinstance(model, ModelFile):
        return model.meta.family
    try:
        return serializer_for(model).family(model)
    except UnknownLibrary:
        return "ml"


def resource_class(family: str) -> type[ModelResource]:
    """The resource class registered for ``family`` in the ``flama.models.resources`` entry-point group.

    Raises:
        ValueError: No installed distribution serves that family.
    """
    for entry_point in importlib.metadata.entry_points(group=RESOURCES_GROUP, name=family):
        cls: type[ModelResource] = entry_point.load()
        return cls
    hint = " (install flama-llm)" if family == "llm" else ""
    raise ValueError(f"no resource serves models of the family {family!r}{hint}")


class ModelsModule(Module):
    """Serves models under paths of the application, and reports each one's readiness to ``app.health``.

    Args:
        workers: Predictions running at once across every model of the application (worker threads);
            ``os.cpu_count()`` by default. Each model may set a lower limit of its own.
        max_queued: The default, per model, of requests allowed to wait for a worker; beyond it they are answered
            429 with ``Retry-After``. ``None``: unbounded.
        load_concurrency: Models loading at once during startup.

    Raises:
        ValueError: ``workers`` or ``load_concurrency`` is below 1.
    """

    name = "models"

    def __init__(
        self,
        *,
        workers: int | None = None,
        max_queued: int | None = None,
        load_concurrency: int = 4,
    ) -> None:
        workers = workers or os.cpu_count() or 1
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.limiter = anyio.CapacityLimiter(workers)
        self.max_queued = max_queued
        self.loader = Loader(load_concurrency)
        self.resources: dict[str, ModelResource] = {}
        self._group: anyio.abc.TaskGroup | None = None

    @overload
    def add_model(
        self,
        path: str,
        model: Any,
        name: str,
        *,
        family: Literal["ml"],
        trusted: bool | Collection[str] = False,
        limits: "Limits | None" = None,
        **options: Unpack[PredictiveOptions],
    ) -> ModelResource: ...

    @overload
    def add_model(
        self,
        path: str,
        model: Any,
        name: str,
        *,
        family: Literal["llm"],
        trusted: bool | Collection[str] = False,
        limits: "Limits | None" = None,
        **options: Unpack[LanguageModelOptions],
    ) -> ModelResource: ...

    @overload
    def add_model(
        self,
        path: str,
        model: Any,
        name: str,
        *,
        family: None = None,
        trusted: bool | Collection[str] = False,
        limits: "Limits | None" = None,
        **options: Unpack[ModelOptions],
    ) -> ModelResource: ...

    def add_model(
        self,
        path: str,
        model: Any,
        name: str,
        *,
        family: str | None = None,
        trusted: bool | Collection[str] = False,
        limits: "Limits | None" = None,
        **options: Any,
    ) -> ModelResource:
        """Serve a model under ``path``.

        Args:
            path: Where its routes go, e.g. ``/model/`` (inspect at ``/model/``, predictions at
                ``/model/predict/``...).
            model: A ``.flm`` file path, a :class:`~flama.models.ModelFile` or a model object.
            name: The model's name: its routes are named ``<name>:predict`` and so on, ``/health`` lists it.
            family: ``ml`` or ``llm``; read from the file, or asked of the model's serializer, when omitted.
            trusted: Let a ``.flm`` file's payload run code as it loads (a pickle, TorchScript...): ``True``, or the
                SHA-256 digests of the files to trust (``["sha256:<hex>"]``); see :func:`flama.models.load`.
            limits: Caps on what reading the file may decompress (:class:`~flama.models.Limits` defaults).
            options: Options of the family's resource class, typed per family: :class:`~flama.models.PredictiveOptions`
                (``ml``) and :class:`~flama.models.LanguageModelOptions` (``llm``); either set when the family is read
                from the file.

        Returns:
            The resource serving the model.

        Raises:
            ValueError: The name is taken, or no resource serves the family.
            flama.models.ModelFileError: The file is not a readable ``.flm`` file.
        """
        if name in self.resources:
            raise ValueError(f"a model named {name!r} was already added")
        cls = resource_class(family or _family(model, limits))
        # Resource classes of other distributions may not take these yet: they get them as attributes instead.
        parameters = inspect.signature(cls).parameters
        passed = "trusted" in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values())
        if passed:
            options.update(trusted=trusted, limits=limits)
        options.setdefault("limiter", self.limiter)
        if self.max_queued is not None:
            options.setdefault("max_queued", self.max_queued)
        resource = cls(path=path, name=name, source=model, **options)
        resource.metrics = metrics_of(self.app)
        self.app.router.bind([*self.app.components, resource.component])
        if not passed:
            resource.trusted, resource.limits = trusted, limits
        for error, handler in cls.errors.items():
            self.app.add_exception_handler(error, handler)
        self.app.router.add(Mount(path.rstrip("/") or "/", routes=resource.routes(), name=name))
        self.resources[name] = resource
        health = self.app.modules.get(HealthModule.name)
        if isinstance(health, HealthModule):
            health.add("models", name, functools.partial(self.loader.state, resource))
        return resource

    def bind(self, app: Any) -> None:
        """Attach to ``app`` and register how the errors of served models are answered."""
        super().bind(app)
        for error, handler in ERRORS.items():
            app.add_exception_handler(error, handler)

    async def on_startup(self) -> None:
        """Start loading every model in the background (``/health`` says when they are ready)."""
        if not self.resources:
            return
        # The task group stays open while the application serves; the lifespan that calls on_startup (in this same
        # task) calls on_shutdown last-in first-out, which closes it.
        group = anyio.create_task_group()
        await group.__aenter__()
        self._group = group
        group.start_soon(self.loader.load, list(self.resources.values()))

    async def on_shutdown(self) -> None:
        """Stop any loading still going on and unload every model."""
        group, self._group = self._group, None
        if group is not None:
            group.cancel_scope.cancel()
            await group.__aexit__(None, None, None)
        for resource in self.resources.values():
            await resource.unload()
