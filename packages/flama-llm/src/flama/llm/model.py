"""A served language model in your own routes: ``query`` and ``stream`` over the canonical events.

``app.models.add_model`` makes every language model injectable (see :mod:`flama.models.components`): annotate a
parameter with :class:`LanguageModel` (one language model served) or with the model's own type
(``resource.model_type``). Calls take the native dialect's request fields and go the way its routes go: the same
validation and default parameters, the same admission limit (a full queue raises
:class:`~flama.llm.exceptions.QueueFull`), the same metrics and logs::

    @app.route("/summary/", methods=["POST"])
    async def summary(model: LanguageModel, text: Annotated[str, Body()]) -> dict[str, str]:
        completion = await model.query(f"Summarise: {text}", params={"max_tokens": 64})
        return {"summary": completion.text}
"""

import secrets
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from flama.llm.events import Event
from flama.llm.generation import Completion, Finish, collect
from flama.llm.native.routes import NativeDialect
from flama.models.components import Model

if TYPE_CHECKING:
    from flama.llm.resource import LLMResource

__all__ = ["LanguageModel"]


class LanguageModel(Model):
    """A language model (family ``llm``): ``query`` and ``stream``, as its native ``query/`` and ``stream/`` routes.

    Raises (every method):
        flama.models.ModelNotReady: The model is loading.
        flama.llm.exceptions.InvalidRequest: The request's fields are malformed.
        flama.llm.exceptions.InvalidParameter: A generation parameter is invalid.
        flama.llm.exceptions.QueueFull: The model runs and queues as many generations as it may.
    """

    resource: "LLMResource"

    def __init__(self, resource: "LLMResource") -> None:
        super().__init__(resource)
        self._native = NativeDialect(resource)

    def _body(self, prompt: str | None, fields: Mapping[str, Any]) -> dict[str, Any]:
        body = {key: value for key, value in fields.items() if value is not None}
        if prompt is not None:
            body["prompt"] = prompt
        return body

    async def query(
        self,
        prompt: str | None = None,
        *,
        messages: list[dict[str, Any]] | None = None,
        system: str | None = None,
        tools: list[dict[str, Any]] | None = None,
        params: Mapping[str, Any] | None = None,
        template: Mapping[str, Any] | None = None,
    ) -> Completion:
        """Generate a whole answer to a prompt (sent verbatim) or to ``messages`` (through the chat template).

        Args:
            prompt: A raw prompt.
            messages: A conversation, as the native dialect takes it.
            system: A system message.
            tools: Tool definitions.
            params: Generation parameters over the model's defaults.
            template: Chat template arguments.
        """
        fields = {"messages": messages, "system": system, "tools": tools, "params": params, "template": template}
        metrics = self.resource.metrics
        prepared = await self._native.prepare(self._body(prompt, fields), metrics, "query")
        async with self.resource.scheduler.slot():
            return await collect(self._native.observe(_rid(), _message_id(), prepared, metrics))

    async def stream(
        self,
        prompt: str | None = None,
        *,
        messages: list[dict[str, Any]] | None = None,
        system: str | None = None,
        tools: list[dict[str, Any]] | None = None,
        params: Mapping[str, Any] | None = None,
        template: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[Event | Finish]:
        """The canonical events of a generation as they come, then its :class:`~flama.llm.generation.Finish`.

        Takes the arguments of :meth:`query`. Closing the iterator early stops the generation.
        """
        fields = {"messages": messages, "system": system, "tools": tools, "params": params, "template": template}
        metrics = self.resource.metrics
        prepared = await self._native.prepare(self._body(prompt, fields), metrics, "stream")
        async with self.resource.scheduler.slot():
            events = self._native.observe(_rid(), _message_id(), prepared, metrics)
            async for event in events:
                yield event


def _rid() -> str:
    return secrets.token_hex(8)


def _message_id() -> str:
    return f"msg_{secrets.token_hex(12)}"
