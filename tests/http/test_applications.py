import contextlib
import importlib.metadata

import pytest
from flama.http import (
    Flama,
    HTTPException,
    JSONResponse,
    Middleware,
    Module,
    PlainTextResponse,
    Request,
    Route,
    run,
    server_defaults,
)


async def hello() -> dict[str, str]:
    return {"hello": "world"}


async def boom() -> None:
    raise RuntimeError("kaboom")


def app_factory(**kwargs) -> Flama:
    kwargs.setdefault("discover_modules", False)
    return Flama(routes=[Route("/", hello), Route("/boom", boom)], **kwargs)


async def lifespan_messages(app: Flama, *messages: str) -> list[dict[str, object]]:
    incoming = [{"type": message} for message in messages]
    sent: list[dict[str, object]] = []

    async def receive():
        return incoming.pop(0)

    async def send(message):
        sent.append(message)

    await app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send)
    return sent


class TestCaseFlama:
    async def test_route_decorator(self, client_factory):
        app = app_factory()

        @app.route("/items/{id:int}", methods=["GET", "POST"], name="item")
        async def item(id: int) -> dict[str, int]:
            return {"id": id}

        async with client_factory(app) as client:
            response = await client.post("/items/9")
        assert response.status_code == 200
        assert response.json() == {"id": 9}
        assert app.url_path_for("item", id=9) == "/items/9"

    async def test_mount_flama(self, client_factory):
        child = app_factory()

        @child.route("/where")
        async def where(request: Request) -> dict[str, str]:
            return {"root_path": request.scope["root_path"], "url": str(request.url_for("child:where"))}

        parent = app_factory()
        parent.mount("/child", child, name="child")
        async with client_factory(parent) as client:
            response = await client.get("/child/where")
        assert response.json() == {"root_path": "/child", "url": "http://testserver/child/where"}
        assert parent.url_path_for("child:where") == "/child/where"

    async def test_unhandled_error_is_json_500(self, client_factory):
        async with client_factory(app_factory(), raise_app_exceptions=False) as client:
            response = await client.get("/boom")
        assert response.status_code == 500
        assert response.json() == {"detail": "Internal Server Error", "error": "RuntimeError", "status_code": 500}

    async def test_debug_page(self, client_factory):
        async with client_factory(app_factory(debug=True)) as client:
            response = await client.get("/boom")
        assert response.status_code == 500
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert "RuntimeError: kaboom" in response.text
        assert "Traceback" in response.text

    @pytest.mark.parametrize("key", [pytest.param(404, id="status"), pytest.param(HTTPException, id="class")])
    async def test_exception_handler_http(self, client_factory, key):
        app = app_factory()

        @app.exception_handler(key)
        def handle(request: Request, exc: HTTPException) -> JSONResponse:
            return JSONResponse({"missing": request.url.path}, status_code=exc.status_code)

        async with client_factory(app) as client:
            response = await client.get("/nope")
        assert response.status_code == 404
        assert response.json() == {"missing": "/nope"}

    async def test_exception_handler_class(self, client_factory):
        app = app_factory()

        async def handle(request: Request, exc: Exception) -> PlainTextResponse:
            return PlainTextResponse(f"handled {exc}", status_code=503)

        app.add_exception_handler(RuntimeError, handle)
        async with client_factory(app) as client:
            response = await client.get("/boom")
        assert (response.status_code, response.text) == (503, "handled kaboom")

    async def test_middleware(self, client_factory):
        class Tag:
            def __init__(self, app, value: str) -> None:
                self.app = app
                self.value = value

            async def __call__(self, scope, receive, send):
                async def tagged(message):
                    if message["type"] == "http.response.start":
                        message["headers"] = [*message["headers"], (b"x-tag", self.value.encode())]
                    await send(message)

                await self.app(scope, receive, tagged)

        app = app_factory(middleware=[Middleware(Tag, value="outer")])
        app.add_middleware(Tag, value="inner")
        async with client_factory(app) as client:
            response = await client.get("/")
        assert response.headers.get_list("x-tag") == ["inner", "outer"]

    async def test_middleware_error_is_json_500(self, client_factory):
        class Broken:
            def __init__(self, app) -> None:
                self.app = app

            async def __call__(self, scope, receive, send):
                raise LookupError("broken middleware")

        app = app_factory()
        app.add_middleware(Broken)
        async with client_factory(app) as client:
            response = await client.get("/")
        assert response.status_code == 500
        assert response.json() == {"detail": "Internal Server Error", "error": "LookupError", "status_code": 500}

    def test_run(self, monkeypatch):
        calls = []
        monkeypatch.setattr("uvicorn.run", lambda app, **options: calls.append((app, options)))
        app = app_factory()
        run(flama_app=app, server_host="0.0.0.0", server_port=9000, log_level="debug")
        # The server's safe limits (flama.http.server) come first; the caller's options win over them.
        assert calls == [(app, {"host": "0.0.0.0", "port": 9000, **server_defaults(), "log_level": "debug"})]

    async def test_lifespan_order(self):
        calls = []

        class Recorder(Module):
            name = "recorder"

            async def on_startup(self) -> None:
                calls.append("module start")

            async def on_shutdown(self) -> None:
                calls.append("module stop")

        @contextlib.asynccontextmanager
        async def lifespan(app):
            calls.append("context enter")
            yield
            calls.append("context exit")

        app = app_factory(
            modules=[Recorder()],
            events={"startup": [lambda: calls.append("startup")], "shutdown": [lambda: calls.append("shutdown")]},
            lifespan=lifespan,
        )
        sent = await lifespan_messages(app, "lifespan.startup", "lifespan.shutdown")
        assert [message["type"] for message in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
        assert calls == ["module start", "startup", "context enter", "context exit", "shutdown", "module stop"]
        assert app.recorder.app is app

    async def test_lifespan_startup_failure(self):
        def fail():
            raise ValueError("no database")

        sent = await lifespan_messages(app_factory(events={"startup": [fail]}), "lifespan.startup")
        assert sent == [{"type": "lifespan.startup.failed", "message": "ValueError: no database"}]

    def test_unknown_attribute(self):
        with pytest.raises(AttributeError, match="no attribute or module 'models'"):
            _ = app_factory().models

    def test_modules_from_entry_points(self, monkeypatch):
        class Models(Module):
            name = "models"

        class EntryPoint:
            name = "models"

            def load(self):
                return Models

        monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: [EntryPoint()])
        app = Flama(schema=None, docs=None)
        assert isinstance(app.models, Models)
        assert app.models.app is app

    def test_duplicate_module_names(self):
        class A(Module):
            name = "a"

        with pytest.raises(ValueError, match="two modules are named 'a'"):
            app_factory(modules=[A(), A()])

    def test_unknown_event(self):
        with pytest.raises(ValueError, match=r"unknown lifespan events: \['start'\]"):
            app_factory(events={"start": []})


class TestCaseMountedLifespan:
    async def test_mounted_flama_starts_with_parent(self):
        calls = []
        child = app_factory(events={"startup": [lambda: calls.append("child")]})
        parent = app_factory(events={"startup": [lambda: calls.append("parent")]})
        parent.mount("/child", child)
        await lifespan_messages(parent, "lifespan.startup", "lifespan.shutdown")
        assert calls == ["child", "parent"]


class TestCaseForeignMount:
    async def test_starlette_app(self, client_factory):
        from starlette.applications import Starlette
        from starlette.requests import Request as StarletteRequest
        from starlette.responses import JSONResponse as StarletteJSON
        from starlette.routing import Route as StarletteRoute

        async def info(request: StarletteRequest) -> StarletteJSON:
            return StarletteJSON(
                {"root_path": request.scope["root_path"], "url": str(request.url_for("info", name="x"))}
            )

        foreign = Starlette(routes=[StarletteRoute("/info/{name}", info, name="info")])
        app = app_factory()
        app.mount("/legacy", foreign)
        async with client_factory(app) as client:
            response = await client.get("/legacy/info/x")
        assert response.json() == {"root_path": "/legacy", "url": "http://testserver/legacy/info/x"}


class TestCaseDocsNeedSchema:
    def test_docs_without_schema_is_refused_when_built(self):
        with pytest.raises(
            ValueError, match=r"^the docs page reads the OpenAPI schema: serve it \(schema=\.\.\.\) or set docs=None$"
        ):
            Flama(schema=None, discover_modules=False)
