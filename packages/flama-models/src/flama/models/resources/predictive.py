"""Predictive models (the ``ml`` family): inspect, predict and stream predictions over HTTP.

Under the path the model is added at (``/model/`` below):

- ``GET /model/``: the model's name, metadata, artifacts and the JSON Schemas of its input and output when known;
- ``POST /model/predict/`` with ``{"input": [row, ...]}``: ``{"output": [prediction, ...]}``;
- ``POST /model/stream/`` with the same body: one ``{"output": prediction}`` per input row, as NDJSON, or as
  server-sent events when the request accepts ``text/event-stream``.

A prediction (``predict/``) takes its place in the model's line before its body is read, and decodes the body only
once its turn to run has come (see :meth:`~flama.models.admission.Admission.place`): a request turned away (429)
never decodes or keeps its body, and those waiting in line keep only its bytes, not the Python objects it decodes to
(several times larger), so memory follows the requests running rather than those waiting.

The model is called in worker threads (see :mod:`flama.models.runner`): an object with ``predict`` (scikit-learn,
Keras, ...) through ``predict(input)``; a PyTorch module is called with the input as one tensor, of the dtype the
serializer described (``float32`` otherwise), under ``torch.no_grad()``; any other callable is called with the input.
A ``ValueError`` or ``TypeError`` raised by the model is the client's fault (:class:`~flama.models.InvalidInput`, a
400 whose detail maps ``input`` to the model's own message); anything else is a 500, and the server keeps serving.
"""

import os
import pathlib
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Annotated, Any

import anyio
import anyio.to_thread
import pydantic
from flama.http.exceptions import error_event, error_line, streamed_error
from flama.http.injection.components import Context
from flama.http.requests import Request
from flama.http.responses import NDJSONResponse, StreamingResponse
from flama.http.routing import BaseRoute, Route
from flama.http.sse import EventSourceResponse
from flama.http.types import Receive, Scope, Send
from flama.models.admission import DEFAULT_MAX_QUEUED, Admission, QueueFull
from flama.models.components import PredictiveModel, model_title
from flama.models.exceptions import InvalidInput, ModelNotReady
from flama.models.resources.base import ModelResource
from flama.models.runner import Runner

__all__ = ["PredictiveResource"]

Predict = Callable[[list[Any]], Any]

# The torch dtypes a described input may name (``x-dtype`` in the input schema the torch serializer writes).
_TORCH_DTYPES = frozenset({"float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64", "bool"})


def _input_schema(info: dict[str, Any]) -> dict[str, Any] | None:
    """The schema of the ``input`` list, from the model's described input.

    A description of the model's arguments as a one-element tuple (what the torch serializer writes) stands for the
    one tensor the rows become.
    """
    schema = info.get("input")
    if not isinstance(schema, dict):
        return None
    items = schema.get("prefixItems")
    if isinstance(items, list) and len(items) == 1 and isinstance(items[0], dict):
        return items[0]
    return schema


def _body_models(
    name: str, input_schema: dict[str, Any] | None, output_schema: dict[str, Any] | None
) -> tuple[type[pydantic.BaseModel], type[pydantic.BaseModel]]:
    """The request and response models of this model's routes, carrying its input and output schemas if known."""

    def field(schema: dict[str, Any] | None, description: str) -> Any:
        hint: Any = list[Any] if schema is None else Annotated[list[Any], pydantic.WithJsonSchema(schema)]
        return (hint, pydantic.Field(description=description))

    title = model_title(name)
    request = pydantic.create_model(
        f"{title}Input", input=field(input_schema, "The rows to predict, one per prediction.")
    )
    response = pydantic.create_model(f"{title}Output", output=field(output_schema, "One prediction per input row."))
    return request, response


def _is_torch_module(model: Any) -> bool:
    # Decided from the class hierarchy so that torch is never imported for other models.
    return any(
        klass.__module__ == "torch.nn.modules.module" and klass.__name__ == "Module" for klass in type(model).__mro__
    )


def _torch_predict(module: Any, described: dict[str, Any] | None) -> Predict:
    """Call ``module`` with the input as one tensor, checked against the described shape, without gradients."""
    import torch

    described = described or {}
    dtype_name = described.get("x-dtype")
    dtype = getattr(torch, dtype_name) if dtype_name in _TORCH_DTYPES else torch.get_default_dtype()
    shape = described.get("x-shape")
    expected = tuple(shape[1:]) if isinstance(shape, list) and shape else None

    def predict(rows: list[Any]) -> Any:
        tensor = torch.tensor(rows, dtype=dtype)
        if expected is not None:
            got = tuple(tensor.shape[1:])
            if len(got) != len(expected) or any(e is not None and e != g for e, g in zip(expected, got, strict=False)):
                wanted = tuple("*" if e is None else e for e in expected)
                raise ValueError(f"each input row must have shape {wanted}, got rows of shape {got}")
        with torch.no_grad():
            output = module(tensor)
        return output.tolist() if isinstance(output, torch.Tensor) else [item.tolist() for item in output]

    return predict


def _predict_function(model: Any, input_schema: dict[str, Any] | None) -> Predict:
    """How to ask ``model`` for the predictions of a list of rows."""
    predict = getattr(model, "predict", None)
    if callable(predict):
        return predict  # type: ignore[no-any-return]
    if _is_torch_module(model):
        return _torch_predict(model, input_schema)
    if callable(model):
        return model  # type: ignore[no-any-return]
    raise TypeError(f"cannot serve {type(model).__qualname__}: it has no predict method and is not callable")


async def _discard_body(request: Request) -> None:
    """Receive the rest of a refused request's body without keeping it (at most ``max_body_size`` bytes).

    The answer then goes out once the client has sent its whole request, as it expects: answered early, a client
    still sending would meet the server's keep-alive timer, armed as the response ends, and could be cut off.
    """
    limit = request.max_body_size
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if limit is not None and received > limit:
            return


class _AdmittedRoute(Route):
    """``POST`` with admission first: a place in the model's line, the body's bytes, the slot, then the endpoint.

    Args:
        path: The route's path.
        endpoint: The endpoint, whose body parameter is decoded from the bytes read here.
        admission: The model's admission.
        name: The route's name.
    """

    __slots__ = ("admission",)

    def __init__(self, path: str, endpoint: Any, *, admission: Admission, name: str) -> None:
        super().__init__(path, endpoint, methods=["POST"], name=name)
        self.admission = admission

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request in its turn; ``QueueFull`` (429) before its body is kept when the line is full."""
        admission = self.admission
        request = Request(scope, receive, send)
        served = False
        try:
            with admission.place():
                await request.body()
                async with admission.turn():
                    served = True  # from here on, the route answers its own errors
                    await super().handle(scope, request.receive, send)
        except Exception as exc:
            responder = getattr(scope.get("app"), "exception_response", None)
            if served or responder is None:
                raise
            if isinstance(exc, QueueFull):
                await _discard_body(request)
            response = await responder(Context(scope, receive, send), exc)
            await response(scope, receive, send)


class PredictiveResource(ModelResource):
    """Serves a predictive model: inspect, predict and stream.

    Args:
        path: Where the routes are mounted.
        name: The model's name.
        source: A ``.flm`` path, a :class:`~flama.models.ModelFile`, or a model object.
        limiter: The application-wide limit on worker threads; a private one of ``workers`` threads when omitted.
        workers: Predictions of this model running at once; ``None``: only the application-wide limit applies.
        max_queued: Requests allowed to wait for a worker (default 64; ``None``: unbounded); the next ones are answered
            429 with ``Retry-After``.
            ``None``: unbounded.
        trusted_types: Type names a skops payload may hold beyond those skops trusts by default.
        options: ``trusted`` and ``limits`` (see :class:`~flama.models.resources.base.ModelResource`).

    Raises:
        flama.models.ModelFileError: The file is not a readable ``.flm`` file (its header is read here).
    """

    handle_class = PredictiveModel

    def __init__(
        self,
        *,
        path: str,
        name: str,
        source: Any,
        limiter: anyio.CapacityLimiter | None = None,
        workers: int | None = None,
        max_queued: int | None = DEFAULT_MAX_QUEUED,
        trusted_types: Sequence[str] = (),
        **options: Any,
    ) -> None:
        super().__init__(path=path, name=name, source=source, **options)
        self.trusted_types = tuple(trusted_types)
        self.runner = Runner(limiter or anyio.CapacityLimiter(workers or 1), workers=workers, max_queued=max_queued)
        self.model_file: Any = None
        self.model: Any = None
        self._predict: Predict | None = None
        self.meta, self.description, self.artifacts = self._describe(source, self.limits)
        info = self.description.get("info") or {}
        output = info.get("output")
        self.input_schema = _input_schema(info)
        self.output_schema: dict[str, Any] | None = output if isinstance(output, dict) else None
        self.input_model, self.output_model = _body_models(name, self.input_schema, self.output_schema)

    @staticmethod
    def _describe(source: Any, limits: Any) -> tuple[Any, dict[str, Any], dict[str, int]]:
        """The metadata (files only), the model's description and the artifact sizes, without loading the model."""
        from flama.models.modelfile import ModelFile, list_artifacts, read_meta

        if isinstance(source, (str, os.PathLike)):
            meta = read_meta(source, limits=limits)
            return meta, meta.to_dict()["model"], list_artifacts(source, limits=limits)
        if isinstance(source, ModelFile):
            sizes = {name: file.stat().st_size for name, file in source.artifacts.items()}
            return source.meta, source.meta.to_dict()["model"], sizes
        from flama.models.exceptions import UnknownLibrary
        from flama.models.serializers import serializer_for

        try:
            return None, serializer_for(source).describe(source), {}
        except UnknownLibrary:
            klass = type(source)
            return None, {"obj": f"{klass.__module__}.{klass.__qualname__}"}, {}

    async def load(self) -> None:
        """Load the artifact (for a path) and deserialize the model in a worker thread."""
        self.model = await anyio.to_thread.run_sync(self._load_model)
        self._predict = _predict_function(self.model, self.input_schema)
        self.ready = True

    def _load_model(self) -> Any:
        from flama.models.modelfile import ModelFile, load

        source = self.source
        if isinstance(source, (str, os.PathLike)):
            path = pathlib.Path(source)
            self.model_file = load(path, trusted=self.trusted, trusted_types=self.trusted_types, limits=self.limits)
            return self.model_file.model
        if isinstance(source, ModelFile):
            return source.model
        return source

    async def unload(self) -> None:
        """Drop the model, end its worker threads; a model file this resource opened removes its extracted files."""
        self.ready = False
        self._predict = None
        self.model = None
        self.runner.close()
        if self.model_file is not None:
            model_file, self.model_file = self.model_file, None
            await anyio.to_thread.run_sync(model_file.close)

    def inspect(self) -> dict[str, Any]:
        """The name, readiness, metadata (``None`` for a model object), model description, artifacts and schemas."""
        return {
            "name": self.name,
            "ready": self.ready,
            "meta": None if self.meta is None else self.meta.to_dict(),
            "model": self.description,
            "artifacts": self.artifacts,
            "schema": {"input": self.input_schema, "output": self.output_schema},
        }

    def routes(self) -> list[BaseRoute]:
        """``GET /`` (inspect), ``POST /predict/`` and ``POST /stream/``."""
        request_model, response_model = self.input_model, self.output_model
        name = self.name

        async def inspect() -> dict[str, Any]:
            return self.inspect()

        # The body's annotation is this model's own request model (set below), so the schema carries its input.
        async def predict(data: Any) -> Any:
            return await self.predict(data.input)

        async def stream(request: Request, data: Any) -> StreamingResponse:
            sse = "text/event-stream" in request.headers.get("accept", "")
            return self.stream(data.input, sse=sse, app=request.app)

        inspect.__doc__ = f"Inspect the model {name!r}.\n\nIts metadata, artifacts and input and output schemas."
        predict.__doc__ = f"Predict with the model {name!r}.\n\nOne prediction per input row."
        stream.__doc__ = (
            f"Stream predictions of the model {name!r}.\n\n"
            "One prediction per input row, each sent when ready: NDJSON lines, or server-sent events when the request "
            "accepts `text/event-stream`."
        )
        predict.__annotations__ = {"data": request_model, "return": response_model}
        stream.__annotations__ = {"request": Request, "data": request_model, "return": NDJSONResponse}
        return [
            Route("/", inspect, name="inspect"),
            _AdmittedRoute("/predict/", predict, admission=self.runner.admission, name="predict"),
            Route("/stream/", stream, methods=["POST"], name="stream"),
        ]

    def predictor(self) -> Predict:
        """How to call the loaded model.

        Raises:
            flama.models.ModelNotReady: The model is loading, or failed to load.
        """
        if self._predict is None:
            raise ModelNotReady(self.name, self.failure)
        return self._predict

    async def run(self, predict: Predict, rows: list[Any]) -> Any:
        """``predict(rows)`` in a worker thread, within the model's limits, measured.

        Raises:
            flama.models.runner.QueueFull: Too many calls wait for a worker.
            flama.models.InvalidInput: The model raised ``ValueError``, ``TypeError`` or ``OverflowError`` (a number
                it cannot represent, such as a 400-digit integer).
        """
        metrics = self.metrics
        start = time.perf_counter()
        try:
            output = await self.runner.run(predict, rows)
        except Exception as exc:
            if metrics is not None:
                metrics.model_failed(self.name, type(exc).__name__)
            if isinstance(exc, (ValueError, TypeError, OverflowError)):
                raise InvalidInput("input", str(exc)) from None
            raise
        if metrics is not None:
            metrics.predicted(self.name, len(rows), time.perf_counter() - start)
        return output

    async def predict(self, rows: list[Any]) -> dict[str, Any]:
        """``{"output": ...}``: the model's predictions for ``rows``, computed in a worker thread.

        Raises:
            flama.models.ModelNotReady: The model is loading (503).
            flama.models.runner.QueueFull: Too many requests wait (429).
            flama.models.InvalidInput: The model rejects the input, a ``ValueError`` or ``TypeError`` (400).
        """
        return {"output": await self.run(self.predictor(), rows)}

    def stream(self, rows: Sequence[Any], *, sse: bool = False, app: Any = None) -> StreamingResponse:
        """A response streaming ``{"output": ...}`` for each row, predicted one at a time.

        An error after the first row ends the stream with the one streamed-error shape: an NDJSON line
        ``{"error": <error body>}``, or an SSE event named ``error`` whose data is the error body.

        Args:
            rows: The input rows.
            sse: Stream server-sent events rather than NDJSON.
            app: The application serving the stream, whose exception handlers render a failed row.

        Raises:
            flama.models.ModelNotReady: The model is loading.
        """
        predict = self.predictor()

        async def produce() -> AsyncIterator[Any]:
            for row in rows:
                try:
                    output = await self.run(predict, [row])
                except Exception as exc:  # the response has started: the error becomes the stream's last item
                    body = streamed_error(exc, app)
                    yield error_event(body) if sse else error_line(body)
                    return
                yield {"output": output[0]}

        return EventSourceResponse(produce(), ping=None) if sse else NDJSONResponse(produce())
