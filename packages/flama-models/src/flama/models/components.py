"""Served models in your own routes: every added model is injectable by type, as Flama 2.x's ``ModelComponent``.

``app.models.add_model`` registers a :class:`ModelComponent` for each model. A route or component asks for one by
annotating a parameter with the model's own type (``resource.model_type``, a subclass made for that model, like 2.x's
``component.get_model_type()``), or with the family's class (:class:`PredictiveModel`, or
``flama.llm.LanguageModel``) when the application serves one model of that family::

    fish = app.models.add_model("/fish/", "fish.flm", "fish")

    @app.route("/price/")
    async def price(model: fish.model_type, size: float) -> dict[str, float]:
        return {"price": (await model.predict([[size]]))[0]}

The object injected is the model's :meth:`~flama.models.resources.base.ModelResource.handle`: the same resource
behind the model's own routes, so a call goes through the same worker limits, queue bound and metrics, and raises
the same errors (answered by the same handlers). Add models before the routes that ask for them.
"""

import re
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from flama.http.injection import Component

if TYPE_CHECKING:
    from flama.models.resources.base import ModelResource
    from flama.models.resources.predictive import PredictiveResource

__all__ = ["Model", "ModelComponent", "PredictiveModel", "model_title"]


def model_title(name: str) -> str:
    """``fish-model`` as ``FishModel``: the prefix of a model's type and schema names."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^0-9A-Za-z]+", name)) or "Model"


class Model:
    """A served model as routes and components see it.

    Args:
        resource: The resource serving the model.
    """

    def __init__(self, resource: "ModelResource") -> None:
        self.resource = resource

    @property
    def name(self) -> str:
        """The model's name."""
        return self.resource.name

    def inspect(self) -> dict[str, Any]:
        """What ``GET`` at the model's path answers."""
        return self.resource.inspect()


class PredictiveModel(Model):
    """A predictive model (family ``ml``): ``predict`` and ``stream``, as its ``predict/`` and ``stream/`` routes.

    Raises (every method):
        flama.models.ModelNotReady: The model is loading.
        flama.models.runner.QueueFull: Too many calls wait for a worker.
        flama.models.InvalidInput: The model rejects the input.
    """

    resource: "PredictiveResource"

    async def predict(self, rows: Sequence[Any]) -> list[Any]:
        """The model's predictions for ``rows``, computed in a worker thread."""
        output: list[Any] = (await self.resource.predict(list(rows)))["output"]
        return output

    async def stream(self, rows: Sequence[Any]) -> AsyncIterator[Any]:
        """Each row's prediction as soon as it is ready."""
        predict = self.resource.predictor()
        for row in rows:
            yield (await self.resource.run(predict, [row]))[0]


class ModelComponent(Component):
    """Injects one served model: its handle, for parameters annotated with its type or a base of it.

    Args:
        model: The model's handle.
    """

    def __init__(self, model: Model) -> None:
        self.model = model

    def provides(self) -> Any:
        """The model's own type."""
        return type(self.model)

    def get_model_type(self) -> type[Model]:
        """The model's own type (Flama 2.x's spelling)."""
        return type(self.model)

    def resolve(self) -> Any:
        """The model's handle."""
        return self.model

    def __repr__(self) -> str:
        return f"ModelComponent({self.model.name!r})"
